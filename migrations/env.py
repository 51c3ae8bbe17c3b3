"""Alembic environment for the governed store (DuckDB or PostgreSQL)."""

from __future__ import annotations

from alembic import context
from alembic.ddl.impl import DefaultImpl
from sqlalchemy import create_engine, pool

import models
from pipelines.settings import load_settings


class DuckDBImpl(DefaultImpl):
    """Alembic has no DuckDB dialect of its own; DuckDB speaks PostgreSQL-flavoured DDL."""

    __dialect__ = "duckdb"
    transactional_ddl = True


def include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001
    # Only the governed schemas are ours; alembic_version and foreign objects are not.
    schema = getattr(obj, "schema", None) or getattr(getattr(obj, "table", None), "schema", None)
    if type_ == "table":
        return schema in models.SCHEMAS
    return True


def include_name(name, type_, parent_names):  # noqa: ANN001
    if type_ == "schema":
        return name in models.SCHEMAS
    return True


def _configure(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=models.metadata,
        include_schemas=True,
        include_object=include_object,
        include_name=include_name,
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.config.get_main_option("sqlalchemy.url") or load_settings().store_url
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def run_migrations_offline() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or load_settings().store_url
    context.configure(url=url, target_metadata=models.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
