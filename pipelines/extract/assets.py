"""One raw asset per registered source, made from the registry (no code per source)."""

import dagster as dg
from dagster import AssetExecutionContext

from pipelines import stages
from pipelines.resources import SyncSettings
from sources.registry import Registry, SourceSpec


def _raw_asset(source: SourceSpec) -> dg.AssetsDefinition:
    owners = [source.owner] if source.owner else None

    @dg.asset(
        key=["raw", source.name],
        group_name=source.department,
        kinds={source.dialect},
        owners=owners,
        description=source.description or f"Customer records of {source.name}, as read.",
        code_version="1",
        tags={"layer": "raw"},
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL),
    )
    def raw_source(context: AssetExecutionContext, sync: SyncSettings) -> dg.MaterializeResult:
        result = stages.extract(sync.get(), source.name)
        if result.unmapped_columns:
            context.log.info(f"source {source.name}: unmapped columns {result.unmapped_columns}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.rows,
                "activity_rows": dg.MetadataValue.json(result.activity_rows),
                "unmapped_columns": dg.MetadataValue.json(result.unmapped_columns),
            }
        )

    @dg.asset_check(asset=raw_source, description="the source delivered at least one record")
    def not_empty(sync: SyncSettings) -> dg.AssetCheckResult:
        import pyarrow.parquet as pq

        path = stages.work_area(sync.get()).raw_path(source.name)
        rows = pq.ParquetFile(path).metadata.num_rows if path.exists() else 0
        return dg.AssetCheckResult(
            passed=rows > 0, severity=dg.AssetCheckSeverity.WARN, metadata={"rows": rows}
        )

    return raw_source, not_empty


def raw_assets(registry: Registry) -> tuple[list[dg.AssetsDefinition], list]:
    assets, checks = [], []
    for source in registry.sources:
        asset, check = _raw_asset(source)
        assets.append(asset)
        checks.append(check)
    return assets, checks
