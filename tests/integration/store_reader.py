"""An analyst's reader, run as a separate process by the store tests.

`python store_reader.py loop|hold <url> <stop_file> <out_json>`: `loop` queries the store until
`stop_file` exists, reconnecting every iteration (DuckDB: read_only=True), and records every
snapshot it saw and every error; `hold` reads once on a connection it keeps open and again at
the end: it must still see the snapshot it started with.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

# One statement, so one snapshot on PostgreSQL too. Consistent means: the active customers, the
# mart and the latest sync agree, and that sync's audit rows (written by the same publish)
# are all there.
SNAPSHOT_SQL = """
SELECT (SELECT count(*) FROM core.customer WHERE is_active),
       (SELECT count(*) FROM marts.customer_360),
       (SELECT customers FROM audit.sync_run ORDER BY published_at DESC, run_id DESC LIMIT 1),
       (SELECT run_id FROM audit.sync_run ORDER BY published_at DESC, run_id DESC LIMIT 1),
       (SELECT count(*) FROM audit.source_run WHERE run_id =
           (SELECT run_id FROM audit.sync_run ORDER BY published_at DESC, run_id DESC LIMIT 1)),
       (SELECT count(*) FROM audit.check_result WHERE run_id =
           (SELECT run_id FROM audit.sync_run ORDER BY published_at DESC, run_id DESC LIMIT 1)),
       (SELECT count(*) FROM audit.sync_run)
"""


def _connect(url: str, snapshot: bool = False):  # noqa: ANN202 - DuckDB or psycopg connection
    if url.startswith("duckdb:///"):
        import duckdb

        return duckdb.connect(url.removeprefix("duckdb:///"), read_only=True)
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    if not snapshot:
        return psycopg.connect(dsn, autocommit=True)
    # A transaction that stays open: REPEATABLE READ keeps its first snapshot to the end.
    con = psycopg.connect(dsn)
    con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return con


def _snapshot(con) -> list:  # noqa: ANN001
    row = con.execute(SNAPSHOT_SQL).fetchall()[0]
    return [v if isinstance(v, str | int | type(None)) else int(v) for v in row]


def main(mode: str, url: str, stop_file: str, out: str) -> None:
    """`loop`: reconnect and read until stopped. `hold`: one connection kept open from start to
    stop. They must be separate processes: DuckDB shares one database instance among the
    connections of a process to the same path, so a process that keeps a connection open keeps
    reading the old file even through new connections."""
    snapshots, errors, first, last = [], [], None, None
    if mode == "hold":
        held = _connect(url, snapshot=True)
        first = _snapshot(held)
        Path(out + ".ready").touch()
        while not Path(stop_file).exists():
            time.sleep(0.01)
        last = _snapshot(held)
        held.close()
    else:
        Path(out + ".ready").touch()
        while not Path(stop_file).exists():
            try:
                con = _connect(url)
                try:
                    snapshots.append(_snapshot(con))
                finally:
                    con.close()
            except Exception as exc:  # noqa: BLE001 - every failure is what the test looks for
                errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.01)
    Path(out).write_text(
        json.dumps({"snapshots": snapshots, "errors": errors, "first": first, "last": last})
    )


if __name__ == "__main__":
    main(*sys.argv[1:5])
