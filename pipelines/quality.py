"""Data-quality checks as plain functions over the work area (and the store after publish).

Dagster asset checks call these; the publish stage calls them too so that their results land
in `audit.check_result` beside the data they vouch for.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa

from pipelines import stages
from pipelines.settings import Settings
from pipelines.workarea import connect
from sources.registry import CANONICAL_FIELDS


@dataclass
class CheckOutcome:
    name: str
    asset: str
    passed: bool
    severity: str  # ERROR blocks downstream assets, WARN does not
    detail: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def as_row(self) -> dict[str, Any]:
        return {
            "check_name": self.name,
            "asset": self.asset,
            "passed": self.passed,
            "severity": self.severity,
            "detail": self.detail,
        }


# Where a stage step keeps its checks' outcomes for the publish of the same run.
OUTCOMES_DIR = "check_outcomes"


def _outcome_path(settings: Settings, check: Callable[[Settings], CheckOutcome]) -> Path:
    return stages.work_area(settings).root / OUTCOMES_DIR / f"{check.__name__}.json"


def remember_outcome(
    settings: Settings,
    run_id: str,
    check: Callable[[Settings], CheckOutcome],
    outcome: CheckOutcome,
) -> None:
    """Keep the outcome `check` had in a stage step of run `run_id`, for `outcome_in_run`."""
    target = _outcome_path(settings, check)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"run_id": run_id, "outcome": asdict(outcome)}, default=str))
    os.replace(tmp, target)


def outcome_in_run(
    settings: Settings, run_id: str, check: Callable[[Settings], CheckOutcome]
) -> CheckOutcome:
    """The outcome `check` had in this run's stage step, else `check(settings)` now.

    The publish records every stage check in audit.check_result; running them again there
    read every layer a second time (1.9 s in a profile of a 1% nightly run at a million
    records). Sound within one run: a layer is written by one step, before any step that
    reads it, and nothing a check reads changes until the publish; another run (a
    re-execution, a publish materialized alone) checks again."""
    try:
        kept = json.loads(_outcome_path(settings, check).read_text())
        if kept["run_id"] == run_id:
            return CheckOutcome(**kept["outcome"])
    except (OSError, ValueError, TypeError, KeyError):
        pass
    return check(settings)


def _scalar_row(settings: Settings, sql: str, *layers: str) -> tuple:
    work = stages.work_area(settings)
    con = connect()
    try:
        for layer in layers:
            work.load(con, layer)
        return con.execute(sql).fetchall()[0]
    finally:
        con.close()


def staged_keys_unique(settings: Settings) -> CheckOutcome:
    """record_key is present and unique in the staged records."""
    total, distinct, nulls = _scalar_row(
        settings,
        "SELECT count(*), count(DISTINCT record_key), count(*) - count(record_key) FROM staged",
        "staged",
    )
    return CheckOutcome(
        "staged_keys_unique",
        "staged_customers",
        passed=total == distinct and nulls == 0,
        severity="ERROR",
        detail={"records": total, "distinct_keys": distinct, "null_keys": nulls},
        description="record_key is present and unique in the staged records",
    )


def quarantine_rate(settings: Settings) -> CheckOutcome:
    """Each source quarantines at most QUARANTINE_RATE_LIMIT of its records (WARN)."""
    limit = float(os.environ.get("QUARANTINE_RATE_LIMIT", "0.05"))
    work = stages.work_area(settings)
    con = connect()
    try:
        work.load(con, "mapped")
        work.load(con, "quarantine")
        rows = con.execute(
            """
            SELECT m.source_system, count(*) AS records,
                   count(q.source_row_number) AS quarantined
            FROM mapped m
            LEFT JOIN (SELECT DISTINCT source_system, source_row_number FROM quarantine) q
                   USING (source_system, source_row_number)
            GROUP BY 1 ORDER BY 1
            """
        ).fetchall()
    finally:
        con.close()
    rates = {s: (q / n if n else 0.0) for s, n, q in rows}
    over = {s: round(r, 4) for s, r in rates.items() if r > limit}
    return CheckOutcome(
        "quarantine_rate",
        "staged_customers",
        passed=not over,
        severity="WARN",
        detail={"limit": limit, "rates": {s: round(r, 4) for s, r in rates.items()}, "over": over},
        description=f"each source quarantines at most {limit:.0%} of its records",
    )


def pairs_valid(settings: Settings) -> CheckOutcome:
    """Probabilities lie in [0, 1] and no record is paired with itself."""
    total, bad_prob, self_pairs = _scalar_row(
        settings,
        "SELECT count(*), count(*) FILTER (WHERE match_probability NOT BETWEEN 0 AND 1 "
        "OR match_probability IS NULL), count(*) FILTER (WHERE record_key_l = record_key_r) "
        "FROM pairs",
        "pairs",
    )
    return CheckOutcome(
        "pairs_valid",
        "scored_pairs",
        passed=bad_prob == 0 and self_pairs == 0,
        severity="ERROR",
        detail={"pairs": total, "bad_probabilities": bad_prob, "self_pairs": self_pairs},
        description="probabilities lie in [0, 1] and no record is paired with itself",
    )


def every_record_clustered(settings: Settings) -> CheckOutcome:
    """Every staged record is in exactly one cluster."""
    staged, clustered, multi = _scalar_row(
        settings,
        """
        SELECT (SELECT count(*) FROM staged),
               (SELECT count(*) FROM staged s SEMI JOIN clusters c USING (record_key)),
               (SELECT count(*) FROM (SELECT record_key FROM clusters GROUP BY 1
                                      HAVING count(*) > 1))
        """,
        "staged",
        "clusters",
    )
    return CheckOutcome(
        "every_record_clustered",
        "customer_clusters",
        passed=staged == clustered and multi == 0,
        severity="ERROR",
        detail={"staged": staged, "clustered": clustered, "in_several_clusters": multi},
        description="every staged record is in exactly one cluster",
    )


def reconciliation(settings: Settings) -> CheckOutcome:
    """Records extracted = records linked to a customer + records quarantined."""
    figures = stages.reconciliation(settings)
    return CheckOutcome(
        "reconciliation",
        "customer_identity",
        passed=figures["missing"] == 0 and figures["in_both"] == 0,
        severity="ERROR",
        detail=figures,
        description="records extracted = records linked to a customer + records quarantined",
    )


def one_golden_record_per_customer(settings: Settings) -> CheckOutcome:
    """Exactly one golden record per assigned customer_id."""
    golden, distinct, customers = _scalar_row(
        settings,
        "SELECT (SELECT count(*) FROM golden), (SELECT count(DISTINCT customer_id) FROM golden), "
        "(SELECT count(DISTINCT customer_id) FROM assignment)",
        "golden",
        "assignment",
    )
    return CheckOutcome(
        "one_golden_record_per_customer",
        "golden_records",
        passed=golden == distinct == customers,
        severity="ERROR",
        detail={"golden": golden, "distinct_ids": distinct, "customers": customers},
        description="exactly one golden record per assigned customer_id",
    )


def customer_360_complete(settings: Settings) -> CheckOutcome:
    """One mart row per customer; every activity row attached to a customer."""
    mart, golden, orphans = _scalar_row(
        settings,
        "SELECT (SELECT count(*) FROM customer_360), (SELECT count(*) FROM golden), "
        "(SELECT count(*) FROM resolved_activity WHERE customer_id IS NULL)",
        "customer_360",
        "golden",
        "resolved_activity",
    )
    return CheckOutcome(
        "customer_360_complete",
        "customer_activity",
        passed=mart == golden and orphans == 0,
        severity="ERROR",
        detail={"mart_rows": mart, "golden": golden, "activity_without_customer": orphans},
        description="one mart row per customer and every activity row attached to a customer",
    )


# ---------------------------------------------------------------------------------------------
# Contracts: the columns (and their type family) each layer promises its consumers.
# Families, not exact types, so that e.g. INTEGER vs BIGINT or VARCHAR vs JSON do not break a
# contract that downstream SQL does not care about.
# ---------------------------------------------------------------------------------------------

_TEXT_FIELDS = {f: "text" for f in CANONICAL_FIELDS if f != "birth_date"}

WORK_CONTRACTS: dict[str, dict[str, str]] = {
    "staged": {
        "record_key": "text",
        "source_system": "text",
        "source_record_id": "text",
        **_TEXT_FIELDS,
        "birth_date": "date",
        "tax_id_valid": "boolean",
        "quality_flags": "list",
        "source_row_number": "integer",
    },
    "quarantine": {
        "source_system": "text",
        "source_record_id": "text",
        "source_row_number": "integer",
        "reason_code": "text",
        "reason_message": "text",
        "raw_record": "text",
    },
    "pairs": {
        "record_key_l": "text",
        "record_key_r": "text",
        "match_weight": "float",
        "match_probability": "float",
    },
    "clusters": {"record_key": "text", "cluster_id": "text"},
    "assignment": {"record_key": "text", "customer_id": "text", "cluster_size": "integer"},
    "golden": {
        "customer_id": "text",
        **_TEXT_FIELDS,
        "birth_date": "date",
        "source_count": "integer",
        "record_count": "integer",
    },
}


def type_family(type_name: str) -> str:
    """Coarse family of a DuckDB type name (as DESCRIBE prints it)."""
    t = type_name.upper()
    if t.endswith("[]"):
        return "list"
    if t in ("VARCHAR", "JSON", "TEXT", "UUID") or t.startswith("VARCHAR"):
        return "text"
    if t.startswith("DECIMAL") or t.startswith("NUMERIC"):
        return "decimal"
    if t in ("DOUBLE", "FLOAT", "REAL"):
        return "float"
    if t.endswith("INT") or t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT"):
        return "integer"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "DATE":
        return "date"
    if t == "BOOLEAN":
        return "boolean"
    if t == '"NULL"' or t == "NULL":
        return "null"
    return t.lower()


def sql_family(sql_type: sa.types.TypeEngine) -> str:
    """Family of a SQLAlchemy model type, comparable with `type_family`."""
    if isinstance(sql_type, sa.Boolean):
        return "boolean"
    if isinstance(sql_type, sa.Float):
        return "float"
    if isinstance(sql_type, sa.Integer):
        return "integer"
    if isinstance(sql_type, sa.Numeric):
        return "decimal"
    if isinstance(sql_type, sa.DateTime):
        return "timestamp"
    if isinstance(sql_type, sa.Date):
        return "date"
    return "text"  # String, Text, JSON (stored as JSON/VARCHAR text)


def _compatible(expected: str, actual: str) -> bool:
    # An all-NULL column has no type of its own; integers load into decimal columns exactly.
    return actual == expected or actual == "null" or (expected, actual) == ("decimal", "integer")


def contract_outcome(
    name: str, asset: str, expected: dict[str, str], actual: dict[str, str]
) -> CheckOutcome:
    """Compare column -> family maps: every expected column present with a compatible type."""
    missing = sorted(set(expected) - set(actual))
    wrong = {
        c: {"expected": f, "actual": actual[c]}
        for c, f in expected.items()
        if c in actual and not _compatible(f, actual[c])
    }
    return CheckOutcome(
        name,
        asset,
        passed=not missing and not wrong,
        severity="ERROR",
        detail={
            "columns": len(actual),
            "missing_columns": missing,
            "wrong_types": wrong,
            "extra_columns": sorted(set(actual) - set(expected)),
        },
        description=f"{asset} has the columns and types its consumers rely on",
    )


_describer: duckdb.DuckDBPyConnection | None = None
_describer_lock = threading.Lock()


def _parquet_families(path: Path) -> dict[str, str]:
    """The type family of each column of a Parquet file ({} if there is none). One DuckDB
    serves every contract check of a process, a cursor each (the checks of the raw tables
    run in the extraction's threads): a DESCRIBE reads only the file's footer, and opening
    a DuckDB for each of a nightly run's dozen contract checks cost ~0.3-0.5 s."""
    global _describer
    if not path.exists():
        return {}
    with _describer_lock:
        if _describer is None:
            _describer = connect()
        cursor = _describer.cursor()
    try:
        rows = cursor.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    finally:
        cursor.close()
    return {r[0]: type_family(r[1]) for r in rows}


def _layer_families(settings: Settings, layer: str) -> dict[str, str]:
    return _parquet_families(stages.work_area(settings).schema_path(layer))


def layer_contract(layer: str, asset: str) -> Callable[[Settings], CheckOutcome]:
    """A contract check of work layer `layer` (named after the asset that writes it)."""
    name = f"{asset}_contract"

    def check(settings: Settings) -> CheckOutcome:
        if layer == "customer_360":
            expected = {c.name: sql_family(c.type) for c in _model_columns("marts.customer_360")}
        else:
            expected = WORK_CONTRACTS[layer]
        return contract_outcome(name, asset, expected, _layer_families(settings, layer))

    check.__name__ = name
    check.__doc__ = f"the {layer} layer has the columns and types downstream stages read"
    return check


def _model_columns(table: str) -> list[sa.Column]:
    import models

    return list(models.metadata.tables[table].columns)


# ---------------------------------------------------------------------------------------------
# Keys and references inside the work area.
# ---------------------------------------------------------------------------------------------


def identity_keys(settings: Settings) -> CheckOutcome:
    """Every staged record has exactly one customer_id, and only staged records have one."""
    total, distinct, null_keys, null_ids, not_staged, not_assigned = _scalar_row(
        settings,
        """
        SELECT count(*), count(DISTINCT record_key), count(*) - count(record_key),
               count(*) - count(customer_id),
               (SELECT count(*) FROM assignment ANTI JOIN staged USING (record_key)),
               (SELECT count(*) FROM staged ANTI JOIN assignment USING (record_key))
        FROM assignment
        """,
        "assignment",
        "staged",
    )
    return CheckOutcome(
        "identity_keys",
        "customer_identity",
        passed=total == distinct and null_keys == null_ids == not_staged == not_assigned == 0,
        severity="ERROR",
        detail={
            "records": total,
            "distinct_record_keys": distinct,
            "null_record_keys": null_keys,
            "null_customer_ids": null_ids,
            "assigned_but_not_staged": not_staged,
            "staged_but_not_assigned": not_assigned,
        },
        description="every staged record has exactly one customer_id, and nothing else has one",
    )


def quarantine_reasons(settings: Settings) -> CheckOutcome:
    """Every quarantined record says why (reason code and message)."""
    total, no_code, no_message = _scalar_row(
        settings,
        "SELECT count(*), count(*) FILTER (WHERE coalesce(trim(reason_code), '') = ''), "
        "count(*) FILTER (WHERE coalesce(trim(reason_message), '') = '') FROM quarantine",
        "quarantine",
    )
    return CheckOutcome(
        "quarantine_reasons",
        "staged_customers",
        passed=no_code == no_message == 0,
        severity="ERROR",
        detail={"quarantine_rows": total, "without_code": no_code, "without_message": no_message},
        description="every quarantined record carries a reason code and message",
    )


# ---------------------------------------------------------------------------------------------
# Drift against the previous published run (read from the store's audit schema).
# ---------------------------------------------------------------------------------------------


def cluster_figures(settings: Settings) -> dict[str, float]:
    records, clusters, max_size, in_multi = _scalar_row(
        settings,
        """
        WITH sizes AS (SELECT cluster_id, count(*) AS n FROM clusters GROUP BY 1)
        SELECT (SELECT count(*) FROM clusters), count(*), coalesce(max(n), 0),
               coalesce(sum(n) FILTER (WHERE n > 1), 0)
        FROM sizes
        """,
        "clusters",
    )
    records, clusters = int(records), int(clusters)
    return {
        "records": records,
        "clusters": clusters,
        "duplicate_rate": round(1 - clusters / records, 6) if records else 0.0,
        "match_rate": round(int(in_multi) / records, 6) if records else 0.0,
        "mean_cluster_size": round(records / clusters, 6) if clusters else 0.0,
        "max_cluster_size": int(max_size),
    }


def previous_cluster_figures(store_url: str) -> dict[str, Any] | None:
    """The figures of the last published run: duplicate rate from audit.sync_run, cluster sizes
    from that run's `cluster_drift` row in audit.check_result. None before the first publish."""
    from pipelines.publish.summary import query_store

    try:
        runs = query_store(
            store_url,
            "SELECT run_id, duplicate_rate FROM audit.sync_run "
            "ORDER BY published_at DESC, run_id DESC LIMIT 1",
        )
        if not runs:
            return None
        run_id, duplicate_rate = runs[0]
        rows = query_store(
            store_url,
            "SELECT detail FROM audit.check_result WHERE run_id = $run "
            "AND check_name = 'cluster_drift'",
            {"run": run_id},
        )
    except Exception:  # noqa: BLE001 - no store / no audit tables yet: nothing to compare with
        return None
    previous: dict[str, Any] = {"run_id": run_id, "duplicate_rate": float(duplicate_rate or 0)}
    if rows and rows[0][0]:
        detail = rows[0][0] if isinstance(rows[0][0], dict) else json.loads(rows[0][0])
        for key in ("match_rate", "mean_cluster_size", "max_cluster_size"):
            if key in detail.get("current", {}):
                previous[key] = detail["current"][key]
    return previous


def drift_outcome(
    current: dict[str, Any],
    previous: dict[str, Any] | None,
    rate_limit: float,
    size_limit: float,
) -> CheckOutcome:
    """Pure comparison: rates may move by `rate_limit` (absolute), cluster sizes by
    `size_limit` (relative) before the check fails."""
    drifted: dict[str, dict[str, float]] = {}
    if previous:
        for key in ("duplicate_rate", "match_rate"):
            if key in previous and abs(current[key] - previous[key]) > rate_limit:
                drifted[key] = {"previous": previous[key], "current": current[key]}
        for key in ("mean_cluster_size", "max_cluster_size"):
            before = previous.get(key)
            if before and abs(current[key] - before) / before > size_limit:
                drifted[key] = {"previous": before, "current": current[key]}
    return CheckOutcome(
        "cluster_drift",
        "customer_clusters",
        passed=not drifted,
        severity="WARN",
        detail={
            "current": current,
            "previous": previous,
            "limits": {"rate_abs": rate_limit, "size_rel": size_limit},
            "drifted": drifted,
        },
        description="match rate and cluster sizes stay close to the previous published run",
    )


def cluster_drift(settings: Settings) -> CheckOutcome:
    """Match rate and cluster sizes against the previous published run (WARN)."""
    return drift_outcome(
        cluster_figures(settings),
        previous_cluster_figures(settings.store_url),
        rate_limit=float(os.environ.get("MATCH_RATE_DRIFT_LIMIT", "0.05")),
        size_limit=float(os.environ.get("CLUSTER_SIZE_DRIFT_LIMIT", "0.25")),
    )


# ---------------------------------------------------------------------------------------------
# Freshness of the store (a check on the last publish, run nightly and hourly).
# ---------------------------------------------------------------------------------------------


def freshness_outcome(
    published_at: dt.datetime | None, now: dt.datetime, max_age_hours: float
) -> CheckOutcome:
    age = None if published_at is None else (now - published_at).total_seconds() / 3600
    return CheckOutcome(
        "store_freshness",
        "core/customer",
        passed=age is not None and age <= max_age_hours,
        severity="WARN",
        detail={
            "last_published_at": published_at.isoformat() if published_at else None,
            "age_hours": None if age is None else round(age, 2),
            "max_age_hours": max_age_hours,
        },
        description=f"the store was published within the last {max_age_hours:g} hours",
    )


def store_freshness(settings: Settings) -> CheckOutcome:
    """The last publish (audit.sync_run.published_at, UTC) is recent enough."""
    from pipelines.publish.summary import query_store

    try:
        rows = query_store(settings.store_url, "SELECT max(published_at) FROM audit.sync_run")
        published_at = rows[0][0] if rows else None
    except Exception:  # noqa: BLE001 - no store yet: never published, so not fresh
        published_at = None
    if isinstance(published_at, str):
        published_at = dt.datetime.fromisoformat(published_at)
    return freshness_outcome(
        published_at,
        stages.utcnow(),
        float(os.environ.get("STORE_MAX_AGE_HOURS", "26")),
    )


PRE_PUBLISH_CHECKS: tuple[Callable[[Settings], CheckOutcome], ...] = (
    layer_contract("staged", "staged_customers"),
    staged_keys_unique,
    quarantine_reasons,
    quarantine_rate,
    layer_contract("pairs", "scored_pairs"),
    pairs_valid,
    layer_contract("clusters", "customer_clusters"),
    every_record_clustered,
    cluster_drift,
    layer_contract("assignment", "customer_identity"),
    identity_keys,
    reconciliation,
    layer_contract("golden", "golden_records"),
    one_golden_record_per_customer,
    layer_contract("customer_360", "customer_activity"),
    customer_360_complete,
)


# ---------------------------------------------------------------------------------------------
# Store checks: run by the publish on the exact rows it is about to write (the `new.*` tables
# of its work DuckDB), so that an ERROR stops the publish and leaves the store untouched. The
# same SQL runs on the store itself (`relation` maps a table to where its rows are).
# ---------------------------------------------------------------------------------------------

STORE_ASSETS: dict[str, str] = {
    "core/customer": "core.customer",
    "core/customer_source_xref": "core.customer_source_xref",
    "audit/quarantined_record": "audit.quarantined_record",
    "marts/customer_360": "marts.customer_360",
}


def _one(con: Any, sql: str) -> tuple:
    return tuple(con.execute(sql).fetchall()[0])


def store_contract(con: Any, asset: str, relation: str) -> CheckOutcome:
    table = STORE_ASSETS[asset]
    rows = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()  # noqa: S608
    actual = {r[0]: type_family(r[1]) for r in rows}
    expected = {c.name: sql_family(c.type) for c in _model_columns(table)}
    return contract_outcome(f"{asset.replace('/', '_')}_contract", asset, expected, actual)


def store_checks(con: Any, relation: Callable[[str], str]) -> list[CheckOutcome]:
    """Every store asset's checks over `con`; `relation('core.customer')` names the rows."""
    customer, xref = relation("core.customer"), relation("core.customer_source_xref")
    activity, mart = relation("core.activity"), relation("marts.customer_360")
    quarantined = relation("audit.quarantined_record")
    outcomes = [store_contract(con, asset, relation(t)) for asset, t in STORE_ASSETS.items()]

    total, distinct, nulls = _one(
        con, f"SELECT count(*), count(DISTINCT customer_id), count(*) - count(customer_id) FROM {customer}"  # noqa: S608,E501
    )
    outcomes.append(
        CheckOutcome(
            "core_customer_keys_unique",
            "core/customer",
            passed=total == distinct and nulls == 0,
            severity="ERROR",
            detail={"rows": total, "distinct_ids": distinct, "null_ids": nulls},
            description="customer_id is present and unique",
        )
    )
    xref_orphans, activity_orphans, mart_orphans = _one(
        con,
        f"""
        SELECT (SELECT count(*) FROM {xref} x ANTI JOIN {customer} c USING (customer_id)),
               (SELECT count(*) FROM {activity} a ANTI JOIN {customer} c USING (customer_id)),
               (SELECT count(*) FROM {mart} m ANTI JOIN {customer} c USING (customer_id))
        """,  # noqa: S608 - relations are table names chosen by the caller
    )
    outcomes.append(
        CheckOutcome(
            "referential_integrity",
            "core/customer",
            passed=xref_orphans == activity_orphans == mart_orphans == 0,
            severity="ERROR",
            detail={
                "xref_without_customer": xref_orphans,
                "activity_without_customer": activity_orphans,
                "mart_without_customer": mart_orphans,
            },
            description="every xref, activity and mart row points to a customer",
        )
    )
    total, distinct, null_keys, null_ids = _one(
        con,
        f"SELECT count(*), count(DISTINCT (source_system, source_record_id)), "  # noqa: S608
        f"count(*) FILTER (WHERE source_system IS NULL OR source_record_id IS NULL), "
        f"count(*) - count(customer_id) FROM {xref}",
    )
    outcomes.append(
        CheckOutcome(
            "core_customer_source_xref_keys_unique",
            "core/customer_source_xref",
            passed=total == distinct and null_keys == null_ids == 0,
            severity="ERROR",
            detail={
                "rows": total,
                "distinct_keys": distinct,
                "null_keys": null_keys,
                "null_customer_ids": null_ids,
            },
            description="(source_system, source_record_id) is present and unique; "
            "every row has a customer_id",
        )
    )
    total, no_code, no_message = _one(
        con,
        f"SELECT count(*), count(*) FILTER (WHERE coalesce(trim(reason_code), '') = ''), "  # noqa: S608
        f"count(*) FILTER (WHERE coalesce(trim(reason_message), '') = '') FROM {quarantined}",
    )
    outcomes.append(
        CheckOutcome(
            "audit_quarantined_record_has_reason",
            "audit/quarantined_record",
            passed=no_code == no_message == 0,
            severity="ERROR",
            detail={"rows": total, "without_code": no_code, "without_message": no_message},
            description="every quarantined row says why (reason code and message)",
        )
    )
    rows, distinct, active, active_without_row = _one(
        con,
        f"""
        SELECT (SELECT count(*) FROM {mart}), (SELECT count(DISTINCT customer_id) FROM {mart}),
               (SELECT count(*) FROM {customer} WHERE is_active),
               (SELECT count(*) FROM {customer} c WHERE is_active
                  AND NOT EXISTS (SELECT 1 FROM {mart} m WHERE m.customer_id = c.customer_id))
        """,  # noqa: S608
    )
    outcomes.append(
        CheckOutcome(
            "marts_customer_360_one_row_per_customer",
            "marts/customer_360",
            passed=rows == distinct and active_without_row == 0,
            severity="ERROR",
            detail={
                "rows": rows,
                "distinct_customers": distinct,
                "active_customers": active,
                "active_customers_without_row": active_without_row,
            },
            description="one row per active customer, none twice",
        )
    )
    return outcomes


def record_outcomes(con: Any, table: str, run_id: str, outcomes: list[CheckOutcome]) -> None:
    """Append outcomes to an audit.check_result-shaped table in `con` (the publish's new rows)."""
    now = stages.utcnow()
    for outcome in outcomes:
        con.execute(
            f"INSERT INTO {table} (run_id, check_name, asset, passed, severity, detail, checked_at) "  # noqa: S608,E501
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                outcome.name,
                outcome.asset,
                outcome.passed,
                outcome.severity,
                json.dumps(outcome.detail, default=str),
                now,
            ],
        )


class PublishBlocked(RuntimeError):
    """A blocking store check failed: the publish stopped and the store is unchanged."""


def blocking_failures(outcomes: list[CheckOutcome]) -> list[CheckOutcome]:
    return [o for o in outcomes if not o.passed and o.severity == "ERROR"]


def raw_contract(source: str, activity: str | None = None) -> Callable[[Settings], CheckOutcome]:
    """Contract of a raw layer (customers, or one activity table): the columns the registry
    maps, its keys and the row positions exist."""

    def check(settings: Settings) -> CheckOutcome:
        spec = stages.registry(settings).get(source)
        if activity is None:
            keys, fields = [spec.primary_key], spec.fields
        else:
            table = next(a for a in spec.activities if a.name == activity)
            keys, fields = [table.primary_key, table.customer_key], table.fields
        expected = {"_source_row_number": "integer"}
        for column in [*keys, *(c for m in fields.values() for c in m.columns)]:
            expected[column] = "any"
        actual = _parquet_families(stages.work_area(settings).raw_path(source, activity))
        # Sources type their own columns (a SQL table may deliver integers); only the stamps
        # the pipeline adds have a fixed type.
        typed = {c: (actual.get(c, f) if f == "any" else f) for c, f in expected.items()}
        asset = f"raw/{source}" + (f"/{activity}" if activity else "")
        return contract_outcome("raw_contract", asset, typed, actual)

    check.__name__ = "raw_contract"
    check.__doc__ = "the columns the registry maps, the keys and the row positions exist"
    return check


def raw_not_empty(source: str, activity: str | None = None) -> Callable[[Settings], CheckOutcome]:
    """WARN when a raw layer holds no row (a source that delivered nothing is suspicious, but
    may be legitimate: an empty activity table)."""

    def check(settings: Settings) -> CheckOutcome:
        import pyarrow.parquet as pq

        path = stages.work_area(settings).raw_path(source, activity)
        rows = pq.ParquetFile(path).metadata.num_rows if path.exists() else 0
        asset = f"raw/{source}" + (f"/{activity}" if activity else "")
        return CheckOutcome(
            "not_empty",
            asset,
            passed=rows > 0,
            severity="WARN",
            detail={"rows": rows},
            description="the source delivered at least one record",
        )

    check.__name__ = "not_empty"
    check.__doc__ = "the source delivered at least one record"
    return check


def raw_checks(
    source: str, activity: str | None = None
) -> list[tuple[Callable[[Settings], CheckOutcome], bool]]:
    """The checks of a raw asset, paired with whether they block downstream assets."""
    return [(raw_contract(source, activity), True), (raw_not_empty(source, activity), False)]
