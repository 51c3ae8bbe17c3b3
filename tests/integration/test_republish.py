"""Materializing publish_store alone after a successful run (e.g. from the UI) would publish
the same layers twice: that run's merges (core.customer_id_redirect) and identity events
would be appended again. The publish refuses it by name and leaves the store as it was, on
the embedded store and on PostgreSQL."""

from __future__ import annotations

import hashlib
from contextlib import nullcontext

import dagster as dg
import pytest
import sqlalchemy as sa

from pipelines.definitions import build_defs
from pipelines.publish.assets import STORE_TABLES
from tests.integration.store_support import fresh_postgres_database

COUNTED = ("audit.sync_run", "core.identity_event", "core.customer", "audit.check_result")


def _store_state(url: str, duckdb_file) -> tuple:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            counts = tuple(
                conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()  # noqa: S608
                for table in COUNTED
            )
    finally:
        engine.dispose()
    if duckdb_file is None:
        return counts
    return counts, hashlib.sha256(duckdb_file.read_bytes()).hexdigest()


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_publishing_the_same_layers_again_is_refused_and_leaves_the_store(
    sync_env, monkeypatch, backend
) -> None:
    store = fresh_postgres_database() if backend == "postgresql" else nullcontext(None)
    with store as pg_url:
        if pg_url:
            monkeypatch.setenv("CUSTOMER_STORE_URL", pg_url)
        url = pg_url or sync_env.store_url
        duckdb_file = None if pg_url else sync_env.store_path
        job = build_defs().resolve_job_def("nightly_sync")
        first = job.execute_in_process(raise_on_error=False)
        assert first.success
        before = _store_state(url, duckdb_file)

        again = job.execute_in_process(
            asset_selection=[dg.AssetKey(key.split("/")) for key in STORE_TABLES],
            raise_on_error=False,
        )
        assert not again.success
        [failure] = [e for e in again.all_events if e.is_step_failure]
        assert failure.step_key == "publish_store"
        message = failure.step_failure_data.error.to_string()
        assert "already holds exactly these layers" in message
        assert first.run_id in message
        assert _store_state(url, duckdb_file) == before
