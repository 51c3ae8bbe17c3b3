"""Build the rows the store will hold after this run, in the work DuckDB.

The work connection mirrors the store's schema (DDL compiled from `models/`), so the previous
state and the new state are plain tables with the governed columns, and publish only copies
files into the store.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlalchemy as sa
from duckdb_engine import Dialect as DuckDBDialect

import models
from pipelines.cleanse import data_quality
from pipelines.golden.history import build_history
from pipelines.golden.incremental import PROVENANCE_DELTA, load_golden_changes
from pipelines.marts.customer_360 import ACTIVITY_DELTA, MART_CHANGES
from pipelines.marts.kpi_monthly import build_kpi_monthly
from pipelines.publish import store
from pipelines.publish.store import (
    TableDelta,
    TableLoad,
    duckdb_path,
    head_revision,
    is_duckdb,
    read_tables,
    table_columns,
)
from pipelines.workarea import WorkArea, file_identity, sql_literal
from sources.registry import CANONICAL_FIELDS

PREVIOUS_TABLES = (
    "core.customer",
    "core.customer_source_xref",
    "core.customer_id_redirect",
    "core.steward_decision",
    "core.customer_history",
    "core.linkage_evidence",
    "core.review_pair",
    # A row keeps its as_of while its figures stay the same.
    "marts.customer_360",
    # History for marts.kpi_monthly: what past syncs measured cannot be recomputed.
    "audit.sync_run",
    "audit.data_quality",
)
# The store file as the identity stage found it (a hard link; see `load_previous_state`).
PREVIOUS_STORE = "previous_store.duckdb"
# The golden record carries every canonical field.
GOLDEN_ATTRIBUTES = CANONICAL_FIELDS
# Tables the publish writes, and whether the new file replaces the table or is appended.
PUBLISHED: tuple[tuple[str, str], ...] = (
    ("core.customer", "replace"),
    ("core.customer_source_xref", "replace"),
    ("core.customer_history", "replace"),
    ("core.customer_id_redirect", "append"),
    ("core.identity_event", "append"),
    ("core.customer_attribute_provenance", "replace"),
    ("core.activity", "replace"),
    ("core.linkage_evidence", "replace"),
    ("audit.quarantined_record", "append"),
    ("audit.source_run", "append"),
    ("audit.sync_run", "append"),
    ("audit.check_result", "append"),
    ("audit.data_quality", "append"),
    ("marts.customer_360", "replace"),
    ("core.review_pair", "replace"),
    ("marts.kpi_monthly", "replace"),
)
# What a nightly publish knows has changed (`changed_records`): the records whose
# core.linkage_evidence rows can differ from the store's, those whose
# core.customer_source_xref rows can, the linked pairs of the latter, and their xref rows.
EVIDENCE_RECORDS = "__evidence_records"
XREF_RECORDS = "__xref_records"
EVIDENCE_BEFORE = "__evidence_before"  # the store's evidence rows of EVIDENCE_RECORDS' pairs
CHANGED_LINKED_PAIRS = "__changed_linked_pairs"
XREF_CHANGED = "__xref_changed"
# The customers whose core.customer (and history) rows can differ from the store's
# (`changed_customers`), and the new rows of those customers.
CUSTOMERS_CHANGED = "__customers_changed"
CUSTOMER_CHANGED_ROWS = "__customer_changed"
HISTORY_CHANGED_ROWS = "__history_changed"  # (see `build_history`)
CUSTOMER = "core.customer"
# The mart rows that can differ from the store's (`changed_marts`) and their new rows.
MART = "marts.customer_360"
MARTS_CHANGED = "__marts_changed"
MART_CHANGED_ROWS = "__mart_changed"
HISTORY = "core.customer_history"
# The records whose customer or cluster size differ from the store's (`save_assignment_moves`).
ASSIGNMENT_MOVES = "assignment_moves"
# An xref row's record key, as the work layers spell it.
XREF_RECORD_KEY = "source_system || ':' || source_record_id"


def _run_sql(con: duckdb.DuckDBPyConnection, script: str, params: dict) -> None:
    """Run `;`-separated statements, binding to each only the parameters it names
    (DuckDB rejects unused named parameters)."""
    for statement in (part.strip() for part in script.split(";\n")):
        if not statement:
            continue
        used = {k: v for k, v in params.items() if f"${k}" in statement}
        con.execute(statement, used)


def layer_name(table: str, prefix: str = "") -> str:
    return prefix + table.replace(".", "__")


@functools.cache
def _dialect() -> DuckDBDialect:
    # One instance: making a dialect per column cost ~0.2 s per publish (py-spy).
    return DuckDBDialect()


def _column_type(column: sa.Column) -> str:
    return column.type.compile(dialect=_dialect())


def mirror_schema(con: duckdb.DuckDBPyConnection, skip: tuple[str, ...] = ()) -> None:
    """Create the store's schemas and empty tables (`skip` excepted) in the work connection.

    Typed like the store, without its keys and checks: the store enforces those when the
    run is published, and maintaining a primary-key index while a million previous rows are
    copied in cost seconds in every stage that reads the previous state."""
    for schema in models.SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table in models.metadata.sorted_tables:
        name = f"{table.schema}.{table.name}"
        if name not in skip:
            _create_empty(con, name)


def _create_empty(con: duckdb.DuckDBPyConnection, name: str) -> None:
    columns = ", ".join(
        f'"{c.name}" {_column_type(c)}' for c in models.metadata.tables[name].columns
    )
    con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")


def _snapshot_store(url: str, snapshot: Path) -> bool:
    """Hard-link the DuckDB store file as this run's previous state; False where that is not
    a faithful copy (no store yet, PostgreSQL, another filesystem, a write-ahead log).

    Every writer replaces the store file (`os.replace` of a new file), none writes it in
    place, so the linked inode keeps exactly the state read here until the publish, at no
    cost (identity in a 1% incremental run at a million records: 7.1-7.9 s -> 2.5 s)."""
    if not is_duckdb(url):
        return False
    path = duckdb_path(url)
    if not path.exists() or path.with_name(path.name + ".wal").exists():
        return False
    try:
        os.link(path, snapshot)
    except OSError:
        return False
    return True


def _attach_snapshot(con: duckdb.DuckDBPyConnection, snapshot: Path) -> None:
    """The previous tables as views of the store snapshot, in the models' columns (a column
    or table the snapshot's older schema lacks reads as NULL / empty)."""
    con.execute("ATTACH ? AS previous_store (READ_ONLY)", [str(snapshot)])
    for name in PREVIOUS_TABLES:
        held = set(table_columns(con, name, "previous_store"))
        columns = models.metadata.tables[name].columns
        if not held:
            _create_empty(con, name)
            continue
        select = ", ".join(
            f'"{c.name}"' if c.name in held else f'CAST(NULL AS {_column_type(c)}) AS "{c.name}"'
            for c in columns
        )
        con.execute(f"CREATE VIEW {name} AS SELECT {select} FROM previous_store.{name}")  # noqa: S608


def load_previous_state(con: duckdb.DuckDBPyConnection, url: str, work: WorkArea) -> dict[str, int]:
    """Keep the store's current state for this run (identity now, the publish later) and
    expose its PREVIOUS_TABLES in `con`: a hard link of a DuckDB store file, else copies of
    the tables as `previous__*` layers."""
    snapshot = work.root / PREVIOUS_STORE
    snapshot.unlink(missing_ok=True)
    if _snapshot_store(url, snapshot):
        for table in PREVIOUS_TABLES:
            work.path(layer_name(table, "previous__")).unlink(missing_ok=True)
        mirror_schema(con, skip=PREVIOUS_TABLES)
        _attach_snapshot(con, snapshot)
    else:
        mirror_schema(con)
        previous = read_tables(url, list(PREVIOUS_TABLES))
        for table in PREVIOUS_TABLES:
            data = previous.get(table)
            if data is not None and data.num_rows:
                con.register("previous_rows", data)
                columns = ", ".join(f'"{c}"' for c in data.column_names)
                con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM previous_rows")  # noqa: S608
                con.unregister("previous_rows")
            work.save(con, layer_name(table, "previous__"), table)
    return {
        table: int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])  # noqa: S608
        for table in PREVIOUS_TABLES
    }


def identity_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """Views in the shape `pipelines.identity.assign` expects."""
    _run_sql(
        con,
        f"""
        CREATE OR REPLACE TABLE previous_xref AS
        SELECT {XREF_RECORD_KEY} AS record_key, customer_id, cluster_size, is_active
        FROM core.customer_source_xref;
        CREATE OR REPLACE TABLE previous_customer AS
        SELECT customer_id, created_at FROM core.customer;
        CREATE OR REPLACE TABLE retired_ids AS
        SELECT retired_customer_id AS customer_id FROM core.customer_id_redirect;
        """,  # noqa: S608 - a constant expression
        {},
    )


def save_assignment_moves(con: duckdb.DuckDBPyConnection, work: WorkArea) -> None:
    """In the identity stage, after `assignment` is saved: save the records whose customer
    or cluster size differ from the store snapshot's active xref (`ASSIGNMENT_MOVES`:
    record_key, moved = the customer differs), tagged with the assignment file and the
    snapshot, for the publish (`changed_records`), which would otherwise read the snapshot's
    million xref rows again to find them. Removed without a snapshot."""
    target, snapshot = work.path(ASSIGNMENT_MOVES), work.root / PREVIOUS_STORE
    if not snapshot.exists():
        target.unlink(missing_ok=True)
        return
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE __moves AS
        SELECT coalesce(a.record_key, x.record_key) AS record_key,
               a.customer_id IS DISTINCT FROM x.customer_id AS moved
        FROM assignment a
        FULL JOIN (SELECT * FROM previous_xref WHERE is_active) x USING (record_key)
        WHERE a.customer_id IS DISTINCT FROM x.customer_id
           OR a.cluster_size IS DISTINCT FROM x.cluster_size
        """
    )
    tags = {
        "assignment": file_identity(work.path("assignment")),
        "snapshot": file_identity(snapshot),
    }
    work.save(con, ASSIGNMENT_MOVES, "__moves", metadata=tags)
    con.execute("DROP TABLE __moves")


def _load_assignment_moves(con: duckdb.DuckDBPyConnection, work: WorkArea) -> bool:
    """Load the identity stage's ASSIGNMENT_MOVES as a view if they describe this assignment
    against this snapshot (else the publish builds the xref and evidence whole: a crash
    between the two saves, or a layer copied from elsewhere)."""
    tags = {"assignment": work.path("assignment"), "snapshot": work.root / PREVIOUS_STORE}
    return work.load_if_tagged(con, ASSIGNMENT_MOVES, tags)


def restore_previous(con: duckdb.DuckDBPyConnection, work: WorkArea) -> None:
    """The previous state the identity stage kept (`load_previous_state`)."""
    mirror_schema(con, skip=PREVIOUS_TABLES)
    snapshot = work.root / PREVIOUS_STORE
    if snapshot.exists():
        _attach_snapshot(con, snapshot)
        return
    for table in PREVIOUS_TABLES:
        path = work.path(layer_name(table, "previous__"))
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet(?)", [str(path)])  # noqa: S608


def _as_published(alias: str) -> str:
    """The golden record's attributes and counts as one row of text: a customer whose row
    differs from the store's was updated by this run. (An md5 of the values joined with '|'
    cost twice as long, and took a value moving to the next attribute for no change.)"""
    values = [*GOLDEN_ATTRIBUTES, "record_count", "source_count"]
    return "(" + ", ".join(f"CAST({alias}.{a} AS VARCHAR)" for a in values) + ")"


def build_publish_tables(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    now: dt.datetime,
    run_summary: dict,
    changed: bool = False,
    customers_changed: bool = False,
    marts_changed: bool = False,
    quality_counts: str | None = None,
) -> None:
    """Fill `new.<schema>__<table>` tables from the work layers loaded in `con` (golden,
    assignment, provenance, activity, quarantine, pairs, id_changes, redirects, customer_360,
    staged, mapped) and the previous state (core.* mirrored tables). `changed`: the records
    whose store rows can change are known (`changed_records`), the rest are the store's;
    `customers_changed`: likewise the customers whose core.customer rows can
    (`changed_customers`); `marts_changed`: the customers whose marts.customer_360 rows can
    (`changed_marts`). `quality_counts`: the data-quality counts of staged, if the
    staging stage saved them."""
    con.execute("CREATE SCHEMA IF NOT EXISTS new")
    params = {"run": run_id, "now": now}
    attrs = ", ".join(f"g.{a}" for a in GOLDEN_ATTRIBUTES)
    # Only column names from the models are formatted in; values are bound ($run, $now).
    # Only the customers that can differ when they are known: the others are the store's.
    golden, previous, target = "golden", "core.customer", "new.core__customer"
    if customers_changed:
        golden, previous = (
            f"(SELECT * FROM {t} SEMI JOIN {CUSTOMERS_CHANGED} USING (customer_id))"  # noqa: S608
            for t in ("golden", "core.customer")
        )
        target = CUSTOMER_CHANGED_ROWS
    _run_sql(
        con,
        f"""
        CREATE OR REPLACE TABLE {target} AS
        SELECT g.customer_id, {attrs}, g.source_count, true AS is_active, g.record_count,
               coalesce(p.created_run_id, $run) AS created_run_id,
               CASE WHEN p.customer_id IS NULL OR {_as_published("g")}
                                                   IS DISTINCT FROM {_as_published("p")}
                    THEN $run ELSE p.updated_run_id END AS updated_run_id,
               coalesce(p.created_at, $now) AS created_at,
               CASE WHEN p.customer_id IS NULL OR {_as_published("g")}
                                                   IS DISTINCT FROM {_as_published("p")}
                    THEN $now ELSE p.updated_at END AS updated_at
        FROM {golden} g LEFT JOIN {previous} p USING (customer_id)
        UNION ALL
        -- Customers whose records all disappeared from the sources are kept, inactive.
        SELECT p.* REPLACE (false AS is_active,
            CASE WHEN p.is_active THEN $run ELSE p.updated_run_id END AS updated_run_id,
            CASE WHEN p.is_active THEN $now ELSE p.updated_at END AS updated_at)
        FROM {previous} p
        WHERE p.customer_id NOT IN (SELECT customer_id FROM golden)
          AND p.customer_id NOT IN (SELECT retired_customer_id FROM redirects)
        """,  # noqa: S608 - only identifiers are formatted in
        params,
    )
    if customers_changed:
        con.execute(
            f"""
            CREATE OR REPLACE VIEW new.core__customer AS
            SELECT * FROM core.customer ANTI JOIN {CUSTOMERS_CHANGED} USING (customer_id)
            UNION ALL SELECT * FROM {CUSTOMER_CHANGED_ROWS}
            """  # noqa: S608 - constant names
        )
    build_history(
        con,
        run_id=run_id,
        now=now,
        changed=(CUSTOMERS_CHANGED, CUSTOMER_CHANGED_ROWS) if customers_changed else None,
    )
    _build_xref(con, params, changed=changed)
    _run_sql(
        con,
        """
        CREATE OR REPLACE TABLE new.core__customer_id_redirect AS
        SELECT retired_customer_id, customer_id, $run AS run_id, 'merge' AS reason,
               $now AS retired_at
        FROM redirects ORDER BY retired_customer_id;

        CREATE OR REPLACE TABLE new.core__identity_event AS
        SELECT $run || ':'
                   || lpad(CAST(row_number() OVER (ORDER BY customer_id) AS VARCHAR), 8, '0')
                   AS event_id,
               $run AS run_id, change AS event_type, customer_id,
               to_json(related_customer_ids) AS related_customer_ids, record_count,
               to_json({'records': record_count}) AS evidence, $now AS occurred_at
        FROM id_changes ORDER BY customer_id;

        -- Views: those layers are published as they are (`published_loads`).
        CREATE OR REPLACE VIEW new.core__customer_attribute_provenance AS
        SELECT customer_id, attribute, source_system, source_record_id, rule
        FROM provenance;

        CREATE OR REPLACE VIEW new.core__activity AS
        SELECT source_system, activity_name, activity_id, activity_type, source_record_id,
               customer_id, occurred_at, amount, cost, currency, status, satisfaction,
               open_amount, closed_at
        FROM resolved_activity;

        CREATE OR REPLACE TABLE new.audit__quarantined_record AS
        SELECT $run AS run_id, source_system, source_row_number, reason_code,
               source_record_id, reason_message, raw_record, $now AS quarantined_at
        FROM all_quarantine ORDER BY source_system, source_row_number, reason_code;
        """,
        params,
    )
    # A view: a nightly run reads only the rows of the pairs that can have changed
    # (`_evidence_delta`); turning a million pairs' weights into JSON cost ~1.6 s a night
    # for rows the store already held.
    evidence = _evidence_rows(con, run_id)
    con.execute(f"CREATE OR REPLACE VIEW new.core__linkage_evidence AS {evidence}")
    _run_sql(
        con,
        """
        CREATE OR REPLACE TABLE new.audit__source_run AS
        WITH m AS (SELECT source_system, count(*) AS n FROM mapped GROUP BY 1),
             s AS (SELECT source_system, count(*) AS n FROM staged GROUP BY 1),
             q AS (SELECT source_system, count(DISTINCT source_row_number) AS n
                   FROM quarantine GROUP BY 1),
             a AS (SELECT source_system, count(*) AS n FROM activity GROUP BY 1)
        SELECT $run AS run_id, m.source_system, m.n AS records_read,
               coalesce(s.n, 0) AS records_staged, coalesce(q.n, 0) AS records_quarantined,
               coalesce(a.n, 0) AS activity_rows,
               to_json(coalesce(u.unmapped_columns, [])) AS unmapped_columns
        FROM m LEFT JOIN s USING (source_system) LEFT JOIN q USING (source_system)
        LEFT JOIN a USING (source_system) LEFT JOIN unmapped u USING (source_system)
        ORDER BY m.source_system;

        CREATE OR REPLACE TABLE new.audit__check_result AS
        SELECT $run AS run_id, check_name, asset, passed, severity, detail, $now AS checked_at
        FROM check_results;


        -- The review queue: a pair queued as before keeps the run that queued it.
        CREATE OR REPLACE TABLE new.core__review_pair AS
        SELECT r.record_key_l, r.record_key_r, al.customer_id AS customer_id_l,
               ar.customer_id AS customer_id_r, r.match_probability, r.match_weight, r.reason,
               CASE WHEN p.match_weight = CAST(r.match_weight AS FLOAT)
                         AND p.customer_id_l IS NOT DISTINCT FROM al.customer_id
                         AND p.customer_id_r IS NOT DISTINCT FROM ar.customer_id
                    THEN p.run_id ELSE $run END AS run_id
        FROM review_pair r
        LEFT JOIN assignment al ON al.record_key = r.record_key_l
        LEFT JOIN assignment ar ON ar.record_key = r.record_key_r
        LEFT JOIN core.review_pair p USING (record_key_l, record_key_r)
        QUALIFY row_number() OVER (PARTITION BY r.record_key_l, r.record_key_r
                                   ORDER BY r.match_probability DESC) = 1;
        """,
        params,
    )
    _customer_360_keeping_as_of(con, restricted=marts_changed)
    summary = pa.table({"summary": [run_summary]})
    con.register("run_summary", summary)
    _run_sql(
        con,
        """
        CREATE OR REPLACE TABLE new.audit__sync_run AS
        SELECT $run AS run_id,
               (SELECT min(loaded_at) FROM source_load) AS started_at, $now AS published_at,
               (SELECT count(*) FROM mapped) AS records_extracted,
               (SELECT count(*) FROM assignment) AS records_linked,
               (SELECT count(DISTINCT (source_system, source_row_number)) FROM quarantine)
                   AS records_quarantined,
               (SELECT count(*) FROM golden) AS customers,
               (SELECT count(*) FROM id_changes WHERE change = 'created') AS customers_created,
               (SELECT count(*) FROM redirects) AS customers_merged,
               (SELECT count(*) FROM id_changes WHERE change = 'split') AS customers_split,
               CASE WHEN (SELECT count(*) FROM assignment) = 0 THEN 0.0
                    ELSE 1.0 - (SELECT count(*) FROM golden)
                             / (SELECT count(*) FROM assignment) END AS duplicate_rate,
               to_json((SELECT summary FROM run_summary)) AS summary
        """,
        params,
    )
    con.unregister("run_summary")
    build_data_quality(con, run_id, quality_counts)
    _run_sql(
        con,
        """
        CREATE OR REPLACE VIEW sync_history AS
        SELECT run_id, published_at, duplicate_rate FROM audit.sync_run
        WHERE run_id NOT IN (SELECT run_id FROM new.audit__sync_run)
        UNION ALL SELECT run_id, published_at, duplicate_rate FROM new.audit__sync_run;
        CREATE OR REPLACE VIEW quality_history AS
        SELECT run_id, records, completeness, validity FROM audit.data_quality
        WHERE run_id NOT IN (SELECT run_id FROM new.audit__data_quality)
        UNION ALL SELECT run_id, records, completeness, validity FROM new.audit__data_quality
        """,
        {},
    )
    build_kpi_monthly(
        con,
        sync_runs="sync_history",
        data_quality="quality_history",
        target="new.marts__kpi_monthly",
    )


def _xref_sql(linked: str, records: str | None) -> str:
    """The query of core.customer_source_xref's rows from the `linked` pairs; only the rows
    of the record keys in table `records`, if given (every pair of theirs is in `linked`)."""
    assignment, inactive = "assignment", ""
    if records:
        # Table names from this module.
        assignment = f"(SELECT * FROM assignment SEMI JOIN {records} USING (record_key))"  # noqa: S608
        inactive = f"AND p.record_key IN (SELECT record_key FROM {records})"  # noqa: S608
    return f"""
        WITH best AS (
            SELECT k AS record_key, max(match_probability) AS match_probability
            FROM (SELECT record_key_l AS k, match_probability FROM {linked}
                  UNION ALL SELECT record_key_r, match_probability FROM {linked})
            GROUP BY k
        )
        SELECT s.source_system, s.source_record_id, a.customer_id, a.cluster_size,
               b.match_probability, true AS is_active,
               coalesce(p.first_linked_run_id, $run) AS first_linked_run_id,
               CASE WHEN p.customer_id IS DISTINCT FROM a.customer_id OR NOT p.is_active
                    THEN $run ELSE p.linked_run_id END AS linked_run_id
        FROM {assignment} a
        JOIN staged s USING (record_key)
        LEFT JOIN best b USING (record_key)
        LEFT JOIN core.customer_source_xref p
               ON p.source_system = s.source_system AND p.source_record_id = s.source_record_id
        UNION ALL
        -- Records no longer delivered keep their link, marked inactive (never silently lost).
        SELECT p.source_system, p.source_record_id,
               coalesce(r.customer_id, p.customer_id) AS customer_id, p.cluster_size,
               p.match_probability, false AS is_active, p.first_linked_run_id,
               CASE WHEN p.is_active OR r.customer_id IS NOT NULL THEN $run
                    ELSE p.linked_run_id END AS linked_run_id
        FROM (SELECT *, {XREF_RECORD_KEY} AS record_key FROM core.customer_source_xref) p
        LEFT JOIN redirects r ON r.retired_customer_id = p.customer_id
        WHERE p.record_key NOT IN (SELECT record_key FROM assignment) {inactive}
        """  # noqa: S608 - table names from this module


def _build_xref(con: duckdb.DuckDBPyConnection, params: dict, *, changed: bool) -> None:
    """`new.core__customer_source_xref`: built whole, or (`changed`) the rows of the records
    in XREF_RECORDS built again (`XREF_CHANGED`) and the store's others as they are (a view)."""
    if not changed:
        _run_sql(
            con,
            "CREATE OR REPLACE TABLE new.core__customer_source_xref AS "
            + _xref_sql("linked_pairs", None),
            params,
        )
        return
    _run_sql(
        con,
        f"CREATE OR REPLACE TEMP TABLE {XREF_CHANGED} AS "
        + _xref_sql(CHANGED_LINKED_PAIRS, XREF_RECORDS),
        params,
    )
    listed = ", ".join(f'"{c.name}"' for c in models.metadata.tables[XREF].columns)
    con.execute(
        f"""
        CREATE OR REPLACE VIEW new.core__customer_source_xref AS
        SELECT {listed} FROM core.customer_source_xref
        WHERE {XREF_RECORD_KEY} NOT IN (SELECT record_key FROM {XREF_RECORDS})
        UNION ALL SELECT {listed} FROM {XREF_CHANGED}
        """  # noqa: S608 - names from this module and the models
    )


def weight_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The per comparison match weights (`mw_*`) that Splink wrote into `table`."""
    return [
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = ? AND column_name LIKE 'mw\\_%' ESCAPE '\\'",
            [table],
        ).fetchall()
    ]


def _evidence_rows(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    only: str | None = None,
    linked: str = "linked_pairs",
) -> str:
    """The query of core.linkage_evidence's rows, from the `linked` pairs (only the pairs
    with a record in table `only`, if given): the per comparison weights as JSON, and the
    run that scored the pair. A pair scored the same way as before keeps the run that
    scored it: an unchanged rerun leaves the table identical."""
    weights = weight_columns(con, linked)
    as_json = (
        "to_json({" + ", ".join(f"'{c[3:]}': l.\"{c}\"" for c in weights) + "})"
        if weights
        else "NULL::JSON"
    )
    pairs = linked
    if only:
        pairs = (
            f"(SELECT * FROM {linked} "  # noqa: S608 - a table name from this module
            f"WHERE record_key_l IN (SELECT record_key FROM {only}) "
            f"OR record_key_r IN (SELECT record_key FROM {only}))"
        )
    # Also the body of a view, which cannot hold a bound parameter: the run id is a literal.
    return f"""
        SELECT l.record_key_l, l.record_key_r, l.customer_id, l.match_weight,
               l.match_probability, {as_json} AS comparison_weights,
               CASE WHEN p.customer_id = l.customer_id
                         AND p.match_weight = CAST(l.match_weight AS FLOAT)
                    THEN p.run_id ELSE {sql_literal(run_id)} END AS run_id
        FROM {pairs} l
        LEFT JOIN core.linkage_evidence p USING (record_key_l, record_key_r)
        """  # noqa: S608 - column and table names come from this module and the pairs table


def _customer_360_keeping_as_of(
    con: duckdb.DuckDBPyConnection, *, restricted: bool = False
) -> None:
    """`new.marts__customer_360`: the stage's rows, where a customer's figures are the same
    as the store holds, with the store's as_of (the sync that last changed them). Moving the
    date of every row each night made the whole table change every night: 377k rows
    rewritten at a million records where a 1% change moves a few thousand.
    `restricted`: only the customers of MARTS_CHANGED can differ from the store's rows
    (`changed_marts`): their rows go to MART_CHANGED_ROWS, and `new.marts__customer_360` is
    a view of the store's other rows and those."""
    figures = [
        c
        for c in models.metadata.tables["marts.customer_360"].columns
        if c.name not in ("customer_id", "as_of")
    ]
    # Typed as the store holds them, so a value the store rounds the same compares equal.
    new = ", ".join(f'CAST(c."{c.name}" AS {_column_type(c)})' for c in figures)
    old = ", ".join(f'p."{c.name}"' for c in figures)
    mart, previous, target = "customer_360", "marts.customer_360", "new.marts__customer_360"
    if restricted:
        mart, previous = (
            f"(SELECT * FROM {t} SEMI JOIN {MARTS_CHANGED} USING (customer_id))"  # noqa: S608
            for t in (mart, previous)
        )
        target = MART_CHANGED_ROWS
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {target} AS
        SELECT c.* REPLACE (
                   CASE WHEN p.customer_id IS NOT NULL AND ({new}) IS NOT DISTINCT FROM ({old})
                        THEN p.as_of ELSE c.as_of END AS as_of)
        FROM {mart} c LEFT JOIN {previous} p ON p.customer_id = c.customer_id
        """  # noqa: S608 - identifiers from the models
    )
    if restricted:
        con.execute(
            f"""
            CREATE OR REPLACE VIEW new.marts__customer_360 AS
            SELECT * FROM marts.customer_360 ANTI JOIN {MARTS_CHANGED} USING (customer_id)
            UNION ALL BY NAME SELECT * FROM {MART_CHANGED_ROWS}
            """  # noqa: S608 - constant names
        )


def build_data_quality(
    con: duckdb.DuckDBPyConnection, run_id: str, counts: str | None = None
) -> None:
    """`new.audit__data_quality`: completeness and validity per source and field, from
    `counts` (the `data_quality.counts_sql` rows the staging stage saved) when given, else
    counted here from staged joined to mapped."""
    if counts is None:
        counts = "__quality_counts"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW __quality_bits AS {data_quality.joined_bits_sql()};"
            f"CREATE OR REPLACE TEMP VIEW {counts} AS {data_quality.counts_sql('__quality_bits')}"
        )
    # The relation's name is a constant or the caller's; the run id is bound.
    con.execute(
        f"""
        CREATE OR REPLACE TABLE new.audit__data_quality AS
        SELECT $run AS run_id, source_system, field,
               (usable / records)::DOUBLE AS completeness,
               (valid / nullif(supplied, 0))::DOUBLE AS validity,
               CAST(supplied AS INTEGER) AS values_supplied,
               CAST(records AS INTEGER) AS records, NULL::VARCHAR AS note
        FROM {counts}
        ORDER BY source_system, field
        """,  # noqa: S608
        {"run": run_id},
    )


def layer_load(work: WorkArea, table: str, layer: str, delta_layers: tuple[str, str]) -> TableLoad:
    """A table published straight from a stage's layer (saving millions of rows again cost
    seconds at a million records), with the layer's change since the last run's when the
    stage built it incrementally (`delta_layers`: upserts and removed keys, tagged with the
    layer's version and the base's)."""
    version = work.layer_metadata(layer, "version")
    delta = None
    if version and all(work.layer_metadata(name, "version") == version for name in delta_layers):
        base = work.layer_metadata(delta_layers[0], "base_version")
        if base:
            upserts, removed = (work.path(name) for name in delta_layers)
            delta = TableDelta(upserts=upserts, removed=removed, base_version=base)
    whole = work.path(layer_name(table, "publish__"))
    whole.unlink(missing_ok=True)
    if work.path(layer).exists():
        return TableLoad(
            table=table, path=work.path(layer), mode="replace", version=version, delta=delta
        )
    # A layer kept as a change over its base has no whole file: written if the store asks
    # for the whole table (its delta does not apply, a fresh build, PostgreSQL).
    return TableLoad(
        table=table,
        path=whole,
        mode="replace",
        version=version,
        delta=delta,
        write=partial(work.materialize, layer, whole),
    )


# Tables published from a stage's layer as it is: (layer, its delta layers).
LAYER_TABLES = {
    "core.activity": ("resolved_activity", ACTIVITY_DELTA),
    "core.customer_attribute_provenance": ("provenance", PROVENANCE_DELTA),
}


# Replaced tables built whole in this module whose change since the previous state is
# worked out here when that state is the store file itself (`PREVIOUS_STORE`): the store then
# deletes and inserts only the changed rows instead of comparing whole tables (the publish of
# a 1% incremental run at a million records, replayed alone: 21.0 -> 17.9 s; the join here
# costs 1.9 s for the six tables).
SNAPSHOT_DELTA_TABLES = (
    "core.customer",
    "core.customer_source_xref",
    "core.customer_history",
    "core.linkage_evidence",
    "marts.customer_360",
    "core.review_pair",
)


def _snapshot_delta(
    con: duckdb.DuckDBPyConnection,
    work: WorkArea,
    table: str,
    snapshot: Path,
    changed: tuple[str, str] | None = None,
) -> TableDelta:
    """`new.<table>` against the store snapshot (attached as `previous_store`; it holds every
    table, not only PREVIOUS_TABLES): its new and changed rows (typed as the store
    holds them, so a value the store would round the same compares equal) and the keys of the
    previous rows changed or gone. When most of a large table changed, a `rewrite` delta: the
    store replaces it whole, faster than deleting row by row, without comparing it again.
    `changed` = (relation, condition): only the rows meeting the condition can differ, and
    the relation holds the new ones (the others the table keeps as they are)."""
    columns = models.metadata.tables[table].columns
    keys = store.primary_key(table)
    typed = ", ".join(f'CAST("{c.name}" AS {_column_type(c)}) AS "{c.name}"' for c in columns)
    listed = ", ".join(f'"{c.name}"' for c in columns)
    on = " AND ".join(f'n."{k}" = p."{k}"' for k in keys)
    new_row = ", ".join(f'n."{c.name}"' for c in columns)
    old_row = ", ".join(f'p."{c.name}"' for c in columns)
    old_keys = ", ".join(f'p."{k}" AS "__old_{k}"' for k in keys)
    new_rows, only = f"new.{layer_name(table)}", ""
    if changed:
        new_rows, only = changed[0], f"WHERE {changed[1]}"
    # One join on the key finds both sides of the change (two EXCEPTs took twice as long).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __delta AS
        SELECT n.*, {old_keys}
        FROM (SELECT {typed} FROM {new_rows}) n
        FULL JOIN (SELECT {listed} FROM previous_store.{table} {only}) p ON {on}
        WHERE n."{keys[0]}" IS NULL OR p."{keys[0]}" IS NULL
           OR ({new_row}) IS DISTINCT FROM ({old_row})
        """  # noqa: S608 - identifiers from the models
    )
    (removed, previous), = con.execute(
        f'SELECT count("__old_{keys[0]}"), (SELECT count(*) FROM previous_store.{table}) '  # noqa: S608
        "FROM __delta"
    ).fetchall()
    if previous > store.PATCH_MIN_ROWS and removed > store.PATCH_MAX_SHARE * previous:
        con.execute("DROP TABLE __delta")
        return TableDelta(base_file=snapshot, rewrite=True)
    upserts, gone = (layer_name(table, "publish_delta__") + part for part in ("__up", "__gone"))
    con.execute(
        f'CREATE OR REPLACE TEMP TABLE __delta_up AS SELECT {listed} FROM __delta '  # noqa: S608
        f'WHERE "{keys[0]}" IS NOT NULL'
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __delta_gone AS SELECT "  # noqa: S608
        + ", ".join(f'"__old_{k}" AS "{k}"' for k in keys)
        + f' FROM __delta WHERE "__old_{keys[0]}" IS NOT NULL'
    )
    work.save(con, upserts, "__delta_up")
    work.save(con, gone, "__delta_gone")
    for name in ("__delta", "__delta_up", "__delta_gone"):
        con.execute(f"DROP TABLE {name}")
    return TableDelta(upserts=work.path(upserts), removed=work.path(gone), base_file=snapshot)


EVIDENCE = "core.linkage_evidence"
XREF = "core.customer_source_xref"


@dataclass(frozen=True)
class PairsVersion:
    """Which `pairs` file this run's linkage evidence is built from (`current`: the version
    of core.linkage_evidence the store will hold) and, when the linkage ran incrementally,
    which one it started from (`base`), with `pairs_touched` in the publish's connection
    naming every record whose pairs differ from that base."""

    current: str
    base: str | None = None


def _evidence_delta(
    con: duckdb.DuckDBPyConnection, work: WorkArea, run_id: str, snapshot: Path, base: str
) -> TableDelta:
    """core.linkage_evidence's change when the store snapshot holds the evidence of the pairs
    the linkage started from (`base`): only the pairs of EVIDENCE_RECORDS can differ (see
    `changed_records`); of those, the rows that did are written and the store's rows they
    replace or that are gone removed (1% changed at a million records: ~11k rows instead of
    comparing a million, and not the ~9k of those pairs scored again the same way)."""
    columns = models.metadata.tables[EVIDENCE].columns
    typed = ", ".join(f'CAST("{c.name}" AS {_column_type(c)}) AS "{c.name}"' for c in columns)
    upserts, gone = (layer_name(EVIDENCE, "publish_delta__") + part for part in ("__up", "__gone"))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __evidence_new AS SELECT {typed}
        FROM ({_evidence_rows(con, run_id, EVIDENCE_RECORDS, CHANGED_LINKED_PAIRS)});
        CREATE OR REPLACE TEMP TABLE __delta_up AS
        SELECT * FROM __evidence_new EXCEPT SELECT * FROM {EVIDENCE_BEFORE};
        CREATE OR REPLACE TEMP TABLE __delta_gone AS SELECT record_key_l, record_key_r
        FROM (SELECT * FROM {EVIDENCE_BEFORE} EXCEPT SELECT * FROM __evidence_new);
        """  # noqa: S608 - names from this module and the models
    )
    work.save(con, upserts, "__delta_up")
    work.save(con, gone, "__delta_gone")
    for name in ("__evidence_new", "__delta_up", "__delta_gone"):
        con.execute(f"DROP TABLE {name}")
    return TableDelta(
        upserts=work.path(upserts), removed=work.path(gone), base_version=base, base_file=snapshot
    )


def linked_pairs_sql(con: duckdb.DuckDBPyConnection, records: str | None = None) -> str:
    """The query of the scored pairs whose two records share a customer, with their per
    comparison weights (`mw_*`; the evidence turns them into JSON only for the rows it
    writes); only the pairs with a record in table `records`, if given."""
    weights = "".join(f', p."{column}"' for column in weight_columns(con, "pairs"))
    pairs = "pairs"
    if records:
        pairs = (
            f"(SELECT * FROM pairs WHERE record_key_l IN (SELECT record_key FROM {records}) "  # noqa: S608
            f"OR record_key_r IN (SELECT record_key FROM {records}))"
        )
    return f"""
        SELECT p.record_key_l, p.record_key_r, al.customer_id, p.match_weight,
               p.match_probability{weights}
        FROM {pairs} p
        JOIN assignment al ON al.record_key = p.record_key_l
        JOIN assignment ar ON ar.record_key = p.record_key_r
        WHERE al.customer_id = ar.customer_id
        """  # noqa: S608 - column names come from the pairs table itself


def changed_customers(
    con: duckdb.DuckDBPyConnection, work: WorkArea, *, store_url: str | None
) -> bool:
    """Whether the customers whose core.customer rows can differ from the store's are known;
    if so, creates CUSTOMERS_CHANGED (customer_id).

    They are known when the store snapshot holds the core.customer published from the
    golden records this run's were built over (`GOLDEN_CHANGES`, tagged with both): a
    customer's row depends only on its golden record and its previous row, so only the
    customers built again can differ, and the ids a merge retires (they leave the table)."""
    held = _held_at_head(con, work, store_url, CUSTOMER)
    golden_changes = load_golden_changes(con, work, held)
    if golden_changes is None:
        return False
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CUSTOMERS_CHANGED} AS "  # noqa: S608 - constant names
        f"SELECT customer_id FROM {golden_changes} "
        "UNION SELECT retired_customer_id FROM redirects"
    )
    return True


def _held_at_head(
    con: duckdb.DuckDBPyConnection, work: WorkArea, store_url: str | None, table: str
) -> str | None:
    """The version of `table` the store remembers, if the store is still this run's
    snapshot and at the head revision (a migration may change rows a restricted build
    would take as the store's)."""
    snapshot = work.root / PREVIOUS_STORE
    if not snapshot.exists() or _snapshot_revision(con) != head_revision():
        return None
    return _held_by_snapshot(store_url, snapshot).get(table)


def changed_marts(
    con: duckdb.DuckDBPyConnection, work: WorkArea, *, store_url: str | None
) -> bool:
    """Whether the customers whose marts.customer_360 rows can differ from the store's are
    known; if so, creates MARTS_CHANGED (customer_id).

    They are known when the store snapshot holds the mart published from the layer this
    run's mart was built over (`MART_CHANGES`, tagged with both): every other customer's
    row is that base's, which the store holds with its as_of."""
    held = _held_at_head(con, work, store_url, MART)
    if held is None or work.layer_metadata(MART_CHANGES, "base") != held:
        return False
    if not work.load_if_tagged(con, MART_CHANGES, {"customer_360": "customer_360"}):
        return False
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {MARTS_CHANGED} AS "  # noqa: S608 - constant names
        f"SELECT DISTINCT customer_id FROM {MART_CHANGES}"
    )
    return True


def changed_records(
    con: duckdb.DuckDBPyConnection,
    work: WorkArea,
    *,
    store_url: str | None,
    pairs: PairsVersion | None,
) -> bool:
    """Whether the records whose core.linkage_evidence and core.customer_source_xref rows
    can differ from the store's are known; if so, creates EVIDENCE_RECORDS, XREF_RECORDS
    and CHANGED_LINKED_PAIRS.

    They are known when the store snapshot holds the evidence of the pairs the linkage
    started from (`pairs.base`, with `pairs_touched` loaded in `con`). A pair's evidence row
    depends only on its scores and on its two records' customers: only the pairs of records
    scored again or whose customer changed (against the snapshot's xref) can differ. A
    record's xref row depends on its customer, its cluster's size, the best probability
    among its linked pairs and a merge retiring its customer: those records, the records
    whose cluster size changed, the other record of every pair (this run's or the store's
    evidence) of a record whose evidence can change, and the records of a retired customer."""
    snapshot = work.root / PREVIOUS_STORE
    if pairs is None or pairs.base is None or not snapshot.exists():
        return False
    if _snapshot_revision(con) != head_revision():
        return False
    if _held_by_snapshot(store_url, snapshot).get(EVIDENCE) != pairs.base:
        return False
    if not _load_assignment_moves(con, work):
        return False
    listed = ", ".join(f'"{c.name}"' for c in models.metadata.tables[EVIDENCE].columns)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {EVIDENCE_RECORDS} AS
        SELECT record_key FROM pairs_touched
        UNION SELECT record_key FROM {ASSIGNMENT_MOVES} WHERE moved;

        -- Read once from the snapshot: their other records count here, the rows themselves
        -- in the evidence's delta.
        CREATE OR REPLACE TEMP TABLE {EVIDENCE_BEFORE} AS
        SELECT {listed} FROM previous_store.{EVIDENCE}
        WHERE record_key_l IN (SELECT record_key FROM {EVIDENCE_RECORDS})
           OR record_key_r IN (SELECT record_key FROM {EVIDENCE_RECORDS});

        CREATE OR REPLACE TEMP TABLE {XREF_RECORDS} AS
        WITH now AS (
            SELECT record_key_l, record_key_r FROM pairs
            WHERE record_key_l IN (SELECT record_key FROM {EVIDENCE_RECORDS})
               OR record_key_r IN (SELECT record_key FROM {EVIDENCE_RECORDS})
        )
        SELECT record_key FROM {EVIDENCE_RECORDS}
        UNION SELECT record_key FROM {ASSIGNMENT_MOVES}
        UNION SELECT record_key_l FROM now UNION SELECT record_key_r FROM now
        UNION SELECT record_key_l FROM {EVIDENCE_BEFORE}
        UNION SELECT record_key_r FROM {EVIDENCE_BEFORE}
        UNION SELECT {XREF_RECORD_KEY} FROM previous_store.{XREF}
              WHERE customer_id IN (SELECT retired_customer_id FROM redirects);

        CREATE OR REPLACE TEMP TABLE {CHANGED_LINKED_PAIRS} AS
        {linked_pairs_sql(con, XREF_RECORDS)};
        """  # noqa: S608 - names from this module and the models
    )
    return True


def _snapshot_revision(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        rows = con.execute("SELECT version_num FROM previous_store.main.alembic_version").fetchall()
    except duckdb.CatalogException:  # a store file not made by the migrations
        return None
    return rows[0][0] if len(rows) == 1 else None


def table_loads(
    con: duckdb.DuckDBPyConnection,
    work: WorkArea,
    *,
    run_id: str,
    store_url: str | None = None,
    pairs: PairsVersion | None = None,
    changed: bool = False,
    customers_changed: bool = False,
    marts_changed: bool = False,
) -> list[TableLoad]:
    """Save every `new.*` table as a layer, except those whose change against a store
    snapshot (SNAPSHOT_DELTA_TABLES) is worked out: their whole layer is written only if the
    store asks for it (`TableLoad.file`), so `con` must stay open until the store is written
    (at a million records, their whole layers cost ~2.5 s a night for nothing).
    The linkage evidence's and the xref's changes are read from the records that changed
    when those are known (`changed`: see `changed_records`; `pairs` names the pairs file),
    the customers' from the customers that changed (`customers_changed`), the mart's from
    the customers whose rows were built again (`marts_changed`).
    Saved `new.*` tables are dropped. Returns how publish loads them."""
    snapshot = work.root / PREVIOUS_STORE
    deltas = {}
    # A store at an older revision is migrated before it is patched, which may change rows
    # the delta would take as unchanged.
    if snapshot.exists() and _snapshot_revision(con) == head_revision():
        for table in SNAPSHOT_DELTA_TABLES:
            if changed and table == EVIDENCE:
                assert pairs is not None and pairs.base is not None
                deltas[table] = _evidence_delta(con, work, run_id, snapshot, pairs.base)
            elif changed and table == XREF:
                only = f"{XREF_RECORD_KEY} IN (SELECT record_key FROM {XREF_RECORDS})"  # noqa: S608
                deltas[table] = _snapshot_delta(con, work, table, snapshot, (XREF_CHANGED, only))
            elif customers_changed and table in (CUSTOMER, HISTORY):
                only = f"customer_id IN (SELECT customer_id FROM {CUSTOMERS_CHANGED})"  # noqa: S608
                rows = CUSTOMER_CHANGED_ROWS if table == CUSTOMER else HISTORY_CHANGED_ROWS
                deltas[table] = _snapshot_delta(con, work, table, snapshot, (rows, only))
            elif marts_changed and table == MART:
                only = f"customer_id IN (SELECT customer_id FROM {MARTS_CHANGED})"  # noqa: S608
                deltas[table] = _snapshot_delta(
                    con, work, table, snapshot, (MART_CHANGED_ROWS, only)
                )
            else:
                deltas[table] = _snapshot_delta(con, work, table, snapshot)
    writers = {}
    for table, _mode in PUBLISHED:
        if table in LAYER_TABLES:
            continue
        name, relation = layer_name(table, "publish__"), "new." + layer_name(table)
        if table in deltas:
            # Not last run's file: the store must never take that for this run's table.
            work.path(name).unlink(missing_ok=True)
            writers[table] = partial(_save_in_key_order, con, work, name, table)
        else:
            _save_in_key_order(con, work, name, table)
            # (The evidence is a view: nothing to free.)
            if table != EVIDENCE:
                con.execute(f"DROP TABLE {relation}")
    versions = {EVIDENCE: pairs.current} if pairs is not None else {}
    if work.exists("golden"):
        # The store then holds the customers built from these golden records
        # (`changed_customers`).
        versions[CUSTOMER] = work.identity("golden")
    if work.exists("customer_360"):
        # ... and this mart (`changed_marts`).
        versions[MART] = work.identity("customer_360")
    assignment = work.layer_metadata("assignment", "version")
    if assignment:
        # ... and the links of this assignment (`assign_identity` starts from it).
        versions[XREF] = assignment
    return published_loads(work, deltas, writers, versions)


def snapshot_versions(work: WorkArea, store_url: str | None) -> dict[str, str]:
    """The table versions the store remembers (`store.held_versions`), if the store is
    still the snapshot this run took of it (`load_previous_state`)."""
    return _held_by_snapshot(store_url, work.root / PREVIOUS_STORE)


def _held_by_snapshot(store_url: str | None, snapshot: Path) -> dict[str, str]:
    """The table versions the store remembers, if the store is still the snapshot."""
    if store_url is None or not is_duckdb(store_url):
        return {}
    path = duckdb_path(store_url)
    try:
        if not snapshot.samefile(path):
            return {}
    except OSError:
        return {}
    return store.held_versions(path)


def _save_in_key_order(
    con: duckdb.DuckDBPyConnection, work: WorkArea, name: str, table: str
) -> int:
    """Save `new.<table>` as layer `name`, the rows of SNAPSHOT_DELTA_TABLES sorted by their key
    (a table loaded whole into the store is read in that order). Those tables are built
    unsorted: on a nightly run only their change goes to the store, and sorting every row
    of them for nothing cost ~1 s at a million records."""
    relation = "new." + layer_name(table)
    if table not in SNAPSHOT_DELTA_TABLES:
        return work.save(con, name, relation)
    keys = ", ".join(f'"{c}"' for c in store.primary_key(table))
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW __in_key_order AS SELECT * FROM {relation} ORDER BY {keys}"  # noqa: S608
    )
    try:
        return work.save(con, name, "__in_key_order")
    finally:
        con.execute("DROP VIEW __in_key_order")


def published_loads(
    work: WorkArea,
    deltas: dict[str, TableDelta] | None = None,
    writers: dict[str, Callable[[], object]] | None = None,
    versions: dict[str, str] | None = None,
) -> list[TableLoad]:
    """The loads of the layers `table_loads` saved (or left to `writers`), with the
    `deltas` it worked out and the `versions` of the tables it knows them for."""
    deltas = deltas or {}
    writers = writers or {}
    versions = versions or {}
    return [
        layer_load(work, table, *LAYER_TABLES[table])
        if table in LAYER_TABLES
        else TableLoad(
            table=table,
            path=work.path(layer_name(table, "publish__")),
            mode=mode,
            version=versions.get(table),
            delta=deltas.get(table),
            write=writers.get(table),
        )
        for table, mode in PUBLISHED
    ]
