from __future__ import annotations

from pipelines import quality, stages
from pipelines.cleanse import cleanse
from pipelines.extract import mapping
from pipelines.ops import lineage
from pipelines.wiring import stage_asset


def cleanse_assets(raw_keys: list) -> list:
    return stage_asset(
        name="staged_customers",
        stage=stages.stage_customers,
        deps=raw_keys,
        description="Every source record mapped to the canonical fields and cleansed; "
        "unusable records go to quarantine with a reason.",
        group="cleanse",
        kinds={"duckdb", "parquet"},
        layer="staged",
        checks=[
            (quality.layer_contract("staged", "staged_customers"), True),
            (quality.staged_keys_unique, True),
            (quality.quarantine_reasons, True),
            (quality.quarantine_rate, False),
        ],
        lineage=lineage.staged_customers,
        code=[cleanse, mapping],
    )
