from __future__ import annotations

from pipelines import quality, stages
from pipelines.link import clustering, linkage, model
from pipelines.ops import lineage
from pipelines.wiring import stage_asset

link_assets = [
    *stage_asset(
        name="scored_pairs",
        stage=stages.score_pairs,
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
        code=[linkage, model],
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
        code=[clustering],
    ),
]
