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
