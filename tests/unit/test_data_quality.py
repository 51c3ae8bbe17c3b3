"""`audit.data_quality` figures (completeness, validity) on a handful of records."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.cleanse.data_quality import QUALITY_FIELDS
from pipelines.publish.prepare import build_data_quality
from sources.registry import CANONICAL_FIELDS

# As in the mapped and staged layers: every canonical field, absent or not.
FIELDS = CANONICAL_FIELDS


def _table(con: duckdb.DuckDBPyConnection, name: str, rows: list[dict], extra: str = "") -> None:
    columns = ", ".join(f"{f} VARCHAR" for f in FIELDS)
    con.execute(
        f"CREATE TABLE {name} (source_system VARCHAR, source_row_number BIGINT, {columns}{extra})"
    )
    for row in rows:
        names = ", ".join(row)
        con.execute(f"INSERT INTO {name} ({names}) VALUES ({', '.join('?' * len(row))})",
                    list(row.values()))


def test_completeness_and_validity_per_source_and_field() -> None:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA new")
    # crm: three records; e-mail supplied twice, one survived cleansing; a bad tax id is kept
    # for matching (tax_id_valid false) but is not valid. billing: one record, no e-mail.
    _table(con, "mapped", [
        {"source_system": "crm", "source_row_number": 1, "given_name": "Ana",
         "email": "ana@example.com", "tax_id": "12345678Z"},
        {"source_system": "crm", "source_row_number": 2, "given_name": "Luis",
         "email": "not-an-address"},
        {"source_system": "crm", "source_row_number": 3, "company_name": "Acme", "email": "  "},
        {"source_system": "billing", "source_row_number": 1, "full_name": "Eva Gil"},
    ])
    _table(con, "staged", [
        {"source_system": "crm", "source_row_number": 1, "given_name": "Ana",
         "email": "ana@example.com", "tax_id": "12345678Z", "tax_id_valid": False},
        {"source_system": "crm", "source_row_number": 2, "given_name": "Luis"},
        {"source_system": "crm", "source_row_number": 3, "company_name": "Acme"},
        {"source_system": "billing", "source_row_number": 1, "full_name": "Eva Gil"},
    ], extra=", tax_id_valid BOOLEAN")
    build_data_quality(con, "run-1")
    rows = {
        (r[0], r[1]): r[2:]
        for r in con.execute(
            "SELECT source_system, field, completeness, validity, values_supplied, records "
            "FROM new.audit__data_quality WHERE run_id = 'run-1'"
        ).fetchall()
    }
    assert len(rows) == 2 * len(QUALITY_FIELDS)
    assert rows[("crm", "email")] == (pytest.approx(1 / 3), pytest.approx(0.5), 2, 3)
    assert rows[("crm", "name")] == (1.0, 1.0, 3, 3)
    assert rows[("crm", "tax_id")] == (0.0, 0.0, 1, 3)
    assert rows[("crm", "phone")] == (0.0, None, 0, 3)
    assert rows[("billing", "email")] == (0.0, None, 0, 1)
    assert rows[("billing", "name")] == (1.0, 1.0, 1, 1)
