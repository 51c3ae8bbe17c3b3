"""One raw asset per table of each registered source, made from the registry (no code per
source); a source's tables are extracted by one step."""

from concurrent.futures import ThreadPoolExecutor

import dagster as dg
from dagster import AssetExecutionContext

from pipelines import quality, stages
from pipelines.extract import extract as extract_module
from pipelines.ops.metadata import code_version, work_asset_metadata
from pipelines.resources import SyncSettings, check_result, run_settings
from pipelines.settings import Settings
from pipelines.wiring import describe
from sources.registry import ActivitySpec, Registry, SourceSpec, dialect_of

# Tables of one source extracted at once (see `_source_assets`).
EXTRACT_LANES = 2


def raw_check_specs(key: list[str], checks: list) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name=fn.__name__, asset=key, blocking=blocking, description=describe(fn))
        for fn, blocking in checks
    ]


def _extract(
    context: AssetExecutionContext, settings: Settings, source: str, activity: str | None
) -> extract_module.ExtractResult:
    try:
        return stages.extract(settings, source, activity, run_id=context.run_id)
    except extract_module.SchemaDriftError as exc:
        # Drift is a registry/source mismatch, not a glitch: retrying cannot fix it.
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


def _extract_metadata(table: extract_module.TableResult) -> dict:
    """How the table was read: full or incremental, rows read, deletions seen at the source."""
    return {
        "read_mode": table.mode,
        "full_read": table.full_read,
        "read_reason": table.reason,
        "rows_read": table.rows_read,
        "deleted_at_source": table.deleted,
        "soft_deleted_rows": table.soft_deleted,
        "malformed_rows": table.malformed_rows,
        "watermark": dg.MetadataValue.json(
            {"column": table.watermark_column, "since": table.since, "high": table.high_water}
        ),
        "read_notes": dg.MetadataValue.json(table.notes),
    }


def _table_spec(source: SourceSpec, activity: ActivitySpec | None) -> dg.AssetSpec:
    """The asset of one table of `source`: its customers (activity None) or one activity."""
    read = source.read(activity.name if activity else None)
    if activity is None:
        key = ["raw", source.name]
        description = source.description or f"Customer records of {source.name}, as read."
        layer = f"raw/{source.name}.parquet"
    else:
        key = ["raw", source.name, activity.name]
        description = f"{activity.type} rows of {source.name} ({activity.name}), as read."
        layer = f"raw/{source.name}__{activity.name}.parquet"
    return dg.AssetSpec(
        key=key,
        group_name=source.department,
        kinds={dialect_of(read.kind, read.url)},
        owners=[source.owner] if source.owner else None,
        description=description,
        code_version=code_version(extract_module),
        tags={"layer": "raw"},
        metadata={"work_layer": layer, "source_kind": read.kind},
        skippable=True,
    )


def _source_assets(source: SourceSpec) -> dg.AssetsDefinition:
    """raw/<source> and raw/<source>/<activity>: one asset per table, extracted together in
    one step, two tables at a time (a table's read, merge and writes leave a core idle: the
    1M demo's raw steps took 16.1 / 17.3 s instead of 20.8 / 20.2 s one table at a time).
    Checks run in the step, right after their table (see pipelines.wiring.stage_asset).

    A table that fails does so alone: the step yields the tables that extracted, then fails
    with the first error. A retry extracts the source's tables again (incremental reads make
    that cheap); a schema drift is not retried: retrying cannot fix it."""
    activities: list[ActivitySpec | None] = [None, *source.activities]
    table_specs = [_table_spec(source, activity) for activity in activities]
    specs = {}
    check_specs = []
    checks = {}
    for spec, activity in zip(table_specs, activities, strict=True):
        name = activity.name if activity else None
        specs[spec.key] = name
        checks[spec.key] = quality.raw_checks(source.name, name)
        check_specs += raw_check_specs(list(spec.key.path), checks[spec.key])

    @dg.multi_asset(
        name=f"raw__{source.name}",
        specs=table_specs,
        check_specs=check_specs,
        can_subset=True,
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL),
    )
    def raw_source(context: AssetExecutionContext, sync: SyncSettings):
        settings = run_settings(context, sync)
        wanted = [key for key in specs if key in context.selected_asset_keys]
        failures: list[tuple[dg.AssetKey, Exception]] = []
        with ThreadPoolExecutor(max_workers=EXTRACT_LANES) as lanes:
            futures = {
                key: lanes.submit(_extract, context, settings, source.name, specs[key])
                for key in wanted
            }
            for key, future in futures.items():
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - raised below, after the others
                    failures.append((key, exc))
                    continue
                yield _materialization(context, settings, key, specs[key], result, checks[key])
        for key, exc in failures[1:]:
            context.log.error(f"{key.to_user_string()} failed too: {exc}")
        if failures:
            raise failures[0][1]

    return raw_source


def _materialization(
    context: AssetExecutionContext,
    settings: Settings,
    key: dg.AssetKey,
    activity: str | None,
    result: extract_module.ExtractResult,
    checks: list,
) -> dg.MaterializeResult:
    source = result.source
    table = result.tables[source if activity is None else f"{source}/{activity}"]
    path = stages.work_area(settings).raw_path(source, activity)
    metadata = {
        **work_asset_metadata(path),
        **_extract_metadata(table),
        "dagster/row_count": table.rows,
        "unmapped_columns": dg.MetadataValue.json(table.unmapped_columns),
    }
    if activity is None:
        if result.unmapped_columns:
            context.log.info(f"source {source}: unmapped columns {result.unmapped_columns}")
        metadata["activity_rows"] = dg.MetadataValue.json(result.activity_rows)
    return dg.MaterializeResult(
        asset_key=key,
        metadata=metadata,
        check_results=[check_result(fn(settings), key) for fn, _ in checks],
    )


def raw_assets(registry: Registry) -> list[dg.AssetsDefinition]:
    """One asset per source table (customers and each activity), checks included; one step
    per source."""
    return [_source_assets(source) for source in registry.sources]
