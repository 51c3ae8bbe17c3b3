"""One raw asset per registered source, made from the registry (no code per source)."""

import dagster as dg
from dagster import AssetExecutionContext

from pipelines import quality, stages
from pipelines.extract import extract as extract_module
from pipelines.ops.metadata import code_version, work_asset_metadata
from pipelines.resources import SyncSettings, check_result, run_settings
from pipelines.settings import Settings
from pipelines.wiring import describe
from sources.registry import ActivitySpec, Registry, SourceSpec, dialect_of


def raw_check_specs(key: list[str], checks: list) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name=fn.__name__, asset=key, blocking=blocking, description=describe(fn))
        for fn, blocking in checks
    ]


def _raw_asset(source: SourceSpec) -> dg.AssetsDefinition:
    owners = [source.owner] if source.owner else None
    # Checks run in the asset's own step (see pipelines.wiring.stage_asset for why).
    checks = quality.raw_checks(source.name)

    @dg.asset(
        key=["raw", source.name],
        group_name=source.department,
        kinds={source.dialect},
        owners=owners,
        description=source.description or f"Customer records of {source.name}, as read.",
        code_version=code_version(extract_module),
        tags={"layer": "raw"},
        metadata={"work_layer": f"raw/{source.name}.parquet", "source_kind": source.kind},
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL),
        check_specs=raw_check_specs(["raw", source.name], checks),
    )
    def raw_source(context: AssetExecutionContext, sync: SyncSettings) -> dg.MaterializeResult:
        settings = run_settings(context, sync)
        result = _extract(context, settings, source.name, None)
        if result.unmapped_columns:
            context.log.info(f"source {source.name}: unmapped columns {result.unmapped_columns}")
        metadata = work_asset_metadata(stages.work_area(settings).raw_path(source.name))
        return dg.MaterializeResult(
            metadata={
                **metadata,
                **_extract_metadata(result.tables[source.name]),
                "dagster/row_count": result.rows,
                "activity_rows": dg.MetadataValue.json(result.activity_rows),
                "unmapped_columns": dg.MetadataValue.json(result.unmapped_columns),
            },
            check_results=[check_result(fn(settings)) for fn, _ in checks],
        )

    return raw_source


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


def _raw_activity_asset(source: SourceSpec, activity: ActivitySpec) -> dg.AssetsDefinition:
    """raw/<source>/<activity>: one asset per activity table, made from the registry."""
    read = source.read(activity.name)
    checks = quality.raw_checks(source.name, activity.name)

    @dg.asset(
        key=["raw", source.name, activity.name],
        group_name=source.department,
        kinds={dialect_of(read.kind, read.url)},
        owners=[source.owner] if source.owner else None,
        description=f"{activity.type} rows of {source.name} ({activity.name}), as read.",
        code_version=code_version(extract_module),
        tags={"layer": "raw"},
        metadata={
            "work_layer": f"raw/{source.name}__{activity.name}.parquet",
            "source_kind": read.kind,
        },
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL),
        check_specs=raw_check_specs(["raw", source.name, activity.name], checks),
    )
    def raw_activity(context: AssetExecutionContext, sync: SyncSettings) -> dg.MaterializeResult:
        settings = run_settings(context, sync)
        result = _extract(context, settings, source.name, activity.name)
        table = result.tables[read.key]
        path = stages.work_area(settings).raw_path(source.name, activity.name)
        return dg.MaterializeResult(
            metadata={
                **work_asset_metadata(path),
                **_extract_metadata(table),
                "dagster/row_count": table.rows,
                "unmapped_columns": dg.MetadataValue.json(table.unmapped_columns),
            },
            check_results=[check_result(fn(settings)) for fn, _ in checks],
        )

    return raw_activity


def raw_assets(registry: Registry) -> list[dg.AssetsDefinition]:
    """One asset per source table (customers and each activity), checks included."""
    assets = []
    for source in registry.sources:
        assets.append(_raw_asset(source))
        assets.extend(_raw_activity_asset(source, a) for a in source.activities)
    return assets
