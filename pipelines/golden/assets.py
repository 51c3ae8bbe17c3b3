from __future__ import annotations

from pipelines import quality, stages
from pipelines.wiring import stage_asset

golden_assets = stage_asset(
    name="golden_records",
    stage=stages.golden_records,
    deps=["customer_identity"],
    description="One golden record per customer, chosen by survivorship rules, with provenance.",
    group="identity",
    kinds={"duckdb"},
    checks=[(quality.golden_complete, True)],
    row_count_key="customers",
)
