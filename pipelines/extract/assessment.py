"""Source assessment: what a data team checks before trusting a system.

Per source and run: how many records it delivered, how complete and how valid each canonical
field is, how many of its records are duplicates of each other, and how much it overlaps the
other systems. Computed after identity (it needs the `assignment` layer), written as the work
layer `publish_extra__audit__source_assessment` (the columns of audit.source_assessment) and
rendered as markdown for the Dagster UI by `assessment_markdown`.

Measures (`measure`, `field`):
- `rows`, `*`: records extracted (the `mapped` layer: the source's current population)
- `rows_read`, `*` / `deleted_at_source`, `*`: rows read this sync and keys that left the
  source since the last sync (from the extraction report)
- `quarantined`, `*` / `quarantine_rate`, `*`
- `completeness`, field: share of records with a value (a registry default counts as a value)
- `validity`, field: of the records that reached `staged` with a value, the share whose value
  survived cleansing (e-mail valid, phone parseable, birth date possible, ...)
- `duplicates_in_source`, `*` / `duplicate_rate`, `*`: linked records beyond the first per
  customer inside the source
- `overlap_any`, `*`: share of linked records whose customer another source also knows
- `overlap_with:<other>`, `*`: the same, with one other source
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.cleanse import data_quality
from pipelines.cleanse.incremental import VALIDITY_COUNTS, quality_counts
from pipelines.extract.incremental import ident
from pipelines.workarea import WorkArea, connect, sql_literal
from sources.registry import CANONICAL_FIELDS

ASSESSMENT_LAYER = "publish_extra__audit__source_assessment"
# The measures' columns before the run id is added (`record_measures` and the others).
MEASURE_COLUMNS = "source_system VARCHAR, measure VARCHAR, field VARCHAR, value DOUBLE"
ASSESSMENT_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("source_system", pa.string()),
        ("measure", pa.string()),
        ("field", pa.string()),
        ("value", pa.float64()),
    ]
)


def _field_measures(con: duckdb.DuckDBPyConnection, validity: str | None) -> None:
    """`field_measures`: completeness over `mapped`, validity from the counts relation
    `validity` (`data_quality.validity_counts_sql`, saved by the staging stage) or, if None,
    counted here from staged joined to mapped."""
    completeness = ", ".join(
        f"count(m.{ident(f)}) / count(*) AS {ident(f)}" for f in CANONICAL_FIELDS
    )
    if validity is None:
        validity = "__validity_counts"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW __validity_bits AS {data_quality.joined_bits_sql()};"
            f"CREATE OR REPLACE TEMP VIEW {validity} AS "
            f"{data_quality.validity_counts_sql('__validity_bits')}"
        )
    # Field names come from CANONICAL_FIELDS (code, not input) and are quoted. A field no
    # staged record of a source was supplied has no validity (as UNPIVOT drops NULLs).
    con.execute(
        f"""
        CREATE TABLE field_measures AS
        SELECT source_system, 'completeness' AS measure, field, value FROM (
            UNPIVOT (SELECT m.source_system, {completeness} FROM mapped m GROUP BY 1)
            ON COLUMNS(* EXCLUDE (source_system)) INTO NAME field VALUE value)
        UNION ALL
        SELECT source_system, 'validity', field, kept / supplied
        FROM {validity} WHERE supplied > 0
        """  # noqa: S608 - identifiers quoted
    )


def _record_measures(con: duckdb.DuckDBPyConnection) -> None:
    """`record_measures`. Linked records are read from `assignment` alone: every staged
    record has one row there, and a record key starts with its source's name (a registry
    name, without ':'). One row per customer with a count per source: most customers have
    one record per source, so counting per (customer, source) pair first and joining those
    pairs to themselves for the overlaps took twice as long at a million records."""
    sources = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT source_system FROM mapped WHERE source_system IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    if not sources:
        con.execute(f"CREATE TABLE record_measures ({MEASURE_COLUMNS})")
        return
    counted = ", ".join(
        f"count(*) FILTER (WHERE starts_with(record_key, {sql_literal(s + ':')})) AS n{i}"
        for i, s in enumerate(sources)
    )
    known_by = " + ".join(f"(n{i} > 0)::INTEGER" for i in range(len(sources)))
    # Per source: its linked records, their customers, and those records whose customer
    # another source knows too; per pair of sources: the first's records the second knows.
    figures = " UNION ALL ".join(
        f"SELECT {sql_literal(s)} AS source_system, sum(n{i}) AS linked, "  # noqa: S608
        f"count(*) FILTER (WHERE n{i} > 0) AS customers, "
        f"coalesce(sum(n{i}) FILTER (WHERE known_by > 1), 0) AS overlapping FROM per_customer"
        for i, s in enumerate(sources)
    )
    pairwise = " UNION ALL ".join(
        f"SELECT {sql_literal(s)} AS source_system, {sql_literal(o)} AS other, "  # noqa: S608
        f"sum(n{i}) FILTER (WHERE n{j} > 0) AS n FROM per_customer"
        for i, s in enumerate(sources)
        for j, o in enumerate(sources)
        if i != j
    ) or "SELECT NULL::VARCHAR AS source_system, NULL::VARCHAR AS other, 0 AS n"  # one source
    con.execute(
        f"""
        CREATE TEMP TABLE per_customer AS
        SELECT *, {known_by} AS known_by FROM (
            SELECT {counted} FROM assignment GROUP BY customer_id);

        CREATE TABLE record_measures AS
        WITH counts AS (
            SELECT source_system, count(*) AS n FROM mapped GROUP BY 1
        ), quarantined AS (
            SELECT source_system, count(DISTINCT source_row_number) AS quarantined
            FROM quarantine GROUP BY 1
        ), dup AS (
            SELECT * FROM ({figures}) WHERE linked > 0
        ), pairwise AS (
            SELECT * FROM ({pairwise}) WHERE n > 0
        )
        SELECT source_system, 'rows' AS measure, '*' AS field, CAST(n AS DOUBLE) AS value
        FROM counts
        UNION ALL SELECT c.source_system, 'quarantined', '*', coalesce(q.quarantined, 0)
                  FROM counts c LEFT JOIN quarantined q USING (source_system)
        UNION ALL SELECT c.source_system, 'quarantine_rate', '*',
                         CASE WHEN c.n = 0 THEN 0.0 ELSE coalesce(q.quarantined, 0) / c.n END
                  FROM counts c LEFT JOIN quarantined q USING (source_system)
        UNION ALL SELECT c.source_system, 'duplicates_in_source', '*',
                         coalesce(d.linked - d.customers, 0)
                  FROM counts c LEFT JOIN dup d USING (source_system)
        UNION ALL SELECT c.source_system, 'duplicate_rate', '*',
                         coalesce((d.linked - d.customers) / nullif(d.linked, 0), 0.0)
                  FROM counts c LEFT JOIN dup d USING (source_system)
        UNION ALL SELECT source_system, 'overlap_any', '*', overlapping / linked FROM dup
        -- each pair of sources in both directions, 0 where they share nobody
        UNION ALL SELECT a.source_system, 'overlap_with:' || b.source_system, '*',
                         coalesce(p.n / d.linked, 0.0)
                  FROM counts a JOIN counts b ON a.source_system <> b.source_system
                  LEFT JOIN pairwise p
                    ON p.source_system = a.source_system AND p.other = b.source_system
                  LEFT JOIN dup d ON d.source_system = a.source_system
        """  # noqa: S608 - source names quoted as literals, aliases generated
    )


def _extraction_measures(con: duckdb.DuckDBPyConnection, work: WorkArea) -> None:
    rows: list[tuple[str, str, str, float]] = []
    for path in sorted((work.root / "raw").glob("*.extract.json")):
        report = json.loads(path.read_text())
        table = str(report.get("table", ""))
        if "/" in table:
            continue  # activity tables: the assessment is about customer records
        rows.append((table, "rows_read", "*", float(report.get("rows_read", 0))))
        rows.append((table, "deleted_at_source", "*", float(report.get("deleted", 0))))
    con.execute(f"CREATE TABLE extraction_measures ({MEASURE_COLUMNS})")
    if rows:
        con.executemany("INSERT INTO extraction_measures VALUES (?, ?, ?, ?)", rows)


def assess_sources(work: WorkArea, run_id: str) -> pa.Table:
    """Compute the assessment from the work layers (mapped, staged, quarantine, assignment,
    and the staging stage's validity counts when they count this staged layer) and write
    `publish_extra__audit__source_assessment`; returns its rows."""
    con = connect()
    try:
        # Views: each measure reads only the columns it needs (copying every column of a
        # million mapped and staged rows first cost most of this stage).
        for name in ("mapped", "staged", "quarantine", "assignment"):
            work.load(con, name)
        _field_measures(con, quality_counts(con, work, VALIDITY_COUNTS))
        _record_measures(con)
        _extraction_measures(con, work)
        table = con.sql(
            """
            SELECT CAST($run AS VARCHAR) AS run_id, source_system, measure, field,
                   CAST(value AS DOUBLE) AS value
            FROM (SELECT * FROM record_measures
                  UNION ALL SELECT * FROM field_measures
                  UNION ALL SELECT e.* FROM extraction_measures e
                            SEMI JOIN (SELECT DISTINCT source_system FROM mapped) m
                            USING (source_system))
            ORDER BY source_system, measure, field
            """,
            params={"run": run_id},
        ).to_arrow_table()
    finally:
        con.close()
    table = table.cast(ASSESSMENT_SCHEMA)
    work.write_arrow(work.path(ASSESSMENT_LAYER), table)
    return table


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def assessment_markdown(rows: pa.Table | list[dict[str, Any]]) -> str:
    """The assessment as markdown (Dagster UI metadata, run summaries)."""
    records = rows.to_pylist() if isinstance(rows, pa.Table) else list(rows)
    by: dict[str, dict[tuple[str, str], float]] = {}
    for r in records:
        by.setdefault(str(r["source_system"]), {})[(str(r["measure"]), str(r["field"]))] = (
            r["value"]
        )
    sources = sorted(by)
    lines = [
        "## Source assessment",
        "",
        "| source | records | read this sync | deleted at source | quarantined "
        "| duplicates in source | known to another source |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in sources:
        m = by[s]

        def count(measure: str, values: dict[tuple[str, str], float] = m) -> str:
            value = values.get((measure, "*"))
            return "–" if value is None else f"{int(value):,}"

        lines.append(
            f"| {s} | {count('rows')} | {count('rows_read')} | {count('deleted_at_source')} "
            f"| {count('quarantined')} ({_pct(m.get(('quarantine_rate', '*')))}) "
            f"| {count('duplicates_in_source')} ({_pct(m.get(('duplicate_rate', '*')))}) "
            f"| {_pct(m.get(('overlap_any', '*')))} |"
        )
    lines += [
        "",
        "### Completeness / validity per field",
        "",
        "| field | " + " | ".join(sources) + " |",
        "| --- |" + " ---: |" * len(sources),
    ]
    for f in CANONICAL_FIELDS:
        cells = []
        for s in sources:
            completeness = by[s].get(("completeness", f))
            validity = by[s].get(("validity", f))
            cells.append(f"{_pct(completeness)} / {_pct(validity)}")
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    lines += ["", "### Overlap (share of the row source's linked records the column source knows)"]
    lines += ["", "| source | " + " | ".join(sources) + " |", "| --- |" + " ---: |" * len(sources)]
    for s in sources:
        cells = [
            "–" if o == s else _pct(by[s].get((f"overlap_with:{o}", "*"))) for o in sources
        ]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def source_assessment(work: WorkArea, run_id: str) -> dict[str, Any]:
    """Stage function for the wiring: compute, write the layer, return figures + markdown."""
    table = assess_sources(work, run_id)
    return {
        "assessment_rows": table.num_rows,
        "sources": sorted(set(table.column("source_system").to_pylist())),
        "markdown": assessment_markdown(table),
    }
