"""DuckDB: the four million-row tables keep their keys verified by the publish, not indexed

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

On DuckDB a PRIMARY KEY is an ART index that every insert, delete and checkpoint maintains on
one core, and that is written into the file whole. For core.activity,
core.customer_attribute_provenance, core.linkage_evidence and core.customer_source_xref (a
million rows and more at a million source records) those indexes were more than half of
the store file (1.19 GB with them, 0.52 GB without), ~8 of the ~12.5 s of loading these
four tables fresh, and most of a nightly patch's delete-and-insert. Their keys stay the contract (the models, PostgreSQL's
primary keys, the data dictionary); on DuckDB the publish verifies them before the store
is swapped in (`pipelines.publish.store.verify_keys`), as a warehouse that does not enforce
keys is checked by its loads. Key columns stay NOT NULL; CHECK constraints and comments stay.

PostgreSQL is untouched: its B-tree keys cost little under COPY.
"""

import re
from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = {
    "core.activity": ("source_system", "activity_name", "activity_id"),
    "core.customer_attribute_provenance": ("customer_id", "attribute"),
    "core.linkage_evidence": ("record_key_l", "record_key_r"),
    "core.customer_source_xref": ("source_system", "source_record_id"),
}
_PRIMARY_KEY = re.compile(r",\s*PRIMARY KEY\s*\([^)]*\)")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _without_primary_key(table: str, keys: Sequence[str]) -> None:
    """Re-create `table` from its own catalog entry minus the PRIMARY KEY clause (DuckDB
    cannot drop a constraint), with its rows, NOT NULL key columns and comments."""
    bind = op.get_bind()
    schema, name = table.split(".")
    where = "database_name = current_database() AND schema_name = ? AND table_name = ?"
    ddl, comment = bind.exec_driver_sql(
        f"SELECT sql, comment FROM duckdb_tables() WHERE {where}", (schema, name)  # noqa: S608
    ).fetchone()
    columns = bind.exec_driver_sql(
        f"SELECT column_name, comment FROM duckdb_columns() WHERE {where} "  # noqa: S608
        "ORDER BY column_index",
        (schema, name),
    ).fetchall()
    stripped, found = _PRIMARY_KEY.subn("", ddl, count=1)
    head = f"CREATE TABLE {schema}.{name}("
    if found != 1 or not stripped.startswith(head):
        raise RuntimeError(f"{table}: unexpected catalog DDL, cannot drop its key: {ddl}")
    building = f"{schema}.{_quote('__' + name + '_rebuilt')}"
    op.execute(f"CREATE TABLE {building}(" + stripped[len(head):])
    listed = ", ".join(_quote(c) for c, _ in columns)
    op.execute(f"INSERT INTO {building} ({listed}) SELECT {listed} FROM {table}")  # noqa: S608
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE {building} RENAME TO {_quote(name)}")
    for key in keys:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {_quote(key)} SET NOT NULL")
    if comment:
        op.execute(f"COMMENT ON TABLE {table} IS {_literal(comment)}")
    for column, text in columns:
        if text:
            op.execute(f"COMMENT ON COLUMN {table}.{_quote(column)} IS {_literal(text)}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "duckdb":
        return
    for table, keys in TABLES.items():
        _without_primary_key(table, keys)


def downgrade() -> None:
    if op.get_bind().dialect.name != "duckdb":
        return
    for table, keys in TABLES.items():
        op.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({', '.join(_quote(k) for k in keys)})")
