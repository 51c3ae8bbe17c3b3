"""Access: analysts without PII clearance read masked views only; roles enforce it on
PostgreSQL (SET ROLE), the masked views are the analyst surface on DuckDB."""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb
import psycopg
import pytest
import sqlalchemy as sa
from store_support import fresh_postgres_database

from pipelines.publish.store import upgrade

NOW = dt.datetime(2026, 11, 1, 2, 0)
PERSON = {
    "customer_id": "C0000000000000001",
    "party_type": "person",
    "given_name": "Lucía",
    "family_name": "García Pérez",
    "full_name": "Lucía García Pérez",
    "email": "lucia.garcia@example.es",
    "phone": "+34600111222",
    "address_line1": "Calle Mayor 1",
    "postcode": "28013",
    "city": "Madrid",
    "country": "ES",
    "birth_date": dt.date(1984, 5, 17),
    "tax_id": "12345678Z",
}
COMPANY = {
    "customer_id": "C0000000000000002",
    "party_type": "company",
    "full_name": "Talleres Norte S.L.",
    "company_name": "Talleres Norte S.L.",
    "email": "info@talleresnorte.es",
    "city": "Bilbao",
    "country": "ES",
}
RAW_PII = {
    "Lucía",
    "García Pérez",
    "Lucía García Pérez",
    "lucia.garcia@example.es",
    "+34600111222",
    "Calle Mayor 1",
    "28013",
    "12345678Z",
    dt.date(1984, 5, 17),
}


def _insert_customers(conn: sa.Connection) -> None:
    for row in (PERSON, COMPANY):
        values = {
            **row,
            "source_count": 1,
            "is_active": True,
            "record_count": 1,
            "created_run_id": "r1",
            "updated_run_id": "r1",
            "created_at": NOW,
            "updated_at": NOW,
        }
        columns = ", ".join(values)
        params = ", ".join(f":{k}" for k in values)
        conn.execute(sa.text(f"INSERT INTO core.customer ({columns}) VALUES ({params})"), values)
        conn.execute(
            sa.text(
                "INSERT INTO marts.customer_360 (customer_id, party_type, display_name, email, "
                "city, country, source_count, record_count, lifetime_revenue, lifetime_margin, "
                "orders, invoices, invoices_outstanding, tickets, open_tickets, shipments, as_of) "
                "VALUES (:id, :pt, :name, :email, :city, 'ES', 1, 1, 10, 2, 1, 0, 0, 0, 0, 0, "
                ":as_of)"
            ),
            {
                "id": row["customer_id"],
                "pt": row["party_type"],
                "name": row["full_name"],
                "email": row["email"],
                "city": row["city"],
                "as_of": NOW.date(),
            },
        )


def _assert_masked(rows: list[dict]) -> None:
    by_id = {r["customer_id"]: r for r in rows}
    person, company = by_id[PERSON["customer_id"]], by_id[COMPANY["customer_id"]]
    assert not RAW_PII & {v for r in rows for v in r.values() if v is not None}
    assert person["full_name"] is None  # a person's name is never shown
    assert company["full_name"] == COMPANY["full_name"]  # a company's is
    assert person["email_sha256"] == hashlib.sha256(PERSON["email"].encode()).hexdigest()
    assert person["birth_year"] == 1984
    assert person["postcode_area"] == "28"
    assert {"email", "phone", "tax_id", "birth_date", "postcode", "given_name"}.isdisjoint(person)


def test_duckdb_masked_views_hide_personal_data(tmp_path) -> None:
    url = f"duckdb:///{tmp_path / 'store' / 'store.duckdb'}"
    upgrade(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        _insert_customers(conn)
    engine.dispose()
    con = duckdb.connect(str(tmp_path / "store" / "store.duckdb"), read_only=True)
    try:
        cursor = con.execute("SELECT * FROM analyst.customer_masked")
        names = [d[0] for d in cursor.description]
        _assert_masked([dict(zip(names, r, strict=True)) for r in cursor.fetchall()])
        mart = con.execute(
            "SELECT display_name FROM analyst.customer_360_masked ORDER BY customer_id"
        ).fetchall()
        assert mart == [(None,), (COMPANY["full_name"],)]
    finally:
        con.close()
    # No roles on DuckDB: the file itself is private to the pipeline's user.
    assert (tmp_path / "store").stat().st_mode & 0o777 == 0o700


ANALYST_DENIED = [
    "SELECT * FROM core.customer",
    "SELECT customer_id FROM core.customer",
    "SELECT * FROM core.customer_history",
    "SELECT raw_record FROM audit.quarantined_record",
    "SELECT email FROM marts.customer_360",
    "SELECT * FROM marts.customer_360",  # it holds PII columns
    "INSERT INTO marts.kpi_monthly (month, active_customers, new_customers, returning_customers,"
    " orders, revenue, margin, syncs) VALUES (DATE '2026-01-01', 0, 0, 0, 0, 0, 0, 0)",
    "DELETE FROM marts.kpi_monthly",
    "UPDATE analyst.customer_masked SET city = 'x'",
    "DELETE FROM core.customer",
    "INSERT INTO core.steward_decision (decision_id, record_key_l, record_key_r, decision, "
    "decided_by, reason, decided_at, is_active) VALUES ('d', 'a:1', 'b:2', 'must_link', 'x', "
    "'y', now(), true)",
    "CREATE TABLE analyst.mine (x int)",
    "CREATE TABLE marts.mine (x int)",
    "CREATE TABLE public.mine (x int)",
]


def _as(engine: sa.Engine, role: str, sql: str) -> list:
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SET ROLE {role}")
        result = conn.exec_driver_sql(sql)
        rows = [dict(r._mapping) for r in result] if result.returns_rows else []
        conn.rollback()
        return rows


def test_postgresql_roles_analyst_cannot_read_pii_or_write() -> None:
    with fresh_postgres_database("test_store_access") as url:
        upgrade(url)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as conn:
                _insert_customers(conn)
            _assert_masked(_as(engine, "analyst", "SELECT * FROM analyst.customer_masked"))
            # The marts without their PII columns, and the KPIs, are the analyst's to read.
            assert _as(
                engine,
                "analyst",
                "SELECT customer_id, lifetime_revenue, city FROM marts.customer_360",
            )
            _as(engine, "analyst", "SELECT * FROM marts.kpi_monthly")
            _as(engine, "analyst", "SELECT * FROM analyst.customer_360_masked")
            for sql in ANALYST_DENIED:
                with pytest.raises(sa.exc.ProgrammingError) as denied:
                    _as(engine, "analyst", sql)
                assert isinstance(denied.value.orig, psycopg.errors.InsufficientPrivilege), sql

            # A steward records decisions and reads personal data to make them, nothing more.
            _as(engine, "steward", ANALYST_DENIED[10])
            assert _as(engine, "steward", "SELECT full_name FROM core.customer")
            with pytest.raises(sa.exc.ProgrammingError):
                _as(engine, "steward", "UPDATE core.customer SET city = 'x'")
            # The pipeline writes the store, but does not change its schema.
            _as(engine, "pipeline", "UPDATE core.customer SET city = 'x'")
            with pytest.raises(sa.exc.ProgrammingError):
                _as(engine, "pipeline", "CREATE TABLE core.mine (x int)")
        finally:
            engine.dispose()
