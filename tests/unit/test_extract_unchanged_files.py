"""A file source whose files did not change since the last read is not read again.

Real files, real DuckDB. Files are back-dated (a nightly drop written hours before the sync):
a file modified within `incremental.RACY_WINDOW_NS` of the sync is always read again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.extract import extract as extract_module
from pipelines.extract import incremental
from pipelines.extract.extract import (
    SchemaDriftError,
    extract_table,
    table_loaded_at,
    write_report,
)
from pipelines.workarea import WorkArea
from sources.connectors import MALFORMED_COLUMN
from sources.registry import TableRead, load_registry

T0 = dt.datetime(2026, 1, 1, 2, 0)
T1 = dt.datetime(2026, 1, 2, 2, 0)
HOUR_NS = 3_600_000_000_000

# One malformed line (three fields): the first read notes it; a skipped read must keep it.
CSV = "id;name;mail\n1;Ana;ana@x.es\n2;Luis;luis@x.es\n3;Eva;eva@x.es;extra\n"


def backdate(path: Path, hours: int = 6) -> None:
    """Set mtime as if the file had been dropped `hours` ago (out of the racy window)."""
    stamp = time.time_ns() - hours * HOUR_NS
    os.utime(path, ns=(stamp, stamp))


def registry_read(tmp_path: Path, body: str, name: str = "shop") -> TableRead:
    path = tmp_path / "sources.yaml"
    path.write_text(f"sources:\n  - name: {name}\n{body}")
    return load_registry(path, env={}).get(name).read()


def csv_read(tmp_path: Path, data: Path, extra: str = "") -> TableRead:
    return registry_read(
        tmp_path,
        f"    kind: csv\n    path: {data}\n    primary_key: id\n{extra}"
        "    fields: {given_name: name, email: mail}\n",
    )


class OpenSpy:
    """Stands in for `extract._open`: counts the reads, and can forbid them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, forbid: bool = False) -> None:
        self.calls = 0
        self.forbid = forbid
        self._real = extract_module._open
        monkeypatch.setattr(extract_module, "_open", self)

    def __call__(self, read: TableRead, since: str | None):
        self.calls += 1
        if self.forbid:
            raise AssertionError(f"{read.where} was read although its file did not change")
        return self._real(read, since)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw(work: WorkArea, read: TableRead) -> pa.Table:
    return pq.read_table(work.raw_path(read.source, read.activity))


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Path, TableRead, WorkArea]:
    data = tmp_path / "customers.csv"
    data.write_text(CSV)
    backdate(data)
    return data, csv_read(tmp_path, data), WorkArea(tmp_path / "work")


def test_unchanged_csv_is_not_read_again(shop, monkeypatch: pytest.MonkeyPatch) -> None:
    data, read, work = shop
    first = extract_table(read, work, T0)
    assert first.full_read and first.rows == 3 and first.malformed_rows == 1
    snapshot = incremental.snapshot_path(work, read)
    before = (digest(snapshot), snapshot.stat().st_mtime_ns)
    raw_mtime = work.raw_path(read.source).stat().st_mtime_ns

    spy = OpenSpy(monkeypatch, forbid=True)
    second = extract_table(read, work, T1)
    write_report(work, second)

    assert spy.calls == 0
    assert second.rows == 3 and second.rows_read == 0 and not second.full_read
    assert "unchanged" in second.reason
    assert second.deleted == 0 and second.soft_deleted == 0
    # What the read that built the snapshot noticed is still reported.
    assert second.malformed_rows == first.malformed_rows == 1
    assert second.notes == first.notes and second.notes
    assert second.unmapped_columns == first.unmapped_columns
    # The snapshot and the raw layer are untouched; the raw layer keeps every row (the
    # malformed line's text included, for quarantine); this sync's load time is reported.
    assert (digest(snapshot), snapshot.stat().st_mtime_ns) == before
    assert raw_mtime == work.raw_path(read.source).stat().st_mtime_ns
    table = raw(work, read)
    assert table.num_rows == 3
    assert table.column(MALFORMED_COLUMN).null_count == 2
    assert table.column("_source_row_number").to_pylist() == [1, 2, 3]
    report = json.loads((work.root / "raw" / "shop.extract.json").read_text())
    assert report["rows"] == 3 and report["rows_read"] == 0 and report["full_read"] is False
    assert table_loaded_at(work, "shop") == T1


def test_missing_raw_layer_is_rebuilt_from_the_kept_snapshot(
    shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, read, work = shop
    extract_table(read, work, T0)
    work.raw_path(read.source).unlink()
    OpenSpy(monkeypatch, forbid=True)
    again = extract_table(read, work, T1)
    assert again.rows_read == 0
    assert raw(work, read).num_rows == 3


def test_modified_file_is_read_again(shop, monkeypatch: pytest.MonkeyPatch) -> None:
    data, read, work = shop
    extract_table(read, work, T0)
    # Same size (Ana -> Ada), another modification time: the change must appear.
    data.write_text(CSV.replace("Ana", "Ada"))
    backdate(data, hours=5)
    spy = OpenSpy(monkeypatch)
    second = extract_table(read, work, T1)
    assert spy.calls == 1
    assert second.full_read and second.rows_read == 3
    assert "Ada" in raw(work, read).column("name").to_pylist()


def test_touched_file_is_read_again(shop, monkeypatch: pytest.MonkeyPatch) -> None:
    data, read, work = shop
    extract_table(read, work, T0)
    snapshot = incremental.snapshot_path(work, read)
    version = incremental.snapshot_meta(snapshot)["version"]
    raw_mtime = work.raw_path(read.source).stat().st_mtime_ns
    backdate(data, hours=1)  # same bytes, new mtime: re-read (metadata, not content)
    spy = OpenSpy(monkeypatch)
    assert extract_table(read, work, T1).rows_read == 3
    assert spy.calls == 1
    # The read gave the same rows: the snapshot records the new fingerprint but keeps its
    # version, so the raw layer built from it is not rebuilt.
    assert incremental.snapshot_meta(snapshot)["version"] == version
    assert work.raw_path(read.source).stat().st_mtime_ns == raw_mtime
    # Different bytes: a new version, a new raw layer.
    data.write_text(CSV.replace("Luis", "Luisa"))
    backdate(data, hours=1)
    extract_table(read, work, T1)
    assert incremental.snapshot_meta(snapshot)["version"] != version
    assert [r["name"] for r in raw(work, read).to_pylist()][1] == "Luisa"


def test_recently_modified_file_is_always_read(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "customers.csv"
    data.write_text(CSV)  # mtime: now, inside the racy window
    read, work = csv_read(tmp_path, data), WorkArea(tmp_path / "work")
    extract_table(read, work, T0)
    spy = OpenSpy(monkeypatch)
    assert extract_table(read, work, T1).rows_read == 3
    assert spy.calls == 1


def test_full_refresh_reads_an_unchanged_file(shop, monkeypatch: pytest.MonkeyPatch) -> None:
    data, read, work = shop
    extract_table(read, work, T0)
    spy = OpenSpy(monkeypatch)
    full = extract_table(read, work, T1, full_refresh=True)
    assert spy.calls == 1
    assert full.full_read and full.rows_read == 3
    # ... and the snapshot it rebuilt is reusable by the next sync.
    spy.forbid = True
    assert extract_table(read, work, T1).rows_read == 0


def test_registry_change_of_read_settings_forces_a_read(
    shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, read, work = shop
    extract_table(read, work, T0)
    spy = OpenSpy(monkeypatch)
    declared = csv_read(tmp_path, data, extra='    delimiter: ";"\n')
    assert extract_table(declared, work, T1).rows_read == 3
    rekeyed = dataclasses.replace(read, primary_key="mail")
    assert extract_table(rekeyed, work, T1).rows_read == 3
    assert spy.calls == 2


def test_schema_drift_is_still_detected_without_reading(
    shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, read, work = shop
    extract_table(read, work, T0)
    drifted = registry_read(
        tmp_path,
        f"    kind: csv\n    path: {data}\n    primary_key: id\n"
        "    fields: {given_name: name, email: mail, phone: tel}\n",
    )
    OpenSpy(monkeypatch, forbid=True)
    with pytest.raises(SchemaDriftError, match="tel"):
        extract_table(drifted, work, T1)


def test_glob_with_an_added_or_removed_file_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = tmp_path / "export"
    pages.mkdir()

    def page(n: int, ids: list[int]) -> None:
        path = pages / f"page-{n}.json"
        path.write_text(json.dumps({"data": [{"id": i, "name": f"n{i}"} for i in ids]}))
        backdate(path)

    page(1, [1, 2])
    page(2, [3])
    read = registry_read(
        tmp_path,
        f"    kind: json\n    path: {pages}/page-*.json\n    primary_key: id\n"
        "    fields: {full_name: name}\n",
        name="desk",
    )
    work = WorkArea(tmp_path / "work")
    assert extract_table(read, work, T0).rows == 3
    spy = OpenSpy(monkeypatch)
    assert extract_table(read, work, T1).rows_read == 0
    assert spy.calls == 0

    page(3, [4, 5])
    added = extract_table(read, work, T1)
    assert spy.calls == 1 and added.rows_read == 5 and added.rows == 5

    (pages / "page-2.json").unlink()
    removed = extract_table(read, work, T1)
    assert spy.calls == 2 and removed.rows == 4 and removed.deleted == 1
    assert sorted(raw(work, read).column("id").to_pylist()) == ["1", "2", "4", "5"]


def test_incremental_file_source_keeps_its_snapshot_and_watermark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "subscribers.parquet"
    pq.write_table(
        pa.table(
            {
                "id": ["1", "2"],
                "name": ["Ana", "Luis"],
                "modified": ["2026-01-01 10:00:00", "2026-01-03 10:00:00"],
            }
        ),
        data,
    )
    backdate(data)
    read = registry_read(
        tmp_path,
        f"    kind: parquet\n    path: {data}\n    primary_key: id\n"
        "    watermark: modified\n    fields: {given_name: name}\n",
        name="mkt",
    )
    work = WorkArea(tmp_path / "work")
    first = extract_table(read, work, T0, run_id="r1")
    published = {read.key: (read.watermark, first.high_water)}

    spy = OpenSpy(monkeypatch)
    # No published watermark: plan_read asks for a full read, which is honoured.
    assert extract_table(read, work, T1).full_read
    assert spy.calls == 1

    second = extract_table(read, work, T1, published=published, run_id="r2")
    assert spy.calls == 1  # not read
    assert second.rows == 2 and second.rows_read == 0
    assert second.high_water == first.high_water == "2026-01-03 10:00:00"
    assert second.since == first.high_water
    # The watermark candidate is still written, so the publish keeps the same watermark.
    candidate = json.loads(incremental.candidate_path(work, read).read_text())
    assert candidate["last_value"] == first.high_water and candidate["run_id"] == "r2"


def test_fingerprint_covers_files_and_settings(shop, tmp_path: Path) -> None:
    data, read, work = shop
    now = time.time_ns()
    fingerprint = incremental.input_fingerprint(read, now)
    assert fingerprint is not None
    assert incremental.input_fingerprint(read, now) == fingerprint
    latin = csv_read(tmp_path, data, "    encoding: latin-1\n")
    assert incremental.input_fingerprint(latin, now) != fingerprint
    # Recently modified, missing or SQL: no fingerprint, so the table is always read.
    assert incremental.input_fingerprint(read, data.stat().st_mtime_ns + 1) is None
    missing = csv_read(tmp_path, tmp_path / "absent.csv")
    assert incremental.input_fingerprint(missing, now) is None
    sql = registry_read(
        tmp_path,
        "    kind: sql\n    url: sqlite:///x.db\n    table: t\n    primary_key: id\n"
        "    fields: {given_name: name}\n",
    )
    assert incremental.input_fingerprint(sql, now) is None


def test_raw_layer_is_the_snapshot_file_not_a_copy(
    shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot holds the raw layer's rows in its layout: the raw layer links to it. A
    snapshot that holds a column the raw layer leaves out (the malformed-row flag of a read
    that found none) is copied without it."""
    data, read, work = shop
    extract_table(read, work, T0)
    snapshot, raw_path = incremental.snapshot_path(work, read), work.raw_path(read.source)
    assert os.path.samefile(raw_path, snapshot)
    assert raw(work, read).column("_source_row_number").to_pylist() == [1, 2, 3]
    # A change: a new snapshot file, and the raw layer follows it (the old file is untouched
    # by the new snapshot: it was replaced, not written in place).
    old_raw = pq.read_table(raw_path)
    kept = tmp_path / "kept_link"
    os.link(raw_path, kept)
    data.write_text(CSV.replace("Luis", "Luisito"))
    backdate(data, hours=5)
    extract_table(read, work, T1)
    assert os.path.samefile(raw_path, snapshot) and not os.path.samefile(raw_path, kept)
    assert "Luisito" in raw(work, read).column("name").to_pylist()
    assert pq.read_table(kept).equals(old_raw)

    # Without a malformed line the CSV read still carries the flag column: a copy without it.
    clean = tmp_path / "clean.csv"
    clean.write_text("id;name;mail\n1;Ana;ana@x.es\n2;Luis;luis@x.es\n")
    backdate(clean)
    clean_read = csv_read(tmp_path, clean)
    clean_work = WorkArea(tmp_path / "clean_work")
    extract_table(clean_read, clean_work, T0)
    clean_snapshot = incremental.snapshot_path(clean_work, clean_read)
    clean_raw = clean_work.raw_path(clean_read.source)
    assert MALFORMED_COLUMN in pq.read_schema(clean_snapshot).names
    assert not os.path.samefile(clean_raw, clean_snapshot)
    assert pq.read_schema(clean_raw).names == ["id", "name", "mail", "_source_row_number"]
    # Not copied again while the snapshot keeps its version.
    mtime = clean_raw.stat().st_mtime_ns
    OpenSpy(monkeypatch, forbid=True)
    extract_table(clean_read, clean_work, T1)
    assert clean_raw.stat().st_mtime_ns == mtime


def test_snapshot_of_an_older_layout_is_read_again_in_full(
    shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot written before the position column took the raw layer's name (`_pos`, no
    layout in its metadata) is of no use: the unchanged file is read again, in full, and the
    snapshot and raw layer are written in the current layout."""
    data, read, work = shop
    extract_table(read, work, T0)
    snapshot = incremental.snapshot_path(work, read)
    table = pq.read_table(snapshot)
    meta = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"layout"}
    old = table.rename_columns(
        ["_pos" if n == "_source_row_number" else n for n in table.column_names]
    ).replace_schema_metadata(meta)
    pq.write_table(old, snapshot)
    assert incremental.snapshot_meta(snapshot) is None

    spy = OpenSpy(monkeypatch)
    again = extract_table(read, work, T1)
    assert spy.calls == 1 and again.full_read and again.rows_read == 3
    assert incremental.snapshot_meta(snapshot)["layout"] == incremental.SNAPSHOT_LAYOUT
    assert "_pos" not in pq.read_schema(snapshot).names
    assert raw(work, read).column("_source_row_number").to_pylist() == [1, 2, 3]
