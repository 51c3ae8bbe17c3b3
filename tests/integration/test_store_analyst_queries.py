"""Every query of the analyst guide (docs/analyst_queries.sql, shown in the README) runs
against a store built by a real sync and answers its question."""

from __future__ import annotations

import duckdb
import pytest
from store_support import run_sync

from models.dictionary import analyst_queries

pytestmark = pytest.mark.slow


def test_analyst_guide_queries_answer_on_a_synced_store(sync_env) -> None:
    run_id = run_sync()
    queries = analyst_queries()
    assert {
        "top_customers_by_revenue",
        "known_to_one_system",
        "duplicates_resolved_this_month",
    } <= set(queries)
    con = duckdb.connect(str(sync_env.store_path), read_only=True)
    try:
        results = {}
        for name, sql in queries.items():
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description]
            results[name] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        customers, one_system = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE source_count = 1) FROM marts.customer_360"
        ).fetchall()[0]
    finally:
        con.close()

    top = results["top_customers_by_revenue"]
    assert len(top) == 20
    revenue = [r["lifetime_revenue"] for r in top]
    assert revenue == sorted(revenue, reverse=True) and revenue[0] > 0
    assert any(r["source_count"] > 1 for r in top)  # revenue summed across systems
    # A person's name never reaches the analyst; companies' names do.
    assert all(r["display_name"] is None for r in top if r["party_type"] == "person")

    only_one = results["known_to_one_system"]
    assert len(only_one) == one_system > 0
    by_system = results["known_to_one_system_by_system"]
    assert sum(r["customers"] for r in by_system) == one_system

    this_month = results["duplicates_resolved_this_month"]
    assert [r["run_id"] for r in this_month] == [run_id]
    assert this_month[0]["duplicate_records"] == this_month[0]["records_linked"] - customers
    assert this_month[0]["duplicate_records"] > 0  # the demo has people in several systems
    consolidated = results["customers_consolidated_this_month"]
    assert consolidated and all(r["records"] > 1 for r in consolidated)

    kpis = results["kpi_last_12_months"]
    assert len(kpis) == 12
    assert kpis[0]["duplicate_rate"] is not None and kpis[0]["data_quality_score"] is not None
    assert sum(r["revenue"] for r in kpis) > 0
    assert results["data_quality_last_run"]
