"""Smoke run of the performance harness at a tiny N (the real sizes are run by hand)."""

import datetime as dt
import json
import os
import subprocess
import sys

import duckdb
import pytest

from pipelines.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_perf_harness_smoke(tmp_path) -> None:
    env = {**os.environ, "BENCH_OUT_DIR": str(tmp_path), "PYTHONPATH": str(PROJECT_ROOT)}
    # The run may cross UTC midnight: its "next night" is the day after either date.
    days = {dt.datetime.now(dt.UTC).date()}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.perf",
            "--records",
            "300",
            "--runs",
            "1",
            "--incremental",
            "0.01",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    days.add(dt.datetime.now(dt.UTC).date())
    assert "pipeline / bare" in completed.stdout
    [report] = tmp_path.glob("perf_*_duckdb.json")
    summary = json.loads(report.read_text())
    run = summary["runs_detail"][0]
    assert run["sync"]["ok"] and run["incremental"]["ok"]
    assert run["incremental"]["changed_records"] >= 1
    assert {"staged_customers", "scored_pairs", "publish_store"} <= set(run["sync"]["stages_s"])
    assert summary["median_bare_s"] > 0 and summary["max_peak_rss_mb"] > 0
    # CPU seconds beside wall time (steadier on a shared box), per child and as ratios
    assert run["sync"]["cpu_s"] > 0 and run["bare"]["cpu_s"] > 0 and run["incremental"]["cpu_s"] > 0
    assert summary["median_cpu_ratio_sync_to_bare"] > 0
    assert "CPU seconds" in completed.stdout
    # every run is scored against the demo's ground truth: a fast wrong run is no result
    assert 0.5 < run["accuracy"]["pairwise"]["f1"] <= 1.0
    assert "pairwise P / R / F1" in completed.stdout
    # The incremental sync is the next night's: the customers whose figures it changed (a
    # family name changed at the source) carry its date, the others keep the first night's.
    store = tmp_path / "run_300_duckdb_0" / "store" / "store.duckdb"
    con = duckdb.connect(str(store), read_only=True)
    sql = "SELECT as_of, count(*) FROM marts.customer_360 GROUP BY 1"
    dates = dict(con.execute(sql).fetchall())
    (published,), = con.execute("SELECT max(published_at) FROM audit.sync_run").fetchall()
    con.close()
    assert max(dates) == published.date()
    assert max(dates) in {day + dt.timedelta(days=1) for day in days}
    assert len(dates) == 2 and min(dates) in days
    assert 0 < dates[max(dates)] < dates[min(dates)]
