"""Connectors read real files and databases as text columns, as the source holds them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sources.connectors import SourceReadError, read_location


def test_csv_latin1_semicolon_keeps_leading_zeros(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes('id;name;cp\n1;Núñez;08001\n2;"Peña; S.L.";01234\n'.encode("latin-1"))
    table = read_location(source="s", kind="csv", path=str(path), encoding="latin-1", delimiter=";")
    assert table.column("name").to_pylist() == ["Núñez", "Peña; S.L."]
    assert table.column("cp").to_pylist() == ["08001", "01234"]


def test_csv_wrong_encoding_names_the_source(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes("id,name\n1,Núñez\n".encode("latin-1"))
    with pytest.raises(SourceReadError, match="source 'crm'.*encoding"):
        read_location(source="crm", kind="csv", path=str(path))


def test_json_array_lines_and_paged_files(tmp_path: Path) -> None:
    (tmp_path / "p1.json").write_text(json.dumps({"data": [{"id": 1, "tags": ["a"]}]}))
    (tmp_path / "p2.json").write_text('{"id": 2, "extra": "x"}\n{"id": 3}\n')
    table = read_location(source="s", kind="json", path=str(tmp_path / "p*.json"))
    assert table.column("id").to_pylist() == ["1", "2", "3"]
    assert table.column("tags").to_pylist() == ['["a"]', None, None]
    assert table.column("extra").to_pylist() == [None, "x", None]


def test_parquet_and_sqlite(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": [1, 2], "dob": ["1980-01-02", None]}), tmp_path / "m.parquet")
    table = read_location(source="s", kind="parquet", path=str(tmp_path / "m.parquet"))
    assert table.column("id").to_pylist() == ["1", "2"]
    con = sqlite3.connect(tmp_path / "db.sqlite")
    con.execute("CREATE TABLE contacts (id INTEGER, name TEXT)")
    con.executemany("INSERT INTO contacts VALUES (?, ?)", [(1, "Ana"), (2, None)])
    con.commit()
    con.close()
    table = read_location(
        source="s", kind="sql", url=f"sqlite:///{tmp_path / 'db.sqlite'}", table="contacts"
    )
    assert table.to_pylist() == [{"id": "1", "name": "Ana"}, {"id": "2", "name": None}]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceReadError, match="not found; check 'path'"):
        read_location(source="s", kind="parquet", path=str(tmp_path / "none.parquet"))


def test_csv_encoding_auto_falls_back_to_cp1252_with_a_note(tmp_path: Path) -> None:
    from sources.connectors import open_location

    path = tmp_path / "c.csv"
    # "€" exists in cp1252 (0x80) but not in latin-1's printable range: cp1252 is detected.
    path.write_bytes("id,name\n1,Núñez 5€\n".encode("cp1252"))
    stream = open_location(source="s", kind="csv", path=str(path), encoding="auto")
    table = pa.Table.from_batches(list(stream.batches), schema=stream.schema)
    assert table.column("name").to_pylist() == ["Núñez 5€"]
    assert any("not valid UTF-8" in n and "cp1252" in n for n in stream.notes)
    utf8 = tmp_path / "u.csv"
    utf8.write_text("id,name\n1,Núñez\n", encoding="utf-8")
    stream = open_location(source="s", kind="csv", path=str(utf8), encoding="auto")
    assert list(stream.batches)[0].column(1).to_pylist() == ["Núñez"]
    assert not [n for n in stream.notes if "encoding" in n]


def test_csv_delimiter_detected_and_quoting_options(tmp_path: Path) -> None:
    tabbed = tmp_path / "t.csv"
    tabbed.write_text("id\tname\tcity\n1\tAna\tVigo\n2\tLuis\tLeón\n")
    table = read_location(source="s", kind="csv", path=str(tabbed))
    assert table.column_names == ["id", "name", "city"]
    single = tmp_path / "q.csv"
    single.write_text("id|name\n1|'Peña | S.L.'\n")
    table = read_location(source="s", kind="csv", path=str(single), delimiter="|", quoting="'")
    assert table.column("name").to_pylist() == ["Peña | S.L."]
    unquoted = tmp_path / "n.csv"
    unquoted.write_text('id;name\n1;"Ana\n')
    table = read_location(source="s", kind="csv", path=str(unquoted), delimiter=";",
                          quoting="none")
    assert table.column("name").to_pylist() == ['"Ana']


def test_csv_malformed_rows_are_kept_with_their_text(tmp_path: Path) -> None:
    from sources.connectors import MALFORMED_COLUMN

    path = tmp_path / "c.csv"
    path.write_text("id;name;cp\n1;Ana;08001\n2;Luis\n3;Eva;28001;extra\n4;Noa;01001\n")
    table = read_location(source="s", kind="csv", path=str(path), delimiter=";")
    assert table.num_rows == 4  # every line is extracted: two good, two malformed
    rows = table.to_pylist()
    good = [r for r in rows if r[MALFORMED_COLUMN] is None]
    bad = [r for r in rows if r[MALFORMED_COLUMN] is not None]
    assert [r["id"] for r in good] == ["1", "4"]
    assert sorted(r[MALFORMED_COLUMN] for r in bad) == ["2;Luis", "3;Eva;28001;extra"]
    assert all(r["id"] is None and r["name"] is None for r in bad)


def test_streams_are_batched_and_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sources.connectors as connectors

    monkeypatch.setattr(connectors, "BATCH_ROWS", 1000)
    lines = tmp_path / "big.jsonl"
    lines.write_text("".join(json.dumps({"id": i, "v": f"x{i}"}) + "\n" for i in range(3500)))
    stream = connectors.open_location(source="s", kind="json", path=str(lines))
    sizes = [b.num_rows for b in stream.batches]
    assert sizes == [1000, 1000, 1000, 500]
    con = sqlite3.connect(tmp_path / "db.sqlite")
    con.execute("CREATE TABLE t (id INTEGER, amount REAL, at TEXT, blob_col BLOB)")
    con.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?)", [(i, i / 2, "2026-01-01", None) for i in range(2500)]
    )
    con.commit()
    con.close()
    stream = connectors.open_location(
        source="s", kind="sql", url=f"sqlite:///{tmp_path / 'db.sqlite'}", table="t"
    )
    batches = list(stream.batches)
    # SQLite's first batch carries the driver's one-row type hint, dropped again.
    assert [b.num_rows for b in batches] == [999, 1000, 501]
    # Every row once, in order, across the batches.
    ids = [row["id"] for batch in batches for row in batch.to_pylist()]
    assert ids == [str(i) for i in range(2500)]
    assert batches[0].to_pylist()[1] == {"id": "1", "amount": "0.5", "at": "2026-01-01",
                                         "blob_col": None}
    assert all(f.type == pa.string() for f in batches[0].schema)


def test_json_pages_and_parquet_files_with_different_columns(tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "page-1.json").write_text(
        json.dumps({"items": [{"id": 1, "ok": True}], "next": "page-2.json"}, indent=2)
    )
    (pages / "page-2.json").write_text(json.dumps({"items": [{"id": 2, "new": 1.5}]}))
    table = read_location(source="s", kind="json", path=str(pages / "page-*.json"))
    assert table.to_pylist() == [
        {"id": "1", "ok": "True", "new": None},
        {"id": "2", "ok": None, "new": "1.5"},
    ]
    pq.write_table(pa.table({"id": [1], "a": ["x"]}), tmp_path / "p1.parquet")
    pq.write_table(pa.table({"id": [2], "b": [3.5]}), tmp_path / "p2.parquet")
    table = read_location(source="s", kind="parquet", path=str(tmp_path / "p*.parquet"))
    assert table.to_pylist() == [
        {"id": "1", "a": "x", "b": None},
        {"id": "2", "a": None, "b": "3.5"},
    ]


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": 1}\n{"id": \n')
    with pytest.raises(SourceReadError, match=r"t.jsonl line 2 is not valid JSON"):
        read_location(source="s", kind="json", path=str(path))


def test_the_cyclic_gc_is_off_only_while_a_source_is_read(tmp_path: Path) -> None:
    """Extraction turns the cyclic GC off while it streams a table (see `_without_cyclic_gc`)
    and on again afterwards, also when the read fails half-way."""
    import gc

    from pipelines.extract.extract import _write_stream
    from sources.connectors import BatchStream

    seen = []

    def failing() -> Iterator[pa.RecordBatch]:
        seen.append(gc.isenabled())
        yield pa.record_batch({"id": ["1"]})
        raise SourceReadError("source 's': connection lost")

    assert gc.isenabled()
    stream = BatchStream(names=["id"], batches=failing())
    with pytest.raises(SourceReadError, match="connection lost"):
        _write_stream(stream, tmp_path / "t.parquet")
    assert seen == [False]
    assert gc.isenabled()


def test_sqlite_columns_are_text_even_when_their_first_rows_are_null(tmp_path: Path) -> None:
    """SQLite types values, not columns: a column NULL for a whole first batch and text
    later, an integer in a TEXT column, reals; read as SQLite renders them, in rowid order."""
    import sources.connectors as connectors

    con = sqlite3.connect(tmp_path / "db.sqlite")
    con.execute("CREATE TABLE t (id INTEGER, amount REAL, note TEXT, at TEXT)")
    rows = [(i, None, None, None) for i in range(1500)]
    rows += [
        (1500, 12.5, "late text", 20260101),
        (1501, 100.0, 7, "2026-01-02"),
        (1502, 1e-05, "", "2025-12-31"),
    ]
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    stream = connectors.open_location(
        source="s", kind="sql", url=f"sqlite:///{tmp_path / 'db.sqlite'}", table="t"
    )
    table = pa.Table.from_batches(list(stream.batches), schema=stream.schema)
    assert table.num_rows == 1503
    assert table.column("id").to_pylist() == [str(i) for i in range(1503)]
    assert table.slice(1500).to_pylist() == [
        {"id": "1500", "amount": "12.5", "note": "late text", "at": "20260101"},
        {"id": "1501", "amount": "100.0", "note": "7", "at": "2026-01-02"},
        {"id": "1502", "amount": "1.0e-05", "note": "", "at": "2025-12-31"},
    ]
    since = connectors.open_location(
        source="s", kind="sql", url=f"sqlite:///{tmp_path / 'db.sqlite'}", table="t",
        watermark="at", since="2026-01-01",
    )
    # `at >= since` (text comparison, as SQLite compares them) or no watermark at all.
    kept = pa.Table.from_batches(list(since.batches), schema=since.schema)
    assert kept.num_rows == 1502 and "1502" not in kept.column("id").to_pylist()


def test_sqlite_query_error_names_the_source(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "db.sqlite")
    con.execute("CREATE TABLE t (id INTEGER)")
    con.close()
    with pytest.raises(SourceReadError, match="source 's': query failed .*no such table"):
        read_location(source="s", kind="sql", url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                      table="missing")
    rows = read_location(
        source="s", kind="sql", url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        query="SELECT id, 'x' AS tag FROM t",
    )
    assert rows.column_names == ["id", "tag"] and rows.num_rows == 0
