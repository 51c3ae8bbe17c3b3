"""The governed store: migrate it, read its previous state, and publish a run atomically.

DuckDB (embedded default): the new state is built in a copy of the store file beside it and
swapped in with one `os.replace`. Analysts' read-only connections never meet the writer's
lock (it holds another file), keep reading the old state until they reconnect, and a crash
at any point leaves the previous store untouched.
PostgreSQL (production): everything is written in one transaction.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from pipelines.settings import PROJECT_ROOT

MIGRATIONS = PROJECT_ROOT / "migrations"


@dataclass(frozen=True)
class TableLoad:
    """One store table and the Parquet file that holds its new rows."""

    table: str  # schema.table
    path: Path
    mode: str  # "replace" (the file is the whole table) or "append"


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


def read_tables(url: str, tables: list[str]) -> dict[str, pa.Table]:
    """Read whole store tables as Arrow (previous state for identity and history)."""
    result: dict[str, pa.Table] = {}
    if is_duckdb(url):
        path = duckdb_path(url)
        if not path.exists():
            return {}
        con = duckdb.connect(str(path), read_only=True)
        try:
            for table in tables:
                result[table] = con.sql(f"SELECT * FROM {_quoted(table)}").to_arrow_table()  # noqa: S608
        finally:
            con.close()
        return result
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        with engine.connect() as connection:
            for table in tables:
                schema, name = table.split(".")
                if not inspector.has_table(name, schema=schema):
                    continue
                rows = connection.execute(
                    sa.select(sa.text("*")).select_from(sa.table(name, schema=schema))
                )
                names = list(rows.keys())
                data = rows.fetchall()
                result[table] = (
                    pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in data])
                    if data
                    else pa.table({n: pa.array([], pa.string()) for n in names})
                )
    finally:
        engine.dispose()
    return result


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    return [r[0] for r in rows]


def _load_duckdb(con: duckdb.DuckDBPyConnection, loads: list[TableLoad]) -> None:
    con.execute("BEGIN TRANSACTION")
    for load in loads:
        columns = _columns(con, load.table)
        if not columns:
            raise RuntimeError(f"store table {load.table} missing: migrations were not applied")
        if load.mode == "replace":
            con.execute(f"DELETE FROM {_quoted(load.table)}")  # noqa: S608
        column_list = ", ".join(f'"{c}"' for c in columns)
        con.execute(
            f"INSERT INTO {_quoted(load.table)} ({column_list}) "  # noqa: S608
            f"SELECT {column_list} FROM read_parquet(?)",
            [str(load.path)],
        )
    con.execute("COMMIT")


def _publish_duckdb(url: str, loads: list[TableLoad]) -> None:
    store = duckdb_path(url)
    building = store.with_name(store.name + ".next")
    for stale in (building, building.with_name(building.name + ".wal")):
        stale.unlink(missing_ok=True)
    if store.exists():
        shutil.copy2(store, building)
    upgrade(f"duckdb:///{building}")
    con = duckdb.connect(str(building))
    try:
        _load_duckdb(con, loads)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.chmod(building, 0o600)
    with open(building, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(building, store)


def _publish_sqlalchemy(url: str, loads: list[TableLoad]) -> None:
    upgrade(url)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        metadata = sa.MetaData()
        with engine.begin() as connection:
            for load in loads:
                schema, name = load.table.split(".")
                table = sa.Table(name, metadata, schema=schema, autoload_with=connection)
                if load.mode == "replace":
                    connection.execute(table.delete())
                parquet = pq.ParquetFile(load.path)
                for batch in parquet.iter_batches(batch_size=20_000):
                    rows = batch.to_pylist()
                    if rows:
                        connection.execute(table.insert(), rows)
    finally:
        engine.dispose()


def publish(url: str, loads: list[TableLoad]) -> None:
    """Write every load into the store, all or nothing."""
    if is_duckdb(url):
        _publish_duckdb(url, loads)
    else:
        _publish_sqlalchemy(url, loads)
