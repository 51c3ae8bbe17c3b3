"""Golden records for the customers whose inputs changed; the others keep last run's.

A customer's golden record and provenance are a function of its records' staged values, the
survivorship rules, and (for the recency rule of a record without a source timestamp) the
load time of the record's table. So a customer needs them again only if its set of records
changed or one of its records' values did; every other customer keeps the base's rows
(the last run's output, from the last run's `staged` and `assignment`).

Two things move without a record changing, and are handled:
- the load time of a source (`source_load`, this run's for every source read): recency
  compares it only with other load times of the same run (their order is checked to be the
  base's order, `base_source_load`) and with source timestamps, which a record whose
  customer keeps its base rows must not have after the base's load time (else everything is
  rebuilt);
- rules or code: `rules_fingerprint` is stored with the layers; another one rebuilds all.

Creates `golden` and `provenance` (views of the base's rows and the rebuilt customers':
`__g_affected` names the customers built again, `__g_golden` and `__g_provenance` hold
them), and `provenance_upserts` / `provenance_removed` (the rows of the customers built
again that differ from the base's, and the (customer_id, attribute) keys of the base's rows
that changed or are gone): applied to the last run's core.customer_attribute_provenance,
they give this run's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from pipelines.cleanse.incremental import POSITION_COLUMNS
from pipelines.golden.survivorship import SurvivorshipConfig, build_golden, load_config
from pipelines.identity.assign import MOVED_SQL
from pipelines.workarea import WorkArea, over_base

# What `build_golden_incrementally` changed in `provenance` since the base.
PROVENANCE_DELTA = ("provenance_upserts", "provenance_removed")
# The customers an incremental golden build rebuilt (`customer_id`), saved by the golden
# stage tagged with the golden layer and the base it was built over, for the publish
# (`prepare.changed_customers`).
GOLDEN_CHANGES = "golden_changes"


def load_golden_changes(
    con: duckdb.DuckDBPyConnection,
    work: WorkArea,
    built_from: str | None,
    as_name: str = "__golden_changes",
) -> str | None:
    """Load `GOLDEN_CHANGES` as view `as_name` if it leads from the golden records whose
    identity is `built_from` (what a consumer's own base was built from) to the current
    `golden` layer: then only its customers' golden records can differ from that base's.
    Returns the view's name, or None (the consumer compares every customer)."""
    if built_from is None or work.layer_metadata(GOLDEN_CHANGES, "base") != built_from:
        return None
    loaded = work.load_if_tagged(con, GOLDEN_CHANGES, {"golden": "golden"}, as_name)
    return as_name if loaded else None


def rules_fingerprint(config: SurvivorshipConfig) -> str:
    digest = hashlib.sha256(repr(config).encode())
    digest.update(Path(__file__).with_name("survivorship.py").read_bytes())
    return digest.hexdigest()[:16]


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    return con.execute(sql).fetchall()[0][0]


def build_golden_incrementally(
    con: duckdb.DuckDBPyConnection,
    config: SurvivorshipConfig | None = None,
    *,
    changes: str | None = None,
    moves: str | None = None,
) -> dict[str, int] | None:
    """From `staged`, `assignment`, `source_load` and the base (`base_staged`,
    `base_assignment`, `base_golden`, `base_provenance`, `base_source_load`), create the
    layers a full `build_golden` would give. `changes` (record_key, change), if given, names
    every record whose values may differ from `base_staged`'s besides its position (the
    cleanse's `save_changes`); otherwise the records are compared. `moves` (record_key,
    customer_id, base_customer_id), if given, names every record whose customer differs
    from `base_assignment`'s (the identity stage's ASSIGNMENT_CHANGES); otherwise the
    assignments are compared. Returns counts, or None (nothing created) when the base
    cannot be reused."""
    config = config or load_config()
    staged_columns = {r[0] for r in con.execute("DESCRIBE staged").fetchall()}
    base_columns = {r[0] for r in con.execute("DESCRIBE base_staged").fetchall()}
    if staged_columns != base_columns:
        return None
    # Load times must keep their order across sources (ties included).
    same_order = _scalar(
        con,
        """
        WITH n AS (SELECT source_system, dense_rank() OVER (ORDER BY loaded_at) AS r
                   FROM source_load),
             o AS (SELECT source_system, dense_rank() OVER (ORDER BY loaded_at) AS r
                   FROM base_source_load)
        SELECT count(*) = 0 FROM n FULL JOIN o USING (source_system)
        WHERE n.r IS DISTINCT FROM o.r AND n.source_system IS NOT NULL
          AND o.source_system IS NOT NULL
        """,
    )
    if not same_order:
        return None
    if changes is not None:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __g_changed AS "  # noqa: S608 - a quoted identifier
            f'SELECT record_key FROM "{changes}"'
        )
    else:
        # What a record says: every column but where and when it was read.
        content = "hash(" + ", ".join(
            f'"{c}"' for c in sorted(staged_columns - set(POSITION_COLUMNS))
        ) + ")"
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE __g_changed AS
            SELECT record_key FROM (SELECT record_key, {content} AS h FROM staged) n
            FULL JOIN (SELECT record_key, {content} AS h FROM base_staged) o USING (record_key)
            WHERE n.h IS DISTINCT FROM o.h
            """  # noqa: S608 - column names come from the layers themselves
        )
    moved = moves or MOVED_SQL
    con.execute(
        f"""
        -- Customers built again: those of a changed record, now or in the base, and those
        -- whose records are not the same set as in the base.
        CREATE OR REPLACE TEMP TABLE __g_affected AS
        WITH moved AS (
            SELECT customer_id AS now_id, base_customer_id AS base_id FROM {moved}
        )
        SELECT customer_id FROM assignment SEMI JOIN __g_changed USING (record_key)
        UNION SELECT customer_id FROM base_assignment SEMI JOIN __g_changed USING (record_key)
        UNION SELECT now_id FROM moved WHERE now_id IS NOT NULL
        UNION SELECT base_id FROM moved WHERE base_id IS NOT NULL;
        """  # noqa: S608 - a relation name from the caller or MOVED_SQL
    )
    # A kept customer's record with a source timestamp after the base's load time could now
    # win or lose recency against a load time: build everything.
    crossing = _scalar(
        con,
        """
        SELECT count(*) FROM staged s JOIN assignment a USING (record_key)
        ANTI JOIN __g_affected USING (customer_id)
        WHERE s.source_updated_at > (SELECT min(loaded_at) FROM base_source_load)
        """,
    )
    if crossing:
        return None
    # Tables, not views: survivorship reads its inputs once per attribute group, and each
    # read of a view joined all of staged again.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE __g_assignment AS
        SELECT * FROM assignment SEMI JOIN __g_affected USING (customer_id);
        CREATE OR REPLACE TEMP TABLE __g_staged AS
        SELECT * FROM staged SEMI JOIN __g_assignment USING (record_key);
        """
    )
    build_golden(con, config, staged="__g_staged", assignment="__g_assignment")
    con.execute(
        f"""
        ALTER TABLE golden RENAME TO __g_golden;
        ALTER TABLE provenance RENAME TO __g_provenance;

        -- The change against the base is what differs, not every row of a rebuilt customer
        -- (most of them come out the same, and the store deletes and re-inserts every key
        -- it is given: 115k keys for ~7k changed records, whose commit of deletes alone
        -- took 1.2 s on a copy of a million-record store).
        CREATE OR REPLACE TEMP TABLE __g_base_provenance AS
        SELECT * FROM base_provenance SEMI JOIN __g_affected USING (customer_id);
        CREATE OR REPLACE TABLE provenance_upserts AS
        SELECT * FROM __g_provenance
        EXCEPT SELECT * FROM __g_base_provenance;
        CREATE OR REPLACE TABLE provenance_removed AS
        SELECT customer_id, attribute FROM (
            SELECT * FROM __g_base_provenance EXCEPT SELECT * FROM __g_provenance);

        -- Views, not sorted copies: the golden stage keeps both layers as this change over
        -- their bases (`WorkArea.save_over`, the same rows); the kept rows stay in the
        -- base's order, the rebuilt customers' follow.
        CREATE OR REPLACE TEMP VIEW golden AS
        {over_base("base_golden", "__g_affected", "__g_golden", ["customer_id"])};

        -- (4.3M rows at a million records; a copy in memory cost ~0.5 s a night.) The store
        -- takes provenance_upserts / _removed.
        CREATE OR REPLACE TEMP VIEW provenance AS
        {over_base("base_provenance", "__g_affected", "__g_provenance", ["customer_id"])};
        """  # noqa: S608 - constant names
    )
    affected = int(_scalar(con, "SELECT count(*) FROM __g_affected"))
    customers = int(_scalar(con, "SELECT count(*) FROM golden"))
    # (`__g_golden`, `__g_provenance` and `__g_affected` stay: the views read them.)
    for table in ("__g_base_provenance", "__g_changed", "__g_assignment", "__g_staged"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return {"customers": customers, "customers_rebuilt": affected}
