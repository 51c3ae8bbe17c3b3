from __future__ import annotations

from pipelines import quality, stages
from pipelines.wiring import stage_asset

identity_assets = stage_asset(
    name="customer_identity",
    stage=stages.assign_identity,
    deps=["customer_clusters"],
    description="Stable customer_id per cluster: ids carried over, merges and splits decided.",
    group="identity",
    kinds={"duckdb"},
    checks=[(quality.reconciliation, True)],
    row_count_key="customers",
)
