from __future__ import annotations

from pipelines import quality, stages
from pipelines.wiring import stage_asset

link_assets = [
    *stage_asset(
        name="scored_pairs",
        stage=stages.score_pairs,
        deps=["staged_customers"],
        description="Candidate record pairs scored by the Splink model (trained each run).",
        group="link",
        kinds={"splink", "duckdb"},
        checks=[(quality.pairs_valid, True)],
        row_count_key="pairs_scored",
    ),
    *stage_asset(
        name="customer_clusters",
        stage=stages.cluster_records,
        deps=["scored_pairs"],
        description="Records grouped into real customers, steward decisions applied.",
        group="link",
        kinds={"duckdb"},
        checks=[(quality.every_record_clustered, True)],
    ),
]
