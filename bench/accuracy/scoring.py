"""Accuracy of a record-linkage run against ground truth, computed in DuckDB SQL.

Inputs are tables (or views) in one connection:

* predicted clusters: `record_key`, `cluster_id`
* truth: `record_key`, `entity_id` (records of one real-world entity share it)
* optionally scored pairs: `record_key_l`, `record_key_r`, `match_probability`

Only records present in both predicted and truth are scored. Pair counts come from
group sizes (n*(n-1)/2), never from enumerating pairs, so scoring stays linear in the
number of records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb


@dataclass(frozen=True)
class Scores:
    """Precision/recall/F1 plus the counts they come from."""

    precision: float
    recall: float
    f1: float
    true_positives: int
    predicted_positives: int
    actual_positives: int

    @classmethod
    def from_counts(cls, tp: int, predicted: int, actual: int) -> Scores:
        # Nothing predicted and nothing to find is a perfect (vacuous) score.
        precision = tp / predicted if predicted else 1.0
        recall = tp / actual if actual else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(precision, recall, f1, int(tp), int(predicted), int(actual))

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _joined(predicted: str, truth: str) -> str:
    return (
        f"SELECT p.record_key, p.cluster_id, t.entity_id "  # noqa: S608
        f"FROM {_q(predicted)} p JOIN {_q(truth)} t USING (record_key)"
    )


def pairwise_scores(con: duckdb.DuckDBPyConnection, predicted: str, truth: str) -> Scores:
    """Pairwise P/R/F1 of the clustering: a pair is predicted when both records share a
    cluster_id and true when they share an entity_id."""
    sql = f"""
        WITH j AS ({_joined(predicted, truth)}),
        cells AS (SELECT count(*) AS n FROM j GROUP BY cluster_id, entity_id),
        pred AS (SELECT count(*) AS n FROM j GROUP BY cluster_id),
        act AS (SELECT count(*) AS n FROM j GROUP BY entity_id)
        SELECT
            (SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM cells),
            (SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM pred),
            (SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM act)
    """  # noqa: S608
    tp, predicted_n, actual_n = con.execute(sql).fetchall()[0]
    return Scores.from_counts(tp, predicted_n, actual_n)


def cluster_scores(con: duckdb.DuckDBPyConnection, predicted: str, truth: str) -> Scores:
    """Cluster-level P/R/F1: a predicted cluster is correct when it holds exactly the
    records of one entity (singletons included). Precision is over predicted clusters,
    recall over true entities."""
    sql = f"""
        WITH j AS ({_joined(predicted, truth)}),
        entity_size AS (SELECT entity_id, count(*) AS n FROM j GROUP BY entity_id),
        cluster_stats AS (
            SELECT cluster_id, count(*) AS n, count(DISTINCT entity_id) AS n_entities,
                   min(entity_id) AS entity_id
            FROM j GROUP BY cluster_id
        )
        SELECT
            (SELECT count(*) FROM cluster_stats c JOIN entity_size e USING (entity_id)
             WHERE c.n_entities = 1 AND c.n = e.n),
            (SELECT count(*) FROM cluster_stats),
            (SELECT count(*) FROM entity_size)
    """  # noqa: S608
    tp, predicted_n, actual_n = con.execute(sql).fetchall()[0]
    return Scores.from_counts(tp, predicted_n, actual_n)


def edge_scores(
    con: duckdb.DuckDBPyConnection,
    pairs: str,
    truth: str,
    threshold_probability: float = 0.0,
) -> Scores:
    """P/R/F1 of the scored pairs themselves (before clustering) at a threshold.

    Recall counts every true pair, so pairs that blocking never generated are misses.
    """
    sql = f"""
        WITH e AS (
            SELECT DISTINCT least(record_key_l, record_key_r) AS a,
                   greatest(record_key_l, record_key_r) AS b
            FROM {_q(pairs)}
            WHERE match_probability >= ? AND record_key_l <> record_key_r
        ),
        scored AS (
            SELECT ta.entity_id = tb.entity_id AS is_match
            FROM e JOIN {_q(truth)} ta ON ta.record_key = e.a
                   JOIN {_q(truth)} tb ON tb.record_key = e.b
        ),
        act AS (SELECT count(*) AS n FROM {_q(truth)} GROUP BY entity_id)
        SELECT
            (SELECT count(*) FILTER (WHERE is_match) FROM scored),
            (SELECT count(*) FROM scored),
            (SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM act)
    """  # noqa: S608
    tp, predicted_n, actual_n = con.execute(sql, [threshold_probability]).fetchall()[0]
    return Scores.from_counts(tp, predicted_n, actual_n)
