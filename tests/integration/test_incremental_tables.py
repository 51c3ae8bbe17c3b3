"""Incremental extraction of one table: watermarks, snapshot upserts and deletions."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.extract import incremental
from pipelines.extract.extract import extract_table
from pipelines.settings import load_settings
from pipelines.workarea import WorkArea
from sources.registry import load_registry

T0 = dt.datetime(2026, 1, 1)

REGISTRY = """
sources:
  - name: crm
    kind: sql
    url: sqlite:///{db}
    table: contacts
    primary_key: id
    watermark: updated_at
    soft_delete: {{column: deleted, values: ["1", true]}}
    fields: {{given_name: name, email: mail}}
"""


def make_db(path: Path, rows: list[tuple]) -> None:
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE IF NOT EXISTS contacts "
        "(id INTEGER, name TEXT, mail TEXT, updated_at TEXT, deleted INTEGER)"
    )
    con.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


def sql(path: Path, statement: str, params: tuple = ()) -> None:
    con = sqlite3.connect(path)
    con.execute(statement, params)
    con.commit()
    con.close()


def raw_rows(work: WorkArea, source: str = "crm") -> list[dict]:
    return pq.read_table(work.raw_path(source)).to_pylist()


@pytest.fixture
def crm(tmp_path: Path):
    db = tmp_path / "crm.sqlite"
    make_db(
        db,
        [
            (1, "Ana", "ana@x.es", "2026-01-01 10:00:00", 0),
            (2, "Luis", "luis@x.es", "2026-01-02 10:00:00", 0),
            (3, "Eva", "eva@x.es", "2026-01-03 10:00:00", 0),
            (4, "Old", "old@x.es", "2026-01-01 09:00:00", 1),
        ],
    )
    registry_path = tmp_path / "sources.yaml"
    registry_path.write_text(REGISTRY.format(db=db))
    read = load_registry(registry_path, env={}).get("crm").read()
    return db, read, WorkArea(tmp_path / "work")


def published(read, value: str | None) -> dict:
    return {read.key: (read.watermark, value)}


def test_first_read_is_full_and_soft_deleted_rows_stay_out(crm) -> None:
    db, read, work = crm
    result = extract_table(read, work, T0, run_id="r1")
    assert result.full_read and "no previous snapshot" in result.reason
    assert [r["id"] for r in raw_rows(work)] == ["1", "2", "3"]
    assert result.soft_deleted == 1 and result.deleted == 0
    assert result.high_water == "2026-01-03 10:00:00"
    candidate = json.loads(incremental.candidate_path(work, read).read_text())
    assert candidate == {
        "source_system": "crm",
        "watermark_column": "updated_at",
        "last_value": "2026-01-03 10:00:00",
        "run_id": "r1",
        "updated_at": T0.isoformat(),
    }


def test_incremental_read_upserts_changes_and_soft_deletes(crm) -> None:
    db, read, work = crm
    first = extract_table(read, work, T0)
    sql(
        db,
        "UPDATE contacts SET mail = 'ana@new.es', updated_at = '2026-02-01 00:00:00' WHERE id = 1",
    )
    sql(db, "UPDATE contacts SET deleted = 1, updated_at = '2026-02-02 00:00:00' WHERE id = 2")
    sql(db, "INSERT INTO contacts VALUES (5, 'Noa', 'noa@x.es', '2026-02-03 00:00:00', 0)")
    second = extract_table(read, work, T0, published=published(read, first.high_water))
    assert not second.full_read
    assert second.since == "2026-01-03 10:00:00"
    # Rows at or after the watermark: Eva (the boundary, re-read harmlessly) and the changes.
    assert second.rows_read == 4
    assert second.deleted == 1 and second.soft_deleted == 1
    rows = raw_rows(work)
    assert [r["id"] for r in rows] == ["1", "3", "5"]
    assert rows[0]["mail"] == "ana@new.es"
    assert [r["_source_row_number"] for r in rows] == [1, 2, 3]
    assert second.high_water == "2026-02-03 00:00:00"


def test_unchanged_table_keeps_its_snapshot_and_raw_layer(crm) -> None:
    """The inclusive watermark re-reads the boundary row every night: when it and every
    other row read are unchanged, neither the snapshot nor the raw layer is rewritten."""
    db, read, work = crm
    first = extract_table(read, work, T0)
    files = [incremental.snapshot_path(work, read), work.raw_path("crm")]
    before = [path.stat().st_mtime_ns for path in files]
    rows_before = raw_rows(work)

    again = extract_table(read, work, T0, published=published(read, first.high_water))
    assert again.rows_read == 1 and not again.full_read  # Eva, at the watermark
    assert again.rows == 3 and again.high_water == first.high_water
    assert [path.stat().st_mtime_ns for path in files] == before

    # The same boundary row changed, at the same watermark value: rewritten.
    sql(db, "UPDATE contacts SET mail = 'eva@new.es' WHERE id = 3")
    changed = extract_table(read, work, T0, published=published(read, first.high_water))
    assert changed.rows_read == 1 and changed.rows == 3
    assert [path.stat().st_mtime_ns for path in files] != before
    rows = raw_rows(work)
    assert [r["mail"] for r in rows] == ["ana@x.es", "luis@x.es", "eva@new.es"]
    assert [r["_source_row_number"] for r in rows] == [r["_source_row_number"] for r in rows_before]


def test_full_refresh_detects_hard_deletes(crm) -> None:
    db, read, work = crm
    first = extract_table(read, work, T0)
    sql(db, "DELETE FROM contacts WHERE id = 3")
    quiet = extract_table(read, work, T0, published=published(read, first.high_water))
    assert quiet.deleted == 0  # an incremental read cannot see a hard delete
    assert [r["id"] for r in raw_rows(work)] == ["1", "2", "3"]
    full = extract_table(
        read, work, T0, published=published(read, first.high_water), full_refresh=True
    )
    assert full.full_read and "FULL_REFRESH" in full.reason
    assert full.deleted == 1
    assert [r["id"] for r in raw_rows(work)] == ["1", "2"]


def test_missing_snapshot_or_older_snapshot_forces_a_full_read(crm) -> None:
    db, read, work = crm
    extract_table(read, work, T0)
    incremental.snapshot_path(work, read).unlink()
    again = extract_table(read, work, T0, published=published(read, "2026-01-03 10:00:00"))
    assert again.full_read and "no previous snapshot" in again.reason
    # The store says a later value than the snapshot holds (e.g. the work area was restored
    # from an older backup): reading from the store's value would skip rows.
    ahead = extract_table(read, work, T0, published=published(read, "2027-01-01 00:00:00"))
    assert ahead.full_read and "older than the published watermark" in ahead.reason


def test_no_published_watermark_means_full_read(crm) -> None:
    db, read, work = crm
    extract_table(read, work, T0)
    again = extract_table(read, work, T0, published={})
    assert again.full_read and "no published watermark" in again.reason


def test_snapshot_mode_file_detects_absent_keys_and_keyless_rows_do_not_pile_up(
    tmp_path: Path,
) -> None:
    data = tmp_path / "c.csv"
    data.write_text("id;name;ts\n1;Ana;3\n2;Luis;10\n;Nadie;9\n")
    registry_path = tmp_path / "sources.yaml"
    registry_path.write_text(
        f"sources:\n  - name: shop\n    kind: csv\n    path: {data}\n    primary_key: id\n"
        "    fields: {given_name: name}\n"
    )
    read = load_registry(registry_path, env={}).get("shop").read()
    assert read.mode == "snapshot"
    work = WorkArea(tmp_path / "w")
    extract_table(read, work, T0)
    data.write_text("id;name;ts\n2;Luis;10\n;Nadie;9\n")
    second = extract_table(read, work, T0)
    assert second.deleted == 1 and second.full_read
    assert [r["name"] for r in raw_rows(work, "shop")] == ["Luis", "Nadie"]
    assert second.notes == ["delimiter detected in c.csv: ';'"]


def test_file_watermark_compares_numbers_as_numbers(tmp_path: Path) -> None:
    data = tmp_path / "c.jsonl"
    data.write_text(
        '{"id": 1, "name": "Ana", "version": 9}\n{"id": 2, "name": "Luis", "version": 10}\n'
    )
    registry_path = tmp_path / "sources.yaml"
    registry_path.write_text(
        f"sources:\n  - name: desk\n    kind: json\n    path: {data}\n    primary_key: id\n"
        "    watermark: version\n    fields: {full_name: name}\n"
    )
    read = load_registry(registry_path, env={}).get("desk").read()
    work = WorkArea(tmp_path / "w")
    first = extract_table(read, work, T0)
    assert first.high_water == "10"  # not "9": versions compare as numbers
    data.write_text(
        '{"id": 1, "name": "Ana B", "version": 11}\n{"id": 2, "name": "Luis", "version": 10}\n'
        '{"id": 3, "name": "Eva", "version": null}\n'
    )
    second = extract_table(read, work, T0, published=published(read, first.high_water))
    assert not second.full_read
    # Ana changed (11), Luis is the boundary (10), Eva has no version: always re-read.
    assert second.rows_read == 3
    assert {r["id"]: r["name"] for r in raw_rows(work, "desk")} == {
        "1": "Ana B",
        "2": "Luis",
        "3": "Eva",
    }
    assert second.high_water == "11"


def test_registry_change_of_key_forces_full_read(crm, tmp_path: Path) -> None:
    db, read, work = crm
    first = extract_table(read, work, T0)
    text = (tmp_path / "sources.yaml").read_text().replace("primary_key: id", "primary_key: mail")
    (tmp_path / "sources.yaml").write_text(text)
    changed = load_registry(tmp_path / "sources.yaml", env={}).get("crm").read()
    again = extract_table(changed, work, T0, published=published(changed, first.high_water))
    assert again.full_read and "changed in the registry" in again.reason


def test_watermark_layer_has_exactly_the_table_columns(crm) -> None:
    db, read, work = crm
    extract_table(read, work, T0, run_id="r1")
    rows = incremental.write_watermark_layer(work, None, ["crm", "crm/orders"])
    table = pq.read_table(work.path(incremental.WATERMARK_LAYER))
    assert rows == 1
    assert table.schema.names == [
        "source_system",
        "watermark_column",
        "last_value",
        "run_id",
        "updated_at",
    ]
    assert table.to_pylist()[0]["last_value"] == "2026-01-03 10:00:00"


def test_order_value_and_later() -> None:
    assert incremental.later("2026-01-02T00:00:00Z", "2026-01-01 23:00:00") == (
        "2026-01-02T00:00:00Z"
    )
    assert incremental.later("9", "10") == "10"
    assert incremental.later(None, "a") == "a"
    assert load_settings({"FULL_REFRESH": "1"}).full_refresh
    assert not load_settings({}).full_refresh
