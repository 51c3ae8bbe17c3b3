"""Two syncs in a row with unchanged sources leave every core table identical (a row-level
diff is empty) and create no identity events."""

import shutil

import duckdb

from pipelines.definitions import build_defs


def run_sync() -> str:
    result = build_defs().resolve_job_def("nightly_sync").execute_in_process(raise_on_error=False)
    assert result.success
    return result.run_id


def test_rerun_changes_no_core_row(sync_env, tmp_path) -> None:
    run_sync()
    first = tmp_path / "first.duckdb"
    shutil.copy2(sync_env.store_path, first)
    second_run = run_sync()

    con = duckdb.connect()
    con.execute("ATTACH ? AS a (READ_ONLY)", [str(first)])
    con.execute("ATTACH ? AS b (READ_ONLY)", [str(sync_env.store_path)])
    tables = [
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'a' "
            "AND schema_name = 'core' ORDER BY 1"
        ).fetchall()
    ]
    assert "customer" in tables and "customer_source_xref" in tables
    differences = {}
    for table in tables:
        added, removed = con.execute(
            f"SELECT (SELECT count(*) FROM (SELECT * FROM b.core.{table} "
            f"EXCEPT ALL SELECT * FROM a.core.{table})), "
            f"(SELECT count(*) FROM (SELECT * FROM a.core.{table} "
            f"EXCEPT ALL SELECT * FROM b.core.{table}))"
        ).fetchall()[0]
        if added or removed:
            differences[table] = (added, removed)
    assert differences == {}
    events = con.execute(
        "SELECT count(*) FROM b.core.identity_event WHERE run_id = ?", [second_run]
    ).fetchall()[0][0]
    assert events == 0
