from __future__ import annotations

from typing import Any

from pipelines import quality, stages
from pipelines.link import artifacts, clustering, linkage, model, nicknames, review
from pipelines.ops import lineage
from pipelines.settings import Settings
from pipelines.wiring import stage_asset


def score_pairs(settings: Settings) -> dict[str, Any]:
    """`stages.score_pairs` plus the model JSON, match-weight chart and comparison viewer
    as clickable metadata (and the match weights as a table) in the Dagster UI."""
    figures = stages.score_pairs(settings)
    return {**figures, **artifacts.dagster_metadata(figures)}


link_assets = [
    *stage_asset(
        name="scored_pairs",
        stage=score_pairs,
        deps=["staged_customers"],
        description="Candidate record pairs scored by the Splink model (trained each run).",
        group="link",
        kinds={"splink", "duckdb", "parquet"},
        layer="pairs",
        checks=[
            (quality.layer_contract("pairs", "scored_pairs"), True),
            (quality.pairs_valid, True),
        ],
        lineage=lineage.scored_pairs,
        rows_figure="pairs_scored",
        code=[linkage, model, artifacts, stages.score_pairs, nicknames.NICKNAMES_CSV],
    ),
    *stage_asset(
        name="customer_clusters",
        stage=stages.cluster_records,
        deps=["scored_pairs"],
        description="Records grouped into real customers, steward decisions applied.",
        group="link",
        kinds={"duckdb", "parquet"},
        layer="clusters",
        checks=[
            (quality.layer_contract("clusters", "customer_clusters"), True),
            (quality.every_record_clustered, True),
            (quality.cluster_drift, False),
        ],
        lineage=lineage.customer_clusters,
        code=[clustering, review, stages.cluster_records],
    ),
]
