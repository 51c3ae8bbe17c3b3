"""Connectors read real files and databases as text columns, as the source holds them."""

from __future__ import annotations

import json
import sqlite3
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
