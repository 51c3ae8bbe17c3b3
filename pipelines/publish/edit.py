"""Small all-or-nothing edits of the governed store outside a sync (erasure, steward decisions).

They follow the publish's rules: on DuckDB the edit is made in a copy of the store file that
replaces the original only when it committed (readers are never blocked, a crash changes
nothing); on PostgreSQL it is one transaction. A lock file next to the store keeps two
writers (an edit and a sync's publish) from overlapping.
"""

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from pipelines.publish.store import duckdb_path, is_duckdb, upgrade


class StoreBusyError(RuntimeError):
    """Another process is writing the store."""


def lock_path(url: str) -> Path:
    if is_duckdb(url):
        path = duckdb_path(url)
        return path.with_name(path.name + ".lock")
    return Path(os.environ.get("CUSTOMER_STORE_LOCK_DIR", "/tmp")) / "customer_store.lock"


@contextmanager
def store_lock(url: str, wait: bool = True) -> Iterator[None]:
    """Exclusive writer lock on the store (advisory, across processes)."""
    path = lock_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError as exc:
            raise StoreBusyError(
                f"the store {url.split('@')[-1]} is being written by another process (lock "
                f"{path}); wait for the running sync or edit to finish and try again"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def edit_store(url: str, wait: bool = True) -> Iterator[sa.Connection]:
    """A SQLAlchemy connection inside one transaction whose changes land atomically."""
    with store_lock(url, wait=wait):
        if not is_duckdb(url):
            upgrade(url)
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            try:
                with engine.begin() as connection:
                    yield connection
            finally:
                engine.dispose()
            return
        store = duckdb_path(url)
        if not store.exists():
            raise FileNotFoundError(
                f"no store at {store}: run a sync first (make sync), then edit it"
            )
        building = store.with_name(store.name + ".edit")
        building.unlink(missing_ok=True)
        shutil.copy2(store, building)
        try:
            engine = sa.create_engine(f"duckdb:///{building}", poolclass=sa.pool.NullPool)
            try:
                with engine.begin() as connection:
                    yield connection
                with engine.connect() as connection:
                    connection.exec_driver_sql("CHECKPOINT")
            finally:
                engine.dispose()
            os.chmod(building, 0o600)
            os.replace(building, store)
        finally:
            building.unlink(missing_ok=True)
