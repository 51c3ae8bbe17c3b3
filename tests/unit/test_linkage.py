"""Linkage on a tiny hand-made `staged` table (priors regime: too small to train)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.link.clustering import cluster
from pipelines.link.linkage import available_columns, link
from pipelines.link.model import MATCH_COLUMNS, build_model

COLUMNS = ("record_key", "party_type", *MATCH_COLUMNS)

# (record_key, party, given, family, company, email, phone, birth, postcode, address, city, tax)
ROWS = [
    # typo pair (no nickname): Fernandez / Fernandz
    (
        "crm:1",
        "person",
        "maria",
        "fernandez",
        None,
        "maria.fernandez@example.com",
        "+34600111222",
        date(1980, 5, 12),
        "28001",
        "calle mayor 5",
        "madrid",
        None,
    ),
    (
        "erp:7",
        "person",
        "maria",
        "fernandz",
        None,
        None,
        "+34600111222",
        date(1980, 5, 12),
        "28001",
        "calle mayor 5",
        "madrid",
        None,
    ),
    # given and family names swapped
    (
        "crm:2",
        "person",
        "lucas",
        "moreau",
        None,
        "lucas.moreau@mail.fr",
        "+33612345678",
        date(1975, 1, 30),
        "75011",
        "12 rue oberkampf",
        "paris",
        None,
    ),
    (
        "svc:9",
        "person",
        "moreau",
        "lucas",
        None,
        None,
        "+33612345678",
        date(1975, 1, 30),
        "75011",
        "12 rue oberkampf",
        "paris",
        None,
    ),
    # a person and a company sharing e-mail, phone and address: never the same party
    (
        "crm:3",
        "person",
        "ana",
        "ruiz",
        None,
        "info@acme.es",
        "+34911222333",
        date(1990, 3, 3),
        "28010",
        "paseo castellana 100",
        "madrid",
        None,
    ),
    (
        "erp:4",
        "company",
        None,
        None,
        "acme soluciones",
        "info@acme.es",
        "+34911222333",
        None,
        "28010",
        "paseo castellana 100",
        "madrid",
        "B12345678",
    ),
    # the company again in another system
    (
        "log:6",
        "company",
        None,
        None,
        "acme soluciones",
        None,
        "+34911222333",
        None,
        "28010",
        "paseo castellana 100",
        "madrid",
        "B12345678",
    ),
    # distinct people, some sharing a city, postcode or family name
    (
        "crm:10",
        "person",
        "jorge",
        "lopez",
        None,
        "jorge.l@example.com",
        "+34600000010",
        date(1960, 1, 1),
        "28001",
        "calle toledo 3",
        "madrid",
        None,
    ),
    (
        "crm:11",
        "person",
        "lucia",
        "lopez",
        None,
        "lucia.l@example.com",
        "+34600000011",
        date(1992, 7, 9),
        "08001",
        "rambla 20",
        "barcelona",
        None,
    ),
    (
        "crm:12",
        "person",
        "pedro",
        "sanchez",
        None,
        None,
        "+34600000012",
        date(1971, 2, 14),
        "41001",
        "calle sierpes 8",
        "sevilla",
        None,
    ),
    (
        "crm:13",
        "person",
        "elena",
        "garcia",
        None,
        "elena.g@example.com",
        None,
        date(1985, 11, 23),
        "28001",
        "calle arenal 9",
        "madrid",
        None,
    ),
    (
        "crm:14",
        "person",
        "pablo",
        "martin",
        None,
        None,
        "+34600000014",
        date(1999, 9, 9),
        "46001",
        "calle colon 1",
        "valencia",
        None,
    ),
    (
        "crm:15",
        "person",
        "sofia",
        "navarro",
        None,
        "sofia.n@example.com",
        "+34600000015",
        date(1988, 4, 4),
        "50001",
        "calle alfonso 2",
        "zaragoza",
        None,
    ),
    (
        "crm:16",
        "person",
        "diego",
        "romero",
        None,
        None,
        "+34600000016",
        date(1966, 6, 6),
        "29001",
        "calle larios 4",
        "malaga",
        None,
    ),
    (
        "crm:17",
        "person",
        "carmen",
        "torres",
        None,
        "carmen.t@example.com",
        None,
        date(1955, 5, 5),
        "28001",
        "calle mayor 50",
        "madrid",
        None,
    ),
    (
        "crm:18",
        "person",
        "javier",
        "ramos",
        None,
        None,
        "+34600000018",
        date(1977, 7, 7),
        "15001",
        "rua nova 7",
        "a coruna",
        None,
    ),
    (
        "erp:20",
        "company",
        None,
        None,
        "transportes ruiz",
        "contacto@truiz.es",
        "+34922333444",
        None,
        "38001",
        "avenida anaga 10",
        "santa cruz",
        "B87654321",
    ),
    (
        "erp:21",
        "company",
        None,
        None,
        "panaderia lopez",
        None,
        "+34933444555",
        None,
        "08001",
        "rambla 22",
        "barcelona",
        "B11223344",
    ),
]


@pytest.fixture()
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        """
        CREATE TABLE staged (
            record_key VARCHAR, party_type VARCHAR, given_name_key VARCHAR,
            family_name_key VARCHAR, full_name_key VARCHAR, company_name_key VARCHAR,
            email_key VARCHAR, phone VARCHAR, birth_date DATE, postcode_key VARCHAR,
            address_key VARCHAR, city_key VARCHAR, tax_id VARCHAR,
            quality_flags VARCHAR[]
        )
        """
    )
    rows = [(r[0], r[1], r[2], r[3], None, *r[4:], []) for r in ROWS]
    con.executemany(f"INSERT INTO staged VALUES ({', '.join('?' * 14)})", rows)  # noqa: S608
    return con


def _pair_set(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    rows = con.execute("SELECT record_key_l, record_key_r FROM pairs").fetchall()
    return {(a, b) for a, b in rows}


def _cluster_of(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT record_key, cluster_id FROM clusters").fetchall())


def test_available_columns_drop_all_null(con: duckdb.DuckDBPyConnection) -> None:
    cols = available_columns(con)
    assert "full_name_key" not in cols  # present but entirely NULL
    assert {"given_name_key", "email_key", "birth_date", "tax_id"} <= set(cols)


def test_link_finds_duplicates_and_keeps_parties_apart(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    result = link(con, seed=7, model_dir=tmp_path)

    pairs = _pair_set(con)
    assert ("crm:1", "erp:7") in pairs  # typo in family name
    assert ("crm:2", "svc:9") in pairs  # given/family swapped
    assert ("erp:4", "log:6") in pairs  # company in two systems
    assert ("crm:3", "erp:4") not in pairs  # person vs company sharing e-mail/phone
    assert all(a < b for a, b in pairs)
    assert pairs == {("crm:1", "erp:7"), ("crm:2", "svc:9"), ("erp:4", "log:6")}

    cols = {c[0] for c in con.execute("DESCRIBE pairs").fetchall()}
    assert {"record_key_l", "record_key_r", "match_weight", "match_probability"} <= cols
    assert any(c.startswith("gamma_") for c in cols)
    assert any(c.startswith("mw_") for c in cols)
    assert result.n_pairs == 3
    assert result.n_records == len(ROWS)
    assert result.training_mode == "priors"
    assert "full_name_key" not in result.columns_used

    assert result.model_path is not None and result.model_path.exists()
    model = json.loads(result.model_path.read_text())
    assert model["link_type"] == "dedupe_only"
    assert model["unique_id_column_name"] == "record_key"
    assert all(p.exists() for p in result.chart_paths)

    cluster(con, threshold=result.threshold_probability)
    clusters = _cluster_of(con)
    assert len(clusters) == len(ROWS)
    assert clusters["crm:1"] == clusters["erp:7"] == "crm:1"
    assert clusters["crm:2"] == clusters["svc:9"] == "crm:2"
    assert clusters["erp:4"] == clusters["log:6"] == "erp:4"
    assert clusters["crm:3"] == "crm:3"
    assert clusters["crm:10"] == "crm:10"


def test_link_is_deterministic(con: duckdb.DuckDBPyConnection) -> None:
    link(con, seed=3)
    first = con.execute("SELECT * FROM pairs").fetchall()
    link(con, seed=3)
    assert con.execute("SELECT * FROM pairs").fetchall() == first


def test_link_without_matching_columns_gives_empty_pairs() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE staged AS SELECT * FROM (VALUES ('a:1', 'person', NULL), "
        "('a:2', 'person', NULL)) t(record_key, party_type, email_key)"
    )
    result = link(con)
    assert result.n_pairs == 0
    assert con.execute("SELECT count(*) FROM pairs").fetchall()[0][0] == 0
    cluster(con, threshold=result.threshold_probability)
    assert _cluster_of(con) == {"a:1": "a:1", "a:2": "a:2"}


def test_model_adapts_to_columns() -> None:
    persons = build_model(["given_name_key", "family_name_key", "birth_date"])
    names = [c.create_output_column_name() for c in persons.settings.comparisons]
    assert names == ["given_name_key", "family_name_key", "birth_date"]
    companies = build_model(["company_name_key", "tax_id", "phone"])
    names = [c.create_output_column_name() for c in companies.settings.comparisons]
    assert names == ["company_name_key", "phone", "tax_id"]
    for rule in companies.settings.blocking_rules_to_generate_predictions:
        assert "party_type" in rule.sql_condition
    with pytest.raises(ValueError, match="nothing to link on"):
        build_model(["quality_flags"])
