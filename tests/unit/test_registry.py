"""The source registry: valid entries load, invalid ones fail naming source, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from sources.registry import RegistryError, load_registry

MINIMAL = """
sources:
  - name: billing
    kind: csv
    path: ${DATA:-/data}/billing.csv
    primary_key: cust_no
    defaults: {country: ES}
    fields:
      given_name: first
      family_name: last
      address_line1: "{street_no} {street}"
      birth_date: {column: dob, format: "%Y%m%d"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    return path


def test_minimal_entry_from_design_loads(tmp_path: Path) -> None:
    registry = load_registry(write(tmp_path, MINIMAL), env={})
    billing = registry.get("billing")
    assert billing.path == "/data/billing.csv"
    assert billing.fields["address_line1"].columns == ["street_no", "street"]
    assert billing.fields["birth_date"].format == "%Y%m%d"
    assert billing.defaults == {"country": "ES"}
    assert billing.dialect == "csv"


def test_env_expansion_uses_environment(tmp_path: Path) -> None:
    registry = load_registry(write(tmp_path, MINIMAL), env={"DATA": "/srv"})
    assert registry.get("billing").path == "/srv/billing.csv"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("kind: csv", "kind: excel"), "kind 'excel' unknown"),
        (("given_name: first", "given: first"), "unknown canonical field(s) ['given']"),
        (("primary_key: cust_no", "primary_key: ''"), "missing required key 'primary_key'"),
        (("path: ${DATA:-/data}/billing.csv", "path: ${NOPE}/b.csv"), "NOPE is not set"),
        (('format: "%Y%m%d"', "fmt: x"), "unknown key(s) ['fmt']"),
    ],
)
def test_invalid_entries_name_source_and_key(tmp_path: Path, change, message) -> None:
    text = MINIMAL.replace(*change)
    with pytest.raises(RegistryError) as error:
        load_registry(write(tmp_path, text), env={})
    assert "billing" in str(error.value) or "NOPE" in str(error.value)
    assert message in str(error.value)


def test_duplicate_source_names_rejected(tmp_path: Path) -> None:
    body = MINIMAL.split("sources:\n", 1)[1]
    with pytest.raises(RegistryError, match="duplicate source name"):
        load_registry(write(tmp_path, "sources:\n" + body + body), env={})


def test_sql_source_dialect_kind(tmp_path: Path) -> None:
    text = """
sources:
  - name: crm
    kind: sql
    url: postgresql+psycopg://u@h/db
    table: public.contacts
    primary_key: id
    fields: {email: mail}
"""
    assert load_registry(write(tmp_path, text), env={}).get("crm").dialect == "postgres"


def test_missing_file_says_which_setting(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="SOURCES_CONFIG"):
        load_registry(tmp_path / "absent.yaml")


FULL = """
sources:
  - name: crm
    department: sales
    owner: "team:sales"
    kind: csv
    path: /data/crm.csv
    encoding: auto
    delimiter: tab
    quoting: "'"
    escape: "\\\\"
    primary_key: id
    watermark: updated_at
    soft_delete: {column: deleted, values: ["1", true, "Y"]}
    fields: {email: mail}
    activities:
      - name: orders
        type: order
        kind: json
        path: /data/orders.jsonl
        primary_key: order_id
        customer_key: id
        mode: snapshot
        fields: {amount: total}
"""


def test_read_options_and_activity_inheritance(tmp_path: Path) -> None:
    source = load_registry(write(tmp_path, FULL), env={}).get("crm")
    read = source.read()
    assert (read.encoding, read.delimiter, read.quoting, read.escape) == ("auto", "\t", "'", "\\")
    assert read.mode == "incremental" and read.watermark == "updated_at"
    assert read.soft_delete is not None
    # `true` unquoted is a YAML boolean: it stands for every usual spelling of true.
    assert read.soft_delete.values == ("1", "on", "t", "true", "y", "yes")
    assert {"id", "mail", "updated_at", "deleted"} <= read.mapped_columns
    orders = source.read("orders")
    assert orders.kind == "json" and orders.key == "crm/orders"
    assert orders.encoding == "auto"  # file options are inherited from the source
    assert orders.watermark is None and orders.mode == "snapshot"  # incremental ones are not
    assert orders.mapped_columns == {"order_id", "id", "total"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("encoding: auto", "encoding: klingon"), "encoding 'klingon' unknown"),
        (("delimiter: tab", "delimiter: ';;'"), "'delimiter' must be one character"),
        (("mode: snapshot", "mode: sometimes"), "mode 'sometimes' unknown"),
        (("        mode: snapshot", "        mode: incremental"), "needs 'watermark'"),
        (("soft_delete: {column: deleted, values: [\"1\", true, \"Y\"]}", "soft_delete: {}"),
         "'soft_delete' must name the flag column"),
        (("path: /data/crm.csv", "path: /data/crm.csv\n    colour: red"), "unknown key(s)"),
        (("        kind: json", "        kind: json\n        encodng: x"), "unknown key(s)"),
    ],
)
def test_read_option_errors_name_source_key_and_fix(tmp_path: Path, change, message) -> None:
    with pytest.raises(RegistryError) as error:
        load_registry(write(tmp_path, FULL.replace(*change)), env={})
    assert "'crm'" in str(error.value)
    assert message in str(error.value)


def test_url_password_must_come_from_the_environment(tmp_path: Path) -> None:
    text = """
sources:
  - name: crm
    kind: sql
    url: postgresql+psycopg://etl:s3cret@db/crm
    table: contacts
    primary_key: id
    fields: {email: mail}
"""
    with pytest.raises(RegistryError, match="contains a password; never store credentials"):
        load_registry(write(tmp_path, text), env={})
    safe = text.replace("s3cret", "${CRM_PASSWORD}").replace("contacts", "${CRM_SCHEMA:-sales}.c")
    source = load_registry(write(tmp_path, safe), env={"CRM_PASSWORD": "pw"}).get("crm")
    assert source.url == "postgresql+psycopg://etl:pw@db/crm"
    assert source.table == "sales.c"
