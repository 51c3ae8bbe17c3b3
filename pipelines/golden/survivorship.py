"""Golden records: choose each customer's attributes among its source records, with provenance.

The rules live in `survivorship.yaml` (SURVIVORSHIP_CONFIG to use another file). Each group of
attributes becomes one set-based ranking query in DuckDB.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml
from sqlglot import exp

DEFAULT_CONFIG = Path(__file__).with_name("survivorship.yaml")
RULES = ("valid", "frequency", "trust", "recency")
_RULE_ORDER = {
    "valid": "valid DESC",
    "frequency": "frequency DESC",
    "trust": "trust ASC",
    "recency": "recency DESC",
}


@dataclass(frozen=True)
class Group:
    name: str
    attributes: list[str]
    key: list[str]
    rules: list[str]


@dataclass(frozen=True)
class SurvivorshipConfig:
    source_trust: dict[str, int]
    groups: list[Group]


def load_config(path: Path | None = None) -> SurvivorshipConfig:
    path = path or Path(os.environ.get("SURVIVORSHIP_CONFIG") or DEFAULT_CONFIG)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    groups = []
    for name, spec in raw["groups"].items():
        unknown = [r for r in spec["rules"] if r not in RULES]
        if unknown:
            raise ValueError(f"{path}: group {name!r} has unknown rule(s) {unknown}; use {RULES}")
        groups.append(Group(name, list(spec["attributes"]), list(spec["key"]), list(spec["rules"])))
    return SurvivorshipConfig({str(k): int(v) for k, v in raw["source_trust"].items()}, groups)


def _ident(name: str) -> str:
    return exp.column(name, quoted=True).sql(dialect="duckdb")


def _trust_case(trust: dict[str, int]) -> str:
    if not trust:
        return "99"
    cases = exp.Case(
        this=exp.column("source_system"),
        ifs=[
            exp.If(this=exp.Literal.string(k), true=exp.Literal.number(v)) for k, v in trust.items()
        ],
        default=exp.Literal.number(99),
    )
    return cases.sql(dialect="duckdb")


def _group_sql(group: Group, trust_sql: str, staged: str, assignment: str, loads: str) -> str:
    present = " OR ".join(f"{_ident(a)} IS NOT NULL" for a in group.attributes)
    key = " || '|' || ".join(f"coalesce(CAST({_ident(k)} AS VARCHAR), '')" for k in group.key)
    valid = "coalesce(tax_id_valid, true)" if "tax_id" in group.attributes else "true"
    order = ", ".join(_RULE_ORDER[r] for r in group.rules)
    # The first rule on which the winner beats the runner-up is the provenance rule.
    decided = " ".join(f"WHEN w.{r} IS DISTINCT FROM r.{r} THEN '{r}'" for r in group.rules)
    return f"""
        WITH cand AS (
            SELECT a.customer_id, s.record_key, s.source_system, s.source_record_id,
                   {key} AS k, {valid} AS valid, {trust_sql} AS trust,
                   coalesce(s.source_updated_at, l.loaded_at) AS recency
            FROM {staged} s JOIN {assignment} a USING (record_key)
            LEFT JOIN {loads} l USING (source_system)
            WHERE {present}
        ),
        ranked2 AS (
            SELECT *, row_number() OVER (
                PARTITION BY customer_id ORDER BY {order}, record_key) AS pos2
            FROM (SELECT *, count(*) OVER (PARTITION BY customer_id, k) AS frequency
                  FROM cand)
        )
        SELECT w.customer_id, '{group.name}' AS attribute_group, w.record_key,
               w.source_system, w.source_record_id,
               CASE WHEN r.record_key IS NULL THEN 'only_value' {decided}
                    ELSE 'tie_break' END AS rule
        FROM ranked2 w
        LEFT JOIN ranked2 r ON r.customer_id = w.customer_id AND r.pos2 = 2
        WHERE w.pos2 = 1
    """  # noqa: S608 - only identifiers are formatted in


def build_golden(
    con: duckdb.DuckDBPyConnection,
    config: SurvivorshipConfig | None = None,
    *,
    staged: str = "staged",
    assignment: str = "assignment",
    loads: str = "source_load",
) -> int:
    """Create `golden` (one row per customer) and `provenance` (customer, attribute, source,
    record, rule) from `staged` and `assignment` (table or view names: the customers of
    `assignment`, from their records in `staged`) and `loads` (source_system, loaded_at:
    when each source was read, the recency of a record without a source timestamp).
    Returns the number of golden records."""
    config = config or load_config()
    trust_sql = _trust_case(config.source_trust)
    parts = [_group_sql(g, trust_sql, staged, assignment, loads) for g in config.groups]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE chosen AS " + " UNION ALL ".join(f"({p})" for p in parts)
    )
    attribute_rows = [
        f"SELECT '{g.name}' AS attribute_group, '{a}' AS attribute"
        for g in config.groups
        for a in g.attributes
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE group_attribute AS " + " UNION ALL ".join(attribute_rows)
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE provenance AS
        SELECT c.customer_id, ga.attribute, c.source_system, c.source_record_id, c.rule
        FROM chosen c JOIN group_attribute ga USING (attribute_group)
        ORDER BY c.customer_id, ga.attribute
        """
    )
    select = []
    joins = []
    for g in config.groups:
        alias = f"g_{g.name}"
        joins.append(
            f"LEFT JOIN (SELECT c.customer_id, s.* EXCLUDE (record_key) FROM chosen c "  # noqa: S608
            f"JOIN {staged} s USING (record_key) WHERE c.attribute_group = '{g.name}') {alias} "
            f"ON {alias}.customer_id = base.customer_id"
        )
        select += [f"{alias}.{_ident(a)} AS {_ident(a)}" for a in g.attributes]
    con.execute(
        f"""
        CREATE OR REPLACE TABLE golden AS
        WITH base AS (
            SELECT a.customer_id,
                   CASE WHEN count_if(s.party_type = 'company') > count_if(s.party_type = 'person')
                        THEN 'company' ELSE 'person' END AS party_type,
                   count(DISTINCT s.source_system) AS source_count,
                   count(*) AS record_count
            FROM {assignment} a JOIN {staged} s USING (record_key)
            GROUP BY a.customer_id
        )
        SELECT base.customer_id, base.party_type, {", ".join(select)},
               base.source_count, base.record_count
        FROM base {" ".join(joins)}
        ORDER BY base.customer_id
        """  # noqa: S608 - only identifiers are formatted in
    )
    return int(con.execute("SELECT count(*) FROM golden").fetchall()[0][0])
