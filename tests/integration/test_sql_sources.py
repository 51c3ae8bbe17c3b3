"""PostgreSQL and MariaDB as real source systems."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sources.connectors import SourceReadError, read_location
from tests.servers import MARIADB_URL, POSTGRES_URL, require, unique_name


@pytest.mark.parametrize("url", [POSTGRES_URL, MARIADB_URL], ids=["postgres", "mariadb"])
def test_sql_server_source_reads_table_and_query(url: str) -> None:
    engine = require(url)
    table = unique_name("contacts")
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(f"CREATE TABLE {table} (id INTEGER, name VARCHAR(50), cp VARCHAR(5))")
            )
            conn.execute(
                sa.text(f"INSERT INTO {table} VALUES (:i, :n, :c)"),
                [{"i": i, "n": f"Núñez {i}", "c": "08001"} for i in range(1, 1201)],
            )
        data = read_location(source="crm", kind="sql", url=url, table=table)
        assert data.num_rows == 1200
        assert data.column("cp").to_pylist()[0] == "08001"
        assert data.column("name").to_pylist()[0] == "Núñez 1"
        subset = read_location(
            source="crm", kind="sql", url=url, query=f"SELECT id FROM {table} WHERE id <= 10"
        )
        assert subset.num_rows == 10
        with pytest.raises(SourceReadError, match="source 'crm': query failed"):
            read_location(source="crm", kind="sql", url=url, table=table + "_missing")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
