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


def assign_ids(con: duckdb.DuckDBPyConnection) -> IdentityResult:
    create_empty_inputs(con)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE cluster_size AS
        SELECT cluster_id, count(*) AS n, min(record_key) AS anchor
        FROM clusters GROUP BY cluster_id;

        -- How many of each cluster's records each previous id holds.
        CREATE OR REPLACE TEMP TABLE claim AS
        SELECT c.cluster_id, p.customer_id, count(*) AS n
        FROM clusters c JOIN previous_xref p USING (record_key)
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
        """
    )
    fresh = con.execute(
        """
        SELECT cs.cluster_id, cs.anchor
        FROM cluster_size cs ANTI JOIN survivor s USING (cluster_id)
        ORDER BY cs.anchor
        """
    ).fetchall()
    taken = {
        row[0]
        for row in con.execute(
            "SELECT customer_id FROM previous_customer UNION SELECT customer_id FROM retired_ids "
            "UNION SELECT customer_id FROM previous_xref UNION SELECT customer_id FROM survivor"
        ).fetchall()
    }
    # Only the clusters without an id pass through Python, and only to resolve the rare
    # hash collision with an id issued before.
    issued: list[tuple[str, str]] = []
    for cluster_id, anchor in fresh:
        salt = 0
        candidate = new_customer_id(anchor)
        while candidate in taken:
            salt += 1
            candidate = new_customer_id(anchor, salt)
        taken.add(candidate)
        issued.append((cluster_id, candidate))
    issued_rows = pa.table(
        {
            "cluster_id": pa.array([c for c, _ in issued], pa.string()),
            "customer_id": pa.array([i for _, i in issued], pa.string()),
        }
    )
    con.register("issued_rows", issued_rows)
    con.execute("CREATE OR REPLACE TEMP TABLE issued AS SELECT * FROM issued_rows")
    con.unregister("issued_rows")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE cluster_customer AS
        SELECT cluster_id, customer_id FROM survivor
        UNION ALL SELECT cluster_id, customer_id FROM issued;

        CREATE OR REPLACE TABLE assignment AS
        SELECT c.record_key, cc.customer_id, cs.n AS cluster_size
        FROM clusters c
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
        """
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
