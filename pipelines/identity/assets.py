from __future__ import annotations

from pipelines import quality, stages
from pipelines.identity import assign
from pipelines.ops import lineage
from pipelines.wiring import stage_asset

identity_assets = stage_asset(
    name="customer_identity",
    stage=stages.assign_identity,
    deps=["customer_clusters"],
    description="Stable customer_id per cluster: ids carried over, merges and splits decided.",
    group="identity",
    kinds={"duckdb", "parquet"},
    layer="assignment",
    checks=[
        (quality.layer_contract("assignment", "customer_identity"), True),
        (quality.identity_keys, True),
        (quality.reconciliation, True),
    ],
    lineage=lineage.customer_identity,
    code=[assign],
)
