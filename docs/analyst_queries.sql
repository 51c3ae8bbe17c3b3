-- The analyst guide's queries: the README shows this file and tests/integration/
-- test_store_analyst_queries.py runs every block against a store built by a real sync, on
-- DuckDB and as the `analyst` role on PostgreSQL. They read only what an analyst without PII
-- clearance may read (the `analyst` views and `marts.kpi_monthly`) and run unchanged on both.

-- name: top_customers_by_revenue
-- Top 20 customers by lifetime revenue across every system (persons' names are masked,
-- companies' shown).
SELECT customer_id, party_type, display_name, source_count, lifetime_revenue,
       lifetime_margin, orders, invoices_outstanding
FROM analyst.customer_360_masked
ORDER BY lifetime_revenue DESC, customer_id
LIMIT 20;

-- name: known_to_one_system
-- Customers only one system knows: worth a look before a campaign or a credit decision.
SELECT customer_id, party_type, display_name, source_systems, lifetime_revenue
FROM analyst.customer_360_masked
WHERE source_count = 1
ORDER BY lifetime_revenue DESC, customer_id;

-- name: known_to_one_system_by_system
-- ... and which systems hold them.
SELECT x.source_system, count(DISTINCT c.customer_id) AS customers
FROM analyst.customer_360_masked c
JOIN analyst.customer_source_xref x ON x.customer_id = c.customer_id AND x.is_active
WHERE c.source_count = 1
GROUP BY x.source_system
ORDER BY customers DESC, x.source_system;

-- name: duplicates_resolved_this_month
-- Duplicates resolved by the syncs published this month: source records recognised as
-- another copy of a customer, and customer ids merged into a survivor.
SELECT run_id, published_at, records_linked, customers,
       records_linked - customers AS duplicate_records, customers_merged, duplicate_rate
FROM analyst.sync_run
WHERE published_at >= date_trunc('month', current_date)
ORDER BY published_at, run_id;

-- name: customers_consolidated_this_month
-- Customers whose source records were (re)linked this month and now stand for several records.
SELECT x.customer_id, count(*) AS records, count(DISTINCT x.source_system) AS systems
FROM analyst.customer_source_xref x
JOIN analyst.sync_run r ON r.run_id = x.linked_run_id
WHERE x.is_active AND r.published_at >= date_trunc('month', current_date)
GROUP BY x.customer_id
HAVING count(*) > 1
ORDER BY records DESC, x.customer_id
LIMIT 50;

-- name: merges_this_month
-- Customer ids retired this month because they turned out to be the same customer.
SELECT customer_id AS surviving_customer_id, related_customer_ids AS merged_customer_ids,
       record_count, occurred_at
FROM analyst.identity_event
WHERE event_type = 'merged' AND occurred_at >= date_trunc('month', current_date)
ORDER BY occurred_at, customer_id;

-- name: kpi_last_12_months
-- The business's success metrics over the last 12 months.
SELECT month, active_customers, new_customers, returning_customers, orders, revenue, margin,
       avg_satisfaction, duplicate_rate, data_quality_score
FROM marts.kpi_monthly
ORDER BY month DESC
LIMIT 12;

-- name: data_quality_last_run
-- Completeness and validity per source and field in the last sync, worst first.
SELECT source_system, field, completeness, validity, values_supplied, records
FROM analyst.data_quality
WHERE run_id = (SELECT run_id FROM analyst.sync_run ORDER BY published_at DESC LIMIT 1)
ORDER BY completeness, source_system, field;
