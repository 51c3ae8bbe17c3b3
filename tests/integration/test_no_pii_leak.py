"""Personal data never reaches logs, run metadata or error messages; store files are private."""

import stat

import duckdb

from pipelines.definitions import build_defs
from pipelines.workarea import WorkArea


def personal_values(work_dir) -> set[str]:
    con = duckdb.connect()
    staged = WorkArea(work_dir).relation("staged")
    rows = con.execute(
        f"SELECT email, phone, family_name, tax_id FROM ({staged})"  # noqa: S608 - the layer's SQL
    ).fetchall()
    values = set()
    for row in rows:
        # Short values (e.g. "Gil") also occur in ordinary words; scan the distinctive ones.
        values.update(v for v in row if v and len(v) >= 7)
    return values


def test_run_events_and_logs_hold_no_personal_values(sync_env, capfd) -> None:
    result = build_defs().resolve_job_def("nightly_sync").execute_in_process(raise_on_error=False)
    assert result.success
    captured = capfd.readouterr()
    event_text = "\n".join(str(event) for event in result.all_events)
    values = personal_values(sync_env.work_dir)
    assert len(values) > 500
    leaked = sorted(v for v in values if v in event_text or v in captured.out + captured.err)
    assert leaked == []


def test_store_files_are_private(sync_env) -> None:
    result = build_defs().resolve_job_def("nightly_sync").execute_in_process(raise_on_error=False)
    assert result.success
    mode = stat.S_IMODE(sync_env.store_path.stat().st_mode)
    assert mode & 0o077 == 0, oct(mode)
    folder = stat.S_IMODE(sync_env.store_path.parent.stat().st_mode)
    assert folder & 0o077 == 0, oct(folder)
