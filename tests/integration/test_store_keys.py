"""On DuckDB the million-row tables' keys are not held as indexes (migration 0004): the
migration keeps their rows, NOT NULL keys and comments, and every publish verifies the keys,
refusing rows that share one whether the store is built fresh or patched with a delta."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from store_support import alembic

import models
from pipelines.publish import store
from pipelines.publish.store import StoreKeyError, TableDelta, TableLoad

EVIDENCE = "core.linkage_evidence"


def _indexed(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_constraints() "
        "WHERE constraint_type = 'PRIMARY KEY' AND schema_name IN ('core', 'audit', 'marts')"
    ).fetchall()
    return {name for (name,) in rows}


def test_migration_drops_the_large_tables_indexes_and_keeps_rows_and_comments(tmp_path) -> None:
    path = tmp_path / "store.duckdb"
    url = f"duckdb:///{path}"
    alembic(url, "upgrade", "0003")
    con = duckdb.connect(str(path))
    con.execute(
        "INSERT INTO core.customer_attribute_provenance VALUES ('c1', 'email', 'crm', '7', 'r')"
    )
    columns = (
        "SELECT table_name, column_name, comment FROM duckdb_columns() "
        "WHERE schema_name = 'core' ORDER BY table_name, column_index"
    )
    comments_before = con.execute(columns).fetchall()
    con.close()

    alembic(url, "upgrade", "head")
    con = duckdb.connect(str(path))
    try:
        assert _indexed(con) == set(models.metadata.tables) - models.KEYS_VERIFIED_ON_DUCKDB
        assert con.execute("SELECT * FROM core.customer_attribute_provenance").fetchall() == [
            ("c1", "email", "crm", "7", "r")
        ]
        # Same columns in the same order with the same comments, keys still NOT NULL.
        assert con.execute(columns).fetchall() == comments_before
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO core.activity (source_system, activity_name, activity_id) "
                        "VALUES ('crm', 'orders', NULL)")
        # The analyst views still read the rebuilt tables.
        for view in ("activity", "customer_source_xref"):
            con.execute(f"SELECT count(*) FROM analyst.{view}").fetchall()  # noqa: S608
    finally:
        con.close()

    alembic(url, "downgrade", "0003")
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert _indexed(con) == set(models.metadata.tables)
    finally:
        con.close()


def _evidence_file(path: Path, pairs: list[tuple[str, str, float]]) -> Path:
    schema = store.arrow_schema(EVIDENCE)
    rows = [
        {"record_key_l": left, "record_key_r": right, "customer_id": "c", "match_weight": 5.0,
         "match_probability": probability, "comparison_weights": None, "run_id": "r"}
        for left, right, probability in pairs
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def _evidence(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            f"SELECT record_key_l, record_key_r, match_probability FROM {EVIDENCE} ORDER BY ALL"  # noqa: S608
        ).fetchall()
    finally:
        con.close()


def test_publish_refuses_rows_sharing_a_key_fresh_and_patched(tmp_path) -> None:
    path = tmp_path / "store" / "store.duckdb"
    url = f"duckdb:///{path}"
    twice = _evidence_file(tmp_path / "twice.parquet", [("a", "b", 0.9), ("a", "b", 0.8)])
    with pytest.raises(StoreKeyError, match=r"core.linkage_evidence: rows share the key"):
        store.publish(url, [TableLoad(EVIDENCE, twice, "replace")])
    assert not path.exists()  # nothing swapped in

    good = _evidence_file(tmp_path / "good.parquet", [("a", "b", 0.9), ("c", "d", 0.7)])
    assert store.publish(url, [TableLoad(EVIDENCE, good, "replace")]) == "fresh"
    held = _evidence(path)

    # A delta whose upsert collides with a row it does not remove (a stage's bug): refused,
    # the store as it was. The same delta removing that row applies.
    upserts = _evidence_file(tmp_path / "up.parquet", [("c", "d", 0.6)])
    nothing = _evidence_file(tmp_path / "none.parquet", [])
    removed = _evidence_file(tmp_path / "removed.parquet", [("c", "d", 0.7)])
    colliding = TableLoad(
        EVIDENCE, good, "replace",
        delta=TableDelta(upserts=upserts, removed=nothing, base_file=path),
    )
    with pytest.raises(StoreKeyError, match=r"\('c', 'd'\) x2"):
        store.publish(url, [colliding])
    assert _evidence(path) == held

    applying = TableLoad(
        EVIDENCE, good, "replace",
        delta=TableDelta(upserts=upserts, removed=removed, base_file=path),
    )
    assert store.publish(url, [applying]) == "patched"
    assert _evidence(path) == [("a", "b", pytest.approx(0.9)), ("c", "d", pytest.approx(0.6))]


def test_a_store_at_an_older_revision_is_built_fresh_not_migrated_in_place(
    tmp_path, monkeypatch
) -> None:
    """Migrating a copy would rebuild the big tables inside the file and keep their old
    blocks; a fresh build loads a migrated empty file (and compacts it). The tables it does
    not replace are carried over from a migrated copy of the store, so that a migration
    rewriting their rows applies to them; the copy is removed."""
    path = tmp_path / "store" / "store.duckdb"
    url = f"duckdb:///{path}"
    good = _evidence_file(tmp_path / "good.parquet", [("a", "b", 0.9), ("c", "d", 0.7)])
    assert store.publish(url, [TableLoad(EVIDENCE, good, "replace")]) == "fresh"
    assert store.publish(url, [TableLoad(EVIDENCE, good, "replace")]) == "patched"
    alembic(url, "downgrade", "0003")
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO audit.erasure VALUES ('e1', 'c9', 'dpo', 'ticket 7', 2, now())")
    con.close()
    migrated: list[str] = []
    real_upgrade = store.upgrade
    monkeypatch.setattr(store, "upgrade", lambda u: (migrated.append(u), real_upgrade(u)))

    assert store.publish(url, [TableLoad(EVIDENCE, good, "replace")]) == "fresh"
    assert f"duckdb:///{path}.migrated" in migrated
    assert not path.with_name(path.name + ".migrated").exists()
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (store.head_revision(),)
        ]
        assert EVIDENCE not in _indexed(con)
        assert con.execute("SELECT erasure_id, records_erased FROM audit.erasure").fetchall() == [
            ("e1", 2)
        ]
    finally:
        con.close()
    assert _evidence(path) == [("a", "b", pytest.approx(0.9)), ("c", "d", pytest.approx(0.7))]


def test_a_store_file_not_made_by_the_migrations_is_carried_over_as_it_is(tmp_path) -> None:
    path = tmp_path / "store" / "store.duckdb"
    path.parent.mkdir()
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA audit")
    con.execute(
        "CREATE TABLE audit.erasure AS SELECT 'e1' AS erasure_id, 'c9' AS customer_id, "
        "'dpo' AS requested_by, 'ticket 7' AS reason, 3 AS records_erased, now() AS erased_at"
    )
    con.close()
    good = _evidence_file(tmp_path / "good.parquet", [("a", "b", 0.9)])
    assert store.publish(f"duckdb:///{path}", [TableLoad(EVIDENCE, good, "replace")]) == "fresh"
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT erasure_id, records_erased FROM audit.erasure").fetchall() == [
            ("e1", 3)
        ]
    finally:
        con.close()
