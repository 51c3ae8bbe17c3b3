"""`marts.customer_360` and the activity it is built from, computed in the work DuckDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb

from pipelines.identity.assign import MOVED_SQL
from pipelines.workarea import over_base

# What `resolve_activity_incrementally` changed in `resolved_activity`: the kept rows of the
# keys it resolved again, and those keys (the publish applies them to core.activity).
ACTIVITY_DELTA = ("activity_upserts", "activity_removed")

# Given a relation of (source_system '<source>.<activity>', source_row_number), the SELECT of
# those rows' raw_record (`extract.raw_records`): the activity layer has no raw row.
RawRecords = Callable[[str], str]


def _resolve(
    con: duckdb.DuckDBPyConnection,
    activity: str,
    resolved: str,
    quarantine: str,
    raw_records: RawRecords,
) -> None:
    """Attach each row of `activity` to its customer via the source's customer key: kept rows
    go to table `resolved`, the others to table `quarantine` with their reason and raw row."""
    # One pass over the activity: each row's customer and, for a row that cannot be kept,
    # the reason. Duplicate keys are ranked among the resolvable rows only, so the last
    # resolvable row read is kept even when a later duplicate points nowhere. Only keys that
    # occur more than once are looked at again (`kept`): a window over every row (it cost as
    # much) handed the rows on in ~100 interleaved runs; without it they stay close to the
    # order they were read in (chunks of 2,048), which the store's primary-key index takes
    # 22% faster (core.activity at a million records, one thread: 7.8 -> 6.1 s).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __activity_resolution AS
        WITH joined AS (
            SELECT act.*, a.customer_id,
                   act.activity_id IS NULL OR a.record_key IS NULL AS unresolvable
            FROM {activity} act
            LEFT JOIN assignment a
                ON a.record_key = act.source_system || ':' || act.source_record_id
        ), kept AS (
            SELECT source_system, activity_name, activity_id,
                   max(source_row_number) AS kept_row
            FROM joined WHERE NOT unresolvable
            GROUP BY source_system, activity_name, activity_id HAVING count(*) > 1
        )
        SELECT j.* EXCLUDE (unresolvable),
               CASE WHEN j.activity_id IS NULL THEN 'missing_primary_key'
                    WHEN j.customer_id IS NULL THEN 'activity_customer_unknown'
                    WHEN j.source_row_number <> k.kept_row THEN 'duplicate_primary_key'
               END AS __reason
        FROM joined j
        LEFT JOIN kept k USING (source_system, activity_name, activity_id);

        CREATE OR REPLACE TABLE {resolved} AS
        SELECT * EXCLUDE (__reason)
        FROM __activity_resolution WHERE __reason IS NULL;

        CREATE OR REPLACE TEMP TABLE __quarantined AS
        SELECT source_system || '.' || activity_name AS source_system,
               source_row_number,
               coalesce(activity_id, '#row' || source_row_number) AS source_record_id,
               __reason AS reason_code,
               CASE __reason
                    WHEN 'missing_primary_key'
                    THEN 'activity row of ' || source_system || '.' || activity_name
                         || ' has no primary key; fill it at the source'
                    WHEN 'activity_customer_unknown'
                    THEN 'activity of ' || source_system || '.' || activity_name
                         || ' points to a customer key that is not a linked customer record '
                         || '(missing at the source or quarantined); fix the customer record'
                    ELSE 'duplicate activity key in ' || source_system || '.'
                         || activity_name || '; the last row read was kept' END
                   AS reason_message
        FROM __activity_resolution WHERE __reason IS NOT NULL;

        -- The raw row stays with the quarantine only: a kept row is published from its
        -- mapped columns.
        CREATE OR REPLACE TABLE {quarantine} AS
        SELECT q.*, r.raw_record
        FROM __quarantined q
        LEFT JOIN ({raw_records("__quarantined")}) r USING (source_system, source_row_number);

        DROP TABLE __quarantined;
        DROP TABLE __activity_resolution;
        """  # noqa: S608 - only table names and the raw layers' SELECT are formatted in
    )


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    resolved, orphaned = con.execute(
        "SELECT (SELECT count(*) FROM resolved_activity), "
        "(SELECT count(*) FROM activity_quarantine)"
    ).fetchall()[0]
    return {"activity_resolved": int(resolved), "activity_quarantined": int(orphaned)}


def resolve_activity(con: duckdb.DuckDBPyConnection, raw_records: RawRecords) -> dict[str, int]:
    """Create `resolved_activity` and `activity_quarantine` (rows whose customer key matches
    no linked record: the customer record is missing or was itself quarantined) from
    `activity` and `assignment`."""
    _resolve(con, "activity", "resolved_activity", "activity_quarantine", raw_records)
    return _counts(con)


def resolve_activity_incrementally(
    con: duckdb.DuckDBPyConnection, raw_records: RawRecords, moves: str | None = None
) -> dict[str, int]:
    """`resolve_activity` for an `activity` layer identical to the one behind
    `base_resolved` / `base_quarantine` (the last run's output, from `base_assignment`):
    only the activity of records whose customer changed is resolved again.

    A row's outcome depends on its own customer key and, through the duplicate-key ranking,
    on the other rows with its key; so every row of an affected key is resolved again (rows
    without a key are quarantined whatever their customer). Also creates `activity_upserts`
    (the kept rows of the affected keys) and `activity_removed` (the affected keys): applied
    to the last run's `core.activity`, they give this run's; `activity_removed_customers`
    (customer_id: those the base resolved the affected keys' rows to; the mart and the
    monthly figures both rebuild them, and finding them reads the base's 3.6M rows at a
    million records); and `moved_records`
    (record_key, customer_id, base_customer_id) for `build_customer_360_incrementally`:
    relation `moves` if given (the identity stage's ASSIGNMENT_CHANGES from
    `base_assignment`), else found by comparing the two assignments."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE moved_records AS
        SELECT record_key, customer_id, base_customer_id FROM {moves or MOVED_SQL};

        -- A record key is its source's name (a registry name, without ':'), ':' and its id:
        -- the few moved keys are split, instead of building the key of each of the 3.6M
        -- activity rows of the million-record demo (0.17-0.18 -> 0.13-0.16 s a night).
        CREATE OR REPLACE TABLE activity_removed AS
        SELECT DISTINCT act.source_system, act.activity_name, act.activity_id
        FROM activity act
        SEMI JOIN (
            SELECT split_part(record_key, ':', 1) AS source_system,
                   substr(record_key, strpos(record_key, ':') + 1) AS source_record_id
            FROM moved_records) m
            USING (source_system, source_record_id)
        WHERE act.activity_id IS NOT NULL;

        -- A table: resolving reads it more than once (as a view, the activity was read
        -- each time: 0.30 s, now 0.17-0.21 s to build it and a few ms to resolve it).
        CREATE OR REPLACE TEMP TABLE __affected_activity AS
        SELECT act.* FROM activity act
        SEMI JOIN activity_removed USING (source_system, activity_name, activity_id);
        """  # noqa: S608 - a relation name from the caller or MOVED_SQL
    )
    _resolve(
        con, "__affected_activity", "activity_upserts", "__affected_quarantine", raw_records
    )
    keys = int(con.execute("SELECT count(*) FROM activity_removed").fetchall()[0][0])
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE activity_removed_customers AS
        SELECT DISTINCT r.customer_id FROM base_resolved r
        SEMI JOIN activity_removed USING (source_system, activity_name, activity_id)
        WHERE r.customer_id IS NOT NULL
        """
    )
    con.execute(
        """
        -- A view: the mart reads the affected customers' rows only (copying the 3.6M rows
        -- of the million-record demo into memory cost ~0.8 s a night), and the stage keeps
        -- the layer as this change over its base (`WorkArea.save_over`, the same rows).
        CREATE OR REPLACE VIEW resolved_activity AS
        SELECT * FROM base_resolved
        ANTI JOIN activity_removed USING (source_system, activity_name, activity_id)
        UNION ALL BY NAME SELECT * FROM activity_upserts;

        CREATE OR REPLACE TABLE activity_quarantine AS
        SELECT q.* FROM base_quarantine q
        ANTI JOIN activity_removed r
            ON q.source_system = r.source_system || '.' || r.activity_name
           AND q.source_record_id = r.activity_id
           AND q.reason_code <> 'missing_primary_key'
        UNION ALL BY NAME SELECT * FROM __affected_quarantine;

        DROP TABLE __affected_quarantine;
        DROP TABLE __affected_activity;
        """
    )
    return {**_counts(con), "activity_keys_resolved_again": keys}


# The mart's columns taken from the golden record (the rest come from the records and the
# activity).
_PROFILE = """
    g.customer_id, g.party_type,
    CASE WHEN g.party_type = 'company' THEN coalesce(g.company_name, g.full_name)
         ELSE coalesce(g.full_name, concat_ws(' ', g.given_name, g.family_name)) END
        AS display_name,
    g.email, g.phone, g.city, g.country"""
_PROFILE_COUNTS = "g.source_count, g.record_count"
# Those columns by name: a customer whose values differ from last run's row is built again.
_PROFILE_COLUMNS = (
    "party_type", "display_name", "email", "phone", "city", "country", "source_count",
    "record_count",
)


def _customer_360_rows(customers: str | None = None) -> str:
    """The query of the mart's rows from `golden`, `assignment`, `staged` and
    `resolved_activity`: every customer's, or only those listed in table `customers`."""
    only = f"WHERE customer_id IN (SELECT customer_id FROM {customers})" if customers else ""  # noqa: S608, E501
    return f"""
        WITH systems AS (
            SELECT a.customer_id, list(DISTINCT s.source_system ORDER BY s.source_system) AS ss
            FROM (SELECT * FROM assignment {only}) a JOIN staged s USING (record_key) GROUP BY 1
        ),
        act AS (
            SELECT customer_id,
                sum(amount) FILTER (WHERE sold) AS revenue,
                sum(amount - coalesce(cost, 0)) FILTER (WHERE sold) AS margin,
                count(*) FILTER (WHERE sold) AS orders,
                count(*) FILTER (WHERE activity_type = 'invoice') AS invoices,
                sum(CASE WHEN activity_type = 'invoice' AND coalesce(status, 'open') <> 'paid'
                         THEN coalesce(open_amount, amount) ELSE 0 END) AS outstanding,
                count(*) FILTER (WHERE activity_type = 'ticket') AS tickets,
                count(*) FILTER (WHERE activity_type = 'ticket'
                                 AND coalesce(status, 'open') <> 'closed') AS open_tickets,
                avg(satisfaction) FILTER (WHERE activity_type = 'ticket') AS satisfaction,
                count(*) FILTER (WHERE activity_type = 'shipment') AS shipments,
                min(occurred_at) AS first_at, max(coalesce(closed_at, occurred_at)) AS last_at
            FROM (SELECT *, activity_type = 'order'
                            AND coalesce(status, 'completed') = 'completed' AS sold
                  FROM resolved_activity {only})
            GROUP BY 1
        )
        SELECT {_PROFILE},
               to_json(systems.ss) AS source_systems, {_PROFILE_COUNTS},
               coalesce(act.revenue, 0)::DECIMAL(18,2) AS lifetime_revenue,
               coalesce(act.margin, 0)::DECIMAL(18,2) AS lifetime_margin,
               coalesce(act.orders, 0) AS orders, coalesce(act.invoices, 0) AS invoices,
               coalesce(act.outstanding, 0)::DECIMAL(18,2) AS invoices_outstanding,
               coalesce(act.tickets, 0) AS tickets, coalesce(act.open_tickets, 0) AS open_tickets,
               act.satisfaction::DOUBLE AS avg_satisfaction,
               coalesce(act.shipments, 0) AS shipments,
               act.first_at AS first_interaction_at, act.last_at AS last_interaction_at,
               $as_of AS as_of
        FROM (SELECT * FROM golden {only}) g
        LEFT JOIN systems USING (customer_id)
        LEFT JOIN act USING (customer_id)
        """  # noqa: S608 - only table names from this module are formatted in


def build_customer_360(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> int:
    """Create `customer_360` from `golden`, `assignment`, `staged` and `resolved_activity`."""
    con.execute(
        f"CREATE OR REPLACE TABLE customer_360 AS {_customer_360_rows()} ORDER BY customer_id",
        {"as_of": as_of},
    )
    return int(con.execute("SELECT count(*) FROM customer_360").fetchall()[0][0])


# The change an incremental build makes to its base (`build_customer_360_incrementally`).
C360_DROP = "__c360_drop"
C360_ADD = "__c360_add"
# Which customers' mart rows an incremental build made again or removed, saved by the
# activity stage tagged with the mart layer and its base, for the publish
# (`prepare.changed_marts`).
MART_CHANGES = "customer_360_changes"


def build_customer_360_incrementally(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, golden_changes: str | None = None
) -> int:
    """`build_customer_360` after `resolve_activity_incrementally`, from the last run's
    `base_customer_360` (built from `base_assignment` and `base_resolved`): only the rows of
    customers whose inputs can differ are built again (aggregating all 3.6M activity rows of
    the million-record demo took 3.4 s of a 1% next-day run under py-spy on a slow machine;
    this build 1.3 s).

    A customer's row depends on its golden record's profile and counts, on its set of
    records, and on the activity resolved to it. So it is built again if it gained or lost
    a record (`moved_records`, both customers), if activity was resolved again to it or away
    from it (`activity_upserts`, `activity_removed_customers`), or if its
    golden profile differs from its base row; every other row is the base's, with the
    as_of it was built on (a row's as_of is the night it was last built: the publish
    keeps the store's where the figures are the same, so re-dating every row each night
    only made the whole layer differ). `golden_changes` (customer_id), if given, names
    every customer whose golden record can differ from the one the base was built from
    (the golden stage's): only their profiles are compared, not every customer's.

    Creates the view `customer_360` over the base and its change: `C360_DROP` (the base's
    customers built again or gone) and `C360_ADD` (the rows built again), for
    `WorkArea.save_over`."""
    profiles = "golden g"
    if golden_changes is not None:
        profiles = (
            f"(SELECT * FROM golden SEMI JOIN {golden_changes} USING (customer_id)) g"  # noqa: S608
        )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __c360_affected AS
        SELECT customer_id FROM moved_records WHERE customer_id IS NOT NULL
        UNION SELECT base_customer_id FROM moved_records WHERE base_customer_id IS NOT NULL
        UNION SELECT customer_id FROM activity_upserts
        UNION SELECT customer_id FROM activity_removed_customers
        UNION SELECT g.customer_id
              FROM (SELECT {_PROFILE}, {_PROFILE_COUNTS} FROM {profiles}) g
              LEFT JOIN base_customer_360 b USING (customer_id)
              WHERE b.customer_id IS NULL
                 OR ({", ".join("g." + c for c in _PROFILE_COLUMNS)})
                    IS DISTINCT FROM ({", ".join("b." + c for c in _PROFILE_COLUMNS)})
        """  # noqa: S608 - only this module's SQL is formatted in
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {C360_ADD} AS
        {_customer_360_rows("__c360_affected")} ORDER BY customer_id
        """,  # noqa: S608
        {"as_of": as_of},
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {C360_DROP} AS
        SELECT customer_id FROM __c360_affected
        UNION SELECT customer_id FROM base_customer_360 ANTI JOIN golden USING (customer_id);
        DROP TABLE __c360_affected;
        CREATE OR REPLACE TEMP VIEW customer_360 AS
        {over_base("base_customer_360", C360_DROP, C360_ADD, ["customer_id"])}
        """  # noqa: S608 - constant names
    )
    return int(con.execute("SELECT count(*) FROM customer_360").fetchall()[0][0])
