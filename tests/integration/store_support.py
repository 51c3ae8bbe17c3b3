"""Helpers shared by the governed-store tests: a fresh PostgreSQL database, a real sync, and a
concurrent reader process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from pipelines.publish.store import _alembic_config
from pipelines.settings import PROJECT_ROOT
from tests.servers import POSTGRES_URL, require, unique_name

READER = Path(__file__).with_name("store_reader.py")


@contextmanager
def fresh_postgres_database(prefix: str = "test_store") -> Iterator[str]:
    """A new, empty database on the test server (dropped afterwards): roles are cluster-wide,
    everything else of the store lives in it."""
    admin = require(POSTGRES_URL)
    name = unique_name(prefix)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sa.make_url(POSTGRES_URL).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def run_sync() -> str:
    """One nightly sync, in-process, as the Dagster job runs it; returns its run id."""
    from pipelines.definitions import build_defs

    result = build_defs().resolve_job_def("nightly_sync").execute_in_process(raise_on_error=False)
    failures = [e.step_failure_data.error.message for e in result.all_events if e.is_step_failure]
    assert result.success, failures
    return result.run_id


def run_with_reader(url: str, work: Path, action: Callable[[], None]) -> dict:
    """Run `action` while separate processes read the store: one reconnecting in a loop, one
    holding a connection open throughout. Returns both records merged."""
    stop = work / "reader.stop"
    stop.unlink(missing_ok=True)
    outs = {mode: work / f"reader.{mode}.json" for mode in ("loop", "hold")}
    readers = [
        subprocess.Popen(
            [sys.executable, str(READER), mode, url, str(stop), str(out)], cwd=PROJECT_ROOT
        )
        for mode, out in outs.items()
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(Path(f"{out}.ready").exists() for out in outs.values()):
            assert time.monotonic() < deadline, "the readers did not start"
            time.sleep(0.05)
        time.sleep(0.3)  # the loop has read the old state a few times
        action()
        time.sleep(0.5)  # and reads the new state a few times
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=120)
    assert all(r.returncode == 0 for r in readers), "a reader process itself failed"
    loop, hold = (json.loads(outs[m].read_text()) for m in ("loop", "hold"))
    return {**loop, "first": hold["first"], "last": hold["last"]}


def assert_never_mixed(record: dict, old_run: str, new_run: str) -> None:
    """Every snapshot the reader saw is one whole publish, old or new; it never failed."""
    assert record["errors"] == [], record["errors"][:3]
    snapshots = record["snapshots"]
    assert len(snapshots) > 10, "the reader hardly ran"
    for active, mart, expected, run_id, source_rows, check_rows, _runs in snapshots:
        assert active == mart == expected, (active, mart, expected)
        assert source_rows > 0 and check_rows > 0, (run_id, source_rows, check_rows)
    seen = [s[3] for s in snapshots]
    assert set(seen) <= {old_run, new_run}
    assert seen[0] == old_run and seen[-1] == new_run
    # Once the new publish was seen, the old one never came back.
    assert seen == sorted(seen, key=lambda r: r == new_run)
    # A connection opened before the publish keeps the snapshot it started with.
    assert record["first"] == record["last"]
    assert record["first"][3] == old_run


def alembic(url: str, verb: str, *args: str) -> None:
    """Run an Alembic command (`upgrade`, `downgrade`, `check`, ...) on the store at `url`."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            getattr(command, verb)(config, *args)
    finally:
        engine.dispose()
