"""The governed store's tables, written together by one atomic publish."""

import datetime as dt
import os
from typing import Any

import dagster as dg
import duckdb
from dagster import AssetExecutionContext

import models
from models.dictionary import table_schema
from pipelines import quality, stages
from pipelines.ops import lineage
from pipelines.ops.metadata import code_version
from pipelines.publish import prepare, store
from pipelines.publish.summary import (
    attach_summary,
    new_rows_relation,
    run_summary_markdown,
    store_figures,
)
from pipelines.resources import SyncSettings, check_result, run_settings
from pipelines.wiring import WORK_OWNERS

# Dagster concurrency pool of the publish: the instance limits it to one slot (dagster.yaml
# `concurrency.pools.default_limit: 1`), so two runs never publish at the same time.
PUBLISH_POOL = "customer_store"

STORE_TABLES = {
    "core/customer": "One golden record per real customer (core.customer).",
    "core/customer_source_xref": "Source record -> customer_id (core.customer_source_xref).",
    "audit/quarantined_record": "Records held back, with reasons (audit.quarantined_record).",
    "marts/customer_360": "Each customer with activity from all systems (marts.customer_360).",
}
# The work assets whose layers each table is built from (the publish reads them all).
STORE_DEPS = {
    "core/customer": ["golden_records", "customer_identity", "customer_activity"],
    "core/customer_source_xref": ["customer_identity", "staged_customers", "scored_pairs"],
    "audit/quarantined_record": ["staged_customers", "customer_activity"],
    "marts/customer_360": ["customer_activity"],
}
# The checks of each store asset, run inside the publish (see `verify`): all blocking, since
# a failing ERROR check stops the publish itself and the store keeps its previous state.
STORE_CHECK_NAMES: dict[str, dict[str, str]] = {
    "core/customer": {
        "core_customer_contract": "columns and types match models/ (core.customer)",
        "core_customer_keys_unique": "customer_id is present and unique",
        "referential_integrity": "every xref, activity and mart row points to a customer",
    },
    "core/customer_source_xref": {
        "core_customer_source_xref_contract": "columns and types match models/",
        "core_customer_source_xref_keys_unique": "(source_system, source_record_id) present "
        "and unique; every row has a customer_id",
    },
    "audit/quarantined_record": {
        "audit_quarantined_record_contract": "columns and types match models/",
        "audit_quarantined_record_has_reason": "every quarantined row has a reason code and "
        "message",
    },
    "marts/customer_360": {
        "marts_customer_360_contract": "columns and types match models/",
        "marts_customer_360_one_row_per_customer": "one row per active customer, none twice",
    },
}


def store_freshness_policy() -> dg.FreshnessPolicy:
    """The store must be republished within STORE_MAX_AGE_HOURS (default 26 h: nightly + slack);
    it warns two hours earlier."""
    max_age = float(os.environ.get("STORE_MAX_AGE_HOURS", "26"))
    return dg.FreshnessPolicy.time_window(
        fail_window=dt.timedelta(hours=max_age),
        warn_window=dt.timedelta(hours=max(max_age - 2, 1)),
    )


def _key(key: str) -> dg.AssetKey:
    return dg.AssetKey(key.split("/"))


def _store_spec(key: str, description: str) -> dg.AssetSpec:
    table = quality.STORE_ASSETS[key]
    return dg.AssetSpec(
        key=_key(key),
        deps=STORE_DEPS[key],
        description=f"{description} {models.metadata.tables[table].comment or ''}".strip(),
        group_name="store",
        kinds={"duckdb", "postgres", "table"},
        owners=WORK_OWNERS,
        code_version=code_version(prepare, store, models.core, models.audit, models.marts),
        tags={"layer": "store"},
        metadata={
            "dagster/column_schema": table_schema(table),
            "dagster/table_name": table,
        },
        freshness_policy=store_freshness_policy(),
    )


def _check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name=name, asset=_key(key), blocking=True, description=description)
        for key, checks in STORE_CHECK_NAMES.items()
        for name, description in checks.items()
    ]


@dg.multi_asset(
    name="publish_store",
    specs=[_store_spec(key, description) for key, description in STORE_TABLES.items()],
    check_specs=_check_specs(),
    pool=PUBLISH_POOL,
)
def publish_store(context: AssetExecutionContext, sync: SyncSettings):
    settings = run_settings(context, sync)
    checks = [
        quality.outcome_in_run(settings, context.run_id, check).as_row()
        for check in quality.PRE_PUBLISH_CHECKS
    ]
    outcomes: list[quality.CheckOutcome] = []

    def verify(con: duckdb.DuckDBPyConnection) -> None:
        # The store checks run on the exact rows about to be written; their results and the
        # run summary are written in the same atomic publish.
        outcomes.extend(quality.store_checks(con, new_rows_relation))
        quality.record_outcomes(
            con, new_rows_relation("audit.check_result"), context.run_id, outcomes
        )
        attach_summary(con, context.run_id)
        failed = quality.blocking_failures(outcomes)
        if failed:
            details = "; ".join(f"{o.asset} {o.name}: {o.detail}" for o in failed)
            raise quality.PublishBlocked(
                f"publish of run {context.run_id} stopped, the store is unchanged: blocking "
                f"store checks failed ({details}). Fix the stage that produced these rows "
                "and rerun the sync."
            )

    published = stages.publish(settings, context.run_id, checks, verify=verify)
    figures = store_figures(settings.store_url, context.run_id)
    summary = run_summary_markdown(figures)
    context.log.info("published run %s", context.run_id)
    _tag_run(context, figures)
    row_counts = figures["table_rows"]
    for key in STORE_TABLES:
        table = quality.STORE_ASSETS[key]
        columns = [c.name for c in models.metadata.tables[table].columns]
        metadata: dict[str, Any] = {
            "dagster/row_count": row_counts.get(table, 0),
            "dagster/column_lineage": lineage.store_table(settings, table, columns),
        }
        if key == "core/customer":
            metadata["run_summary"] = dg.MetadataValue.md(summary)
            # "patched" (only changed rows written) or "fresh" (store file rebuilt)
            metadata["store_write"] = published["store_write"]
            metadata["customers_created"] = figures["run"].get("customers_created", 0)
            metadata["customers_merged"] = figures["run"].get("customers_merged", 0)
            metadata["customers_split"] = figures["run"].get("customers_split", 0)
        yield dg.MaterializeResult(asset_key=_key(key), metadata=metadata)
    for outcome in outcomes:
        result = check_result(outcome)
        yield dg.AssetCheckResult(
            asset_key=_key(outcome.asset),
            check_name=outcome.name,
            passed=result.passed,
            severity=result.severity,
            metadata=result.metadata,
            description=result.description,
        )


def _tag_run(context: AssetExecutionContext, figures: dict[str, Any]) -> None:
    """A few headline figures as run tags, so the runs list shows them without clicking."""
    run = figures["run"]
    failed = sum(1 for c in figures["checks"] if not c["passed"])
    tags = {
        "customer_store/customers": run.get("customers"),
        "customer_store/new": run.get("customers_created"),
        "customer_store/merged": run.get("customers_merged"),
        "customer_store/split": run.get("customers_split"),
        "customer_store/quarantined": run.get("records_quarantined"),
        "customer_store/checks_failed": failed,
    }
    context.instance.add_run_tags(
        context.run_id, {k: str(v) for k, v in tags.items() if v is not None}
    )


@dg.asset_check(
    asset=_key("core/customer"),
    description="the store was published recently (audit.sync_run.published_at); also run "
    "hourly by the store_freshness job",
)
def store_freshness(sync: SyncSettings) -> dg.AssetCheckResult:
    return check_result(quality.store_freshness(sync.get()))


publish_assets = [publish_store, store_freshness]
