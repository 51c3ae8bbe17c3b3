"""Turn scored pairs into clusters (one per real customer), resisting chaining.

Plain connected components at one threshold chain: A~B and B~C put A and C together
even when nothing says A is C. Here:

1. edges = pairs at/above `threshold`, plus must-link pairs, minus cannot-link pairs;
2. in components of three or more records, a *weak* edge (below `strong_threshold`,
   not must-link) survives only if a common neighbour supports it (a triangle) or it
   is the best link of both of its records; otherwise it is a bridge built on thin
   evidence and is cut;
3. clusters larger than `max_cluster_size` are re-split on their own edges at rising
   thresholds, and reported for review whatever the outcome;
4. clusters still holding a cannot-link pair are rebuilt greedily, strongest edge
   first, never joining a cannot-link pair (must-link edges go first).

Steps 1-3 are set-based DuckDB SQL; connected components are labelled by SciPy
(`scipy.sparse.csgraph`) over integer arrays. Step 4 runs in Python but only over the few
clusters that violate a cannot-link constraint, so it stays linear in their edge count.

`cluster_id` is the smallest `record_key` of the cluster, so it is deterministic and
independent of processing order; every staged record gets exactly one row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix, csgraph

logger = logging.getLogger(__name__)

DEFAULT_MAX_CLUSTER_SIZE = 50


def _q(name: str) -> str:
    """Quote an identifier; table names come from code, never from data."""
    return '"' + name.replace('"', '""') + '"'


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
    return con.execute(sql, list(params)).fetchall()[0][0]


def connected_components(con: duckdb.DuckDBPyConnection, edges: str, out: str) -> int:
    """Create table `out(node, label)` for every node of `edges(a, b)`; label = the
    smallest node of its component. Returns the number of components.

    DuckDB numbers the nodes and SciPy labels the components in one pass over
    the edges (integer arrays, no per-row Python): label propagation in SQL needed a join
    over every edge per round, several rounds per call, at a million records."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __cc_node AS
        SELECT node, (row_number() OVER () - 1)::BIGINT AS i
        FROM (SELECT a AS node FROM {_q(edges)} UNION SELECT b FROM {_q(edges)})
        """  # noqa: S608
    )
    n_nodes = _scalar(con, "SELECT count(*) FROM __cc_node")
    if n_nodes == 0:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(out)} (node VARCHAR, label VARCHAR)")
        return 0
    ends = con.execute(
        f"""
        SELECT na.i AS i, nb.i AS j FROM {_q(edges)} e
        JOIN __cc_node na ON na.node = e.a JOIN __cc_node nb ON nb.node = e.b
        """  # noqa: S608
    ).fetchnumpy()
    graph = coo_matrix(
        (np.ones(len(ends["i"]), dtype=np.int8), (ends["i"], ends["j"])),
        shape=(n_nodes, n_nodes),
    )
    n_components, component = csgraph.connected_components(graph, directed=False)
    con.register(
        "__cc_component",
        pa.table({"i": np.arange(n_nodes, dtype=np.int64), "component": component}),
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_q(out)} AS
        SELECT n.node, min(n.node) OVER (PARTITION BY c.component) AS label
        FROM __cc_node n JOIN __cc_component c USING (i)
        """  # noqa: S608
    )
    con.unregister("__cc_component")
    con.execute("DROP TABLE IF EXISTS __cc_node")
    return int(n_components)


def _normalised_pairs(table: str) -> str:
    return (
        f"SELECT DISTINCT least(record_key_l, record_key_r) AS a, "  # noqa: S608
        f"greatest(record_key_l, record_key_r) AS b FROM {_q(table)} "
        f"WHERE record_key_l IS NOT NULL AND record_key_r IS NOT NULL "
        f"AND record_key_l <> record_key_r"
    )


def _decisions(
    con: duckdb.DuckDBPyConnection, must_link: str | None, cannot_link: str | None
) -> None:
    """Tables `__cl_must` and `__cl_cannot`: the review decisions as (a, b), a < b."""
    empty = "SELECT NULL AS a, NULL AS b LIMIT 0"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __cl_must AS "
        + (_normalised_pairs(must_link) if must_link else empty)
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __cl_cannot AS "
        + (_normalised_pairs(cannot_link) if cannot_link else empty)
    )


def _cluster_figures(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    (records, clusters, singletons, largest), = con.execute(
        """
        WITH s AS (SELECT cluster_id, count(*) AS n FROM clusters GROUP BY cluster_id)
        SELECT (SELECT count(*) FROM clusters), count(*), count(*) FILTER (WHERE n = 1),
               coalesce(max(n), 0)
        FROM s
        """
    ).fetchall()
    return {
        "n_records": records,
        "n_clusters": clusters,
        "n_singletons": singletons,
        "largest_cluster_size": largest,
    }


def cluster(
    con: duckdb.DuckDBPyConnection,
    staged: str = "staged",
    pairs: str = "pairs",
    *,
    threshold: float,
    must_link: str | None = None,
    cannot_link: str | None = None,
    max_cluster_size: int = DEFAULT_MAX_CLUSTER_SIZE,
    strong_threshold: float | None = None,
) -> dict[str, Any]:
    """Create table `clusters(record_key, cluster_id)` for every record of `staged`.

    `pairs` needs record_key_l, record_key_r, match_probability. `must_link` and
    `cannot_link` are optional tables of (record_key_l, record_key_r) from clerical
    review. `strong_threshold` (default: a tenth of the remaining doubt above
    `threshold`, e.g. 0.9 -> 0.99) separates weak edges, which must be corroborated,
    from strong ones. Also creates table `cluster_review` (cluster_id, size, reason)
    listing clusters a person should look at. Returns counts for run metadata.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be within [0, 1], got {threshold}")
    if max_cluster_size < 2:
        raise ValueError(f"max_cluster_size must be at least 2, got {max_cluster_size}")
    strong = strong_threshold if strong_threshold is not None else 1 - (1 - threshold) / 10
    strong = max(strong, threshold)

    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __cl_nodes AS "  # noqa: S608
        f"SELECT DISTINCT record_key FROM {_q(staged)} WHERE record_key IS NOT NULL"
    )
    _decisions(con, must_link, cannot_link)

    # 1. Candidate edges. Must-link wins over a low score; cannot-link removes the
    # direct edge (indirect paths are handled in step 4). Keys unknown to `staged`
    # are ignored: a stale review decision must not resurrect a deleted record.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __cl_edges AS
        WITH raw AS (
            SELECT least(record_key_l, record_key_r) AS a,
                   greatest(record_key_l, record_key_r) AS b,
                   match_probability AS p, false AS must
            FROM {_q(pairs)}
            WHERE match_probability >= ? AND record_key_l <> record_key_r
            UNION ALL
            SELECT a, b, 1.0, true FROM __cl_must
        )
        SELECT raw.a, raw.b, max(raw.p) AS p, bool_or(raw.must) AS must
        FROM raw
        SEMI JOIN __cl_nodes na ON na.record_key = raw.a
        SEMI JOIN __cl_nodes nb ON nb.record_key = raw.b
        ANTI JOIN __cl_cannot c ON c.a = raw.a AND c.b = raw.b
        GROUP BY raw.a, raw.b
        """,  # noqa: S608
        [threshold],
    )
    n_edges = _scalar(con, "SELECT count(*) FROM __cl_edges")
    n_must_conflicts = _scalar(
        con, "SELECT count(*) FROM __cl_must m JOIN __cl_cannot c USING (a, b)"
    )
    connected_components(con, "__cl_edges", "__cl_comp")

    # 2. Cut weak, uncorroborated edges inside components of three or more records.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE __cl_weak AS
        WITH comp_size AS (SELECT label, count(*) AS n FROM __cl_comp GROUP BY label),
        adj AS (SELECT a AS src, b AS dst, p FROM __cl_edges
                UNION ALL SELECT b, a, p FROM __cl_edges),
        best AS (
            -- the best partner of each record; ties broken by key for determinism
            SELECT src, dst FROM adj
            QUALIFY row_number() OVER (PARTITION BY src ORDER BY p DESC, dst) = 1
        ),
        candidates AS (
            SELECT e.a, e.b FROM __cl_edges e
            JOIN __cl_comp c ON c.node = e.a
            JOIN comp_size s ON s.label = c.label
            WHERE NOT e.must AND e.p < ? AND s.n >= 3
        ),
        supported AS (
            SELECT DISTINCT c.a, c.b FROM candidates c
            JOIN adj x ON x.src = c.a
            JOIN adj y ON y.src = c.b AND y.dst = x.dst
        ),
        mutual_best AS (
            SELECT c.a, c.b FROM candidates c
            JOIN best ba ON ba.src = c.a AND ba.dst = c.b
            JOIN best bb ON bb.src = c.b AND bb.dst = c.a
        )
        SELECT a, b FROM candidates
        EXCEPT SELECT a, b FROM supported
        EXCEPT SELECT a, b FROM mutual_best
        """,
        [strong],
    )
    n_weak = _scalar(con, "SELECT count(*) FROM __cl_weak")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __cl_kept AS "
        "SELECT e.* FROM __cl_edges e ANTI JOIN __cl_weak w ON w.a = e.a AND w.b = e.b"
    )
    connected_components(con, "__cl_kept", "__cl_comp")

    # 3. Size guard: re-split oversized clusters on their own edges at rising thresholds.
    oversized = con.execute(
        "SELECT label, count(*) AS n FROM __cl_comp GROUP BY label HAVING count(*) > ? "
        "ORDER BY label",
        [max_cluster_size],
    ).fetchall()
    review: list[tuple[str, int | None, str]] = [
        (label, n, "oversized: split at a higher threshold") for label, n in oversized
    ]
    doubt = 1 - strong
    step = 0
    while oversized and step < 6:
        step += 1
        doubt /= 10
        level = 1 - doubt
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE __cl_big AS
            SELECT node FROM __cl_comp WHERE label IN (
                SELECT label FROM __cl_comp GROUP BY label HAVING count(*) > ?)
            """,
            [max_cluster_size],
        )
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE __cl_kept_next AS
            SELECT e.* FROM __cl_kept e
            LEFT JOIN __cl_big b ON b.node = e.a
            WHERE e.must OR e.p >= ? OR b.node IS NULL
            """,
            [level],
        )
        con.execute("DROP TABLE __cl_kept")
        con.execute("ALTER TABLE __cl_kept_next RENAME TO __cl_kept")
        connected_components(con, "__cl_kept", "__cl_comp")
        oversized = con.execute(
            "SELECT label, count(*) FROM __cl_comp GROUP BY label HAVING count(*) > ?",
            [max_cluster_size],
        ).fetchall()
    still_oversized = [(label, n) for label, n in oversized]
    review += [
        (label, n, "oversized: could not be split below max_cluster_size")
        for label, n in still_oversized
    ]

    # 4. Cannot-link pairs that are still connected through other records.
    violating = [
        row[0]
        for row in con.execute(
            """
            SELECT DISTINCT ca.label FROM __cl_cannot c
            JOIN __cl_comp ca ON ca.node = c.a
            JOIN __cl_comp cb ON cb.node = c.b
            WHERE ca.label = cb.label ORDER BY 1
            """
        ).fetchall()
    ]
    must_conflicts = 0
    if violating:
        must_conflicts = _split_violations(con, violating)
        review += [(label, None, "cannot-link pair was connected: rebuilt") for label in violating]

    # 5. Every staged record gets one cluster; singletons are their own cluster.
    con.execute(
        """
        CREATE OR REPLACE TABLE clusters AS
        WITH lab AS (
            SELECT n.record_key, coalesce(c.label, n.record_key) AS label
            FROM __cl_nodes n LEFT JOIN __cl_comp c ON c.node = n.record_key
        )
        SELECT record_key, min(record_key) OVER (PARTITION BY label) AS cluster_id
        FROM lab ORDER BY cluster_id, record_key
        """
    )
    con.execute(
        "CREATE OR REPLACE TABLE cluster_review (cluster_id VARCHAR, size BIGINT, reason VARCHAR)"
    )
    if review:
        con.executemany("INSERT INTO cluster_review VALUES (?, ?, ?)", review)

    for tmp in (
        "__cl_nodes",
        "__cl_must",
        "__cl_cannot",
        "__cl_edges",
        "__cl_weak",
        "__cl_kept",
        "__cl_comp",
        "__cl_big",
    ):
        con.execute(f"DROP TABLE IF EXISTS {tmp}")
    result = {
        **_cluster_figures(con),
        "threshold": threshold,
        "strong_threshold": strong,
        "n_edges": n_edges,
        "weak_edges_removed": n_weak,
        "oversized_clusters": [
            {"cluster_id": c, "size": n} for c, n, r in review if r.startswith("oversized: split")
        ],
        "unsplittable_clusters": [{"cluster_id": c, "size": n} for c, n in still_oversized],
        "cannot_link_rebuilt_clusters": violating,
        "must_link_conflicts": int(n_must_conflicts) + must_conflicts,
    }
    logger.info("clustering: %s", result)
    return result


def _split_violations(con: duckdb.DuckDBPyConnection, labels: list[str]) -> int:
    """Rebuild the given components greedily without joining any cannot-link pair.

    Kruskal-style: must-link edges first, then by descending probability (ties by key,
    for determinism); an edge is skipped when it would put a cannot-link pair in one
    cluster. Returns how many must-link edges had to be skipped.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE __cl_fix AS SELECT unnest(?) AS label", [labels])
    edges = con.execute(
        """
        SELECT e.a, e.b, e.must FROM __cl_kept e
        JOIN __cl_comp c ON c.node = e.a
        WHERE c.label IN (SELECT label FROM __cl_fix)
        ORDER BY e.must DESC, e.p DESC, e.a, e.b
        """
    ).fetchall()
    nodes = [
        r[0]
        for r in con.execute(
            "SELECT node FROM __cl_comp WHERE label IN (SELECT label FROM __cl_fix) ORDER BY node"
        ).fetchall()
    ]
    node_set = set(nodes)
    forbidden: dict[str, set[str]] = {n: set() for n in nodes}
    for a, b in con.execute("SELECT a, b FROM __cl_cannot").fetchall():
        if a in node_set and b in node_set:
            forbidden[a].add(b)
            forbidden[b].add(a)

    parent = {n: n for n in nodes}
    members = {n: {n} for n in nodes}
    banned = {n: set(forbidden[n]) for n in nodes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    skipped_must = 0
    for a, b, must in edges:
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        if banned[ra] & members[rb]:
            skipped_must += int(must)
            continue
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        members[ra] |= members.pop(rb)
        banned[ra] |= banned.pop(rb)

    relabel = [(n, min(members[find(n)])) for n in nodes]
    con.execute("CREATE OR REPLACE TEMP TABLE __cl_relabel (node VARCHAR, label VARCHAR)")
    con.executemany("INSERT INTO __cl_relabel VALUES (?, ?)", relabel)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE __cl_comp_next AS
        SELECT c.node, coalesce(r.label, c.label) AS label
        FROM __cl_comp c LEFT JOIN __cl_relabel r USING (node)
        """
    )
    con.execute("DROP TABLE __cl_comp")
    con.execute("ALTER TABLE __cl_comp_next RENAME TO __cl_comp")
    con.execute("DROP TABLE IF EXISTS __cl_relabel")
    con.execute("DROP TABLE IF EXISTS __cl_fix")
    return skipped_must


def _whole_components_of_seeds(con: duckdb.DuckDBPyConnection) -> None:
    """`__inc_region`: the seeds and every record of their components, labelling the whole
    graph of `__inc_adj`."""
    con.execute(
        "CREATE OR REPLACE TEMP VIEW __inc_edges AS SELECT src AS a, dst AS b FROM __inc_adj"
    )
    connected_components(con, "__inc_edges", "__inc_comp")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE __inc_region AS
        SELECT node AS record_key FROM __inc_comp
        WHERE label IN (SELECT label FROM __inc_comp c
                        SEMI JOIN __inc_seed s ON s.record_key = c.node)
        UNION SELECT record_key FROM __inc_seed;
        DROP VIEW __inc_edges;
        DROP TABLE __inc_comp;
        """
    )


# A search from the changed records that has not closed its components after this many
# hops labels the whole graph instead (long chains).
MAX_SEARCH_ROUNDS = 40


def cluster_incrementally(
    con: duckdb.DuckDBPyConnection,
    staged: str = "staged",
    pairs: str = "pairs",
    *,
    touched: str,
    base_pairs: str,
    base_clusters: str,
    base_review: str,
    threshold: float,
    must_link: str | None = None,
    cannot_link: str | None = None,
    max_cluster_size: int = DEFAULT_MAX_CLUSTER_SIZE,
    strong_threshold: float | None = None,
) -> dict[str, Any]:
    """`cluster`, given the last run's pairs (`base_pairs`), the `clusters` and
    `cluster_review` they gave with the same decisions and settings, and the records whose
    pairs were scored again or dropped since (`touched(record_key)`: new, changed and gone
    records; every other pair is the base's): only the components of this run's graph that
    hold a touched record or one of its former partners are clustered again.

    Every step of `cluster` works within one component of the candidate-edge graph, and a
    cluster's id is one of its records. A component none of whose records is touched or a
    former partner of one has only pairs carried over unchanged, and no path to a touched
    record in the old graph either (the step onto one is from a former partner): it is the
    component clustered last run and keeps its clusters. The components to cluster again
    are found by a search from those records (at most MAX_SEARCH_ROUNDS hops, else by
    labelling the whole graph). The figures returned count the whole result; the edge,
    weak-cut and review figures are those of the components clustered again, besides
    `records_reclustered`. Creates `clusters_touched(record_key)`: the records clustered
    again or gone; every other record is in the cluster it was in, with the same records."""
    _decisions(con, must_link, cannot_link)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __inc_seed AS
        SELECT record_key FROM {_q(touched)}
        UNION SELECT record_key_r FROM {_q(base_pairs)} b SEMI JOIN {_q(touched)} t
            ON t.record_key = b.record_key_l WHERE b.match_probability >= $threshold
        UNION SELECT record_key_l FROM {_q(base_pairs)} b SEMI JOIN {_q(touched)} t
            ON t.record_key = b.record_key_r WHERE b.match_probability >= $threshold
        UNION SELECT b FROM __cl_must SEMI JOIN {_q(touched)} t ON t.record_key = a
        UNION SELECT a FROM __cl_must SEMI JOIN {_q(touched)} t ON t.record_key = b
        """,  # noqa: S608
        {"threshold": threshold},
    )
    # Every pair that can be an edge, both ways: a superset of the candidate edges (no
    # cannot-link or unknown-record filter), whose components are unions of theirs.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __inc_adj AS
        SELECT record_key_l AS src, record_key_r AS dst FROM {_q(pairs)}
        WHERE match_probability >= $threshold
        UNION ALL SELECT record_key_r, record_key_l FROM {_q(pairs)}
        WHERE match_probability >= $threshold
        UNION ALL SELECT a, b FROM __cl_must UNION ALL SELECT b, a FROM __cl_must
        """,  # noqa: S608
        {"threshold": threshold},
    )
    con.execute("CREATE OR REPLACE TEMP TABLE __inc_region AS SELECT * FROM __inc_seed")
    con.execute("CREATE OR REPLACE TEMP TABLE __inc_frontier AS SELECT * FROM __inc_seed")
    for _ in range(MAX_SEARCH_ROUNDS):
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE __inc_frontier AS
            SELECT DISTINCT a.dst AS record_key FROM __inc_adj a
            SEMI JOIN __inc_frontier f ON f.record_key = a.src
            ANTI JOIN __inc_region r ON r.record_key = a.dst
            """
        )
        if not _scalar(con, "SELECT count(*) FROM __inc_frontier"):
            break
        con.execute("INSERT INTO __inc_region SELECT * FROM __inc_frontier")
    else:
        _whole_components_of_seeds(con)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __inc_nodes AS
        SELECT record_key FROM __inc_region SEMI JOIN {_q(staged)} USING (record_key)
        """  # noqa: S608
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __inc_pairs AS
        SELECT record_key_l, record_key_r, match_probability FROM {_q(pairs)} p
        SEMI JOIN __inc_nodes r ON r.record_key = p.record_key_l
        WHERE match_probability >= ?
        """,  # noqa: S608
        [threshold],
    )
    result = cluster(
        con,
        "__inc_nodes",
        "__inc_pairs",
        threshold=threshold,
        must_link=must_link,
        cannot_link=cannot_link,
        max_cluster_size=max_cluster_size,
        strong_threshold=strong_threshold,
    )
    reclustered = result["n_records"]
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __inc_clusters AS SELECT * FROM clusters;
        CREATE OR REPLACE TABLE clusters AS
        SELECT record_key, cluster_id FROM (
            SELECT b.record_key, b.cluster_id FROM {_q(base_clusters)} b
            ANTI JOIN __inc_region r USING (record_key)
            UNION ALL SELECT record_key, cluster_id FROM __inc_clusters
        )
        ORDER BY cluster_id, record_key;

        -- What the identity stage needs to assign ids to the changed clusters only.
        CREATE OR REPLACE TABLE clusters_touched AS SELECT record_key FROM __inc_region;

        -- A review entry names a cluster by one of its records (the smallest).
        CREATE OR REPLACE TEMP TABLE __inc_review AS SELECT * FROM cluster_review;
        CREATE OR REPLACE TABLE cluster_review AS
        SELECT b.* FROM {_q(base_review)} b ANTI JOIN __inc_region r ON r.record_key = b.cluster_id
        UNION ALL SELECT * FROM __inc_review
        """  # noqa: S608
    )
    for tmp in (
        "__inc_seed",
        "__inc_adj",
        "__inc_region",
        "__inc_frontier",
        "__inc_nodes",
        "__inc_pairs",
        "__inc_clusters",
        "__inc_review",
    ):
        con.execute(f"DROP TABLE IF EXISTS {tmp}")
    result.update(_cluster_figures(con))
    result.update(records_reclustered=reclustered)
    logger.info("clustering (incremental): %s", result)
    return result
