"""Atomic publish: an analyst reading in a loop during a whole sync never fails and never sees
a mix of two publishes, on DuckDB (build aside and swap) and PostgreSQL (one transaction)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from store_support import (
    assert_never_mixed,
    fresh_postgres_database,
    run_sync,
    run_with_reader,
)

from models.dictionary import analyst_queries
from pipelines.publish import store
from pipelines.settings import load_settings
from pipelines.workarea import WorkArea

pytestmark = pytest.mark.slow


def test_duckdb_reader_across_a_sync_sees_old_or_new_never_a_mix(sync_env, tmp_path) -> None:
    old_run = run_sync()
    new_runs: list[str] = []
    record = run_with_reader(sync_env.store_url, tmp_path, lambda: new_runs.append(run_sync()))
    assert_never_mixed(record, old_run, new_runs[0])
    # The store file stays private to its owner (the analyst surface is the masked views).
    assert sync_env.store_path.stat().st_mode & 0o777 == 0o600
    assert sync_env.store_path.parent.stat().st_mode & 0o777 == 0o700


def test_postgresql_sync_with_concurrent_reader(sync_env, tmp_path, monkeypatch) -> None:
    with fresh_postgres_database() as url:
        monkeypatch.setenv("CUSTOMER_STORE_URL", url)
        old_run = run_sync()
        new_runs: list[str] = []
        record = run_with_reader(url, tmp_path, lambda: new_runs.append(run_sync()))
        new_run = new_runs[0]
        assert_never_mixed(record, old_run, new_run)

        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                # The second run read its previous state back from PostgreSQL (COPY -> Arrow):
                # every id carried over, nothing created.
                created = conn.execute(
                    sa.text("SELECT customers_created FROM audit.sync_run WHERE run_id = :r"),
                    {"r": new_run},
                ).scalar_one()
                assert created == 0
                _assert_types_round_trip(conn, Path(load_settings().work_dir))
            _assert_analyst_queries_run_as_analyst(engine)
        finally:
            engine.dispose()


def _assert_types_round_trip(conn: sa.Connection, work_dir: Path) -> None:
    """Numeric, Date, JSON and text survive COPY exactly (compared with the work layer)."""
    layer = work_dir / "publish__marts__customer_360.parquet"
    expected = duckdb.sql(
        "SELECT sum(lifetime_revenue), count(*) FILTER (WHERE email IS NULL), max(as_of) "
        f"FROM read_parquet('{layer}')"
    ).fetchall()[0]
    revenue, no_email, as_of, systems = conn.execute(
        sa.text(
            "SELECT sum(lifetime_revenue), count(*) FILTER (WHERE email IS NULL), max(as_of), "
            "max(json_array_length(source_systems)) FROM marts.customer_360"
        )
    ).one()
    assert (revenue, no_email, as_of) == expected
    assert systems >= 2
    birth = conn.execute(
        sa.text("SELECT count(birth_date), pg_typeof(min(birth_date))::text FROM core.customer")
    ).one()
    assert birth[0] > 0 and birth[1] == "date"


def _assert_analyst_queries_run_as_analyst(engine: sa.Engine) -> None:
    for name, sql in analyst_queries().items():
        with engine.connect() as conn:
            conn.exec_driver_sql("SET ROLE analyst")
            rows = conn.exec_driver_sql(sql.rstrip().rstrip(";")).fetchall()
            assert name in {"merges_this_month"} or rows, f"{name} returned nothing"


def test_postgresql_publish_speed(sync_env, monkeypatch, capsys) -> None:
    """The PostgreSQL publish streams with COPY: report how long the store write takes."""
    with fresh_postgres_database() as url:
        monkeypatch.setenv("CUSTOMER_STORE_URL", url)
        run_sync()
        from pipelines.publish.prepare import published_loads

        work = WorkArea(Path(load_settings().work_dir))
        loads = [dataclasses.replace(load, mode="replace") for load in published_loads(work)]
        started = time.perf_counter()
        store.publish(url, loads)
        elapsed = time.perf_counter() - started
        rows = sum(
            duckdb.sql(f"SELECT count(*) FROM read_parquet('{load.path}')").fetchall()[0][0]
            for load in loads
        )
        with capsys.disabled():
            print(f"\nPostgreSQL publish: {rows} rows in {elapsed:.2f} s")
        assert elapsed < 30
