"""The store's previous state kept by the identity stage for the publish: a hard link of a
DuckDB store file (no copy), layers otherwise; either way the publish sees exactly what the
identity stage saw, even if the store is replaced in between."""

from __future__ import annotations

import errno
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from pipelines import stages
from pipelines.publish import store
from pipelines.publish.prepare import (
    PREVIOUS_STORE,
    PREVIOUS_TABLES,
    _snapshot_revision,
    layer_name,
    load_previous_state,
    restore_previous,
)
from pipelines.workarea import WorkArea, connect


def _store_with_customers(path: Path, *ids: str) -> str:
    url = f"duckdb:///{path}"
    store.upgrade(url)
    con = duckdb.connect(str(path))
    for customer_id in ids:
        con.execute(
            "INSERT INTO core.customer (customer_id, party_type, source_count, is_active, "
            "record_count, created_run_id, updated_run_id, created_at, updated_at) "
            "VALUES (?, 'person', 1, true, 1, 'r0', 'r0', now(), now())",
            [customer_id],
        )
    con.execute("CHECKPOINT")
    con.close()
    return url


def _kept(tmp_path: Path, *ids: str) -> tuple[Path, WorkArea, duckdb.DuckDBPyConnection]:
    """A store holding `ids`, and a work connection after the identity stage kept it."""
    path = tmp_path / "store.duckdb"
    url = _store_with_customers(path, *ids)
    work = WorkArea(tmp_path / "work")
    work.root.mkdir(parents=True)
    con = connect()
    load_previous_state(con, url, work)
    return path, work, con


def _customers(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("SELECT customer_id FROM core.customer ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def test_a_duckdb_store_is_kept_as_a_hard_link_and_outlives_its_replacement(tmp_path) -> None:
    path = tmp_path / "store" / "store.duckdb"
    url = _store_with_customers(path, "C1", "C2")
    work = WorkArea(tmp_path / "work")
    # Layers a run against a PostgreSQL store (or an earlier run) left must not be read.
    stale = work.path(layer_name("core.customer", "previous__"))
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"stale")

    con = connect()
    counts = load_previous_state(con, url, work)
    con.close()
    snapshot = work.root / PREVIOUS_STORE
    assert os.stat(snapshot).st_ino == os.stat(path).st_ino
    assert counts["core.customer"] == 2 and set(counts) == set(PREVIOUS_TABLES)
    assert not stale.exists()

    # An edit between identity and publish replaces the store file: the snapshot keeps the
    # state identity assigned ids against.
    replacement = tmp_path / "next.duckdb"
    _store_with_customers(replacement, "C9")
    os.replace(replacement, path)
    con = connect()
    restore_previous(con, work)
    assert _customers(con) == ["C1", "C2"]
    # Every mirrored table is there, typed like the store.
    assert con.execute("SELECT count(*) FROM core.activity").fetchall() == [(0,)]
    con.close()


def test_an_older_store_schema_reads_as_nulls(tmp_path) -> None:
    path = tmp_path / "store.duckdb"
    url = _store_with_customers(path, "C1")
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE core.customer DROP COLUMN email")
    con.execute("DROP TABLE core.review_pair")
    con.execute("CHECKPOINT")
    con.close()
    work = WorkArea(tmp_path / "work")
    work.root.mkdir(parents=True)
    con = connect()
    counts = load_previous_state(con, url, work)
    assert counts["core.review_pair"] == 0
    assert con.execute("SELECT customer_id, email FROM core.customer").fetchall() == [
        ("C1", None)
    ]
    con.close()


@pytest.mark.parametrize("reason", ["wal", "no store", "other filesystem"])
def test_without_a_faithful_file_the_tables_are_copied_as_layers(
    tmp_path, monkeypatch, reason
) -> None:
    path = tmp_path / "store.duckdb"
    url = _store_with_customers(path, "C1")
    if reason == "wal":
        # Rows only in a write-ahead log would be missed by a link of the file.
        con = duckdb.connect(str(path))
        con.execute("SET checkpoint_threshold = '1TB'")
        con.execute(
            "INSERT INTO core.customer (customer_id, party_type, source_count, is_active, "
            "record_count, created_run_id, updated_run_id, created_at, updated_at) "
            "VALUES ('C2', 'person', 1, true, 1, 'r0', 'r0', now(), now())"
        )
        # Leave the WAL behind as a crashed writer would: copy it before the close folds it.
        shutil.copyfile(path.with_name(path.name + ".wal"), tmp_path / "kept.wal")
        shutil.copyfile(path, tmp_path / "kept.duckdb")
        con.close()
        shutil.copyfile(tmp_path / "kept.duckdb", path)
        shutil.copyfile(tmp_path / "kept.wal", path.with_name(path.name + ".wal"))
    elif reason == "other filesystem":

        def cross_device(src, dst):
            raise OSError(errno.EXDEV, "Invalid cross-device link")

        monkeypatch.setattr(os, "link", cross_device)
    else:
        path.unlink()
    work = WorkArea(tmp_path / "work")
    work.root.mkdir(parents=True)
    con = connect()
    load_previous_state(con, url, work)
    con.close()
    assert not (work.root / PREVIOUS_STORE).exists()
    assert work.path(layer_name("core.customer", "previous__")).exists()
    con = connect()
    restore_previous(con, work)
    expected = {"wal": ["C1", "C2"], "no store": [], "other filesystem": ["C1"]}[reason]
    assert _customers(con) == expected
    con.close()


def test_a_change_against_the_snapshot_applies_only_to_that_very_file(tmp_path) -> None:
    path, work, con = _kept(tmp_path, "C1")
    con.close()
    snapshot = work.root / PREVIOUS_STORE
    load = store.TableLoad(
        table="core.customer",
        path=tmp_path / "unused.parquet",
        mode="replace",
        delta=store.TableDelta(upserts=tmp_path / "u", removed=tmp_path / "r", base_file=snapshot),
    )
    assert store._delta_applies(load, path, {})
    # A steward edit or an erasure replaced the store meanwhile: compare whole tables.
    replacement = tmp_path / "next.duckdb"
    _store_with_customers(replacement, "C1")
    os.replace(replacement, path)
    assert not store._delta_applies(load, path, {})


def test_the_snapshot_revision_decides_whether_deltas_are_worked_out(tmp_path) -> None:
    """A store at an older migration is migrated before it is patched, so a change worked out
    against it could miss what the migration rewrites: only a snapshot at head gets deltas."""
    path, work, con = _kept(tmp_path, "C1")
    assert _snapshot_revision(con) == store.head_revision() != ""
    con.close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE alembic_version SET version_num = '0001'")
    con.execute("CHECKPOINT")
    con.close()
    con = connect()
    restore_previous(con, work)  # the snapshot is the same inode: it sees the edit
    assert _snapshot_revision(con) == "0001"
    con.close()


@pytest.mark.parametrize("replaced", [False, True], ids=["same store", "store replaced"])
def test_a_table_left_unwritten_is_written_only_if_the_store_needs_it(tmp_path, replaced) -> None:
    """A table with a change against the snapshot has no whole file until the store asks:
    never while the change applies, once (and then loaded whole) when the store was replaced
    since the run read it."""
    path, work, con = _kept(tmp_path, "C1", "C2")
    url = f"duckdb:///{path}"
    store._compact_marker(path).write_text(json.dumps({"size": store._used_bytes(path)}))
    snapshot = work.root / PREVIOUS_STORE
    con.execute("ATTACH ? AS snap (READ_ONLY)", [str(snapshot)])
    # This run: C2's record count changed, C3 is new.
    con.execute(
        "CREATE TABLE run_customer AS SELECT * REPLACE (CASE WHEN customer_id = 'C2' THEN 2 "
        "ELSE record_count END AS record_count) FROM snap.core.customer UNION ALL "
        "SELECT * REPLACE ('C3' AS customer_id) FROM snap.core.customer "
        "WHERE customer_id = 'C1'"
    )
    con.execute("DETACH snap")
    upserts, removed = tmp_path / "up.parquet", tmp_path / "gone.parquet"
    con.execute(f"COPY (SELECT * FROM run_customer WHERE customer_id <> 'C1') TO '{upserts}'")
    con.execute(f"COPY (SELECT 'C2' AS customer_id) TO '{removed}'")  # changed or gone
    whole = work.path("publish__core__customer")
    writes = []

    def write() -> None:
        writes.append(whole)
        con.execute(f"COPY run_customer TO '{whole}'")

    load = store.TableLoad(
        table="core.customer",
        path=whole,
        mode="replace",
        delta=store.TableDelta(upserts=upserts, removed=removed, base_file=snapshot),
        write=write,
    )
    if replaced:  # e.g. a steward edit: same rows, another file
        shutil.copyfile(path, tmp_path / "edited.duckdb")
        os.replace(tmp_path / "edited.duckdb", path)
    assert store.publish(url, [load]) == "patched"
    assert writes == ([whole] if replaced else [])
    con.close()
    con = duckdb.connect(str(path), read_only=True)
    rows = con.execute(
        "SELECT customer_id, record_count FROM core.customer ORDER BY 1"
    ).fetchall()
    con.close()
    assert rows == [("C1", 1), ("C2", 2), ("C3", 1)]


@pytest.mark.parametrize("edited", [False, True], ids=["same store", "store edited since"])
def test_a_copy_made_ahead_is_patched_only_while_the_store_is_its_source(
    tmp_path, edited
) -> None:
    """The publish patches the copy of the store `copy_ahead` made while the run built its
    tables, unless the store changed since (here an erasure's suppression row, in a table
    the run does not write): then it copies the store again and the edit stays. No copy is
    left behind either way."""
    path, work, con = _kept(tmp_path, "C1", "C2")
    url = f"duckdb:///{path}"
    store._compact_marker(path).write_text(json.dumps({"size": store._used_bytes(path)}))
    ahead = store.copy_ahead(url)
    assert ahead is not None and ahead.path.exists()
    if edited:
        edit = tmp_path / "edited.duckdb"
        shutil.copyfile(path, edit)
        other = duckdb.connect(str(edit))
        other.execute(
            "INSERT INTO audit.suppression (identifier_hash, identifier_kind, erasure_id, "
            "created_at) VALUES ('h', 'email', 'e1', now())"
        )
        other.close()
        os.replace(edit, path)
    # This run: C3 is new (no delta: the store compares the table whole).
    con.execute("ATTACH ? AS snap (READ_ONLY)", [str(work.root / PREVIOUS_STORE)])
    whole = work.path("publish__core__customer")
    con.execute(
        f"COPY (SELECT * FROM snap.core.customer UNION ALL SELECT * REPLACE ('C3' AS "
        f"customer_id) FROM snap.core.customer WHERE customer_id = 'C1') TO '{whole}'"
    )
    con.close()
    load = store.TableLoad(table="core.customer", path=whole, mode="replace")
    assert store.publish(url, [load], ahead=ahead) == "patched"
    assert not ahead.path.exists()
    con = duckdb.connect(str(path), read_only=True)
    assert _customers(con) == ["C1", "C2", "C3"]
    assert con.execute("SELECT count(*) FROM audit.suppression").fetchall()[0][0] == edited
    con.close()
    # A publish that stops before the store takes the copy (a blocking check failed)
    # removes it.
    with (
        pytest.raises(RuntimeError, match="check failed"),
        ThreadPoolExecutor(max_workers=1) as pool,
        stages._copied_ahead(pool, url) as copying,
    ):
        assert copying.result() is not None
        raise RuntimeError("a blocking check failed")
    assert not store._ahead_path(path).exists()


@pytest.mark.parametrize("case", ["in place", "too large", "store replaced"])
def test_a_mostly_changed_table_is_rewritten_whole_without_a_second_comparison(
    tmp_path, monkeypatch, case
) -> None:
    """A `rewrite` delta (the run found most rows changed against the store file): the store
    empties the table and loads the run's file, without comparing it again; a table larger
    than PATCH_REWRITE_MAX_ROWS is not rewritten in place: the store is built fresh. If the
    store file was replaced since the run read it, the store compares the table itself, finds
    most rows changed and refills it in place all the same."""
    path, work, con = _kept(tmp_path, "C1", "C2")
    url = f"duckdb:///{path}"
    store._compact_marker(path).write_text(json.dumps({"size": store._used_bytes(path)}))
    con.execute("ATTACH ? AS snap (READ_ONLY)", [str(work.root / PREVIOUS_STORE)])
    whole = work.path("publish__core__customer")
    con.execute(
        f"COPY (SELECT * REPLACE (record_count + 1 AS record_count) FROM snap.core.customer) "
        f"TO '{whole}'"
    )
    con.execute("DETACH snap")
    con.close()
    rewrites = []
    real_rewrite = store._rewrite_whole

    def recording_rewrite(con, load, column_list):
        rewrites.append(load.table)
        return real_rewrite(con, load, column_list)

    # (The comparison of whole tables never calls it.)
    monkeypatch.setattr(store, "_rewrite_whole", recording_rewrite)
    emptied = []
    real_recreate = store._recreate_empty

    def recording_recreate(con, table):
        emptied.append(table)
        real_recreate(con, table)

    monkeypatch.setattr(store, "_recreate_empty", recording_recreate)
    if case == "too large":
        monkeypatch.setattr(store, "PATCH_REWRITE_MAX_ROWS", 1)
    if case == "store replaced":  # e.g. a steward edit: same rows, another file
        shutil.copyfile(path, tmp_path / "edited.duckdb")
        os.replace(tmp_path / "edited.duckdb", path)
        monkeypatch.setattr(store, "PATCH_MIN_ROWS", 0)  # the share rule, on two rows
    load = store.TableLoad(
        table="core.customer",
        path=whole,
        mode="replace",
        delta=store.TableDelta(base_file=work.root / PREVIOUS_STORE, rewrite=True),
    )
    assert store.publish(url, [load]) == ("fresh" if case == "too large" else "patched")
    assert rewrites == ([] if case == "store replaced" else ["core.customer"])
    assert emptied == ([] if case == "too large" else ["core.customer"])
    con = duckdb.connect(str(path), read_only=True)
    rows = con.execute("SELECT customer_id, record_count FROM core.customer ORDER BY 1").fetchall()
    comment = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE schema_name = 'core' "
        "AND table_name = 'customer'"
    ).fetchall()
    con.close()
    assert rows == [("C1", 2), ("C2", 2)]
    assert comment[0][0]  # re-created from its catalog entry, comment included
