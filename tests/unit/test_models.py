"""The models are the one definition of the store: every column documented and tagged, the
dictionary generated from them up to date, and the Dagster schemas derived from them."""

from __future__ import annotations

import dagster as dg
import pytest

import models
from models import dictionary
from models.base import PII_TAGS, column
from pipelines.publish.prepare import PREVIOUS_TABLES, PUBLISHED
from pipelines.publish.store import arrow_schema

ALL_COLUMNS = [
    (name, col) for name, table in models.metadata.tables.items() for col in table.columns
]


@pytest.mark.parametrize(("table", "col"), ALL_COLUMNS, ids=lambda v: getattr(v, "name", v))
def test_every_column_has_a_comment_and_a_pii_tag(table, col) -> None:
    assert col.comment and col.comment.strip(), f"{table}.{col.name} has no comment"
    assert col.info.get("pii") in PII_TAGS, f"{table}.{col.name} has no PII tag"
    if col.info["pii"] != "none":
        assert col.info.get("mask") in {"omit", "sha256", "year", "prefix2", "company_only"}


def test_every_table_has_a_comment_and_a_primary_key() -> None:
    for name, table in models.metadata.tables.items():
        assert table.comment, name
        assert table.primary_key.columns, name
        assert table.schema in models.SCHEMAS, name


def test_personal_data_is_tagged() -> None:
    customer = models.metadata.tables["core.customer"].columns
    for name in ("given_name", "family_name", "full_name", "email", "phone", "tax_id"):
        assert customer[name].info["pii"] == "direct", name
    for name in ("birth_date", "postcode", "address_line1"):
        assert customer[name].info["pii"] == "quasi", name


def test_column_helper_refuses_untagged_masks() -> None:
    with pytest.raises(ValueError):
        column(comment="x", pii="secret")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        column(comment="x", mask="sha256")


def test_published_and_previous_tables_are_governed() -> None:
    for table, mode in PUBLISHED:
        assert table in models.metadata.tables and mode in {"replace", "append"}
    assert set(PREVIOUS_TABLES) <= set(models.metadata.tables)
    assert ("marts.kpi_monthly", "replace") in PUBLISHED


def test_data_dictionary_and_readme_guide_are_up_to_date() -> None:
    """docs/data_dictionary.md and the README's analyst SQL are generated: regenerate with
    `python -m models.dictionary` when this fails."""
    assert dictionary.main(["--check"]) == 0


def test_dictionary_lists_every_table_and_column() -> None:
    text = dictionary.render_dictionary()
    for name, table in models.metadata.tables.items():
        assert f"### `{name}`" in text
        for col in table.columns:
            assert f"| `{col.name}` |" in text


@pytest.mark.parametrize("table", sorted(models.metadata.tables))
def test_table_schema_for_dagster(table) -> None:
    schema = dictionary.table_schema(table)
    assert isinstance(schema, dg.TableSchema)
    sa_table = models.metadata.tables[table]
    assert [c.name for c in schema.columns] == [c.name for c in sa_table.columns]
    for col, sa_col in zip(schema.columns, sa_table.columns, strict=True):
        assert col.description == sa_col.comment
        assert col.tags["pii"] == sa_col.info["pii"]
        assert col.constraints.nullable == bool(sa_col.nullable)
    assert any(c.startswith("PRIMARY KEY") for c in schema.constraints.other)


def test_table_schema_names_the_known_tables_on_a_typo() -> None:
    with pytest.raises(KeyError, match="core.customer"):
        dictionary.table_schema("core.customers")


def test_arrow_schema_matches_models() -> None:
    schema = arrow_schema("marts.customer_360")
    assert str(schema.field("lifetime_revenue").type) == "decimal128(18, 2)"
    assert str(schema.field("as_of").type) == "date32[day]"
    assert str(schema.field("source_systems").type) == "string"


def test_analyst_queries_are_named_blocks() -> None:
    queries = dictionary.analyst_queries()
    assert len(queries) >= 6
    for name, sql in queries.items():
        assert "SELECT" in sql and sql.rstrip().endswith(";"), name
        # Analysts' queries read only what an analyst without clearance may read.
        assert "core." not in sql and "audit." not in sql, name
