"""Every table a run extracts gets the run's one load time, whatever order (or how many at
once) its tables are read in; the next run gets its own."""

from __future__ import annotations

import datetime as dt
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipelines.extract.extract import run_load_time
from pipelines.workarea import WorkArea

T0 = dt.datetime(2026, 11, 27, 2, 0)


def test_the_first_extraction_of_a_run_sets_its_load_time(tmp_path: Path) -> None:
    work = WorkArea(tmp_path)
    first = run_load_time(work, "run-a", T0)
    later = run_load_time(work, "run-a", T0 + dt.timedelta(minutes=3))
    assert first == later == T0
    assert run_load_time(work, "run-b", T0 + dt.timedelta(days=1)) == T0 + dt.timedelta(days=1)
    # Outside a job there is no run to share a time with.
    assert run_load_time(work, None, T0 + dt.timedelta(hours=5)) == T0 + dt.timedelta(hours=5)


def test_tables_of_one_run_read_at_once_agree_on_its_load_time(tmp_path: Path) -> None:
    work = WorkArea(tmp_path)
    times = [T0 + dt.timedelta(seconds=i) for i in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = set(pool.map(lambda now: run_load_time(work, "run-a", now), times))
    assert len(seen) == 1 and seen <= set(times)
    assert not list((tmp_path / "raw" / "run_load_time").glob(".*.tmp"))


def test_markers_of_runs_older_than_a_day_are_removed(tmp_path: Path) -> None:
    work = WorkArea(tmp_path)
    run_load_time(work, "old-run", T0)
    run_load_time(work, "recent-run", T0)
    folder = tmp_path / "raw" / "run_load_time"
    two_days_ago = time.time() - 2 * 86_400
    os.utime(folder / "old-run.json", (two_days_ago, two_days_ago))
    run_load_time(work, "new-run", T0)
    assert sorted(p.name for p in folder.iterdir()) == ["new-run.json", "recent-run.json"]
