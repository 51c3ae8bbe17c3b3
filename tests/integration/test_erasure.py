"""Right to erasure, end to end: erase a customer, sync again, the person stays out."""

import duckdb
import pytest

from pipelines.__main__ import main
from pipelines.definitions import build_defs
from pipelines.identity.erasure import ErasureError, erase_customer

SALT = "test-salt-0123456789abcdef"


def run_sync() -> str:
    result = build_defs().resolve_job_def("nightly_sync").execute_in_process(raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_step_failure]
    return result.run_id


def store_text(env) -> str:
    """Every text value of every table in the store, for leak scans."""
    con = duckdb.connect(str(env.store_path), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('core', 'audit', 'marts') AND table_type = 'BASE TABLE'"
        ).fetchall()
        parts = []
        for schema, table in tables:
            rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            parts.extend(str(v) for row in rows for v in row if v is not None)
        return "\n".join(parts)
    finally:
        con.close()


def test_erasure_removes_person_and_keeps_them_out(sync_env, monkeypatch) -> None:
    monkeypatch.setenv("ERASURE_SALT", SALT)
    run_sync()
    con = duckdb.connect(str(sync_env.store_path), read_only=True)
    customer_id, email, phone, family = con.execute(
        "SELECT c.customer_id, c.email, c.phone, c.family_name FROM core.customer c "
        "WHERE c.email IS NOT NULL AND c.phone IS NOT NULL AND c.family_name IS NOT NULL "
        "AND c.record_count >= 2 ORDER BY c.customer_id LIMIT 1"
    ).fetchall()[0]
    records = con.execute(
        "SELECT count(*) FROM core.customer_source_xref WHERE customer_id = ?", [customer_id]
    ).fetchall()[0][0]
    con.close()

    assert main(["erase", "--customer", customer_id, "--by", "dpo", "--reason", "GDPR-17"]) == 0
    assert not sync_env.work_dir.exists()
    text = store_text(sync_env)
    assert email not in text and phone not in text
    con = duckdb.connect(str(sync_env.store_path), read_only=True)
    erasure = con.execute("SELECT * FROM audit.erasure").fetchall()
    assert len(erasure) == 1 and erasure[0][4] == records
    assert con.execute("SELECT count(*) FROM audit.suppression").fetchall()[0][0] >= records + 2
    con.close()

    run_id = run_sync()
    text = store_text(sync_env)
    assert email not in text and phone not in text
    con = duckdb.connect(str(sync_env.store_path), read_only=True)
    suppressed = con.execute(
        "SELECT count(*), count(raw_record) FROM audit.quarantined_record "
        "WHERE run_id = ? AND reason_code = 'suppressed_by_erasure'",
        [run_id],
    ).fetchall()[0]
    assert suppressed[0] >= records and suppressed[1] == 0
    extracted, linked, quarantined = con.execute(
        "SELECT records_extracted, records_linked, records_quarantined FROM audit.sync_run "
        "WHERE run_id = ?",
        [run_id],
    ).fetchall()[0]
    assert extracted == linked + quarantined
    con.close()


def test_erasure_needs_a_salt_and_a_known_customer(sync_env, monkeypatch) -> None:
    monkeypatch.delenv("ERASURE_SALT", raising=False)
    with pytest.raises(ErasureError, match="ERASURE_SALT"):
        erase_customer(
            sync_env.store_url, "C0", requested_by="x", reason="y", work_dir=sync_env.work_dir
        )
    monkeypatch.setenv("ERASURE_SALT", SALT)
    run_sync()
    with pytest.raises(ErasureError, match="not in the store"):
        erase_customer(
            sync_env.store_url, "C0", requested_by="x", reason="y", work_dir=sync_env.work_dir
        )
