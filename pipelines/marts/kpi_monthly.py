"""`marts.kpi_monthly`: the business's success metrics month by month, in the work DuckDB.

Business figures (active, new and returning customers, orders, revenue, margin, satisfaction)
come from this run's `resolved_activity`, so every month is recomputed with today's identities:
a duplicate merged this month stops counting as two customers in every past month too. They
are summed from each customer's month (`CUSTOMER_MONTHS`, built by the activity stage): on a
nightly run only the months of the customers whose activity was resolved again are built
again, not the 3.6M activity rows of the million-record demo (1.0-1.2 s a night under
py-spy).
Data-platform figures (duplicate rate, data-quality score) cannot be recomputed for the past:
they come from the store's history of published syncs (`audit.sync_run`, `audit.data_quality`)
plus this run, as of the end of each month.
"""

from __future__ import annotations

import duckdb

from pipelines.workarea import over_base

# Work layer: one row per customer and month with activity (`build_customer_months`).
CUSTOMER_MONTHS = "kpi_customer_month"

# Every figure of a month is a sum over its customers' months (sums of DECIMALs and counts:
# the same values as summing the activity rows at once).
_CUSTOMER_MONTH_ROWS = """
    SELECT customer_id, CAST(date_trunc('month', occurred_at) AS DATE) AS month,
           count(*) FILTER (WHERE sold) AS orders,
           sum(amount) FILTER (WHERE sold) AS revenue,
           sum(amount - coalesce(cost, 0)) FILTER (WHERE sold) AS margin,
           sum(CAST(satisfaction AS DECIMAL(6, 2))) FILTER (WHERE activity_type = 'ticket')
               AS satisfaction_sum,
           count(satisfaction) FILTER (WHERE activity_type = 'ticket') AS satisfaction_count
    FROM (SELECT customer_id, occurred_at, amount, cost, satisfaction, activity_type,
                 activity_type = 'order' AND coalesce(status, 'completed') = 'completed'
                     AS sold
          FROM {activity})
    WHERE occurred_at IS NOT NULL AND customer_id IS NOT NULL
    GROUP BY customer_id, month
"""


def build_customer_months(
    con: duckdb.DuckDBPyConnection, activity: str = "resolved_activity"
) -> None:
    """Create `CUSTOMER_MONTHS` from relation `activity` (resolved: with customer_id)."""
    con.execute(
        f"CREATE OR REPLACE TABLE {CUSTOMER_MONTHS} AS "
        + _CUSTOMER_MONTH_ROWS.format(activity=activity)
    )


def build_customer_months_incrementally(con: duckdb.DuckDBPyConnection) -> None:
    """After `resolve_activity_incrementally`, from the last run's `base_customer_months`
    (built from `base_resolved`): create `__kpi_affected` (customer_id: the customers with
    an activity row resolved again, to them now or to them before: `activity_upserts`,
    `activity_removed_customers`), `__kpi_rebuilt` (their
    months, from this run's `resolved_activity`) and `CUSTOMER_MONTHS`, a view of the base's
    months of the other customers and the rebuilt ones."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __kpi_affected AS
        SELECT customer_id FROM activity_upserts WHERE customer_id IS NOT NULL
        UNION SELECT customer_id FROM activity_removed_customers;

        CREATE OR REPLACE TEMP TABLE __kpi_rebuilt AS
        {_CUSTOMER_MONTH_ROWS.format(
            activity="(SELECT * FROM resolved_activity SEMI JOIN __kpi_affected "
            "USING (customer_id))"
        )};

        CREATE OR REPLACE TEMP VIEW {CUSTOMER_MONTHS} AS
        {over_base("base_customer_months", "__kpi_affected", "__kpi_rebuilt", ["customer_id"])};
        """  # noqa: S608 - only this module's SQL is formatted in
    )


def build_kpi_monthly(
    con: duckdb.DuckDBPyConnection,
    *,
    sync_runs: str,
    data_quality: str,
    target: str,
    customer_months: str = CUSTOMER_MONTHS,
) -> int:
    """Create `target` from `customer_months` (`build_customer_months`) and the history
    relations `sync_runs` (run_id, published_at, duplicate_rate) and `data_quality` (run_id,
    records, completeness, validity). The month range covers every month with activity or a
    sync, without gaps."""
    # Relation names are the caller's constants (identifiers cannot be bound); no values here.
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {target} AS
        WITH monthly AS (
            SELECT month,
                   sum(orders) AS orders,
                   coalesce(sum(revenue), 0) AS revenue,
                   coalesce(sum(margin), 0) AS margin,
                   sum(satisfaction_sum) / nullif(sum(satisfaction_count), 0)
                       AS avg_satisfaction,
                   count(*) AS active_customers
            FROM {customer_months} GROUP BY month
        ),
        first_months AS (
            SELECT first_month AS month, count(*) AS new_customers
            FROM (SELECT customer_id, min(month) AS first_month
                  FROM {customer_months} GROUP BY customer_id)
            GROUP BY first_month
        ),
        business AS (
            SELECT month, m.active_customers, coalesce(f.new_customers, 0) AS new_customers,
                   m.orders, m.revenue, m.margin, m.avg_satisfaction
            FROM monthly m LEFT JOIN first_months f USING (month)
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
