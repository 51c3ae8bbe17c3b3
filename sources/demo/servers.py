"""Load the demo's SQL systems (sales CRM, billing ERP) into real database servers.

`python -m sources.demo --out data/demo --target-url crm=postgresql+psycopg://... \
--target-url billing=mysql+pymysql://...` generates the demo as usual, then copies the CRM and
billing tables from their SQLite files into the given servers (schema `--target-schema`,
default `demo`), so that the pipeline can be run against PostgreSQL and MariaDB/MySQL with
`SOURCES_CONFIG=sources/sources.servers.yaml`.

The copy streams: SQLite rows are fetched `BATCH_ROWS` at a time and inserted with
SQLAlchemy's executemany (multi-row INSERTs on both drivers); nothing holds a whole table.
The watermark columns become real TIMESTAMP/DATETIME columns (indexed), as a production CRM
would have them, so incremental reads are tested against typed columns.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

BATCH_ROWS = 20_000
SQL_SYSTEMS = {"crm": "crm.sqlite", "billing": "billing.sqlite"}
# Column types on the server; columns not listed are TEXT. Keys get a bounded VARCHAR (MySQL
# cannot index TEXT), watermarks a timestamp.
COLUMN_TYPES: dict[str, dict[str, sa.types.TypeEngine]] = {
    "contacts": {"contact_id": sa.BigInteger(), "updated_at": sa.DateTime()},
    "orders": {
        "order_id": sa.String(64),
        "contact_id": sa.BigInteger(),
        "total_eur": sa.Float(),
        "cost_eur": sa.Float(),
        "updated_at": sa.DateTime(),
    },
    "customers": {"id_cliente": sa.String(64), "ultima_modificacion": sa.DateTime()},
    "invoices": {
        "num_factura": sa.String(64),
        "id_cliente": sa.String(64),
        "importe": sa.Float(),
        "importe_pendiente": sa.Float(),
        "ultima_modificacion": sa.DateTime(),
    },
    "payments": {
        "id_cobro": sa.String(64),
        "id_cliente": sa.String(64),
        "importe": sa.Float(),
        "ultima_modificacion": sa.DateTime(),
    },
}
PRIMARY_KEYS = {
    "contacts": "contact_id",
    "orders": "order_id",
    "customers": "id_cliente",
    "invoices": "num_factura",
    "payments": "id_cobro",
}
# Watermark columns are indexed so that an incremental read is a range scan.
INDEXES: dict[str, tuple[str, ...]] = {
    "contacts": ("updated_at",),
    "customers": ("ultima_modificacion",),
    "orders": ("contact_id", "updated_at"),
    "invoices": ("ultima_modificacion",),
    "payments": ("ultima_modificacion",),
}


def parse_targets(values: list[str]) -> dict[str, str]:
    """`crm=URL`, `billing=URL`, or a bare URL for both SQL systems."""
    targets: dict[str, str] = {}
    for value in values:
        system, sep, url = value.partition("=")
        if sep and system in SQL_SYSTEMS and "://" in url:
            targets[system] = url
        elif "://" in value:
            targets.update(dict.fromkeys(SQL_SYSTEMS, value))
        else:
            raise ValueError(
                f"--target-url {value!r}: expected a SQLAlchemy URL, or crm=URL / billing=URL"
            )
    return targets


def _rows(path: Path, table: str, types: dict[str, sa.types.TypeEngine]) -> Iterator[list[dict]]:
    con = sqlite3.connect(path)
    try:
        cursor = con.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - demo's own table names
        names = [d[0] for d in cursor.description]
        timestamps = {n for n, t in types.items() if isinstance(t, sa.DateTime)}
        while batch := cursor.fetchmany(BATCH_ROWS):
            out = []
            for row in batch:
                record = dict(zip(names, row, strict=True))
                for name in timestamps:
                    if record.get(name):
                        record[name] = dt.datetime.fromisoformat(record[name])
                out.append(record)
            yield out
    finally:
        con.close()


def _columns(path: Path, table: str) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [r[1] for r in con.execute(f'PRAGMA table_info("{table}")').fetchall()]
    finally:
        con.close()


def _tables(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        return [r[0] for r in rows.fetchall()]
    finally:
        con.close()


def ensure_schema(engine: sa.Engine, schema: str) -> None:
    """PostgreSQL schema or MySQL/MariaDB database (the same thing there)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
        elif engine.dialect.name in ("mysql", "mariadb"):
            quoted = engine.dialect.identifier_preparer.quote_identifier(schema)
            conn.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS {quoted}")


def load_system(demo_dir: Path, system: str, url: str, schema: str = "demo") -> dict[str, int]:
    """Copy one SQL demo system's tables into `url` under `schema` (tables replaced)."""
    path = Path(demo_dir) / SQL_SYSTEMS[system]
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: generate the demo first")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    counts: dict[str, int] = {}
    try:
        ensure_schema(engine, schema)
        metadata = sa.MetaData(schema=schema)
        for name in _tables(path):
            types = COLUMN_TYPES.get(name, {})
            columns = [
                sa.Column(
                    column,
                    types.get(column, sa.Text()),
                    primary_key=column == PRIMARY_KEYS.get(name),
                    autoincrement=False,
                )
                for column in _columns(path, name)
            ]
            table = sa.Table(name, metadata, *columns)
            for column in INDEXES.get(name, ()):
                sa.Index(f"ix_{name}_{column}", table.c[column])
            table.drop(engine, checkfirst=True)
            table.create(engine)
            n = 0
            for batch in _rows(path, name, types):
                with engine.begin() as conn:
                    conn.execute(table.insert(), batch)
                n += len(batch)
            counts[f"{system}.{name}"] = n
    finally:
        engine.dispose()
    return counts


def load_targets(demo_dir: Path, targets: dict[str, str], schema: str = "demo") -> dict[str, int]:
    counts: dict[str, int] = {}
    for system, url in sorted(targets.items()):
        counts.update(load_system(demo_dir, system, url, schema))
    return counts
