"""Who may see what: masked views and database roles, generated from the models' PII tags.

Analysts without PII clearance read the `analyst` schema: one view per table they need, where
each PII column is masked as its `info["mask"]` says (left out, hashed, generalised, or shown for
companies only) and every other column passes through. On PostgreSQL three group roles
(NOLOGIN; grant them to login users) enforce it:

- `analyst`: reads the `analyst` views, `marts.kpi_monthly` and the non-PII columns of the other
  marts tables; writes nothing;
- `steward`: reads `core`, `marts` and `analyst`, writes `core.steward_decision`;
- `pipeline`: reads and writes every governed table (the sync's publish).

DuckDB has no roles: there the `analyst` views are the analyst surface and the store file's
permissions (0600, directory 0700) guard the rest.

Migrations freeze the statements generated here (a migration must not change when the models
do later); `tests/unit/test_models_access.py` fails when the models' tags and the latest frozen
statements disagree, which is the cue to write a migration that recreates the views and grants.
Regenerate the literals with `python -m models.access`.
"""

from __future__ import annotations

import pprint
import sys
from typing import Literal

import sqlalchemy as sa

import models
from models.base import SCHEMAS

Dialect = Literal["duckdb", "postgresql"]
ANALYST_SCHEMA = "analyst"
ROLES = ("analyst", "steward", "pipeline")

# View in the analyst schema -> governed table it masks. Tables without PII pass through whole;
# those with PII carry `_masked` in the name so nobody mistakes them for the raw table.
ANALYST_VIEWS: dict[str, str] = {
    "customer_masked": "core.customer",
    "customer_360_masked": "marts.customer_360",
    "customer_source_xref": "core.customer_source_xref",
    "customer_id_redirect": "core.customer_id_redirect",
    "identity_event": "core.identity_event",
    "activity": "core.activity",
    "sync_run": "audit.sync_run",
    "data_quality": "audit.data_quality",
    "check_result": "audit.check_result",
}


def _table(name: str) -> sa.Table:
    try:
        return models.metadata.tables[name]
    except KeyError:
        raise KeyError(f"{name} is not a governed table (models/)") from None


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sha256(expr: str, dialect: Dialect) -> str:
    # Same lower-case hex digest on both, so a pseudonymous key matches across stores.
    if dialect == "duckdb":
        return f"sha256({expr})"
    return f"encode(sha256(convert_to({expr}, 'UTF8')), 'hex')"


def masked_columns(table: sa.Table, dialect: Dialect) -> list[tuple[str, str]]:
    """(select expression, output column) per column the masked view shows, in table order."""
    out: list[tuple[str, str]] = []
    for col in table.columns:
        ref = _q(col.name)
        pii = col.info.get("pii", "none")
        mask = col.info.get("mask", "omit") if pii != "none" else None
        if mask is None:
            out.append((ref, col.name))
        elif mask == "omit":
            continue
        elif mask == "sha256":
            out.append((_sha256(ref, dialect), f"{col.name}_sha256"))
        elif mask == "year":
            base = col.name.removesuffix("_date")
            out.append((f"CAST(extract(year FROM {ref}) AS INTEGER)", f"{base}_year"))
        elif mask == "prefix2":
            out.append((f"left({ref}, 2)", f"{col.name}_area"))
        elif mask == "company_only":
            if "party_type" not in table.columns:
                raise ValueError(f"{table.fullname}.{col.name}: company_only needs party_type")
            out.append((f"CASE WHEN \"party_type\" = 'company' THEN {ref} END", col.name))
        else:
            raise ValueError(f"{table.fullname}.{col.name}: unknown mask {mask!r}")
    names = [name for _, name in out]
    if len(names) != len(set(names)):
        raise ValueError(f"{table.fullname}: masked column names collide: {names}")
    return out


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_statements(dialect: Dialect) -> list[str]:
    """DDL that creates the analyst schema and its masked views (idempotent)."""
    statements = [f"CREATE SCHEMA IF NOT EXISTS {ANALYST_SCHEMA}"]
    for view, source in ANALYST_VIEWS.items():
        table = _table(source)
        select = ",\n       ".join(
            expr if expr == _q(name) else f"{expr} AS {_q(name)}"
            for expr, name in masked_columns(table, dialect)
        )
        schema, name = source.split(".")
        statements.append(
            f"CREATE OR REPLACE VIEW {ANALYST_SCHEMA}.{_q(view)} AS\n"
            f"SELECT {select}\nFROM {_q(schema)}.{_q(name)}"
        )
        pii = [c.name for c in table.columns if c.info.get("pii", "none") != "none"]
        note = f"{source} for analysts" + (
            f"; PII masked from the models' tags ({', '.join(pii)})" if pii else " (no PII)"
        )
        statements.append(f"COMMENT ON VIEW {ANALYST_SCHEMA}.{_q(view)} IS {_literal(note)}")
    return statements


def drop_view_statements() -> list[str]:
    return [f"DROP SCHEMA IF EXISTS {ANALYST_SCHEMA} CASCADE"]


def _create_role(role: str) -> str:
    # Roles are cluster-wide: another database of the cluster (another store, a test run) may
    # have created them already, even concurrently, hence IF NOT EXISTS and duplicate_object.
    return (
        "DO $$ BEGIN\n"
        f"  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{role}') THEN\n"
        f"    CREATE ROLE {role} NOLOGIN;\n"
        "  END IF;\n"
        "EXCEPTION WHEN duplicate_object THEN NULL;\n"
        "END $$"
    )


def grant_statements() -> list[str]:
    """PostgreSQL: the three roles and their privileges in this database (idempotent)."""
    governed = ", ".join(SCHEMAS)
    all_schemas = f"{governed}, {ANALYST_SCHEMA}"
    statements = [_create_role(role) for role in ROLES]
    # analyst: the masked views, and the marts without their PII columns.
    statements.append(f"GRANT USAGE ON SCHEMA {ANALYST_SCHEMA}, marts TO analyst")
    statements.append(f"GRANT SELECT ON ALL TABLES IN SCHEMA {ANALYST_SCHEMA} TO analyst")
    for table in models.metadata.sorted_tables:
        if table.schema != "marts":
            continue
        safe = [c.name for c in table.columns if c.info.get("pii", "none") == "none"]
        if len(safe) == len(table.columns):
            statements.append(f"GRANT SELECT ON marts.{_q(table.name)} TO analyst")
        else:
            cols = ", ".join(_q(c) for c in safe)
            statements.append(f"GRANT SELECT ({cols}) ON marts.{_q(table.name)} TO analyst")
    # steward: sees what it decides on, writes only its decisions.
    statements.append(f"GRANT USAGE ON SCHEMA core, marts, {ANALYST_SCHEMA} TO steward")
    statements.append(
        f"GRANT SELECT ON ALL TABLES IN SCHEMA core, marts, {ANALYST_SCHEMA} TO steward"
    )
    statements.append("GRANT INSERT, UPDATE ON core.steward_decision TO steward")
    # pipeline: writes the store. Schema changes stay with the owner that runs migrations;
    # the pipeline's own `upgrade head` only reads alembic_version when nothing is pending.
    statements.append(f"GRANT USAGE ON SCHEMA {all_schemas} TO pipeline")
    statements.append(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {governed} TO pipeline"
    )
    statements.append(f"GRANT SELECT ON ALL TABLES IN SCHEMA {ANALYST_SCHEMA} TO pipeline")
    statements.append("GRANT SELECT ON public.alembic_version TO pipeline")
    return statements


def revoke_statements() -> list[str]:
    """PostgreSQL: undo `grant_statements` in this database. The roles themselves stay: they
    are cluster-wide and other databases may still grant to them."""
    roles = ", ".join(ROLES)
    return [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {', '.join(SCHEMAS)} FROM {roles}",
        f"REVOKE ALL ON SCHEMA {', '.join(SCHEMAS)} FROM {roles}",
        f"REVOKE ALL ON public.alembic_version FROM {roles}",
    ]


def frozen() -> dict[str, list[str]]:
    """Everything a migration freezes, keyed as migration 0002 names its constants."""
    return {
        "VIEWS_DUCKDB": view_statements("duckdb"),
        "VIEWS_POSTGRESQL": view_statements("postgresql"),
        "GRANTS_POSTGRESQL": grant_statements(),
        "REVOKES_POSTGRESQL": revoke_statements(),
    }


def main() -> int:
    for name, statements in frozen().items():
        sys.stdout.write(f"{name} = {pprint.pformat(statements, width=96)}\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
