"""A corpus of hostile and broken input: every record ends linked or quarantined with a
reason, the counts reconcile exactly, and nothing crashes."""

import sqlite3

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.definitions import build_defs

ROWS = [
    # (id, first, last, email, phone, dob)
    ("1", "José", "Núñez", "jose@example.es", "+34 600 123 456", "1980-01-02"),
    ("2", "José", "Nuñez", "JOSE@example.es", "600123456", "1980-01-02"),
    ("3", "Robert'); DROP TABLE core.customer;--", "Tables", "bobby@example.com", "", ""),
    ("4", '=HYPERLINK("http://x")', "@SUM(1+1)", "formula@example.com", "+44 20 7946 0958", ""),
    ("5", "Ana\x00", "Gar\u200bcía", "ana@example.es", "", "31/02/1980"),
    ("6", "", "", "", "", ""),
    ("6", "Dup", "Key", "dup@example.es", "", ""),
    ("7", "x" * 1_000_000, "Long", "long@example.es", "", ""),
    ("8", "مريم", "‏العلي‎", "maryam@example.com", "", "1990-13-45"),
    ("9", "Emoji 😀", "Smith", "not-an-email", "abc", "yesterday"),
    ("", "No", "Key", "nokey@example.es", "", ""),
    ("10", "Ã©lodie", "Dupont", "elodie@example.fr", "", "1985-05-05"),
    ("11", "12345", "67890", "", "", "1.5"),
]


@pytest.fixture
def hostile_registry(tmp_path, monkeypatch):
    csv_path = tmp_path / "hostile.csv"
    lines = ["id;first;last;email;phone;dob"]
    for row in ROWS:
        # Quote like a spreadsheet export would, so the ";" inside values stays data.
        lines.append(
            ";".join('"' + v.replace('"', '""') + '"' if ";" in v or '"' in v else v for v in row)
        )
    lines.append("12;too;many;fields;here;1980-01-01;extra;extra")
    lines.append('13;"unclosed;quote;x@y.z;;')
    csv_path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id;first;last\n1;Peña;Ibáñez\n2;Müller;Straße\n".encode("latin-1"))
    parquet_path = tmp_path / "typed.parquet"
    pq.write_table(
        pa.table({"id": [1, 2, 3], "email": ["a@b.es", None, "c@d.es"], "score": [1.5, None, 3]}),
        parquet_path,
    )
    db = tmp_path / "crm.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE contacts (id INTEGER, name TEXT, birth TEXT)")
    con.executemany(
        "INSERT INTO contacts VALUES (?, ?, ?)",
        [(1, "Ana García", 12345), (2, None, None), (3, "José Núñez", "1980-01-02")],
    )
    con.commit()
    con.close()
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        f"""
sources:
  - name: hostile
    kind: csv
    path: {csv_path}
    delimiter: ";"
    primary_key: id
    defaults: {{country: ES}}
    fields: {{given_name: first, family_name: last, email: email, phone: phone,
              birth_date: dob}}
  - name: latin
    kind: csv
    path: {latin}
    delimiter: ";"
    encoding: latin-1
    primary_key: id
    fields: {{given_name: first, family_name: last}}
  - name: typed
    kind: parquet
    path: {parquet_path}
    primary_key: id
    fields: {{email: email, region: score}}
  - name: crm
    kind: sql
    url: sqlite:///{db}
    table: contacts
    primary_key: id
    fields: {{full_name: name, birth_date: birth}}
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("SOURCES_CONFIG", str(registry))
    return registry


def test_hostile_corpus_reconciles(sync_env, hostile_registry) -> None:
    result = (
        build_defs(str(hostile_registry))
        .resolve_job_def("nightly_sync")
        .execute_in_process(raise_on_error=False)
    )
    assert result.success, [e.message for e in result.all_events if e.is_step_failure]
    con = duckdb.connect(str(sync_env.store_path), read_only=True)
    extracted, linked, quarantined = con.execute(
        "SELECT records_extracted, records_linked, records_quarantined FROM audit.sync_run"
    ).fetchall()[0]
    assert extracted == linked + quarantined
    # 13 rows + 2 malformed lines, 2 latin-1 rows, 3 Parquet rows, 3 SQLite rows.
    assert extracted == len(ROWS) + 2 + 2 + 3 + 3
    reasons = {
        r
        for (r,) in con.execute(
            "SELECT DISTINCT reason_code FROM audit.quarantined_record"
        ).fetchall()
    }
    assert {
        "duplicate_primary_key",
        "missing_primary_key",
        "no_identifying_fields",
        "malformed_row",
    } <= reasons
    every_quarantined_has_a_reason = con.execute(
        "SELECT count(*) FROM audit.quarantined_record WHERE reason_code IS NULL "
        "OR reason_message IS NULL OR reason_message = ''"
    ).fetchall()[0][0]
    assert every_quarantined_has_a_reason == 0
    # The injection string is data, not SQL: the table it names still exists and holds it.
    names = {n for (n,) in con.execute("SELECT given_name FROM core.customer").fetchall()}
    assert any(n and "DROP TABLE" in n for n in names)
    latin_names = {
        n
        for (n,) in con.execute(
            "SELECT c.family_name FROM core.customer c JOIN core.customer_source_xref x "
            "USING (customer_id) WHERE x.source_system = 'latin'"
        ).fetchall()
    }
    assert "Ibáñez" in latin_names
    con.close()
