from __future__ import annotations

from pathlib import Path

from pipelines import quality, stages
from pipelines.golden import survivorship
from pipelines.ops import lineage
from pipelines.wiring import stage_asset

golden_assets = stage_asset(
    name="golden_records",
    stage=stages.golden_records,
    # Survivorship reads the staged records of each customer, not only the ids.
    deps=["customer_identity", "staged_customers"],
    description="One golden record per customer, chosen by survivorship rules, with provenance.",
    group="identity",
    kinds={"duckdb", "parquet"},
    layer="golden",
    checks=[
        (quality.layer_contract("golden", "golden_records"), True),
        (quality.one_golden_record_per_customer, True),
    ],
    lineage=lineage.golden_records,
    rows_figure="customers",
    code=[survivorship, Path(survivorship.__file__).with_name("survivorship.yaml")],
)
