"""Type-2 history: versions open on change, close on the next change or retirement."""

import datetime as dt

import duckdb

from pipelines.golden.history import VERSIONED, build_history
from pipelines.publish.prepare import mirror_schema

T1, T2, T3 = (dt.datetime(2026, 1, d) for d in (1, 2, 3))


def new_customers(con: duckdb.DuckDBPyConnection, rows: dict[str, str | None]) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS new")
    con.execute(
        "CREATE OR REPLACE TABLE new.core__customer AS SELECT * FROM core.customer WHERE false"
    )
    for customer_id, email in rows.items():
        con.execute(
            "INSERT INTO new.core__customer (customer_id, party_type, email, source_count, "
            "is_active, record_count, created_run_id, updated_run_id, created_at, updated_at) "
            "VALUES (?, 'person', ?, 1, true, 1, 'r', 'r', ?, ?)",
            [customer_id, email, T1, T1],
        )


def carry_over(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DELETE FROM core.customer_history")
    con.execute("INSERT INTO core.customer_history SELECT * FROM new.core__customer_history")


def as_of(con: duckdb.DuckDBPyConnection, customer_id: str, ts: dt.datetime):
    return con.execute(
        "SELECT email FROM core.customer_history WHERE customer_id = ? AND valid_from <= ? "
        "AND (valid_to IS NULL OR valid_to > ?)",
        [customer_id, ts, ts],
    ).fetchall()


def test_versions_open_and_close_with_changes() -> None:
    con = duckdb.connect()
    mirror_schema(con)
    assert "email" in VERSIONED
    new_customers(con, {"A": "a@x.es", "B": "b@x.es"})
    assert build_history(con, run_id="r1", now=T1) == 2
    carry_over(con)
    new_customers(con, {"A": "a@x.es", "B": "b2@x.es"})  # B changed
    assert build_history(con, run_id="r2", now=T2) == 1
    carry_over(con)
    new_customers(con, {"B": "b2@x.es"})  # A merged away
    assert build_history(con, run_id="r3", now=T3) == 0
    carry_over(con)
    assert as_of(con, "B", T1 + dt.timedelta(hours=1)) == [("b@x.es",)]
    assert as_of(con, "B", T2 + dt.timedelta(hours=1)) == [("b2@x.es",)]
    assert as_of(con, "A", T2) == [("a@x.es",)]
    assert as_of(con, "A", T3) == []  # retired: its last version is closed
    versions = con.execute("SELECT count(*) FROM core.customer_history").fetchall()[0][0]
    assert versions == 3


def test_unchanged_run_opens_no_version() -> None:
    con = duckdb.connect()
    mirror_schema(con)
    new_customers(con, {"A": "a@x.es"})
    build_history(con, run_id="r1", now=T1)
    carry_over(con)
    new_customers(con, {"A": "a@x.es"})
    assert build_history(con, run_id="r2", now=T2) == 0
