"""`marts.kpi_monthly`: the business's success metrics month by month, in the work DuckDB.

Business figures (active, new and returning customers, orders, revenue, margin, satisfaction)
come from this run's `resolved_activity`, so every month is recomputed with today's identities:
a duplicate merged this month stops counting as two customers in every past month too.
Data-platform figures (duplicate rate, data-quality score) cannot be recomputed for the past:
they come from the store's history of published syncs (`audit.sync_run`, `audit.data_quality`)
plus this run, as of the end of each month.
"""

from __future__ import annotations

import duckdb


def build_kpi_monthly(
    con: duckdb.DuckDBPyConnection, *, sync_runs: str, data_quality: str, target: str
) -> int:
    """Create `target` from `resolved_activity` and the history relations `sync_runs`
    (run_id, published_at, duplicate_rate) and `data_quality` (run_id, records, completeness,
    validity). The month range covers every month with activity or a sync, without gaps."""
    # Relation names are the caller's constants (identifiers cannot be bound); no values here.
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {target} AS
        WITH act AS (
            SELECT customer_id, activity_type, amount, cost, status, satisfaction,
                   CAST(date_trunc('month', occurred_at) AS DATE) AS month,
                   activity_type = 'order' AND coalesce(status, 'completed') = 'completed'
                       AS sold
            FROM resolved_activity
            WHERE occurred_at IS NOT NULL AND customer_id IS NOT NULL
        ),
        -- The month's sums straight from the activity, its customers from one DISTINCT
        -- (customer, month) pass (summing per customer and month first, then a window for
        -- each customer's first month: 1.8 s -> 0.8 s over 3.6M activity rows).
        monthly AS (
            SELECT month,
                   count(*) FILTER (WHERE sold) AS orders,
                   coalesce(sum(amount) FILTER (WHERE sold), 0) AS revenue,
                   coalesce(sum(amount - coalesce(cost, 0)) FILTER (WHERE sold), 0) AS margin,
                   sum(CAST(satisfaction AS DECIMAL(6, 2)))
                       FILTER (WHERE activity_type = 'ticket')
                       / nullif(count(satisfaction) FILTER (WHERE activity_type = 'ticket'), 0)
                       AS avg_satisfaction
            FROM act GROUP BY month
        ),
        customer_month AS (SELECT DISTINCT month, customer_id FROM act),
        first_months AS (
            SELECT first_month AS month, count(*) AS new_customers
            FROM (SELECT customer_id, min(month) AS first_month
                  FROM customer_month GROUP BY customer_id)
            GROUP BY first_month
        ),
        active AS (SELECT month, count(*) AS active_customers FROM customer_month GROUP BY month),
        business AS (
            SELECT month, a.active_customers, coalesce(f.new_customers, 0) AS new_customers,
                   m.orders, m.revenue, m.margin, m.avg_satisfaction
            FROM monthly m JOIN active a USING (month) LEFT JOIN first_months f USING (month)
        ),
        runs AS (
            SELECT r.run_id, r.published_at, r.duplicate_rate,
                   CAST(date_trunc('month', r.published_at) AS DATE) AS month,
                   -- Records-weighted mean of completeness and validity (a field no record
                   -- supplied is as valid as it can be: its gap is counted by completeness).
                   (SELECT sum(q.records * (q.completeness + coalesce(q.validity, 1.0)) / 2)
                           / nullif(sum(q.records), 0)
                    FROM {data_quality} q WHERE q.run_id = r.run_id) AS data_quality_score
            FROM {sync_runs} r
        ),
        bounds AS (
            SELECT least((SELECT min(month) FROM business), (SELECT min(month) FROM runs)) AS lo,
                   greatest((SELECT max(month) FROM business), (SELECT max(month) FROM runs))
                       AS hi
        ),
        months AS (
            SELECT CAST(m AS DATE) AS month
            FROM bounds, range(bounds.lo, bounds.hi + INTERVAL 1 MONTH, INTERVAL 1 MONTH) t(m)
            WHERE bounds.lo IS NOT NULL
        )
        SELECT m.month,
               CAST(coalesce(b.active_customers, 0) AS INTEGER) AS active_customers,
               CAST(coalesce(b.new_customers, 0) AS INTEGER) AS new_customers,
               CAST(coalesce(b.active_customers, 0) - coalesce(b.new_customers, 0) AS INTEGER)
                   AS returning_customers,
               CAST(coalesce(b.orders, 0) AS INTEGER) AS orders,
               CAST(coalesce(b.revenue, 0) AS DECIMAL(18, 2)) AS revenue,
               CAST(coalesce(b.margin, 0) AS DECIMAL(18, 2)) AS margin,
               CAST(b.avg_satisfaction AS DOUBLE) AS avg_satisfaction,
               CAST((SELECT count(*) FROM runs r WHERE r.month = m.month) AS INTEGER) AS syncs,
               -- As of the month's end: the last sync published up to then.
               (SELECT r.duplicate_rate FROM runs r WHERE r.month <= m.month
                ORDER BY r.published_at DESC, r.run_id DESC LIMIT 1) AS duplicate_rate,
               (SELECT r.data_quality_score FROM runs r WHERE r.month <= m.month
                ORDER BY r.published_at DESC, r.run_id DESC LIMIT 1) AS data_quality_score
        FROM months m LEFT JOIN business b USING (month)
        ORDER BY m.month
        """  # noqa: S608 - only relation names from the caller are formatted in
    )
    return int(con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0])  # noqa: S608
