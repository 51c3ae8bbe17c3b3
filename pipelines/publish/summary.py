"""The run summary: figures read back from the store after publish (counts only, no PII)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import duckdb
import sqlalchemy as sa

from pipelines.publish.store import duckdb_path, is_duckdb

COUNTED_TABLES = (
    "core.customer",
    "core.customer_source_xref",
    "audit.quarantined_record",
    "marts.customer_360",
    "core.activity",
)


@contextmanager
def _store_queries(url: str) -> Iterator[Callable[[str, dict[str, Any] | None], list[tuple]]]:
    """A function running queries on the store over one connection (read-only on DuckDB,
    `$name` parameters on both backends)."""
    if is_duckdb(url):
        con = duckdb.connect(str(duckdb_path(url)), read_only=True)
        try:
            yield lambda sql, params: con.execute(sql, params or {}).fetchall()
        finally:
            con.close()
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            yield lambda sql, params: [
                tuple(r) for r in conn.execute(sa.text(sql.replace("$", ":")), params or {})
            ]
    finally:
        engine.dispose()


def query_store(url: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
    """Rows of `sql` on the store, read-only on DuckDB (`$name` parameters on both backends)."""
    with _store_queries(url) as query:
        return query(sql, params)


def _figures(
    query: Callable[[str, dict[str, Any] | None], list[tuple]],
    relation: Callable[[str], str],
    run_id: str,
) -> dict[str, Any]:
    """The summary figures of `run_id`; `relation('audit.sync_run')` names where rows are."""
    params = {"run": run_id}
    # Only relation names chosen by code are formatted into the SQL; values are bound.
    per_source = query(
        "SELECT source_system, records_read, records_staged, records_quarantined "  # noqa: S608
        f"FROM {relation('audit.source_run')} WHERE run_id = $run ORDER BY source_system",
        params,
    )
    run = query(
        "SELECT records_extracted, records_linked, records_quarantined, customers, "  # noqa: S608
        "customers_created, customers_merged, customers_split, duplicate_rate "
        f"FROM {relation('audit.sync_run')} WHERE run_id = $run",
        params,
    )
    reasons = query(
        f"SELECT reason_code, count(*) FROM {relation('audit.quarantined_record')} "  # noqa: S608
        "WHERE run_id = $run GROUP BY 1 ORDER BY 2 DESC, 1",
        params,
    )
    checks = query(
        f"SELECT check_name, passed, severity FROM {relation('audit.check_result')} "  # noqa: S608
        "WHERE run_id = $run ORDER BY check_name",
        params,
    )
    table_rows = {}
    for table in COUNTED_TABLES:
        count_sql = f"SELECT count(*) FROM {relation(table)}"  # noqa: S608
        table_rows[table] = int(query(count_sql, None)[0][0])
    keys = (
        "records_extracted",
        "records_linked",
        "records_quarantined",
        "customers",
        "customers_created",
        "customers_merged",
        "customers_split",
        "duplicate_rate",
    )
    return {
        "run_id": run_id,
        "per_source": [
            {"source": s, "read": r, "staged": st, "quarantined": q} for s, r, st, q in per_source
        ],
        "run": dict(zip(keys, run[0], strict=True)) if run else {},
        "quarantine_reasons": {code: n for code, n in reasons},
        "checks": [{"check": c, "passed": bool(p), "severity": s} for c, p, s in checks],
        "table_rows": table_rows,
    }


def store_figures(url: str, run_id: str) -> dict[str, Any]:
    """The run's figures read back from the store after publish, over one connection (a
    connection per query opened the million-record store a dozen times: ~0.4 s, py-spy)."""
    with _store_queries(url) as query:
        return _figures(query, str, run_id)


def new_rows_relation(table: str) -> str:
    """Where the publish's work connection holds the rows it is about to write."""
    return "new." + table.replace(".", "__")


def attach_summary(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """Compute the summary from the rows the publish is about to write and store it in
    audit.sync_run.summary (merged with what is there), so the store holds the same figures
    as the Dagster run. Called from the publish's `verify` hook."""

    def query(sql: str, params: dict[str, Any] | None) -> list[tuple]:
        used = {k: v for k, v in (params or {}).items() if f"${k}" in sql}
        return con.execute(sql, used).fetchall()

    figures = _figures(query, new_rows_relation, run_id)
    sync_run = new_rows_relation("audit.sync_run")
    stored = {k: v for k, v in figures.items() if k != "run_id"}
    con.execute(
        f"UPDATE {sync_run} SET summary = json_merge_patch(coalesce(summary, '{{}}'::JSON), "  # noqa: S608
        "?::JSON) WHERE run_id = ?",
        [json.dumps(stored, default=_json_default), run_id],
    )
    return figures


def _json_default(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else str(value)


def run_summary_markdown(figures: dict[str, Any], duration_s: float | None = None) -> str:
    run = figures["run"]
    lines = [f"## Sync {figures['run_id']}", ""]
    lines += ["| source | read | staged | quarantined |", "| --- | ---: | ---: | ---: |"]
    for row in figures["per_source"]:
        lines.append(
            f"| {row['source']} | {row['read']} | {row['staged']} | {row['quarantined']} |"
        )
    lines += [
        "",
        f"- records extracted: {run.get('records_extracted')}",
        f"- records linked to a customer: {run.get('records_linked')}",
        f"- records quarantined: {run.get('records_quarantined')}",
        f"- customers: {run.get('customers')} (new {run.get('customers_created')}, "
        f"merged away {run.get('customers_merged')}, split off {run.get('customers_split')})",
        f"- duplicate rate: {run.get('duplicate_rate', 0):.3f}",
    ]
    if figures["quarantine_reasons"]:
        reasons = ", ".join(f"{k}: {v}" for k, v in figures["quarantine_reasons"].items())
        lines.append(f"- quarantine by reason: {reasons}")
    failed = [c["check"] for c in figures["checks"] if not c["passed"]]
    lines.append(
        f"- checks: {len(figures['checks']) - len(failed)}/{len(figures['checks'])} passed"
        + (f" (failed: {', '.join(failed)})" if failed else "")
    )
    if duration_s is not None:
        lines.append(f"- duration: {duration_s:.1f} s")
    return "\n".join(lines)
