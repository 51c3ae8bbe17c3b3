"""Data-quality checks as plain functions over the work area (and the store after publish).

Dagster asset checks call these; the publish stage calls them too so that their results land
in `audit.check_result` beside the data they vouch for.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines import stages
from pipelines.publish.store import duckdb_path, is_duckdb
from pipelines.settings import Settings
from pipelines.workarea import connect


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
    figures = stages.reconciliation(settings)
    return CheckOutcome(
        "reconciliation",
        "customer_identity",
        passed=figures["missing"] == 0 and figures["in_both"] == 0,
        severity="ERROR",
        detail=figures,
        description="records extracted = records linked to a customer + records quarantined",
    )


def golden_complete(settings: Settings) -> CheckOutcome:
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


def mart_complete(settings: Settings) -> CheckOutcome:
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
        "customer_360",
        passed=mart == golden and orphans == 0,
        severity="ERROR",
        detail={"mart_rows": mart, "golden": golden, "activity_without_customer": orphans},
        description="one mart row per customer and every activity row attached to a customer",
    )


PRE_PUBLISH_CHECKS: tuple[Callable[[Settings], CheckOutcome], ...] = (
    staged_keys_unique,
    quarantine_rate,
    pairs_valid,
    every_record_clustered,
    reconciliation,
    golden_complete,
    mart_complete,
)


def store_integrity(settings: Settings) -> CheckOutcome:
    """After publish: every xref and activity row points to a customer; keys unique."""
    sql = """
        SELECT
          (SELECT count(*) FROM core.customer_source_xref x
             ANTI JOIN core.customer c USING (customer_id)),
          (SELECT count(*) FROM core.activity a ANTI JOIN core.customer c USING (customer_id)),
          (SELECT count(*) - count(DISTINCT customer_id) FROM core.customer),
          (SELECT count(*) FROM marts.customer_360 m ANTI JOIN core.customer c USING (customer_id))
    """
    if is_duckdb(settings.store_url):
        import duckdb

        con = duckdb.connect(str(duckdb_path(settings.store_url)), read_only=True)
        try:
            xref, activity, dup, mart = con.execute(sql).fetchall()[0]
        finally:
            con.close()
    else:
        import sqlalchemy as sa

        engine = sa.create_engine(settings.store_url)
        with engine.connect() as conn:
            xref, activity, dup, mart = conn.execute(
                sa.text(
                    sql.replace("ANTI JOIN", "LEFT JOIN").replace(
                        "USING (customer_id))", "USING (customer_id) WHERE c.customer_id IS NULL)"
                    )
                )
            ).one()
        engine.dispose()
    return CheckOutcome(
        "referential_integrity",
        "core/customer",
        passed=xref == activity == dup == mart == 0,
        severity="ERROR",
        detail={
            "xref_without_customer": xref,
            "activity_without_customer": activity,
            "duplicate_customer_ids": dup,
            "mart_without_customer": mart,
        },
        description="every xref, activity and mart row points to exactly one customer",
    )
