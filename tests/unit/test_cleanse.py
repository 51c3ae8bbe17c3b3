"""The cleansing stage on in-memory DuckDB: rules, contracts and the reconciliation invariant."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.cleanse import standardise as std
from pipelines.cleanse.cleanse import CleanseError, cleanse
from pipelines.cleanse.sql import install_macros
from pipelines.cleanse.stages import STAGED_COLUMNS
from pipelines.cleanse.udfs import register_udfs

TODAY = date(2024, 6, 1)
LOADED = datetime(2024, 6, 1, 2, 0)
TEXT_FIELDS = (
    "party_type", "given_name", "family_name", "full_name", "company_name", "email", "phone",
    "address_line1", "address_line2", "postcode", "city", "region", "country", "birth_date",
    "tax_id",
)
STAGED_TYPES = {
    "birth_date": "DATE", "tax_id_valid": "BOOLEAN", "quality_flags": "VARCHAR[]",
    "source_updated_at": "TIMESTAMP", "loaded_at": "TIMESTAMP",
    "source_row_number": "BIGINT",
}


def record(source: str = "crm", row: int = 1, key: str | None = "1", **fields: Any) -> dict:
    rec = {"source_system": source, "source_row_number": row, "source_record_id": key}
    rec.update({f: fields.pop(f, None) for f in TEXT_FIELDS})
    rec["birth_date_format"] = fields.pop("birth_date_format", None)
    rec["source_updated_at"] = fields.pop("source_updated_at", None)
    assert not fields, f"unknown fields {fields}"
    rec["raw_record"] = json.dumps({k: v for k, v in rec.items() if k in TEXT_FIELDS})
    rec["loaded_at"] = LOADED
    return rec


def mapped_table(records: list[dict]) -> pa.Table:
    schema = pa.schema(
        [("source_system", pa.string()), ("source_row_number", pa.int64()),
         ("source_record_id", pa.string()), *[(f, pa.string()) for f in TEXT_FIELDS],
         ("birth_date_format", pa.string()), ("source_updated_at", pa.timestamp("us")),
         ("raw_record", pa.string()), ("loaded_at", pa.timestamp("us"))]
    )
    return pa.Table.from_pylist(records, schema=schema)


def run(records: list[dict]) -> tuple[duckdb.DuckDBPyConnection, dict]:
    con = duckdb.connect()
    arrow_mapped = mapped_table(records)  # noqa: F841 - read by DuckDB's replacement scan
    con.execute("CREATE TABLE mapped AS SELECT * FROM arrow_mapped")
    return con, cleanse(con, today=TODAY)


def staged_rows(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    rel = con.sql("SELECT * FROM staged")
    return {row[0]: dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()}


def quarantine_rows(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rel = con.sql("SELECT * FROM quarantine")
    return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]


def assert_reconciles(con: duckdb.DuckDBPyConnection) -> None:
    """Every mapped row is staged or quarantined, never both, never neither: counts add up,
    every quarantine row is a mapped row, and every staged record is a mapped row that is
    not in quarantine."""
    mapped = con.execute(
        "SELECT source_system, source_row_number, source_record_id FROM mapped").fetchall()
    quarantined = {(r["source_system"], r["source_row_number"]) for r in quarantine_rows(con)}
    staged = set(staged_rows(con))
    assert len(mapped) == len(staged) + len(quarantined)
    assert quarantined <= {(system, row) for system, row, _ in mapped}
    unquarantined = {
        f"{system}:{std.hygiene(key)}"
        for system, row, key in mapped if (system, row) not in quarantined
    }
    assert staged == unquarantined


# --- contracts --------------------------------------------------------------------------

def test_output_tables_follow_the_contract() -> None:
    con, _ = run([record(given_name="Ana")])
    staged = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                              "WHERE table_name = 'staged' ORDER BY column_index").fetchall())
    assert tuple(staged) == STAGED_COLUMNS
    for column, data_type in staged.items():
        assert data_type == STAGED_TYPES.get(column, "VARCHAR"), column
    quarantine = con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                             "WHERE table_name = 'quarantine' ORDER BY column_index").fetchall()
    assert quarantine == [
        ("source_system", "VARCHAR"), ("source_record_id", "VARCHAR"),
        ("source_row_number", "BIGINT"), ("reason_code", "VARCHAR"),
        ("reason_message", "VARCHAR"), ("raw_record", "VARCHAR"),
    ]
    leftovers = con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name "
                            "NOT IN ('mapped', 'staged', 'quarantine')").fetchall()
    assert leftovers == []


def test_missing_input_columns_are_reported() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE mapped AS SELECT 'crm' AS source_system")
    with pytest.raises(CleanseError, match="source_row_number"):
        cleanse(con)
    with pytest.raises(CleanseError, match="no table or view"):
        cleanse(con, "nowhere")


def test_a_clean_person_is_standardised() -> None:
    con, counts = run([record(
        given_name="  Sr. José ", family_name="Núñez  O'Brien", email="Jose.Nunez@Example.COM",
        phone="600 123 456", address_line1="C/ Mayor, 5", postcode="8001", city="BARCELONA",
        country="España", birth_date="12/03/1980", tax_id="12.345.678-z",
    )])
    row = staged_rows(con)["crm:1"]
    assert counts["staged"] == 1 and counts["quarantine_rows"] == 0
    assert row | {"loaded_at": None} == {
        "record_key": "crm:1", "source_system": "crm", "source_record_id": "1",
        "party_type": "person", "given_name": "José", "family_name": "Núñez O'Brien",
        "full_name": "José Núñez O'Brien", "company_name": None,
        "email": "Jose.Nunez@example.com", "phone": "+34600123456",
        "address_line1": "C/ Mayor, 5", "address_line2": None, "city": "BARCELONA",
        "region": None, "postcode": "08001", "country": "ES",
        "birth_date": date(1980, 3, 12), "tax_id": "12345678Z", "tax_id_valid": True,
        "given_name_key": "jose", "family_name_key": "nunez obrien",
        "full_name_key": "jose nunez obrien", "company_name_key": None,
        "address_key": "c mayor 5", "city_key": "barcelona",
        "email_key": "jose.nunez@example.com", "postcode_key": "08001",
        "quality_flags": ["full_name_derived", "given_name_title_removed", "party_type_derived",
                          "postcode_leading_zero_restored"],
        "source_updated_at": None, "loaded_at": None, "source_row_number": 1,
    }


def test_a_company_is_recognised_and_its_legal_form_normalised() -> None:
    con, _ = run([
        record(key="1", company_name="ACME, s.l.", tax_id="B12345674", country="ES"),
        record(key="2", tax_id="B12345674", email="info@acme.es"),  # CIF only
        record(key="3", party_type="Empresa", full_name="Talleres Ruiz SA"),
        record(key="4", given_name="Ana", company_name="ACME SL"),  # contact person
    ])
    rows = staged_rows(con)
    assert rows["crm:1"]["party_type"] == "company"
    assert (rows["crm:1"]["company_name"], rows["crm:1"]["company_name_key"]) == ("ACME S.L.",
                                                                                   "acme")
    assert rows["crm:2"]["party_type"] == "company"
    assert rows["crm:3"]["company_name"] == "Talleres Ruiz S.A."
    assert rows["crm:3"]["full_name"] is None
    assert "company_name_from_full_name" in rows["crm:3"]["quality_flags"]
    assert rows["crm:4"]["party_type"] == "person"


def test_full_name_is_split_when_given_and_family_are_missing() -> None:
    con, _ = run([
        record(key="1", full_name="María José García López", country="ES"),
        record(key="2", full_name="Mary Ann Smith", country="US"),
        record(key="3", full_name="Ludwig van Beethoven", given_name="Ludwig"),  # not split
    ])
    rows = staged_rows(con)
    assert (rows["crm:1"]["given_name"], rows["crm:1"]["family_name"]) == ("María José",
                                                                           "García López")
    assert "name_split_from_full_name" in rows["crm:1"]["quality_flags"]
    assert (rows["crm:2"]["given_name"], rows["crm:2"]["family_name"]) == ("Mary Ann", "Smith")
    assert (rows["crm:3"]["given_name"], rows["crm:3"]["family_name"]) == ("Ludwig", None)


# --- fixable problems are flagged, not quarantined --------------------------------------

@pytest.mark.parametrize(
    ("fields", "column", "value", "flag"),
    [
        ({"email": "juan@@example"}, "email", None, "email_invalid_removed"),
        ({"phone": "12"}, "phone", None, "phone_invalid_removed"),
        ({"phone": "call me"}, "phone", None, "phone_unparseable_removed"),
        ({"birth_date": "31/02/1980"}, "birth_date", None, "birth_date_impossible_removed"),
        ({"birth_date": "2999-01-01"}, "birth_date", None, "birth_date_impossible_removed"),
        ({"birth_date": "soon"}, "birth_date", None, "birth_date_unparseable_removed"),
        ({"tax_id": "12345678A"}, "tax_id_valid", False, "tax_id_invalid_control_character"),
        ({"country": "Atlantis"}, "country", None, "country_unknown_removed"),
        ({"postcode": "99999", "country": "ES"}, "postcode", None, "postcode_invalid_removed"),
        ({"city": "=HYPERLINK(\"x\")"}, "city", "=HYPERLINK(\"x\")", "city_formula_like"),
        ({"city": "Mart\ufffdnez"}, "city", None, "city_undecodable_removed"),
        ({"city": "MÃ¡laga"}, "city", "Málaga", "city_mojibake_repaired"),
        ({"address_line1": "calle " * 2000}, "address_line1", ("calle " * 33).strip(),
         "address_line1_truncated"),
        ({"party_type": "alien"}, "party_type", "person", "party_type_unrecognised_derived"),
        ({"birth_date": "19800312", "birth_date_format": "%Y%m%d"}, "birth_date",
         date(1980, 3, 12), None),
    ],
)
def test_fixable_problems_are_flagged(fields: dict, column: str, value: Any,
                                      flag: str | None) -> None:
    con, counts = run([record(given_name="Ana", **fields)])
    assert counts["quarantine_rows"] == 0
    row = staged_rows(con)["crm:1"]
    assert row[column] == value
    if flag is not None:
        assert flag in row["quality_flags"]


# --- quarantine rules -------------------------------------------------------------------

def test_missing_primary_key() -> None:
    con, counts = run([record(key=None, given_name="Ana"), record(row=2, key="  ",
                                                                   given_name="Eva")])
    assert counts["missing_primary_key"] == 2
    rows = quarantine_rows(con)
    assert [r["source_record_id"] for r in rows] == ["#row1", "#row2"]
    assert all(r["reason_code"] == "missing_primary_key" for r in rows)
    assert "Source 'crm' row 1" in rows[0]["reason_message"]
    assert json.loads(rows[0]["raw_record"])["given_name"] == "Ana"  # kept as read


def test_duplicate_primary_key_keeps_the_most_recent() -> None:
    con, counts = run([
        record(row=1, key="7", given_name="Old", source_updated_at=datetime(2024, 1, 2)),
        record(row=2, key="7", given_name="New", source_updated_at=datetime(2024, 5, 1)),
        record(row=3, key="7", given_name="Undated"),
        record(row=4, key="8", given_name="First"),
        record(row=5, key=" 8 ", given_name="Last read"),
        record("erp", row=1, key="7", given_name="Other source"),
    ])
    rows = staged_rows(con)
    assert rows["crm:7"]["given_name"] == "New"
    assert rows["crm:8"]["given_name"] == "Last read"
    assert rows["erp:7"]["given_name"] == "Other source"
    assert counts["duplicate_primary_key"] == 3
    dups = {r["source_row_number"]: r for r in quarantine_rows(con)}
    assert set(dups) == {1, 3, 4}
    assert "row 2 " in dups[1]["reason_message"] and "row 5 " in dups[4]["reason_message"]
    assert_reconciles(con)


def test_undecodable_names_are_quarantined_unless_repairable() -> None:
    con, counts = run([
        record(key="1", given_name="Jos\ufffd", email="j@example.com"),
        record(key="2", given_name="JosÃ©", family_name="PÃ©rez"),
        record(key="3", company_name="Constru\ufffd\ufffdones"),
    ])
    assert counts["undecodable_text"] == 2
    assert staged_rows(con)["crm:2"]["family_name"] == "Pérez"
    messages = {r["source_record_id"]: r["reason_message"] for r in quarantine_rows(con)
                if r["reason_code"] == "undecodable_text"}
    assert "given_name" in messages["1"] and "company_name" in messages["3"]


def test_no_identifying_fields() -> None:
    con, counts = run([
        record(key="1", address_line1="Calle Mayor 5", city="Madrid"),
        record(key="2", email="not an email", phone="000"),
        record(key="3", tax_id="12345678A"),  # invalid tax id does not identify
        record(key="4", tax_id="GB123456789"),  # not checkable: identifies
    ])
    assert counts["no_identifying_fields"] == 3
    assert set(staged_rows(con)) == {"crm:4"}
    message = next(r["reason_message"] for r in quarantine_rows(con)
                   if r["source_record_id"] == "2")
    assert "email, phone" in message


def test_a_record_with_two_problems_has_two_quarantine_rows() -> None:
    con, counts = run([
        record(row=1, key="5", given_name="Ana"),
        record(row=2, key="5", city="Madrid"),  # most recent, but nothing identifies it
    ])
    # The latest version wins even when unusable: an older one is never resurrected.
    assert counts["quarantined_records"] == 2 and counts["staged"] == 0
    assert_reconciles(con)
    con, counts = run([record(row=1, key="5", city="Madrid"), record(row=2, key="5")])
    codes = sorted(r["reason_code"] for r in quarantine_rows(con) if r["source_row_number"] == 1)
    assert codes == ["duplicate_primary_key", "no_identifying_fields"]
    assert counts["quarantine_rows"] == 3 and counts["quarantined_records"] == 2


def test_messages_never_contain_personal_values() -> None:
    secret = "Zyxwvut"
    con, _ = run([
        record(key=None, given_name=secret),
        record(key="1", given_name=f"{secret}\ufffd", email=f"{secret}@example.com"),
        record(key="2", email=f"{secret}@@", phone=secret, birth_date=secret),
    ])
    rows = quarantine_rows(con)
    assert len(rows) == 3
    assert all(secret.lower() not in r["reason_message"].lower() for r in rows)


def test_hostile_strings_are_just_text() -> None:
    con, counts = run([
        record(key="'); DROP TABLE staged;--", given_name="'); DROP TABLE x;--",
               family_name="Robert\"); --", city="🏠 Zoë \u202eMadrid"),
    ])
    row = staged_rows(con)["crm:'); DROP TABLE staged;--"]
    assert row["given_name"] == "'); DROP TABLE x;--"
    assert row["city"] == "🏠 Zoë Madrid" and row["city_key"] == "zoe madrid"
    assert counts["staged"] == 1


# --- SQL and Python agree ---------------------------------------------------------------

PARITY_SAMPLES = [
    "  José   Núñez ", "Jose\u0301", "Ma\u200bría", "Jo\x00hn", "Juan\tCarlos\r\nPérez",
    "Pe\u00a0ña", "\u202eAhmed\u202c", "محمد علي", "Zoë 😀", "'); DROP TABLE x;--", "O'Brien",
    "García-López", "Straße", "Łódź", "Ærø", "C/ Mayor, 5 - 3º B", "S.L.", "Москва", "😀",
    "   ", "ÅNGSTRÖM", "ﬁnance", "Ǆemal", "x" * 300, "palabra " * 40, "ǅ", "\u2028a\u2029b",
]


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=40), min_size=1, max_size=20))
def test_sql_hygiene_and_keys_match_python(texts: list[str]) -> None:
    values = [*texts, *PARITY_SAMPLES]
    con = duckdb.connect()
    register_udfs(con, TODAY)
    install_macros(con)
    samples = pa.table({"v": values})  # noqa: F841 - read by DuckDB's replacement scan
    rows = con.execute(
        "SELECT v, _cl_hyg(v), _cl_key(_cl_hyg(v)), _cl_trunc(_cl_hyg(v), 30), "
        "_cl_formula(_cl_hyg(v)), _cl_suspect(v) FROM samples"
    ).fetchall()
    for value, cleaned, key, cut, formula, suspect in rows:
        assert cleaned == std.hygiene(value), repr(value)
        assert key == std.match_key(value), repr(value)
        assert cut == (None if cleaned is None else std.truncate(cleaned, 30)), repr(value)
        assert bool(formula) == std.is_formula_like(cleaned), repr(value)
        assert bool(suspect) == std.is_undecodable(value), repr(value)


def test_sql_phone_keys_and_emails_match_python() -> None:
    phones = ["+34 600 123 456", "0034-600-123-456", "600123456", "(020) 7946 0958",
              "+44 20 7946 0958", "600 123 456 ext. 12", "12", "00 44 20 7946 0958"]
    emails = ["Juan.Perez@Example.COM", "a+b@sub.example.co.uk", "x@localhost", "a@b.test",
              "bad@@x", "josé@correos.es", "x@a--b.com", "o'neil@example.ie"]
    con, _ = run(
        [record(key=str(i), given_name="Ana", phone=p, country=c)
         for i, (p, c) in enumerate((p, c) for p in phones for c in (None, "GB", "ES"))]
        + [record(key=f"e{i}", given_name="Ana", email=e) for i, e in enumerate(emails)]
    )
    got = dict(con.execute("SELECT source_record_id, phone FROM staged").fetchall())
    for i, (p, c) in enumerate((p, c) for p in phones for c in (None, "GB", "ES")):
        assert got[str(i)] == std.standardise_phone(p, c).e164, (p, c)
    got = dict(con.execute("SELECT source_record_id, email FROM staged").fetchall())
    for i, e in enumerate(emails):
        assert got[f"e{i}"] == std.standardise_email(e).normalized, e


# --- the invariant, for arbitrary input -------------------------------------------------

_text = st.one_of(st.none(), st.text(max_size=30),
                  st.sampled_from(["", " ", "Ã©", "\ufffd", "=1+1", "600123456", "a@b.es"]))


@settings(max_examples=40, deadline=None)
@given(st.lists(
    st.fixed_dictionaries({
        "source": st.sampled_from(["crm", "erp"]),
        "key": st.one_of(st.none(), st.sampled_from(["1", "2", " 2", "3", "x:y"]),
                         st.text(max_size=5)),
        "updated": st.one_of(st.none(), st.datetimes(min_value=datetime(2000, 1, 1),
                                                     max_value=datetime(2030, 1, 1))),
        **{f: _text for f in TEXT_FIELDS},
    }),
    min_size=1, max_size=25,
))
def test_every_mapped_row_is_staged_or_quarantined(rows: list[dict]) -> None:
    records = [
        record(r["source"], i, r["key"], source_updated_at=r["updated"],
               **{f: r[f] for f in TEXT_FIELDS})
        for i, r in enumerate(rows, 1)
    ]
    con, counts = run(records)
    assert counts["mapped"] == len(records) == counts["staged"] + counts["quarantined_records"]
    assert counts["quarantine_rows"] >= counts["quarantined_records"]
    (unique,), = con.execute("SELECT count(DISTINCT record_key) = count(*) FROM staged"
                             ).fetchall()
    assert unique
    (nulls,), = con.execute("SELECT count(*) FROM staged WHERE party_type IS NULL "
                            "OR record_key IS NULL OR quality_flags IS NULL").fetchall()
    assert nulls == 0
    quarantined = {(r["source_system"], r["source_row_number"]) for r in quarantine_rows(con)}
    staged_keys = set(staged_rows(con))
    assert len(quarantined) == counts["quarantined_records"]
    assert len(staged_keys) == counts["staged"]
    assert_reconciles(con)


def test_lookups_shared_with_the_helper_process_give_the_same_result(monkeypatch, caplog) -> None:
    """Above PARALLEL_MIN_VALUES half of each lookup's values go to the helper process: the
    staged and quarantined rows are those of the single-process run."""
    import pipelines.cleanse.udfs as udfs_module

    records = [
        record(row=i, key=str(i), given_name=f"Dr. Ana{i % 7}", family_name="García",
               full_name=None if i % 3 else f"Luis{i} Pérez Gómez",
               company_name="Acme s.l." if i % 5 == 0 else None,
               email=f"a{i}@EXAMPLE.com" if i % 2 else f"bad{i}@", phone=f"+34 6{i:08d}",
               postcode=f"{28000 + i}", country="España" if i % 4 else "France",
               birth_date="31/12/1980" if i % 6 else "1999-02-30", tax_id=f"{i:08d}Z")
        for i in range(1, 120)
    ]
    alone_con, alone = run(records)
    monkeypatch.setattr(udfs_module, "PARALLEL_MIN_VALUES", 10)
    with caplog.at_level("WARNING", logger="pipelines.cleanse.udfs"):
        shared_con, shared = run(records)
    assert "raised on" not in caplog.text  # no value raised: nothing to warn about
    assert shared == alone
    assert staged_rows(shared_con) == staged_rows(alone_con)
    assert quarantine_rows(shared_con) == quarantine_rows(alone_con)
    assert len(staged_rows(shared_con)) > 100


def test_the_lookup_helper_answers_requests_in_turn() -> None:
    """Requests and replies are Arrow IPC streams on the helper's pipes, one after another."""
    from collections import Counter

    from pipelines.cleanse.udfs import _Helper, apply_udf

    helper = _Helper()
    try:
        phones = pa.table({"number": ["+34600000001", "612", None], "region": ["", "ES", "ES"]})
        countries = pa.table({"country": ["España", "Atlantis"]})
        helper.send("_cl_phone", TODAY, phones)
        phone_values, phone_errors = helper.receive()
        helper.send("_cl_country", TODAY, countries)
        country_values, _ = helper.receive()
    finally:
        helper.close()
    assert helper.process.returncode == 0
    here = apply_udf("_cl_phone", TODAY, phones.columns, Counter())
    assert phone_values.combine_chunks().equals(here)
    assert phone_values.to_pylist()[0] == {"e164": "+34600000001", "status": None}
    assert phone_errors == 0
    assert country_values.to_pylist() == ["ES", None]


def test_a_failed_helper_process_only_slows_the_lookups_down(monkeypatch, caplog) -> None:
    """The helper is a speed-up: if it dies, its half and the later lookups are computed in
    the stage's own process, with a warning, and the result is the same."""
    import pipelines.cleanse.udfs as udfs_module

    records = [record(row=i, key=str(i), given_name=f"Ana{i}", family_name="Gil",
                      phone=f"+34 6{i:08d}", email=f"a{i}@example.com") for i in range(1, 60)]
    alone_con, alone = run(records)
    real_helper = udfs_module._Helper

    class DeadHelper(real_helper):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.process.kill()
            self.process.wait()

    monkeypatch.setattr(udfs_module, "_Helper", DeadHelper)
    monkeypatch.setattr(udfs_module, "PARALLEL_MIN_VALUES", 10)
    with caplog.at_level("WARNING", logger="pipelines.cleanse.udfs"):
        shared_con, shared = run(records)
    assert "lookup helper process failed" in caplog.text
    assert shared == alone
    assert staged_rows(shared_con) == staged_rows(alone_con)


def _helper_running(monkeypatch, code: str) -> None:
    """Make the lookup runner start `python -c code` as its helper."""
    import sys

    import pipelines.cleanse.udfs as udfs_module

    real_helper = udfs_module._Helper

    class OtherHelper(real_helper):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__([sys.executable, "-c", code])

    monkeypatch.setattr(udfs_module, "_Helper", OtherHelper)
    monkeypatch.setattr(udfs_module, "PARALLEL_MIN_VALUES", 10)
    monkeypatch.setattr(udfs_module, "HELPER_STALL_SECONDS", 1.5)


STALL_RECORDS = [
    record(row=i, key=str(i), given_name=f"Ana{i}", family_name="Gil",
           phone=f"+34 6{i:08d}", email=f"a{i}@example.com")
    for i in range(1, 60)
]


def test_a_helper_that_stops_answering_is_given_up_and_its_half_computed_here(
    monkeypatch, caplog
) -> None:
    """A helper alive but idle while its answer is due (it waits on its input for ever) is
    killed after HELPER_STALL_SECONDS without CPU use: the run neither hangs nor changes."""
    import time

    alone_con, alone = run(STALL_RECORDS)
    _helper_running(monkeypatch, "import sys; sys.stdin.buffer.read()")
    started = time.monotonic()
    with caplog.at_level("WARNING", logger="pipelines.cleanse.udfs"):
        shared_con, shared = run(STALL_RECORDS)
    assert time.monotonic() - started < 30
    assert "used no CPU for 2 s while its answer was due" in caplog.text
    assert shared == alone
    assert staged_rows(shared_con) == staged_rows(alone_con)


def test_a_helper_that_computes_longer_than_the_stall_limit_is_waited_for(
    monkeypatch, caplog
) -> None:
    """Slow is not stuck: a helper that keeps a core busy past HELPER_STALL_SECONDS before
    it answers is waited for, and its answer is used."""
    alone_con, alone = run(STALL_RECORDS)
    busy_then_serve = (
        "import time, runpy\n"
        "t = time.monotonic()\n"
        "while time.monotonic() - t < 4: pass\n"
        "runpy.run_module('pipelines.cleanse.helper', run_name='__main__')"
    )
    _helper_running(monkeypatch, busy_then_serve)
    with caplog.at_level("WARNING", logger="pipelines.cleanse.udfs"):
        shared_con, shared = run(STALL_RECORDS)
    assert "helper process failed" not in caplog.text
    assert shared == alone
    assert staged_rows(shared_con) == staged_rows(alone_con)
