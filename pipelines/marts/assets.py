from __future__ import annotations

from pipelines import quality, stages
from pipelines.marts import customer_360
from pipelines.ops import lineage
from pipelines.wiring import stage_asset

mart_assets = stage_asset(
    name="customer_activity",
    stage=stages.customer_360,
    deps=["golden_records"],
    description="Activity from every system attached to its customer, and the customer_360 "
    "rows the publish writes.",
    group="marts",
    kinds={"duckdb", "parquet"},
    layer="customer_360",
    checks=[
        (quality.layer_contract("customer_360", "customer_activity"), True),
        (quality.customer_360_complete, True),
    ],
    lineage=lineage.customer_activity,
    rows_figure="customers",
    code=[customer_360],
)
