"""The governed store's tables, written together by one atomic publish."""

import dagster as dg
from dagster import AssetExecutionContext

from pipelines import quality, stages
from pipelines.publish.summary import run_summary_markdown, store_figures
from pipelines.resources import SyncSettings, check_result

STORE_TABLES = {
    "core/customer": "One golden record per real customer (core.customer).",
    "core/customer_source_xref": "Source record -> customer_id (core.customer_source_xref).",
    "audit/quarantined_record": "Records held back, with reasons (audit.quarantined_record).",
    "marts/customer_360": "Each customer with activity from all systems (marts.customer_360).",
}


@dg.multi_asset(
    name="publish_store",
    specs=[
        dg.AssetSpec(
            key=dg.AssetKey(key.split("/")),
            deps=["customer_activity"],
            description=description,
            group_name="store",
            kinds={"duckdb", "postgres", "table"},
            owners=["team:data-platform"],
            code_version="1",
            tags={"layer": "store"},
        )
        for key, description in STORE_TABLES.items()
    ],
)
def publish_store(context: AssetExecutionContext, sync: SyncSettings):
    settings = sync.get()
    checks = [check(settings).as_row() for check in quality.PRE_PUBLISH_CHECKS]
    stages.publish(settings, context.run_id, checks)
    figures = store_figures(settings.store_url, context.run_id)
    summary = run_summary_markdown(figures)
    context.log.info("published run %s", context.run_id)
    row_counts = figures["table_rows"]
    for key in STORE_TABLES:
        table = key.replace("/", ".")
        metadata = {"dagster/row_count": row_counts.get(table, 0)}
        if key == "core/customer":
            metadata["run_summary"] = dg.MetadataValue.md(summary)
        yield dg.MaterializeResult(asset_key=dg.AssetKey(key.split("/")), metadata=metadata)


@dg.asset_check(
    asset=dg.AssetKey(["core", "customer"]),
    description="every xref, activity and mart row points to exactly one customer",
    blocking=True,
)
def referential_integrity(sync: SyncSettings) -> dg.AssetCheckResult:
    return check_result(quality.store_integrity(sync.get()))


publish_assets = [publish_store, referential_integrity]
