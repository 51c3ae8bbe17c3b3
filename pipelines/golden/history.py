"""Type-2 history of golden records: every version of a customer with its validity range.

A version is opened when a customer is created or any golden attribute (or its active flag)
changes, and closed (valid_to set) when the next version opens. An analyst asks what a
customer looked like on a date with
`WHERE customer_id = ? AND valid_from <= ts AND (valid_to IS NULL OR valid_to > ts)`.
"""

import datetime as dt

import duckdb

from sources.registry import CANONICAL_FIELDS

VERSIONED = (*CANONICAL_FIELDS, "is_active")


def _changed(new: str, old: str) -> str:
    return " OR ".join(f"{new}.{c} IS DISTINCT FROM {old}.{c}" for c in VERSIONED)


def build_history(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    now: dt.datetime,
    changed: tuple[str, str] | None = None,
) -> int:
    """Create `new.core__customer_history` from the previous `core.customer_history` and the
    new `new.core__customer`. Returns the number of versions opened by this run.

    `changed` = (customers, rows): only the customers of relation `customers` can have a
    new row, and relation `rows` holds their new `core.customer` rows (the others are the
    previous ones): only their history is built again, into table `__history_changed`,
    and `new.core__customer_history` is a view of it over the previous history."""
    columns = ", ".join(VERSIONED)
    new_rows, previous, target = "new.core__customer", "core.customer_history", (
        "new.core__customer_history"
    )
    if changed is not None:
        customers, new_rows = changed
        previous = (
            f"(SELECT * FROM core.customer_history SEMI JOIN {customers} USING (customer_id))"  # noqa: S608
        )
        target = "__history_changed"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE opened AS
        SELECT n.customer_id, $now AS valid_from, CAST(NULL AS TIMESTAMP) AS valid_to,
               $run AS run_id, {", ".join(f"n.{c}" for c in VERSIONED)}
        FROM {new_rows} n
        LEFT JOIN {previous} h
               ON h.customer_id = n.customer_id AND h.valid_to IS NULL
        WHERE h.customer_id IS NULL OR {_changed("n", "h")}
        """,  # noqa: S608 - only column names from the registry are formatted in
        {"now": now, "run": run_id},
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {target} AS
        SELECT h.customer_id, h.valid_from,
               CASE WHEN h.valid_to IS NULL AND o.customer_id IS NOT NULL THEN $now
                    ELSE h.valid_to END AS valid_to,
               h.run_id, {", ".join(f"h.{c}" for c in VERSIONED)}
        FROM {previous} h
        LEFT JOIN opened o USING (customer_id)
        -- Ids retired by a merge close their last version too.
        UNION ALL
        SELECT customer_id, valid_from, valid_to, run_id, {columns} FROM opened
        """,  # noqa: S608
        {"now": now},
    )
    con.execute(
        f"""
        UPDATE {target} SET valid_to = $now
        WHERE valid_to IS NULL
          AND customer_id NOT IN (SELECT customer_id FROM {new_rows})
        """,  # noqa: S608 - relation names from the caller
        {"now": now},
    )
    if changed is not None:
        con.execute(
            f"""
            CREATE OR REPLACE VIEW new.core__customer_history AS
            SELECT * FROM core.customer_history ANTI JOIN {changed[0]} USING (customer_id)
            UNION ALL SELECT * FROM __history_changed
            """  # noqa: S608 - relation names from the caller
        )
    return int(con.execute("SELECT count(*) FROM opened").fetchall()[0][0])
