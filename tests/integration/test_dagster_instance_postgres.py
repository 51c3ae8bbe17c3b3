"""The Dagster instance on PostgreSQL when DAGSTER_PG_* are set, against the running server
(a throw-away database per test, dropped afterwards)."""

from __future__ import annotations

import shutil

import dagster as dg
import sqlalchemy as sa

from pipelines.ops import instance
from pipelines.settings import PROJECT_ROOT
from tests.servers import POSTGRES_URL, require, unique_name


@dg.op
def say_hello() -> str:
    return "hello"


@dg.job
def hello_job() -> None:
    say_hello()


def test_instance_stores_runs_in_postgres(tmp_path, monkeypatch) -> None:
    engine = require(POSTGRES_URL)
    database = unique_name("dagster_test")
    url = sa.make_url(POSTGRES_URL)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    try:
        env = {
            "DAGSTER_PG_HOST": url.host or "127.0.0.1",
            "DAGSTER_PG_PORT": str(url.port or 5432),
            "DAGSTER_PG_USER": url.username or "postgres",
            "DAGSTER_PG_DB": database,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        base = tmp_path / "dagster_home"
        base.mkdir()
        shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", base)
        home = instance.dagster_home(env, base)
        with dg.DagsterInstance.from_config(str(home)) as pg:
            assert type(pg.run_storage).__name__ == "PostgresRunStorage"
            assert pg.event_log_storage.supports_global_concurrency_limits
            assert pg.get_concurrency_config().pool_config.default_pool_limit == 1
            result = hello_job.execute_in_process(instance=pg)
            assert result.success
            assert pg.get_run_by_id(result.run_id).job_name == "hello_job"
        db_engine = sa.create_engine(url.set(database=database))
        with db_engine.connect() as conn:
            stored = conn.execute(
                sa.text("SELECT count(*) FROM runs WHERE run_id = :r"), {"r": result.run_id}
            ).scalar_one()
        db_engine.dispose()
        assert stored == 1
    finally:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        engine.dispose()
