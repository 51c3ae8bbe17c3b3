"""Stable customer ids: carry ids over from the previous run, decide merges and splits.

Rules (documented in the README):
- Every previous id that still has records claims the current cluster holding most of them
  (ties: the cluster whose smallest record key sorts first). So on a split the largest part
  keeps the id.
- A cluster that claimed several previous ids is a merge: the survivor is the id with most of
  the cluster's records, then the oldest id, then the smallest id; the others are retired and
  redirect to the survivor.
- A cluster that claimed no id gets a new one: `C` + 16 hex digits of SHA-256 of its smallest
  record key. A fresh store therefore gets the same ids from the same sources, and an id is
  never reused (a collision with any id ever issued takes the next salt).
- Records that no longer arrive keep their previous link (marked inactive); their customer
  is kept, not dropped.

Input tables in the connection: `clusters(record_key, cluster_id)`,
`previous_xref(record_key, customer_id)`, `previous_customer(customer_id, created_at)`,
`retired_ids(customer_id)`. Output tables: `assignment(record_key, customer_id, cluster_size)`,
`id_changes(customer_id, change, related_customer_ids, record_count)`,
`redirects(retired_customer_id, customer_id)`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import duckdb
import pyarrow as pa

# The records whose customer an incremental assignment changed, against its base: the later
# stages' own bases are that same assignment on a usual night, and a FULL JOIN of the two
# million-record assignments cost each of them ~0.15-0.3 s (statements timed at 1M).
ASSIGNMENT_CHANGES = "assignment_changes"
# The same records found by comparing `assignment` with `base_assignment` (whatever built them).
MOVED_SQL = """(
    SELECT record_key, n.customer_id, o.customer_id AS base_customer_id
    FROM assignment n FULL JOIN base_assignment o USING (record_key)
    WHERE n.customer_id IS DISTINCT FROM o.customer_id)"""


@dataclass
class IdentityResult:
    customers: int
    created: int
    merged_ids_retired: int
    split_ids_created: int
    unchanged: int


def new_customer_id(anchor_record_key: str, salt: int = 0) -> str:
    payload = anchor_record_key if salt == 0 else f"{anchor_record_key}#{salt}"
    return "C" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16].upper()


def create_empty_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """Previous-state tables for a first run (empty store)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS previous_xref (record_key VARCHAR, customer_id VARCHAR)"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS previous_customer (customer_id VARCHAR, created_at TIMESTAMP)"
    )
    con.execute("CREATE TABLE IF NOT EXISTS retired_ids (customer_id VARCHAR)")


def _new_id_sql(anchor: str) -> str:
    """`new_customer_id(anchor)` (salt 0) in SQL: DuckDB's sha256 is the same hex digest."""
    return f"'C' || upper(left(sha256({anchor}), 16))"


# Whether `customer_id` was ever issued (a previous customer, a retired id, a previous link)
# or is kept by a cluster this run.
_ISSUED_BEFORE = """(customer_id IN (SELECT customer_id FROM previous_customer)
    OR customer_id IN (SELECT customer_id FROM retired_ids)
    OR customer_id IN (SELECT customer_id FROM previous_xref)
    OR customer_id IN (SELECT customer_id FROM survivor))"""


def _taken(con: duckdb.DuckDBPyConnection, candidates: set[str]) -> set[str]:
    """Which of `candidates` were ever issued (a previous customer, a retired id, a
    previous link) or are held by a cluster this run (kept or already issued)."""
    if not candidates:
        return set()
    con.register("candidate_ids", pa.table({"customer_id": sorted(candidates)}))
    try:
        rows = con.execute(
            f"SELECT customer_id FROM candidate_ids WHERE {_ISSUED_BEFORE} "  # noqa: S608
            "OR customer_id IN (SELECT customer_id FROM issued)"
        ).fetchall()
    finally:
        con.unregister("candidate_ids")
    return {row[0] for row in rows}


def _issue_ids(con: duckdb.DuckDBPyConnection) -> None:
    """Table `issued(cluster_id, anchor, customer_id)`: a new id for every cluster that kept
    none, computed in SQL. An id issued before, or to a cluster with an earlier anchor in
    this batch, is taken: those clusters (a split-off anchor record, a few a night) take
    the next free salt, looked up for the candidates only, not by reading every id ever
    issued into Python."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE issued AS
        SELECT cs.cluster_id, cs.anchor, {_new_id_sql("cs.anchor")} AS customer_id
        FROM cluster_size cs ANTI JOIN survivor s USING (cluster_id);

        CREATE OR REPLACE TEMP TABLE collided AS
        SELECT cluster_id, anchor FROM (
            SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY anchor) AS nth
            FROM issued
        )
        WHERE nth > 1 OR {_ISSUED_BEFORE};

        DELETE FROM issued WHERE cluster_id IN (SELECT cluster_id FROM collided);
        """  # noqa: S608 - a constant expression
    )
    pending = [
        (cluster_id, anchor, 1)
        for cluster_id, anchor in con.execute(
            "SELECT cluster_id, anchor FROM collided ORDER BY anchor"
        ).fetchall()
    ]
    con.execute("DROP TABLE collided")
    while pending:
        taken = _taken(con, {new_customer_id(anchor, salt) for _, anchor, salt in pending})
        retry = []
        for cluster_id, anchor, salt in pending:
            candidate = new_customer_id(anchor, salt)
            if candidate in taken:
                retry.append((cluster_id, anchor, salt + 1))
            else:
                taken.add(candidate)
                con.execute("INSERT INTO issued VALUES (?, ?, ?)", [cluster_id, anchor, candidate])
        pending = retry


def assign_ids(con: duckdb.DuckDBPyConnection, clusters: str = "clusters") -> IdentityResult:
    """Assign ids to the clusters of relation `clusters` (see the module docstring)."""
    create_empty_inputs(con)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cluster_size AS
        SELECT cluster_id, count(*) AS n, min(record_key) AS anchor
        FROM {clusters} GROUP BY cluster_id;

        -- How many of each cluster's records each previous id holds.
        CREATE OR REPLACE TEMP TABLE claim AS
        SELECT c.cluster_id, p.customer_id, count(*) AS n
        FROM {clusters} c JOIN previous_xref p USING (record_key)
        GROUP BY ALL;

        -- Each previous id goes to the cluster holding most of its records.
        CREATE OR REPLACE TEMP TABLE won AS
        SELECT cl.cluster_id, cl.customer_id, cl.n,
               pc.created_at
        FROM claim cl
        JOIN cluster_size cs USING (cluster_id)
        LEFT JOIN previous_customer pc USING (customer_id)
        QUALIFY row_number() OVER (
            PARTITION BY cl.customer_id ORDER BY cl.n DESC, cs.anchor
        ) = 1;

        -- Survivor among the ids a cluster won.
        CREATE OR REPLACE TEMP TABLE survivor AS
        SELECT cluster_id, customer_id
        FROM won
        QUALIFY row_number() OVER (
            PARTITION BY cluster_id
            ORDER BY n DESC, created_at ASC NULLS LAST, customer_id
        ) = 1;

        CREATE OR REPLACE TABLE redirects AS
        SELECT w.customer_id AS retired_customer_id, s.customer_id
        FROM won w JOIN survivor s USING (cluster_id)
        WHERE w.customer_id <> s.customer_id
        ORDER BY 1;
        """  # noqa: S608 - a relation name from the caller
    )
    _issue_ids(con)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cluster_customer AS
        SELECT cluster_id, customer_id FROM survivor
        UNION ALL SELECT cluster_id, customer_id FROM issued;

        CREATE OR REPLACE TABLE assignment AS
        SELECT c.record_key, cc.customer_id, cs.n AS cluster_size
        FROM {clusters} c
        JOIN cluster_customer cc USING (cluster_id)
        JOIN cluster_size cs USING (cluster_id)
        ORDER BY c.record_key;

        CREATE OR REPLACE TABLE id_changes AS
        SELECT cc.customer_id,
               CASE WHEN i.cluster_id IS NULL THEN 'merged'
                    WHEN EXISTS (SELECT 1 FROM claim cl WHERE cl.cluster_id = cc.cluster_id)
                        THEN 'split'
                    ELSE 'created' END AS change,
               CASE WHEN i.cluster_id IS NULL THEN
                        (SELECT list(r.retired_customer_id ORDER BY r.retired_customer_id)
                         FROM redirects r WHERE r.customer_id = cc.customer_id)
                    ELSE (SELECT list(DISTINCT cl.customer_id ORDER BY cl.customer_id)
                          FROM claim cl WHERE cl.cluster_id = cc.cluster_id) END
                   AS related_customer_ids,
               cs.n AS record_count
        FROM cluster_customer cc
        JOIN cluster_size cs USING (cluster_id)
        LEFT JOIN issued i USING (cluster_id)
        WHERE i.cluster_id IS NOT NULL
           OR cc.customer_id IN (SELECT customer_id FROM redirects)
        ORDER BY cc.customer_id;
        """  # noqa: S608 - a relation name from the caller
    )
    counts = con.execute(
        """
        SELECT
            (SELECT count(*) FROM cluster_customer),
            (SELECT count(*) FROM id_changes WHERE change = 'created'),
            (SELECT count(*) FROM redirects),
            (SELECT count(*) FROM id_changes WHERE change = 'split')
        """
    ).fetchall()[0]
    customers, created, retired, split = (int(v) for v in counts)
    return IdentityResult(
        customers=customers,
        created=created,
        merged_ids_retired=retired,
        split_ids_created=split,
        unchanged=customers - created - split,
    )


def assign_ids_incrementally(
    con: duckdb.DuckDBPyConnection, touched: str, base: str
) -> IdentityResult:
    """`assign_ids` when the previous state is what the last assignment (relation `base`:
    record_key, customer_id, cluster_size) left in the store and every record not in
    `touched(record_key)` is in the cluster it was in then, with the same records.
    Also creates `ASSIGNMENT_CHANGES` (record_key, customer_id, base_customer_id): the
    records whose customer differs from `base`'s (NULL where a side has no row).

    Such a cluster claims only its previous id, which no other cluster claims (each id held
    one cluster's records, inactive records claim nothing): it keeps that id, with no merge,
    split or new id, and its records keep their base row. So ids are assigned to the
    clusters holding a touched record only (a previous id one of them claims held records
    of touched clusters only: the last clustering put them in one cluster, which a
    touched record's change re-clustered whole), and the result is `assign_ids` over every
    cluster. Counts the customers of the whole assignment."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __touched_clusters AS
        SELECT record_key, cluster_id FROM clusters
        WHERE cluster_id IN (SELECT cluster_id FROM clusters SEMI JOIN {touched} USING (record_key))
        """  # noqa: S608 - a relation name from the caller
    )
    result = assign_ids(con, "__touched_clusters")
    con.execute(
        f"""
        -- Only a touched record or a record of a touched cluster can change customer: the
        -- others keep their base row below.
        CREATE OR REPLACE TEMP TABLE {ASSIGNMENT_CHANGES} AS
        SELECT record_key, n.customer_id, o.customer_id AS base_customer_id
        FROM (SELECT record_key, customer_id FROM assignment) n
        FULL JOIN (
            SELECT record_key, customer_id FROM {base}
            WHERE record_key IN (SELECT record_key FROM {touched}
                                 UNION ALL SELECT record_key FROM __touched_clusters)
        ) o USING (record_key)
        WHERE n.customer_id IS DISTINCT FROM o.customer_id;

        ALTER TABLE assignment RENAME TO __touched_assignment;
        CREATE OR REPLACE TABLE assignment AS
        SELECT * FROM (
            -- Not touched: gone records are touched; records of a touched cluster are
            -- too (it was clustered again whole), the second join only makes sure.
            SELECT record_key, customer_id, cluster_size FROM {base}
            ANTI JOIN {touched} USING (record_key)
            ANTI JOIN __touched_clusters USING (record_key)
            UNION ALL SELECT * FROM __touched_assignment
        )
        ORDER BY record_key;
        DROP TABLE __touched_assignment;
        DROP TABLE __touched_clusters;
        """  # noqa: S608 - a relation name from the caller
    )
    (customers,), = con.execute(
        "SELECT count(DISTINCT customer_id) FROM assignment"
    ).fetchall()
    kept = int(customers) - result.customers
    return IdentityResult(
        customers=int(customers),
        created=result.created,
        merged_ids_retired=result.merged_ids_retired,
        split_ids_created=result.split_ids_created,
        unchanged=result.unchanged + kept,
    )
