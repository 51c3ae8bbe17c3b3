"""SIGKILL during extraction, linkage and publish leaves the previous store untouched, and
the next sync produces what an uninterrupted run would. Two syncs at once: one is refused."""

import hashlib
import os
import subprocess
import sys
import time

import duckdb
import pytest

from pipelines.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


def sync(env: dict[str, str], *extra: str, fault: str | None = None) -> subprocess.CompletedProcess:
    run_env = dict(env)
    if fault:
        run_env["CUSTOMER_STORE_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "pipelines", "sync", "--ephemeral", *extra],
        cwd=PROJECT_ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def file_hash(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def identity_state(store) -> tuple:
    con = duckdb.connect(str(store), read_only=True)
    try:
        xref = con.execute(
            "SELECT source_system, source_record_id, customer_id, is_active "
            "FROM core.customer_source_xref ORDER BY 1, 2"
        ).fetchall()
        golden = con.execute(
            "SELECT * EXCLUDE (created_run_id, updated_run_id, created_at, updated_at) "
            "FROM core.customer ORDER BY customer_id"
        ).fetchall()
        return xref, golden
    finally:
        con.close()


def test_killed_syncs_leave_the_store_untouched(sync_env) -> None:
    env = dict(os.environ)
    first = sync(env)
    assert first.returncode == 0, first.stderr[-2000:]
    store = sync_env.store_path
    before_hash = file_hash(store)
    before_state = identity_state(store)

    for point in ("extract.after_first_source", "link.after_scoring", "publish.before_swap"):
        killed = sync(env, fault=point)
        assert killed.returncode == -9, (point, killed.returncode, killed.stderr[-2000:])
        assert file_hash(store) == before_hash, point

    recovered = sync(env)
    assert recovered.returncode == 0, recovered.stderr[-2000:]
    assert identity_state(store) == before_state
    # The files a killed publish left beside the store are gone after the next one.
    assert not list(store.parent.glob("*.ahead")) and not list(store.parent.glob("*.next"))


def test_second_concurrent_sync_is_refused_cleanly(sync_env) -> None:
    env = dict(os.environ)
    slow = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "sync", "--ephemeral"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lock = sync_env.work_dir.with_name(sync_env.work_dir.name + ".sync.lock")
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.2)
        second = sync(env)
        assert second.returncode == 3
        assert "another sync is running" in second.stderr
    finally:
        out, err = slow.communicate(timeout=600)
    assert slow.returncode == 0, err[-2000:]
    waited = sync(env, "--wait")
    assert waited.returncode == 0, waited.stderr[-2000:]
