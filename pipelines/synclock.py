"""One sync at a time per work area: a second sync waits or is refused cleanly.

Dagster-launched runs are already serialised by the run queue (dagster_home/dagster.yaml);
this lock covers syncs started from the shell (`make sync`) and mixes of both, because every
stage of a sync shares the work area. It is an advisory `flock`, released by the kernel if
the process dies, so a crashed sync never blocks the next one.
"""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SyncRunningError(RuntimeError):
    """Another sync holds the work area."""


def lock_file(work_dir: Path) -> Path:
    return work_dir.with_name(work_dir.name + ".sync.lock")


@contextmanager
def sync_lock(work_dir: Path, wait: bool = False) -> Iterator[None]:
    path = lock_file(work_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise SyncRunningError(
                f"another sync is running on {work_dir} (process {holder}); wait for it to "
                "finish or start this one with --wait"
            ) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
