"""Column mapping to canonical fields, generated as SQL with sqlglot."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipelines.extract.extract import (
    SchemaDriftError,
    build_mapped,
    extract_source,
    raw_records,
)
from pipelines.marts.customer_360 import resolve_activity
from pipelines.workarea import WorkArea, connect
from sources.connectors import SourceReadError
from sources.registry import load_registry

REGISTRY = """
sources:
  - name: logistics
    kind: csv
    path: {path}
    delimiter: ";"
    primary_key: "id' OR '1'='1"
    defaults: {{country: ES}}
    fields:
      party_type: {{column: kind, values: {{P: person, B: company}}}}
      given_name: first
      address_line1: "{{street_no}}, {{street}}"
      birth_date: {{column: dob, format: "%Y%m%d"}}
      country: pais
    activities:
      - name: shipments
        type: shipment
        path: {activity_path}
        primary_key: sid
        customer_key: cid
        fields:
          occurred_at: {{column: shipped, format: "%d/%m/%Y"}}
          amount: value
"""


@pytest.fixture
def mapped(tmp_path: Path):
    data = tmp_path / "c.csv"
    data.write_text(
        "id' OR '1'='1;first;street_no;street;dob;kind;pais;new_col\n"
        "1;José;12;Calle Mayor;19800102;P;;x\n"
        "2;  ;;High St;;B;GB;y\n"
        "3;;;;;;;\n"
    )
    shipments = tmp_path / "s.csv"
    shipments.write_text("sid;cid;shipped;value\nA;1;03/02/2024;10.5\nB;9;bad;x\n")
    registry_path = tmp_path / "sources.yaml"
    registry_path.write_text(REGISTRY.format(path=data, activity_path=shipments))
    registry = load_registry(registry_path, env={})
    work = WorkArea(tmp_path / "work")
    result = extract_source(registry.sources[0], work, dt.datetime(2026, 1, 1))
    con = connect()
    build_mapped(registry, work, con=con)  # the `mapped` table stays in `con`
    work.load(con, "activity")
    return con, result


def test_fields_templates_values_and_defaults(mapped) -> None:
    con, result = mapped
    rows = con.execute(
        "SELECT source_record_id, party_type, given_name, address_line1, country, birth_date, "
        "birth_date_format FROM mapped ORDER BY source_row_number"
    ).fetchall()
    assert rows == [
        ("1", "person", "José", "12, Calle Mayor", "ES", "19800102", "%Y%m%d"),
        ("2", "company", None, ", High St", "GB", None, "%Y%m%d"),
        ("3", None, None, None, "ES", None, "%Y%m%d"),
    ]
    assert result.unmapped_columns == ["new_col"]


def test_quarantined_activity_keeps_its_row_as_read(mapped, tmp_path: Path) -> None:
    """The activity layer has no raw row; the quarantine reads its rows' back from raw/."""
    con, _ = mapped
    work = WorkArea(tmp_path / "work")
    assert "raw_record" not in [d[0] for d in con.execute("DESCRIBE activity").fetchall()]
    con.execute("CREATE TABLE assignment AS SELECT 'logistics:1' record_key, 'C1' customer_id")
    resolve_activity(con, lambda keys: raw_records(work, "activity", keys))
    assert con.execute("SELECT activity_id, customer_id FROM resolved_activity").fetchall() == [
        ("A", "C1")
    ]
    [(source, reason, raw)] = con.execute(
        "SELECT source_system, reason_code, raw_record FROM activity_quarantine"
    ).fetchall()
    assert (source, reason) == ("logistics.shipments", "activity_customer_unknown")
    assert json.loads(raw) == {"sid": "B", "cid": "9", "shipped": "bad", "value": "x"}

    # The raw layer extracted again without the activity mapped again: not read back wrongly.
    (tmp_path / "s.csv").write_text("sid;cid;shipped;value\nC;9;bad;y\n")
    registry = load_registry(tmp_path / "sources.yaml", env={})
    extract_source(registry.sources[0], work, dt.datetime(2026, 1, 2))
    with pytest.raises(SourceReadError, match="materialize staged_customers"):
        resolve_activity(con, lambda keys: raw_records(work, "activity", keys))


def test_raw_record_keeps_the_row_as_read(mapped, tmp_path: Path) -> None:
    con, _ = mapped
    raw = con.execute("SELECT raw_record FROM mapped WHERE source_record_id = '1'").fetchall()[0][0]
    assert '"first":"José"' in raw and '"new_col":"x"' in raw
    # The saved layer is every mapped row without it (only the cleansing reads it).
    layer = con.execute(WorkArea(tmp_path / "work").relation("mapped"))
    assert "raw_record" not in [d[0] for d in layer.description]
    assert len(layer.fetchall()) == 3


def test_activity_mapping_parses_dates_and_numbers(mapped) -> None:
    con, _ = mapped
    rows = con.execute(
        "SELECT activity_id, source_record_id, occurred_at, amount FROM activity ORDER BY 1"
    ).fetchall()
    assert rows[0][:3] == ("A", "1", dt.datetime(2024, 2, 3))
    assert float(rows[0][3]) == 10.5
    assert rows[1][2:] == (None, None)


def test_missing_mapped_column_is_schema_drift(tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    data.write_text("id;first\n1;Ana\n")
    registry_path = tmp_path / "sources.yaml"
    registry_path.write_text(
        "sources:\n  - name: crm\n    kind: csv\n    path: "
        + str(data)
        + "\n    delimiter: ';'\n    primary_key: id\n"
        + "    fields: {given_name: first, email: mail}\n"
    )
    source = load_registry(registry_path, env={}).sources[0]
    with pytest.raises(SchemaDriftError, match=r"source 'crm': mapped column\(s\) \['mail'\]"):
        extract_source(source, WorkArea(tmp_path / "w"), dt.datetime(2026, 1, 1))


def test_malformed_csv_rows_are_extracted_and_quarantined(tmp_path: Path) -> None:
    from pipelines.cleanse.cleanse import cleanse

    data = tmp_path / "c.csv"
    data.write_text("id;first;mail\n1;Ana;ana@x.es\n2;Luis\n3;Eva;eva@x.es\n")
    registry_path = tmp_path / "sources.yaml"
    registry_path.write_text(
        f"sources:\n  - name: crm\n    kind: csv\n    path: {data}\n    delimiter: ';'\n"
        "    primary_key: id\n    fields: {given_name: first, email: mail}\n"
    )
    registry = load_registry(registry_path, env={})
    work = WorkArea(tmp_path / "w")
    result = extract_source(registry.sources[0], work, dt.datetime(2026, 1, 1))
    assert result.rows == 3 and result.tables["crm"].malformed_rows == 1
    assert result.unmapped_columns == []  # the pipeline's own column is never "unmapped"
    con = connect()
    build_mapped(registry, work, con=con)
    malformed = con.execute(
        "SELECT source_row_number, source_record_id, raw_record FROM mapped "
        "WHERE source_record_id IS NULL"
    ).fetchall()
    assert malformed == [(3, None, '{"_malformed_row":"2;Luis"}')]
    cleanse(con, "mapped")
    quarantined = con.execute(
        "SELECT DISTINCT source_row_number, raw_record FROM quarantine"
    ).fetchall()
    assert quarantined == [(3, '{"_malformed_row":"2;Luis"}')]
    assert con.execute("SELECT count(*) FROM staged").fetchall()[0][0] == 2


def test_a_moved_work_area_keeps_its_mapped_activity(mapped, tmp_path: Path) -> None:
    """The activity is mapped again only when its raw layers or mapping change: moving or
    restoring the work area elsewhere is neither (its fingerprint holds no absolute path)."""
    registry = load_registry(tmp_path / "sources.yaml", env={})
    moved = tmp_path / "elsewhere" / "work"
    moved.parent.mkdir()
    (tmp_path / "work").rename(moved)
    work = WorkArea(moved)
    before = work.path("activity").stat().st_mtime_ns
    build_mapped(registry, work)
    assert work.path("activity").stat().st_mtime_ns == before
    # Another mapping of the same raw layer is mapped again.
    config = tmp_path / "sources.yaml"
    config.write_text(config.read_text().replace("          amount: value\n", ""))
    build_mapped(load_registry(config, env={}), work)
    assert work.path("activity").stat().st_mtime_ns != before


TWO_SOURCES = """
sources:
  - name: crm
    kind: csv
    path: {crm}
    delimiter: ";"
    primary_key: id
    fields: {{given_name: first}}
  - name: billing
    kind: csv
    path: {billing}
    delimiter: ";"
    primary_key: id
    fields: {{family_name: last}}
"""


def _mapped_rows(work: WorkArea) -> list[tuple]:
    con = connect()
    try:
        return con.execute(work.relation("mapped")).fetchall()
    finally:
        con.close()


def test_a_source_whose_raw_layer_is_the_same_is_not_mapped_again(tmp_path: Path) -> None:
    """`mapped` is kept a part per source: a nightly mapping (no raw row as JSON) writes only
    the sources whose raw layer or mapping changed, and the layer reads as a mapping of
    every source from scratch, in registry order."""
    (tmp_path / "crm.csv").write_text("id;first\n1;Ana\n2;Luis\n")
    (tmp_path / "billing.csv").write_text("id;last\n7;Gil\n8;Paz\n")
    config = tmp_path / "sources.yaml"
    config.write_text(
        TWO_SOURCES.format(crm=tmp_path / "crm.csv", billing=tmp_path / "billing.csv")
    )
    registry = load_registry(config, env={})
    work = WorkArea(tmp_path / "work")
    for source in registry.sources:
        extract_source(source, work, dt.datetime(2026, 1, 1))
    build_mapped(registry, work, raw_record=False)
    parts = json.loads(work.layer_metadata("mapped", "parts_by_source"))
    first = _mapped_rows(work)
    assert [r[0] for r in first] == ["crm", "crm", "billing", "billing"]

    # Only billing changed at the source: crm's part is kept, billing's is written again.
    (tmp_path / "billing.csv").write_text("id;last\n7;Gil\n8;Pazo\n9;Roca\n")
    extract_source(registry.sources[1], work, dt.datetime(2026, 1, 2))
    con = connect()
    build_mapped(registry, work, con=con, raw_record=False)
    in_connection = con.execute("SELECT * FROM mapped").fetchall()
    con.close()
    again = json.loads(work.layer_metadata("mapped", "parts_by_source"))
    assert again["crm"] == parts["crm"]
    assert again["billing"][0] != parts["billing"][0]
    assert not (work.root / parts["billing"][0]).exists()  # the replaced part is removed
    nightly = _mapped_rows(work)
    assert nightly == in_connection  # the stage's table is the saved layer

    # The same as mapping both sources from scratch (a full mapping writes every part).
    build_mapped(registry, work)
    fresh = json.loads(work.layer_metadata("mapped", "parts_by_source"))
    assert fresh["crm"][0] != again["crm"][0]
    assert _mapped_rows(work) == nightly
    assert [r[0] for r in nightly] == ["crm", "crm", "billing", "billing", "billing"]
    # Another mapping of crm's unchanged raw layer maps crm again.
    config.write_text(config.read_text().replace("given_name: first", "full_name: first"))
    build_mapped(load_registry(config, env={}), work, raw_record=False)
    remapped = json.loads(work.layer_metadata("mapped", "parts_by_source"))
    assert remapped["crm"] != fresh["crm"] and remapped["billing"] == fresh["billing"]
