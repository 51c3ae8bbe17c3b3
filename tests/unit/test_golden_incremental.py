"""Golden records built incrementally equal a full build; the guards fall back to a full one."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipelines.golden.incremental import build_golden_incrementally
from pipelines.golden.survivorship import build_golden

T1 = dt.datetime(2026, 1, 1, 2, 0)
T2 = dt.datetime(2026, 1, 2, 2, 0)
BASE_LOADS = {"crm": T1, "billing": T1 + dt.timedelta(seconds=5)}
TEXT = (
    "given_name family_name full_name company_name email phone address_line1 address_line2 "
    "postcode city region country tax_id given_name_key family_name_key full_name_key "
    "company_name_key email_key address_key postcode_key"
).split()


def staged_rows(edits: dict[str, dict] | None = None) -> list:
    """Six records of three customers in two sources; `edits` changes values per record."""
    rows = []
    for n, (source, name, email) in enumerate(
        [
            ("crm", "ana", "ana@x.es"),
            ("billing", "ana", "ana@y.es"),
            ("crm", "luis", "luis@x.es"),
            ("billing", "luis", None),
            ("crm", "eva", "eva@x.es"),
            ("billing", "eva", "eva@x.es"),
        ]
    ):
        key = f"{source}:{n}"
        row = {c: None for c in TEXT} | {
            "record_key": key,
            "source_system": source,
            "source_record_id": str(n),
            "source_row_number": n,
            "party_type": "person",
            "given_name": name,
            "given_name_key": name,
            "email": email,
            "email_key": email,
            "birth_date": None,
            "tax_id_valid": None,
            "source_updated_at": None,
        }
        rows.append(row | (edits or {}).get(key, {}))
    return rows


def load(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict]) -> None:
    columns = list(rows[0])
    types = {c: "VARCHAR" for c in columns} | {
        "source_row_number": "BIGINT",
        "birth_date": "DATE",
        "tax_id_valid": "BOOLEAN",
        "source_updated_at": "TIMESTAMP",
    }
    con.execute(f"CREATE OR REPLACE TABLE {name} ({', '.join(f'{c} {types[c]}' for c in columns)})")
    con.executemany(
        f"INSERT INTO {name} VALUES ({', '.join('?' for _ in columns)})",  # noqa: S608
        [[r[c] for c in columns] for r in rows],
    )


def load_times(con: duckdb.DuckDBPyConnection, name: str, loaded: dict[str, dt.datetime]) -> None:
    """The `source_load` layer (or the base's): when each source was read."""
    con.execute(f"CREATE OR REPLACE TABLE {name} (source_system VARCHAR, loaded_at TIMESTAMP)")
    con.executemany(f"INSERT INTO {name} VALUES (?, ?)", list(loaded.items()))  # noqa: S608


def assignment(customers: dict[str, str]) -> list[dict]:
    return [{"record_key": k, "customer_id": v} for k, v in customers.items()]


CUSTOMERS = {
    "crm:0": "C-ana", "billing:1": "C-ana", "crm:2": "C-luis",
    "billing:3": "C-luis", "crm:4": "C-eva", "billing:5": "C-eva",
}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """A base: last run's staged/assignment and the golden records built from them."""
    con = duckdb.connect()
    load(con, "base_staged", staged_rows())
    load(con, "base_assignment", assignment(CUSTOMERS))
    load_times(con, "base_source_load", BASE_LOADS)
    con.execute("CREATE VIEW source_load AS SELECT * FROM base_source_load")
    con.execute("CREATE VIEW staged AS SELECT * FROM base_staged")
    con.execute("CREATE VIEW assignment AS SELECT * FROM base_assignment")
    build_golden(con)
    con.execute("ALTER TABLE golden RENAME TO base_golden")
    con.execute("ALTER TABLE provenance RENAME TO base_provenance")
    con.execute("DROP VIEW staged")
    con.execute("DROP VIEW assignment")
    con.execute("DROP VIEW source_load")
    return con


def full_build(con: duckdb.DuckDBPyConnection) -> tuple[list, list]:
    build_golden(con)
    return (
        con.execute("SELECT * FROM golden ORDER BY customer_id").fetchall(),
        con.execute("SELECT * FROM provenance ORDER BY customer_id, attribute").fetchall(),
    )


def test_only_changed_customers_are_rebuilt_and_the_result_equals_a_full_build(con) -> None:
    # Tonight: new load times (same order), Luis's billing record gets an e-mail, and the
    # billing record of Eva moves to a new customer.
    loaded = {"crm": T2, "billing": T2 + dt.timedelta(seconds=5)}
    edits = {"billing:3": {"email": "luis@y.es", "email_key": "luis@y.es"}}
    load(con, "staged", staged_rows(edits))
    load_times(con, "source_load", loaded)
    load(con, "assignment", assignment(CUSTOMERS | {"billing:5": "C-eva2"}))
    result = build_golden_incrementally(con)
    assert result == {"customers": 4, "customers_rebuilt": 3}  # luis, eva, eva2; not ana
    incremental = (
        con.execute("SELECT * FROM golden ORDER BY customer_id").fetchall(),
        con.execute("SELECT * FROM provenance ORDER BY customer_id, attribute").fetchall(),
    )
    # The change is what differs from the base: applied to the base it gives this run's
    # provenance, and no row in it is one the base already holds.
    applied = con.execute(
        """
        SELECT * FROM (
            SELECT * FROM base_provenance
            ANTI JOIN provenance_removed USING (customer_id, attribute)
            UNION ALL BY NAME SELECT * FROM provenance_upserts)
        ORDER BY customer_id, attribute
        """
    ).fetchall()
    assert applied == incremental[1]
    assert con.execute(
        "SELECT count(*) FROM (SELECT * FROM provenance_upserts INTERSECT "
        "SELECT * FROM base_provenance)"
    ).fetchall() == [(0,)]
    removed = {r[0] for r in con.execute("SELECT customer_id FROM provenance_removed").fetchall()}
    upserts = {r[0] for r in con.execute("SELECT customer_id FROM provenance_upserts").fetchall()}
    assert removed <= {"C-luis", "C-eva"} and upserts <= {"C-luis", "C-eva", "C-eva2"}
    assert "C-eva2" in upserts and removed  # a new customer; Eva lost a record
    assert incremental == full_build(con)


def test_load_times_in_another_order_rebuild_everything(con) -> None:
    load(con, "staged", staged_rows())
    load_times(con, "source_load", {"crm": T2, "billing": T2 - dt.timedelta(seconds=5)})
    load(con, "assignment", assignment(CUSTOMERS))
    assert build_golden_incrementally(con) is None


def test_a_kept_record_stamped_after_the_base_load_rebuilds_everything(con) -> None:
    # Ana's record carried a source timestamp in the base's future: recency against load
    # times could now flip without the record changing.
    loaded = {"crm": T2, "billing": T2 + dt.timedelta(seconds=5)}
    future = {"crm:0": {"source_updated_at": T1 + dt.timedelta(hours=3)}}
    load(con, "base_staged", staged_rows(future))
    load(con, "staged", staged_rows(future))
    load_times(con, "source_load", loaded)
    load(con, "assignment", assignment(CUSTOMERS))
    assert build_golden_incrementally(con) is None
