"""Incremental nightly syncs of the whole job: only changes are read, deletions retire links,
FULL_REFRESH=1 re-reads everything."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import duckdb
import pytest

from pipelines.definitions import build_defs
from pipelines.extract.incremental import WATERMARK_LAYER
from pipelines.publish import store
from pipelines.workarea import WorkArea


def run_sync() -> str:
    result = build_defs().resolve_job_def("nightly_sync").execute_in_process(raise_on_error=False)
    failures = [e.step_failure_data.error.message for e in result.all_events if e.is_step_failure]
    assert result.success, failures
    return result.run_id


def read_store(env, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(env.store_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def ensure_watermarks_published(env, run_id: str) -> None:
    """Publish the watermark layer if the publish stage does not (yet) do it itself: the
    lead wires `publish_extra__audit__source_watermark` into the atomic publish."""
    rows = read_store(env, "SELECT count(*) FROM audit.source_watermark WHERE run_id = ?", [run_id])
    if rows[0][0] == 0:
        path = WorkArea(env.work_dir).path(WATERMARK_LAYER)
        store.publish(env.store_url, [store.TableLoad("audit.source_watermark", path, "replace")])


def report(env, table: str) -> dict:
    return json.loads((env.work_dir / "raw" / f"{table}.extract.json").read_text())


def xref(env, source: str, record: str) -> tuple | None:
    rows = read_store(
        env,
        "SELECT customer_id, is_active FROM core.customer_source_xref "
        "WHERE source_system = ? AND source_record_id = ?",
        [source, record],
    )
    return rows[0] if rows else None


@pytest.fixture
def own_demo(sync_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo systems: this test changes them."""
    demo = tmp_path / "demo_copy"
    shutil.copytree(sync_env.demo_dir, demo)
    monkeypatch.setenv("DEMO_DATA_DIR", str(demo))
    return demo


def drop_csv_record(path: Path, key: str) -> None:
    lines = path.read_bytes().split(b"\n")
    kept = [line for line in lines if not line.startswith(key.encode("latin-1") + b";")]
    assert len(kept) == len(lines) - 1
    path.write_bytes(b"\n".join(kept))


def first_sync_watermarks(env) -> dict[str, str]:
    """Run the first (full) sync and return the watermarks it published, per table."""
    ensure_watermarks_published(env, run_sync())
    return dict(read_store(env, "SELECT source_system, last_value FROM audit.source_watermark"))


def test_incremental_syncs_read_changes_and_retire_deleted_records(
    sync_env, own_demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FULL_REFRESH", raising=False)
    marks = first_sync_watermarks(sync_env)
    assert set(marks) == {
        "crm",
        "crm/orders",
        "billing",
        "billing/invoices",
        "billing/payments",
        "servicedesk",
        "marketing",
    }
    crm_rows = report(sync_env, "crm")["rows"]

    # The CRM changes one contact; logistics (a CSV drop, snapshot mode) loses a consignee.
    crm = sqlite3.connect(own_demo / "crm.sqlite")
    contact = crm.execute(
        "SELECT contact_id FROM contacts WHERE email IS NOT NULL ORDER BY contact_id LIMIT 1"
    ).fetchall()[0][0]
    crm.execute(
        "UPDATE contacts SET email = 'changed.address@example.com', "
        "updated_at = '2099-01-01 00:00:00' WHERE contact_id = ?",
        [contact],
    )
    crm.commit()
    crm.close()
    consignees = own_demo / "logistics" / "consignees.csv"
    lines = consignees.read_text(encoding="latin-1").splitlines()
    ids = [line.split(";", 1)[0] for line in lines[1:]]
    gone = next(i for i in ids if i and ids.count(i) == 1 and xref(sync_env, "logistics", i))
    gone_customer = xref(sync_env, "logistics", gone)[0]
    drop_csv_record(consignees, gone)

    second = run_sync()
    ensure_watermarks_published(sync_env, second)
    crm_report = report(sync_env, "crm")
    assert not crm_report["full_read"], crm_report["reason"]
    assert crm_report["since"] == marks["crm"]
    # The changed contact plus the rows stamped at the boundary instant: a handful, not all.
    assert 1 <= crm_report["rows_read"] <= 3
    assert crm_report["rows"] == crm_rows  # the raw layer still holds the whole population
    assert crm_report["high_water"] == "2099-01-01 00:00:00"
    con = duckdb.connect()
    staged = con.execute(
        f"SELECT email FROM ({WorkArea(sync_env.work_dir).relation('staged')}) "  # noqa: S608
        "WHERE source_system = 'crm' AND source_record_id = ?",
        [str(contact)],
    ).fetchall()
    assert staged == [("changed.address@example.com",)]
    assert report(sync_env, "logistics")["deleted"] == 1
    assert xref(sync_env, "logistics", gone) == (gone_customer, False)
    assert read_store(
        sync_env, "SELECT count(*) FROM core.customer WHERE customer_id = ?", [gone_customer]
    ) == [(1,)]
    marks_after = dict(
        read_store(sync_env, "SELECT source_system, last_value FROM audit.source_watermark")
    )
    assert marks_after["crm"] == "2099-01-01 00:00:00"

    # A hard delete in an incremental table is only seen by a full read.
    crm = sqlite3.connect(own_demo / "crm.sqlite")
    crm.execute("DELETE FROM contacts WHERE contact_id = ?", [contact])
    crm.commit()
    crm.close()
    # Launched with the run tag full_refresh=1 (the launchpad): full in every stage.
    result = (
        build_defs()
        .resolve_job_def("nightly_sync")
        .execute_in_process(tags={"full_refresh": "1"}, raise_on_error=False)
    )
    assert result.success
    staged = result.asset_materializations_for_node("staged_customers")[0].metadata
    assert staged["cleanse_mode"].value == "full"
    store_write = {
        m.metadata["store_write"].value
        for m in result.asset_materializations_for_node("publish_store")
        if "store_write" in m.metadata
    }
    assert store_write == {"fresh"}
    crm_report = report(sync_env, "crm")
    assert crm_report["full_read"] and crm_report["deleted"] == 1
    assert crm_report["rows"] == crm_rows - 1
    assert xref(sync_env, "crm", str(contact))[1] is False


# The demo's SQL activity tables and their last-modified columns (sources.yaml `watermark:`).
SQL_ACTIVITIES = {
    "crm/orders": ("crm.sqlite", "orders", "updated_at"),
    "billing/invoices": ("billing.sqlite", "invoices", "ultima_modificacion"),
    "billing/payments": ("billing.sqlite", "payments", "ultima_modificacion"),
}


def rows_since(demo: Path, table_key: str, since: str) -> int:
    """Rows of a demo activity table stamped at or after `since`: what an incremental read
    must deliver (`>=` re-reads the rows stamped at the published watermark itself)."""
    file, table, column = SQL_ACTIVITIES[table_key]
    con = sqlite3.connect(demo / file)
    try:
        query = f'SELECT count(*) FROM "{table}" WHERE "{column}" >= ?'  # noqa: S608
        return con.execute(query, [since]).fetchall()[0][0]
    finally:
        con.close()


def test_sql_activity_tables_read_only_changed_rows(
    sync_env, own_demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FULL_REFRESH", raising=False)
    marks = first_sync_watermarks(sync_env)
    assert set(SQL_ACTIVITIES) <= set(marks), "activity tables must carry a watermark"
    totals = {key: report(sync_env, key.replace("/", "__"))["rows"] for key in SQL_ACTIVITIES}
    at_mark = {key: rows_since(own_demo, key, marks[key]) for key in SQL_ACTIVITIES}

    # The CRM cancels three won orders (none of them stamped at the published watermark, so
    # that the read below is exactly the changed rows plus the boundary rows).
    crm = sqlite3.connect(own_demo / "crm.sqlite")
    changed = [
        row[0]
        for row in crm.execute(
            "SELECT order_id FROM orders WHERE status = 'Closed Won' AND updated_at < ? "
            "ORDER BY order_id LIMIT 3",
            [marks["crm/orders"]],
        ).fetchall()
    ]
    assert len(changed) == 3
    crm.executemany(
        "UPDATE orders SET status = 'Cancelled', updated_at = '2099-01-01 00:00:00' "
        "WHERE order_id = ?",
        [[order] for order in changed],
    )
    crm.commit()
    crm.close()

    second = run_sync()
    ensure_watermarks_published(sync_env, second)
    for key in SQL_ACTIVITIES:
        table_report = report(sync_env, key.replace("/", "__"))
        assert not table_report["full_read"], (key, table_report["reason"])
        assert table_report["since"] == marks[key]
        expected = at_mark[key] + (len(changed) if key == "crm/orders" else 0)
        assert table_report["rows_read"] == expected, key
        assert table_report["rows_read"] < totals[key] / 10, key  # a handful, not the table
        assert table_report["rows"] == totals[key]  # the raw layer keeps the whole table
    assert report(sync_env, "crm__orders")["high_water"] == "2099-01-01 00:00:00"
    published = read_store(
        sync_env,
        "SELECT activity_id, status FROM core.activity "
        "WHERE source_system = 'crm' AND activity_name = 'orders' AND activity_id IN (?, ?, ?) "
        "ORDER BY activity_id",
        changed,
    )
    assert published == [(order, "cancelled") for order in sorted(changed)]
