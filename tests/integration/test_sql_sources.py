"""PostgreSQL and MariaDB as real source systems."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sources.connectors import SourceReadError, read_location
from tests.servers import MARIADB_URL, POSTGRES_URL, require, unique_name


@pytest.mark.parametrize("url", [POSTGRES_URL, MARIADB_URL], ids=["postgres", "mariadb"])
def test_sql_server_source_reads_table_and_query(url: str, monkeypatch) -> None:
    import sources.connectors as connectors

    # Several batches from the server-side cursor: none lost or repeated between them.
    monkeypatch.setattr(connectors, "BATCH_ROWS", 500)
    engine = require(url)
    table = unique_name("contacts")
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(f"CREATE TABLE {table} (id INTEGER, name VARCHAR(50), cp VARCHAR(5))")
            )
            conn.execute(
                sa.text(f"INSERT INTO {table} VALUES (:i, :n, :c)"),
                [{"i": i, "n": f"Núñez {i}", "c": "08001"} for i in range(1, 1201)],
            )
        data = read_location(source="crm", kind="sql", url=url, table=table)
        assert data.num_rows == 1200
        assert sorted(data.column("id").to_pylist(), key=int) == [str(i) for i in range(1, 1201)]
        assert data.column("cp").to_pylist()[0] == "08001"
        assert data.column("name").to_pylist()[0] == "Núñez 1"
        subset = read_location(
            source="crm", kind="sql", url=url, query=f"SELECT id FROM {table} WHERE id <= 10"
        )
        assert subset.num_rows == 10
        with pytest.raises(SourceReadError, match="source 'crm': query failed"):
            read_location(source="crm", kind="sql", url=url, table=table + "_missing")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


@pytest.mark.parametrize("url", [POSTGRES_URL, MARIADB_URL], ids=["postgres", "mariadb"])
def test_incremental_read_on_a_typed_timestamp_column(url: str, tmp_path) -> None:
    """The watermark is bound untyped so the server compares it as its own TIMESTAMP."""
    import datetime as dt

    from pipelines.extract.extract import extract_table
    from pipelines.workarea import WorkArea
    from sources.registry import load_registry

    engine = require(url)
    table = unique_name("contacts")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE TABLE {table} (id INTEGER, mail VARCHAR(50), "
                                 "changed TIMESTAMP NULL, deleted VARCHAR(5))"))
            conn.execute(
                sa.text(f"INSERT INTO {table} VALUES (:i, :m, :c, 'no')"),
                [{"i": i, "m": f"m{i}@x.es", "c": dt.datetime(2026, 1, i)} for i in range(1, 6)],
            )
        registry = tmp_path / "sources.yaml"
        registry.write_text(
            f"sources:\n  - name: crm\n    kind: sql\n    url: {url}\n    table: {table}\n"
            "    primary_key: id\n    watermark: changed\n"
            "    soft_delete: {column: deleted, values: [yes]}\n    fields: {email: mail}\n"
        )
        read = load_registry(registry, env={}).get("crm").read()
        work = WorkArea(tmp_path / "work")
        first = extract_table(read, work, dt.datetime(2026, 2, 1))
        assert first.rows == 5 and first.high_water == "2026-01-05 00:00:00"
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {table} SET mail = 'new@x.es', "
                                 "changed = :c WHERE id = 2"), {"c": dt.datetime(2026, 1, 9)})
            conn.execute(sa.text(f"UPDATE {table} SET deleted = 'yes', "
                                 "changed = :c WHERE id = 3"), {"c": dt.datetime(2026, 1, 9)})
        second = extract_table(
            read, work, dt.datetime(2026, 2, 2), published={"crm": ("changed", first.high_water)}
        )
        assert not second.full_read
        assert second.rows_read == 3  # ids 2, 3 and the boundary row 5
        assert second.deleted == 1 and second.rows == 4
        import pyarrow.parquet as pq

        rows = {r["id"]: r["mail"] for r in pq.read_table(work.raw_path("crm")).to_pylist()}
        assert rows == {"1": "m1@x.es", "2": "new@x.es", "4": "m4@x.es", "5": "m5@x.es"}
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


def test_sync_reads_crm_from_postgres_and_billing_from_mariadb(
    sync_env, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's CRM on PostgreSQL and its billing ERP on MariaDB, through the whole job."""
    import json
    import shutil

    import duckdb

    from pipelines.definitions import build_defs
    from pipelines.settings import PROJECT_ROOT
    from sources.demo.servers import load_system

    postgres, mariadb = require(POSTGRES_URL), require(MARIADB_URL)
    crm_schema, billing_schema = unique_name("crm"), unique_name("billing")
    demo = tmp_path / "demo"
    shutil.copytree(sync_env.demo_dir, demo)
    try:
        crm_counts = load_system(demo, "crm", POSTGRES_URL, crm_schema)
        billing_counts = load_system(demo, "billing", MARIADB_URL, billing_schema)
        # The SQLite files are gone: a sync that still read them would fail.
        (demo / "crm.sqlite").unlink()
        (demo / "billing.sqlite").unlink()
        for name, value in {
            "DEMO_DATA_DIR": str(demo),
            "SOURCES_CONFIG": str(PROJECT_ROOT / "sources" / "sources.servers.yaml"),
            "CRM_URL": POSTGRES_URL,
            "CRM_SCHEMA": crm_schema,
            "BILLING_URL": MARIADB_URL,
            "BILLING_SCHEMA": billing_schema,
        }.items():
            monkeypatch.setenv(name, value)
        result = build_defs().resolve_job_def("nightly_sync").execute_in_process(
            raise_on_error=False
        )
        failures = [
            e.step_failure_data.error.message for e in result.all_events if e.is_step_failure
        ]
        assert result.success, failures
        for table, count in (("crm", crm_counts["crm.contacts"]),
                             ("crm__orders", crm_counts["crm.orders"]),
                             ("billing", billing_counts["billing.customers"]),
                             ("billing__payments", billing_counts["billing.payments"])):
            report = json.loads((sync_env.work_dir / "raw" / f"{table}.extract.json").read_text())
            assert report["rows"] == count
        con = duckdb.connect(str(sync_env.store_path), read_only=True)
        try:
            linked = dict(
                con.execute(
                    "SELECT source_system, count(*) FROM core.customer_source_xref "
                    "WHERE is_active GROUP BY 1"
                ).fetchall()
            )
            activity = dict(
                con.execute(
                    "SELECT source_system, count(*) FROM core.activity GROUP BY 1"
                ).fetchall()
            )
        finally:
            con.close()
        assert linked["crm"] >= crm_counts["crm.contacts"] - 3
        assert linked["billing"] >= billing_counts["billing.customers"] - 3
        assert activity["crm"] > 0 and activity["billing"] > 0
    finally:
        with postgres.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{crm_schema}" CASCADE'))
        with mariadb.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{billing_schema}`"))
        postgres.dispose()
        mariadb.dispose()
