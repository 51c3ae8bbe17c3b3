from __future__ import annotations

from pipelines import quality, stages
from pipelines.wiring import stage_asset

mart_assets = stage_asset(
    name="customer_activity",
    stage=stages.customer_360,
    deps=["golden_records"],
    description="Activity from every system attached to its customer, and the customer_360 "
    "rows the publish writes.",
    group="marts",
    kinds={"duckdb"},
    checks=[(quality.mart_complete, True)],
    row_count_key="customers",
)
