"""The governed store: migrate it, read its previous state, and publish a run atomically.

DuckDB (embedded default): the new state is built in a file beside the store and swapped in
with one `os.replace`. Analysts' read-only connections never meet the writer's lock (it holds
another file), keep reading the old state until they reconnect, and a crash at any point
leaves the previous store untouched. The next file is either a copy of the store patched with
the rows that changed (the usual nightly case: cost follows the change, not the store) or,
on the first publish, a full refresh or once dead rows have grown the file, built fresh.
PostgreSQL (production): migrations and every table are written in one transaction with
COPY (streamed from the work area's Parquet files); readers see the old state until it commits.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from psycopg import sql as psql

import models
from pipelines.faults import fault_point
from pipelines.settings import PROJECT_ROOT
from pipelines.workarea import duckdb_config, sql_literal

MIGRATIONS = PROJECT_ROOT / "migrations"
# Tables loaded at once into a fresh store file (see `_load_duckdb`).
STORE_LOAD_LANES = 2
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableDelta:
    """A replaced table's change since a base: delete the rows whose key is in `removed`,
    insert `upserts`. The base is the version `base_version` of the table's file or, with
    `base_file`, the whole store file the run read its previous state from (a hard link:
    the delta applies while the store is still that very file); with both, both must hold.

    `rewrite` (no upserts, no removed): most of the base's rows changed, so the table is
    replaced whole without the store comparing it again (e.g. a survivorship rule changed:
    most golden records differ)."""

    upserts: Path | None = None
    removed: Path | None = None
    base_version: str = ""
    base_file: Path | None = None
    rewrite: bool = False


@dataclass(frozen=True)
class TableLoad:
    """One store table and the Parquet file that holds its new rows (columns are matched by
    name; the file may hold more)."""

    table: str  # schema.table
    path: Path
    mode: str  # "replace" (the file is the whole table) or "append"
    # For a replaced table: the file's version, remembered beside a DuckDB store, and the
    # change since an earlier version, applied instead of comparing whole tables when the
    # store holds exactly that earlier version.
    version: str | None = None
    delta: TableDelta | None = None
    # Writes `path` when the store needs the whole table after all (its delta does not
    # apply, or the store is built fresh); until then the file does not exist.
    write: Callable[[], object] | None = field(default=None, compare=False)

    def file(self) -> Path:
        """`path`, written first if it was left to be written on demand."""
        if self.write is not None and not self.path.exists():
            self.write()
        return self.path


def duckdb_path(url: str) -> Path:
    """File of a duckdb:/// URL."""
    parsed = sa.make_url(url)
    if not parsed.database or parsed.database == ":memory:":
        raise ValueError(f"CUSTOMER_STORE_URL {url!r} must name a DuckDB file, not memory")
    return Path(parsed.database)


def is_duckdb(url: str) -> bool:
    return sa.make_url(url).get_backend_name() == "duckdb"


def _alembic_config() -> Config:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _migration_files() -> tuple[tuple[str, int], ...]:
    versions = MIGRATIONS / "versions"
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in versions.glob("*.py")))


@functools.lru_cache(maxsize=4)
def _head_of(files: tuple[tuple[str, int], ...]) -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""


def head_revision() -> str:
    """The newest migration: a store at another revision is migrated by its next publish.
    Remembered per set of migration files (alembic reads every script to tell: ~0.3 s under
    py-spy, and a publish asks several times)."""
    return _head_of(_migration_files())


def upgrade(url: str) -> None:
    """Apply every pending migration (`alembic upgrade head`) to the store at `url`."""
    if is_duckdb(url):
        duckdb_path(url).parent.mkdir(parents=True, exist_ok=True)
        os.chmod(duckdb_path(url).parent, 0o700)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def _quoted(table: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in table.split("."))


def _postgresql_engine(url: str) -> sa.Engine:
    # COPY needs psycopg 3, whatever driver the URL names (postgresql:// means psycopg2).
    return sa.create_engine(
        sa.make_url(url).set(drivername="postgresql+psycopg"), poolclass=sa.pool.NullPool
    )


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a governed table, from the models (types the store really holds)."""
    return pa.schema(
        [
            pa.field(col.name, _arrow_type(col.type), nullable=bool(col.nullable))
            for col in models.metadata.tables[table].columns
        ]
    )


def _arrow_type(sql_type: sa.types.TypeEngine) -> pa.DataType:
    # Order matters: Float is a Numeric, BigInteger an Integer, Text a String, DateTime no Date.
    if isinstance(sql_type, sa.Boolean):
        return pa.bool_()
    if isinstance(sql_type, sa.Float):
        return pa.float64()
    if isinstance(sql_type, sa.Numeric):
        return pa.decimal128(sql_type.precision or 38, sql_type.scale or 0)
    if isinstance(sql_type, sa.BigInteger):
        return pa.int64()
    if isinstance(sql_type, sa.Integer):
        return pa.int32()
    if isinstance(sql_type, sa.DateTime):
        return pa.timestamp("us")
    if isinstance(sql_type, sa.Date):
        return pa.date32()
    # String, Text and JSON (carried as its text; DuckDB casts it back on insert).
    return pa.string()


def read_tables(url: str, tables: list[str]) -> dict[str, pa.Table]:
    """Read whole store tables as Arrow (previous state for identity and history).

    A table the store does not have yet (first run, or an older schema) is left out."""
    result: dict[str, pa.Table] = {}
    if is_duckdb(url):
        path = duckdb_path(url)
        if not path.exists():
            return {}
        con = duckdb.connect(str(path), read_only=True)
        try:
            for table in tables:
                schema, name = table.split(".")
                exists = con.execute(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema = ? AND table_name = ?",
                    [schema, name],
                ).fetchall()[0][0]
                if exists:
                    result[table] = con.sql(f"SELECT * FROM {_quoted(table)}").to_arrow_table()  # noqa: S608
        finally:
            con.close()
        return result
    engine = _postgresql_engine(url)
    try:
        with engine.connect() as connection:
            raw = connection.connection.driver_connection
            # One REPEATABLE READ snapshot: the tables read belong to the same publish.
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            for table in tables:
                result_table = _read_postgresql(raw, table)
                if result_table is not None:
                    result[table] = result_table
    finally:
        engine.dispose()
    return result


def _read_postgresql(raw: psycopg.Connection, table: str) -> pa.Table | None:
    """COPY the table out as CSV and parse it with Arrow, typed from the models: far faster
    than fetching Python rows, and exact for Numeric, Date and JSON."""
    schema, name = table.split(".")
    with raw.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{_quoted(table)}"])
        if not cur.fetchone()[0]:
            return None
        target = arrow_schema(table)
        existing = set(_postgresql_columns(cur, schema, name))
        fields = [f for f in target if f.name in existing]
        query = psql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT csv)").format(
            psql.SQL(", ").join(psql.Identifier(f.name) for f in fields),
            psql.Identifier(schema, name),
        )
        buffer = io.BytesIO()
        with cur.copy(query) as copy:
            for chunk in copy:
                buffer.write(chunk)
    schema_ = pa.schema(fields)
    if buffer.tell() == 0:
        return schema_.empty_table()
    buffer.seek(0)
    return pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=schema_.names),
        convert_options=pacsv.ConvertOptions(
            column_types=schema_,
            # PostgreSQL's CSV: NULL is an empty unquoted field, '' is "" (kept as text).
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )


def _postgresql_columns(cur: psycopg.Cursor, schema: str, name: str) -> list[str]:
    cur.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        [schema, name],
    )
    return [row[0] for row in cur.fetchall()]


def table_columns(
    con: duckdb.DuckDBPyConnection, table: str, catalog: str | None = None
) -> list[str]:
    schema, name = table.split(".")
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_catalog = coalesce(?, current_database()) "
        "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [catalog, schema, name],
    ).fetchall()
    return [r[0] for r in rows]


def _carry_over(con: duckdb.DuckDBPyConnection, store: Path, replaced: set[str]) -> None:
    """Copy every governed table this publish does not replace from the current store into
    the new file (matching columns by name, so an older store's rows survive a migration)."""
    con.execute("ATTACH ? AS previous_store (READ_ONLY)", [str(store)])
    try:
        for table in models.metadata.sorted_tables:
            name = f"{table.schema}.{table.name}"
            if name in replaced:
                continue
            old = set(table_columns(con, name, "previous_store"))
            common = [c for c in table_columns(con, name) if c in old]
            if not common:
                continue
            column_list = ", ".join(f'"{c}"' for c in common)
            con.execute(
                f"INSERT INTO {_quoted(name)} ({column_list}) "  # noqa: S608 - model identifiers
                f"SELECT {column_list} FROM previous_store.{_quoted(name)}"
            )
    finally:
        con.execute("DETACH previous_store")


def _insert_file(con: duckdb.DuckDBPyConnection, load: TableLoad) -> None:
    """Load one table's file in its own transaction; `con` is a cursor of its own, closed
    here (which rolls back a transaction an error left open)."""
    try:
        columns = table_columns(con, load.table)
        if not columns:
            raise RuntimeError(f"store table {load.table} missing: migrations were not applied")
        column_list = ", ".join(f'"{c}"' for c in columns)
        con.execute("BEGIN TRANSACTION")
        con.execute(
            f"INSERT INTO {_quoted(load.table)} ({column_list}) "  # noqa: S608
            f"SELECT {column_list} FROM read_parquet(?)",
            [str(load.file())],
        )
        con.execute("COMMIT")
        verify_keys(con, load.table)
    finally:
        con.close()


class StoreKeyError(RuntimeError):
    """Rows about to be published share a key the store does not index (`verify_keys`)."""


def verify_keys(con: duckdb.DuckDBPyConnection, table: str, changed: str | None = None) -> None:
    """Raise StoreKeyError if two rows of `table` share its key (the models' primary key)
    and the store holds no PRIMARY KEY for it to enforce that (migration 0004: the
    million-row tables on DuckDB). With `changed` (a relation holding the keys just
    inserted into a table that was unique before), only those keys are looked at: a
    duplicate needs one of them. A no-op where the store enforces the key itself."""
    schema, name = table.split(".")
    (enforced,), = con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [schema, name],
    ).fetchall()
    if enforced:
        return
    keys = ", ".join(f'"{c}"' for c in primary_key(table))
    rows = f"{_quoted(table)} SEMI JOIN {changed} USING ({keys})" if changed else _quoted(table)
    duplicates = con.execute(
        f"SELECT {keys}, count(*) FROM {rows} GROUP BY ALL HAVING count(*) > 1 LIMIT 5"  # noqa: S608
    ).fetchall()
    if duplicates:
        shown = "; ".join(f"{row[:-1]} x{row[-1]}" for row in duplicates)
        raise StoreKeyError(
            f"{table}: rows share the key ({keys}), e.g. {shown}. The publish is refused "
            "and the store left as it was. A stage built duplicate rows: run the sync again "
            "with FULL_REFRESH=1, and if they persist, report it with the run's work area."
        )


def _load_duckdb(
    con: duckdb.DuckDBPyConnection, loads: list[TableLoad], previous: Path | None = None
) -> bool:
    """Fill a freshly migrated (empty) file: carry over what this run does not replace from
    `previous`, then load every table's file.

    The file is private until the swap, so each table commits on its own and two load at
    once: maintaining a table's primary-key index, or checking its keys (`verify_keys`),
    runs on one core (the whole load at 1M records, before migration 0004: 17.9 s one table
    after the other, 13.2 s two at a time on 2 cores)."""
    if previous is not None:
        con.execute("BEGIN TRANSACTION")
        _carry_over(con, previous, {load.table for load in loads if load.mode == "replace"})
        con.execute("COMMIT")
    # Most rows first (the index work follows rows, not bytes), so the lanes end together.
    # (`file()` here, in this thread: a file written on demand is written by the run's own
    # connection, which the lanes must not share.)
    ordered = sorted(
        loads, key=lambda load: pq.ParquetFile(load.file()).metadata.num_rows, reverse=True
    )
    with ThreadPoolExecutor(max_workers=STORE_LOAD_LANES) as pool:
        futures = [pool.submit(_insert_file, con.cursor(), load) for load in ordered]
        for future in futures:
            future.result()
    return True


# Above this share of rewritten rows (in a table of more than PATCH_MIN_ROWS) a fresh build is
# faster than patching: DuckDB deletes from indexed tables row by row, a fresh file is one
# bulk load.
PATCH_MAX_SHARE = 0.2
PATCH_MIN_ROWS = 10_000
# Such a table is rewritten in place up to this size (`_recreate_empty`, then one insert:
# customer_360's 377k rows at 1M records in 3.2 s, where deleting them took 8.6 s; a fresh
# 1M-record store 25-40 s); a larger one makes the whole publish build fresh. (The limit was
# set when such rows were deleted one by one; a larger table may now be cheaper in place.)
PATCH_REWRITE_MAX_ROWS = 1_000_000
# A patched store holds its replaced rows' old blocks until a checkpoint frees them for
# reuse; once the blocks in use have grown this much beyond the size of the last fresh build,
# or the file (free blocks included) by COMPACT_FILE_GROWTH, the next publish builds fresh.
COMPACT_GROWTH = 1.5
COMPACT_FILE_GROWTH = 3.0


def _compact_marker(store: Path) -> Path:
    return store.with_name(store.name + ".compact.json")


def _versions_path(store: Path) -> Path:
    return store.with_name(store.name + ".versions.json")


def _file_identity(store: Path) -> list[int]:
    stat = store.stat()
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns]


def held_versions(store: Path) -> dict[str, str]:
    """Which version of each replaced table's file the store holds (`TableLoad.version`), as
    the last publish wrote it. Void if the store file is not the one that publish left
    (an edit, a restore, any write since changes its inode, size or mtime): then every
    table is compared whole."""
    try:
        held = json.loads(_versions_path(store).read_text())
        if held["file"] == _file_identity(store):
            return dict(held["tables"])
    except (OSError, ValueError, TypeError, KeyError):
        pass
    return {}


def _size_and_revision(store: Path) -> tuple[int, str | None]:
    """The bytes of the store's blocks in use, and its migration revision (None if the file
    holds none: not made by the migrations)."""
    con = duckdb.connect(str(store), read_only=True, config=duckdb_config())
    try:
        used, block = con.execute(
            "SELECT used_blocks, block_size FROM pragma_database_size()"
        ).fetchall()[0]
        try:
            revision = con.execute("SELECT version_num FROM main.alembic_version").fetchall()
        except duckdb.CatalogException:
            revision = []
    finally:
        con.close()
    return int(used) * int(block), revision[0][0] if len(revision) == 1 else None


def _used_bytes(store: Path) -> int:
    return _size_and_revision(store)[0]


def _patchable(store: Path) -> bool:
    """Whether the next store may be a patched copy of `store` rather than built fresh.

    Not a store at an older schema revision: migrating a copy rewrites the tables a
    migration changes in place and leaves their old blocks in the file (migration 0004 on
    the 1M store: a 1.5 GB file holding 0.5 GB), where a fresh build migrates an empty file
    and loads it compact."""
    marker = _compact_marker(store)
    # A write-ahead log beside the store holds rows a file copy would miss.
    wal = store.with_name(store.name + ".wal")
    if not store.exists() or not marker.exists() or wal.exists():
        return False
    try:
        compact_size = int(json.loads(marker.read_text())["size"])
        used, revision = _size_and_revision(store)
    except (ValueError, KeyError, TypeError, duckdb.Error):
        return False
    return (
        revision == head_revision()
        and used <= COMPACT_GROWTH * compact_size
        and store.stat().st_size <= COMPACT_FILE_GROWTH * compact_size
    )


def primary_key(table: str) -> list[str]:
    """The primary-key columns of a store table, from the models."""
    return [c.name for c in models.metadata.tables[table].primary_key.columns]


def _delete_then_insert(
    con: duckdb.DuckDBPyConnection, target: str, column_list: str, deleted: list[str]
) -> None:
    """Delete the rows of `target` that match any of the `deleted` conditions, then insert
    the rows of `__changed` (columns `column_list`)."""
    con.execute("BEGIN TRANSACTION")
    for condition in deleted:
        con.execute(f"DELETE FROM {target} WHERE {condition}")  # noqa: S608
    con.execute("COMMIT")
    # Re-inserting a deleted key is its own transaction: the unique index sees the
    # deletion committed.
    con.execute(f"INSERT INTO {target} ({column_list}) SELECT {column_list} FROM __changed")  # noqa: S608


def _apply_delta(con: duckdb.DuckDBPyConnection, load: TableLoad, column_list: str) -> bool:
    """Delete the delta's removed keys, insert its upserts (the store held its base); or
    replace the table whole for a `rewrite` delta. False if that table is too large to
    rewrite in place (see `_patch_duckdb`)."""
    assert load.delta is not None
    if load.delta.rewrite:
        return _rewrite_whole(con, load, column_list)
    assert load.delta.upserts is not None and load.delta.removed is not None
    target = _quoted(load.table)
    on = " AND ".join(f'x."{c}" = {target}."{c}"' for c in primary_key(load.table))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __removed AS SELECT * FROM read_parquet(?)",
        [str(load.delta.removed)],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __changed AS SELECT * FROM read_parquet(?)",
        [str(load.delta.upserts)],
    )
    _delete_then_insert(
        con, target, column_list, [f"EXISTS (SELECT 1 FROM __removed x WHERE {on})"]  # noqa: S608
    )
    verify_keys(con, load.table, "__changed")
    con.execute("DROP TABLE __removed")
    log.info("patch %s: delta applied", load.table)
    return True


def _rewrite_whole(con: duckdb.DuckDBPyConnection, load: TableLoad, column_list: str) -> bool:
    """Replace every row of the load's table with its file's (emptied by re-creating it);
    False, untouched, if it holds more than PATCH_REWRITE_MAX_ROWS rows."""
    file = load.file()
    rows = pq.ParquetFile(file).metadata.num_rows
    if rows > PATCH_REWRITE_MAX_ROWS:
        return False
    _refill(con, load.table, column_list, "read_parquet(?)", [file])
    log.info("patch %s: %d rows rewritten whole (most changed)", load.table, rows)
    return True


def _refill(
    con: duckdb.DuckDBPyConnection,
    table: str,
    column_list: str,
    relation: str,
    parameters: list[object] | None = None,
) -> None:
    """Replace every row of `table` with `relation`'s (emptied by `_recreate_empty`)."""
    _recreate_empty(con, table)
    con.execute(
        f"INSERT INTO {_quoted(table)} ({column_list}) "  # noqa: S608 - model identifiers
        f"SELECT {column_list} FROM {relation}",
        [str(p) for p in parameters or []],
    )
    verify_keys(con, table)


def _delta_applies(load: TableLoad, store: Path, held: dict[str, str]) -> bool:
    """Whether the store holds the base of the load's delta: the version of the table's file
    it remembers (`held`), the very store file the run read (same inode), or both when
    the delta names both."""
    delta = load.delta
    if delta is None:
        return False
    if delta.base_version and held.get(load.table) != delta.base_version:
        return False
    if delta.base_file is None:
        return bool(delta.base_version)
    try:
        return delta.base_file.samefile(store)
    except OSError:
        return False


def _patch_duckdb(
    con: duckdb.DuckDBPyConnection, loads: list[TableLoad], deltas: set[str]
) -> bool:
    """Bring a copy of the store to the run's state by writing only what differs.

    A replaced table named in `deltas` (the store holds its delta's base) gets the delta.
    Otherwise its rows that are new or changed (whole-row comparison, typed as the
    store holds them) are deleted by primary key and inserted again; rows the run no longer
    has are deleted. The copy is private until the swap, so each table may commit on its
    own. A table with more than PATCH_MAX_SHARE of its rows changed is rewritten whole; if it
    is larger than PATCH_REWRITE_MAX_ROWS, returns False (the copy half-patched): a fresh
    build is faster then."""
    for load in loads:
        columns = table_columns(con, load.table)
        if not columns:
            raise RuntimeError(f"store table {load.table} missing: migrations were not applied")
        column_list = ", ".join(f'"{c}"' for c in columns)
        target = _quoted(load.table)
        if load.mode == "append":
            con.execute(
                f"INSERT INTO {target} ({column_list}) "  # noqa: S608 - model identifiers
                f"SELECT {column_list} FROM read_parquet(?)",
                [str(load.file())],
            )
            verify_keys(con, load.table)
            continue
        if load.table in deltas:
            if not _apply_delta(con, load, column_list):
                return False
            continue
        key = primary_key(load.table)
        on = " AND ".join(f'x."{c}" = {target}."{c}"' for c in key)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE __new AS SELECT {column_list} FROM {target} LIMIT 0"  # noqa: S608
        )
        con.execute(
            f"INSERT INTO __new SELECT {column_list} FROM read_parquet(?)",  # noqa: S608
            [str(load.file())],
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __changed AS "  # noqa: S608
            f"SELECT * FROM __new EXCEPT SELECT {column_list} FROM {target}"
        )
        (changed, gone, rows), = con.execute(
            f"SELECT (SELECT count(*) FROM __changed), "  # noqa: S608
            f"(SELECT count(*) FROM {target} WHERE NOT EXISTS "
            f"(SELECT 1 FROM __new x WHERE {on})), (SELECT count(*) FROM __new)"
        ).fetchall()
        log.info("patch %s: %d rows rewritten, %d deleted of %d", load.table, changed, gone, rows)
        if rows > PATCH_MIN_ROWS and changed + gone > PATCH_MAX_SHARE * rows:
            if rows > PATCH_REWRITE_MAX_ROWS:
                return False
            # Most rows changed (a survivorship or model change): replace this table's rows
            # in place rather than rebuild the whole store.
            _refill(con, load.table, column_list, "__new")
            continue
        _delete_then_insert(
            con,
            target,
            column_list,
            [
                f"EXISTS (SELECT 1 FROM __changed x WHERE {on})",  # noqa: S608
                f"NOT EXISTS (SELECT 1 FROM __new x WHERE {on})",  # noqa: S608
            ],
        )
        verify_keys(con, load.table, "__changed")
    con.execute("DROP TABLE IF EXISTS __new")
    con.execute("DROP TABLE IF EXISTS __changed")
    return True


def _recreate_empty(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Empty `table` by dropping it and creating it again from its own catalog entry (its
    DDL as the migrations left it, its table and column comments, its indexes): DuckDB
    deletes from a table with a primary key row by row, which took 8.6 s for
    customer_360's 377k rows at a million records."""
    schema, name = table.split(".")
    where = "database_name = current_database() AND schema_name = ? AND table_name = ?"
    (ddl, comment), = con.execute(
        f"SELECT sql, comment FROM duckdb_tables() WHERE {where}", [schema, name]  # noqa: S608
    ).fetchall()
    column_comments = con.execute(
        f"SELECT column_name, comment FROM duckdb_columns() WHERE {where} "  # noqa: S608
        "AND comment IS NOT NULL ORDER BY column_index",
        [schema, name],
    ).fetchall()
    indexes = con.execute(
        f"SELECT sql FROM duckdb_indexes() WHERE {where} AND sql IS NOT NULL",  # noqa: S608
        [schema, name],
    ).fetchall()
    target = _quoted(table)
    con.execute(f"DROP TABLE {target}")
    con.execute(ddl)
    if comment:
        con.execute(f"COMMENT ON TABLE {target} IS {sql_literal(comment)}")
    for column, text in column_comments:
        con.execute(f"COMMENT ON COLUMN {target}.{_quoted(column)} IS {sql_literal(text)}")
    for (index_sql,) in indexes:
        con.execute(index_sql)


def _remove(path: Path) -> None:
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)


def _write_next(
    building: Path, fill: Callable[[duckdb.DuckDBPyConnection], bool], *, migrate: bool = True
) -> bool:
    """Migrate `building` (unless told it is at the head revision), fill it and checkpoint
    it; False (file removed) if `fill` declines."""
    if migrate:
        upgrade(f"duckdb:///{building}")
    # No fsync per commit or checkpoint: the file is private until the swap, which fsyncs
    # it whole first (a crash before leaves a file the next publish removes). A nightly
    # patch's checkpoint took 0.65 s with its fsyncs, 0.28 s without (1M records).
    con = duckdb.connect(str(building), config={**duckdb_config(), "fsync_mode": "NONE"})
    try:
        done = fill(con)
        if done:
            con.execute("CHECKPOINT")
    finally:
        con.close()
    if not done:
        _remove(building)
    return done


def _carried_from(store: Path, replaced: set[str]) -> Path | None:
    """The file a fresh build carries the tables it does not replace over from: the store
    itself, or a migrated copy of it (`<store>.migrated`) when it is at an older revision,
    so that a migration rewriting rows of such a table still applies to them. The copy's
    `replaced` tables are emptied first: migrating their rows would be work thrown away
    (migration 0004 on the 1M store: ~7 s). (A file the migrations did not make is carried
    over from as it is, matching columns by name.)"""
    if not store.exists():
        return None
    if _size_and_revision(store)[1] in (None, head_revision()):
        return store
    migrated = store.with_name(store.name + ".migrated")
    _remove(migrated)
    shutil.copyfile(store, migrated)
    con = duckdb.connect(str(migrated), config=duckdb_config())
    try:
        for table in sorted(replaced):
            if table_columns(con, table):
                _recreate_empty(con, table)
    finally:
        con.close()
    upgrade(f"duckdb:///{migrated}")
    return migrated


@dataclass(frozen=True)
class AheadCopy:
    """A copy of the store file made before its publish (`copy_ahead`): `path`, copied from
    the file `source` (`_file_identity`) names."""

    path: Path
    source: list[int]


def _ahead_path(store: Path) -> Path:
    return store.with_name(store.name + ".ahead")


def copy_ahead(url: str) -> AheadCopy | None:
    """Copy a DuckDB store that the publish will patch, and flush the copy to disk, ahead of
    the publish: the run calls it in a thread while it builds the tables, so that the copy
    (the whole file, ~0.5 GB at a million records: 0.2-1.2 s) and most of its fsync are
    not on the publish's path. The copy stands for the store only while the store is the
    file it was copied from (`_publish_duckdb` checks under the writer's lock). None if the
    store will not be patched or changed during the copy."""
    if not is_duckdb(url):
        return None
    store = duckdb_path(url)
    ahead = _ahead_path(store)
    _remove(ahead)
    if not _patchable(store):
        return None
    source = _file_identity(store)
    shutil.copyfile(store, ahead)
    with open(ahead, "rb") as handle:
        os.fsync(handle.fileno())
    if _file_identity(store) != source:
        _remove(ahead)
        return None
    return AheadCopy(ahead, source)


def discard_ahead(url: str) -> None:
    """Remove the copy `copy_ahead` made, if any (its publish stopped before using it)."""
    if is_duckdb(url):
        _remove(_ahead_path(duckdb_path(url)))


def _publish_duckdb(
    url: str, loads: list[TableLoad], *, fresh: bool = False, ahead: AheadCopy | None = None
) -> str:
    """Build the next store beside the current one, checkpoint it, then swap it in.

    Patched (see `_patch_duckdb`) when the store exists, has not grown past COMPACT_GROWTH
    and no large table has more than PATCH_MAX_SHARE of its rows rewritten. Built fresh
    otherwise or when `fresh`: migrate a new file, carry over the tables this run does not
    replace, load the run's files; that avoids DuckDB's slow DELETE of whole indexed tables
    (30 s vs 8 s on 100,000 records) and leaves no dead rows in the file.
    Returns "patched" or "fresh". `ahead`: the copy of the store `copy_ahead` made, used if
    the store is still the file it was copied from (it is removed either way)."""
    store = duckdb_path(url)
    building = store.with_name(store.name + ".next")
    _remove(building)
    how = "fresh"
    if not fresh and _patchable(store):
        held = held_versions(store)
        deltas = {load.table for load in loads if _delta_applies(load, store, held)}
        if ahead is not None and ahead.source == _file_identity(store):
            os.replace(ahead.path, building)
        else:
            shutil.copyfile(store, building)
        # A patchable store is at the head revision: nothing to migrate (alembic: ~0.3 s,
        # py-spy).
        patch = lambda con: _patch_duckdb(con, loads, deltas)  # noqa: E731
        if _write_next(building, patch, migrate=False):
            how = "patched"
    if how == "fresh":
        previous = _carried_from(store, {load.table for load in loads if load.mode == "replace"})
        try:
            _write_next(building, lambda con: _load_duckdb(con, loads, previous))
        finally:
            if previous is not None and previous != store:
                _remove(previous)
    os.chmod(building, 0o600)
    with open(building, "rb") as handle:
        os.fsync(handle.fileno())
    fault_point("publish.before_swap")
    os.replace(building, store)
    if how == "fresh":
        _compact_marker(store).write_text(json.dumps({"size": _used_bytes(store)}))
    held = {load.table: load.version for load in loads if load.version and load.mode == "replace"}
    _versions_path(store).write_text(
        json.dumps({"file": _file_identity(store), "tables": held}, sort_keys=True)
    )
    return how


def _csv_batches(path: Path, columns: list[str]) -> Iterator[bytes]:
    """The Parquet file's `columns` as CSV chunks for PostgreSQL's COPY (Arrow writes them in
    C: decimals, dates and timestamps as PostgreSQL parses them, NULL as an empty field, every
    string quoted so '' stays an empty string)."""
    parquet = pq.ParquetFile(path)
    options = pacsv.WriteOptions(include_header=False)
    for batch in parquet.iter_batches(batch_size=50_000, columns=columns):
        # JSON columns arrive as an Arrow extension type the CSV writer does not know.
        arrays = [
            a.storage if isinstance(a.type, pa.BaseExtensionType) else a for a in batch.columns
        ]
        buffer = io.BytesIO()
        pacsv.write_csv(pa.RecordBatch.from_arrays(arrays, names=columns), buffer, options)
        yield buffer.getvalue()


def _publish_postgresql(url: str, loads: list[TableLoad]) -> None:
    """Migrate and write every load in ONE transaction: readers keep seeing the previous
    publish (MVCC) until the commit, then all of the new one. Rows are replaced with DELETE,
    not TRUNCATE: TRUNCATE would block readers on its exclusive lock and is not MVCC-safe for
    snapshots taken before it."""
    engine = _postgresql_engine(url)
    try:
        with engine.begin() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            raw = connection.connection.driver_connection
            with raw.cursor() as cur:
                for load in loads:
                    schema, name = load.table.split(".")
                    columns = _postgresql_columns(cur, schema, name)
                    if not columns:
                        raise RuntimeError(
                            f"store table {load.table} missing: migrations were not applied"
                        )
                    target = psql.Identifier(schema, name)
                    if load.mode == "replace":
                        cur.execute(psql.SQL("DELETE FROM {}").format(target))
                    statement = psql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                        target, psql.SQL(", ").join(psql.Identifier(c) for c in columns)
                    )
                    with cur.copy(statement) as copy:
                        for chunk in _csv_batches(load.file(), columns):
                            copy.write(chunk)
            # Fresh statistics for the analysts' planner, inside the same transaction.
            for load in loads:
                connection.exec_driver_sql(f"ANALYZE {_quoted(load.table)}")
    finally:
        engine.dispose()


def publish(
    url: str, loads: list[TableLoad], *, fresh: bool = False, ahead: AheadCopy | None = None
) -> str:
    """Write every load into the store, all or nothing; returns how the store was written.

    DuckDB: "patched" (only changed rows written; from `ahead` if it is still a copy of the
    store, see `copy_ahead`) or "fresh" (rebuilt; forced by `fresh`).
    PostgreSQL: "transaction"."""
    backend = sa.make_url(url).get_backend_name()
    if backend == "duckdb":
        try:
            return _publish_duckdb(url, loads, fresh=fresh, ahead=ahead)
        finally:
            if ahead is not None:
                _remove(ahead.path)  # not taken (a fresh build, a changed store) or failed
    if backend == "postgresql":
        _publish_postgresql(url, loads)
        return "transaction"
    raise ValueError(
        f"CUSTOMER_STORE_URL backend {backend!r} is not supported: use duckdb:///<file> or "
        "postgresql+psycopg://..."
    )
