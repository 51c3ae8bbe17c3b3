"""The run summary: figures read back from the store after publish (counts only, no PII)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pipelines.publish.store import duckdb_path, is_duckdb

COUNTED_TABLES = (
    "core.customer",
    "core.customer_source_xref",
    "audit.quarantined_record",
    "marts.customer_360",
    "core.activity",
)


def _query(url: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
    if is_duckdb(url):
        import duckdb

        con = duckdb.connect(str(duckdb_path(url)), read_only=True)
        try:
            return con.execute(sql, params or {}).fetchall()
        finally:
            con.close()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql.replace("$", ":")), params or {})]
    finally:
        engine.dispose()


def store_figures(url: str, run_id: str) -> dict[str, Any]:
    params = {"run": run_id}
    per_source = _query(
        url,
        "SELECT source_system, records_read, records_staged, records_quarantined "
        "FROM audit.source_run WHERE run_id = $run ORDER BY source_system",
        params,
    )
    run = _query(
        url,
        "SELECT records_extracted, records_linked, records_quarantined, customers, "
        "customers_created, customers_merged, customers_split, duplicate_rate "
        "FROM audit.sync_run WHERE run_id = $run",
        params,
    )
    reasons = _query(
        url,
        "SELECT reason_code, count(*) FROM audit.quarantined_record WHERE run_id = $run "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        params,
    )
    checks = _query(
        url,
        "SELECT check_name, passed, severity FROM audit.check_result WHERE run_id = $run "
        "ORDER BY check_name",
        params,
    )
    table_rows = {}
    for table in COUNTED_TABLES:
        table_rows[table] = _query(url, f"SELECT count(*) FROM {table}")[0][0]  # noqa: S608
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
