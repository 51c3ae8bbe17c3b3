"""`marts.kpi_monthly` on a handful of activity rows and syncs, figures worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from pipelines.marts.kpi_monthly import build_customer_months, build_kpi_monthly


def _kpi() -> dict[dt.date, dict]:
    con = duckdb.connect()
    con.execute(
        """
        CREATE TABLE resolved_activity AS SELECT * FROM (VALUES
            ('A', 'order',   TIMESTAMP '2026-01-05', 100.00, 60.00, 'completed', NULL),
            ('A', 'order',   TIMESTAMP '2026-01-20',  50.00, NULL,  NULL,        NULL),
            ('B', 'order',   TIMESTAMP '2026-01-07',  30.00, 10.00, 'cancelled', NULL),
            ('B', 'ticket',  TIMESTAMP '2026-01-08',  NULL,  NULL,  'closed',    4.00),
            ('A', 'ticket',  TIMESTAMP '2026-03-02',  NULL,  NULL,  'open',      2.00),
            ('C', 'order',   TIMESTAMP '2026-03-09',  20.00, 5.00,  'completed', NULL),
            ('C', 'invoice', NULL,                    20.00, NULL,  'paid',      NULL),
            (NULL, 'order',  TIMESTAMP '2026-03-10', 999.00, NULL,  'completed', NULL)
        ) t(customer_id, activity_type, occurred_at, amount, cost, status, satisfaction)
        """
    )
    con.execute(
        """
        CREATE TABLE sync_runs AS SELECT * FROM (VALUES
            ('r1', TIMESTAMP '2026-01-31 23:00', 0.25),
            ('r2', TIMESTAMP '2026-04-01 01:00', 0.20)
        ) t(run_id, published_at, duplicate_rate);
        ALTER TABLE sync_runs ALTER duplicate_rate TYPE DOUBLE;
        CREATE TABLE data_quality AS SELECT * FROM (VALUES
            ('r1', 10, 0.8, 0.6),
            ('r1', 30, 0.4, NULL),
            ('r2', 10, 1.0, 1.0)
        ) t(run_id, records, completeness, validity);
        ALTER TABLE data_quality ALTER completeness TYPE DOUBLE;
        ALTER TABLE data_quality ALTER validity TYPE DOUBLE
        """
    )
    build_customer_months(con)
    rows = build_kpi_monthly(
        con, sync_runs="sync_runs", data_quality="data_quality", target="kpi"
    )
    result = con.execute("SELECT * FROM kpi ORDER BY month")
    names = [d[0] for d in result.description]
    out = {row[0]: dict(zip(names, row, strict=True)) for row in result.fetchall()}
    assert rows == len(out)
    return out


def test_business_figures_per_month() -> None:
    kpi = _kpi()
    january, february, march = (dt.date(2026, m, 1) for m in (1, 2, 3))
    assert kpi[january]["active_customers"] == 2  # A and B
    assert kpi[january]["new_customers"] == 2
    assert kpi[january]["returning_customers"] == 0
    # A's two completed orders (no status counts as completed); B's was cancelled
    assert kpi[january]["orders"] == 2
    assert kpi[january]["revenue"] == Decimal("150.00")
    assert kpi[january]["margin"] == Decimal("90.00")  # 100-60 + 50-0
    assert kpi[january]["avg_satisfaction"] == pytest.approx(4.0)
    # a month without activity is there, with zeros
    assert kpi[february]["active_customers"] == 0 and kpi[february]["orders"] == 0
    assert kpi[february]["avg_satisfaction"] is None
    # A returns, C is new; the order without a customer and the undated invoice do not count
    assert (kpi[march]["active_customers"], kpi[march]["new_customers"]) == (2, 1)
    assert kpi[march]["returning_customers"] == 1
    assert (kpi[march]["orders"], kpi[march]["revenue"]) == (1, Decimal("20.00"))
    assert kpi[march]["avg_satisfaction"] == pytest.approx(2.0)


def test_platform_figures_as_of_each_month_end() -> None:
    kpi = _kpi()
    assert list(kpi) == [dt.date(2026, m, 1) for m in (1, 2, 3, 4)]
    # r1: records-weighted mean of (completeness + validity, a missing validity as 1) / 2
    r1_quality = (10 * (0.8 + 0.6) / 2 + 30 * (0.4 + 1.0) / 2) / 40
    for month, syncs, rate, quality in (
        (1, 1, 0.25, r1_quality),
        (2, 0, 0.25, r1_quality),  # no sync in February: January's figures still hold
        (3, 0, 0.25, r1_quality),
        (4, 1, 0.20, 1.0),
    ):
        row = kpi[dt.date(2026, month, 1)]
        assert row["syncs"] == syncs
        assert row["duplicate_rate"] == pytest.approx(rate)
        assert row["data_quality_score"] == pytest.approx(quality)
