"""The work area's tagged hand-offs: a layer describing other layers is used only with them."""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.workarea import WorkArea, connect, file_identity


def test_a_tagged_layer_loads_only_with_the_files_it_names(tmp_path: Path) -> None:
    work = WorkArea(tmp_path)
    con = connect()
    con.execute("CREATE TABLE staged AS SELECT 1 AS record_key")
    work.save(con, "staged")
    con.execute("CREATE TABLE changes AS SELECT 1 AS record_key")
    tags = {"staged": work.path("staged")}
    work.save(con, "changes", metadata={"staged": file_identity(work.path("staged"))})

    assert work.load_if_tagged(con, "changes", tags, "loaded")
    assert con.execute("SELECT * FROM loaded").fetchall() == [(1,)]
    # A tag the layer does not carry, a file that is not there: not loaded.
    assert not work.load_if_tagged(con, "changes", {"base": work.path("staged")}, "other")
    assert not work.load_if_tagged(con, "changes", {"staged": tmp_path / "gone.parquet"})
    # The file it describes was written again since: not loaded.
    stat = work.path("staged").stat()
    os.utime(work.path("staged"), ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert not work.load_if_tagged(con, "changes", tags, "stale")
    names = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    assert "loaded" in names and not {"other", "stale"} & names
    con.close()


def _rows(con, name: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()  # noqa: S608


def _whole_base(tmp_path: Path, rows_sql: str) -> tuple[WorkArea, object]:
    """A work area whose layer `layer` is written whole from `rows_sql` and kept as `base`."""
    work = WorkArea(tmp_path)
    con = connect()
    con.execute(f"CREATE TABLE layer AS {rows_sql}")
    work.save(con, "layer")
    work.keep("layer", "base")
    return work, con


def test_a_layer_saved_over_its_base_reads_as_the_base_with_the_change(tmp_path: Path) -> None:
    work, con = _whole_base(tmp_path, "SELECT i AS k, i * 10 AS v FROM range(100) t(i)")
    # Night 1: key 1 changes, key 2 goes, key 100 is new.
    con.execute("CREATE TABLE drop1 AS SELECT * FROM (VALUES (1), (2)) t(k)")
    con.execute("CREATE TABLE add1 AS SELECT * FROM (VALUES (1, -1), (100, 1000)) t(k, v)")
    work.save_over(con, "layer", base="base", drop="drop1", add="add1", keys=["k"],
                   metadata={"version": "v1"})
    assert not work.path("layer").exists() and work.exists("layer")
    assert work.layer_metadata("layer", "version") == "v1"
    expected = [(k, k * 10) for k in range(100) if k not in (1, 2)] + [(1, -1), (100, 1000)]
    work.load(con, "layer", "night1")
    assert _rows(con, "night1") == sorted(expected)
    first = work.identity("layer")

    # Night 2 starts from night 1's layer: key 100 changes again, key 3 goes.
    work.keep("layer", "base")
    con.execute("CREATE TABLE drop2 AS SELECT * FROM (VALUES (100), (3)) t(k)")
    con.execute("CREATE TABLE add2 AS SELECT * FROM (VALUES (100, 7)) t(k, v)")
    work.save_over(con, "layer", base="base", drop="drop2", add="add2", keys=["k"])
    expected = [r for r in expected if r[0] not in (100, 3)] + [(100, 7)]
    work.load(con, "layer", "night2")
    assert _rows(con, "night2") == sorted(expected)
    assert work.identity("layer") != first
    # A kept copy of a layer kept as a change is that layer: a stage's hand-off tagged with
    # the layer is used by the stage whose base is the copy.
    work.keep("layer", "other_base")
    assert work.identity("other_base") == work.identity("layer")
    assert work.rows("layer") == len(expected) and work.schema_path("layer").exists()
    work.save(con, "handoff", "add2", metadata={"layer": work.identity("layer")})
    assert work.load_if_tagged(con, "handoff", {"layer": "other_base"}, "handed")
    assert not work.load_if_tagged(con, "handoff", {"layer": "base"}, "not_handed")
    # One file of the first whole layer, one change: night 1's change files are gone once
    # nothing describes them.
    work.keep("layer", "base")
    parts = sorted(p.name.split(".")[-2] for p in (tmp_path / "parts").iterdir())
    assert parts == ["add", "base", "drop"]

    # The store asks for the whole table: written on demand, same rows.
    whole = work.materialize("layer", tmp_path / "whole.parquet")
    assert sorted(con.execute("SELECT * FROM read_parquet(?)", [str(whole)]).fetchall()) == (
        sorted(expected)
    )
    con.close()


def test_a_change_grown_past_its_share_is_written_whole(tmp_path: Path) -> None:
    work, con = _whole_base(tmp_path, "SELECT i AS k FROM range(100) t(i)")
    con.execute("CREATE TABLE small AS SELECT 5 AS k")
    work.save_over(con, "layer", base="base", drop="small", add="small", keys=["k"])
    assert work.chain_path("layer").exists()
    work.keep("layer", "base")
    con.execute("CREATE TABLE big AS SELECT i AS k FROM range(50) t(i)")
    work.save_over(con, "layer", base="base", drop="big", add="big", keys=["k"])
    # More than CHAIN_COMPACT_SHARE changed: a whole file again, and no description left.
    assert work.path("layer").exists() and not work.chain_path("layer").exists()
    work.load(con, "layer", "now")
    assert _rows(con, "now") == [(k,) for k in range(100)]
    work.keep("layer", "base")
    assert not work.chain_path("base").exists()
    assert list((tmp_path / "parts").iterdir()) == []
    con.close()
