"""Turn a plain stage function and its plain check functions into a Dagster asset + checks."""

from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg

from pipelines import stages
from pipelines.ops.metadata import code_version, work_asset_metadata
from pipelines.quality import CheckOutcome
from pipelines.resources import SyncSettings, check_result, count_metadata
from pipelines.settings import Settings

WORK_OWNERS = ["team:data-platform"]


def stage_asset(
    *,
    name: str,
    stage: Callable[[Settings], dict[str, Any]],
    deps: Sequence[Any],
    description: str,
    group: str,
    kinds: set[str],
    layer: str,
    checks: Sequence[tuple[Callable[[Settings], CheckOutcome], bool]] = (),
    lineage: Callable[[Settings], dg.TableColumnLineage] | None = None,
    code: Sequence[Any] = (),
) -> list[Any]:
    """An asset that runs `stage` and describes the work layer `layer` it writes (row count,
    column schema, column lineage). `checks` pairs a check function with whether it blocks
    downstream assets; `code` lists the modules whose source makes up the code version."""

    @dg.asset(
        name=name,
        deps=list(deps),
        description=description,
        group_name=group,
        kinds=kinds,
        code_version=code_version(stage, *code),
        owners=WORK_OWNERS,
        tags={"layer": "work"},
        metadata={"work_layer": f"{layer}.parquet"},
    )
    def _asset(sync: SyncSettings) -> dg.MaterializeResult:
        settings = sync.get()
        figures = stage(settings)
        metadata = count_metadata(figures)
        path = stages.work_area(settings).path(layer)
        metadata.update(work_asset_metadata(path, lineage(settings) if lineage else None))
        return dg.MaterializeResult(metadata=metadata)

    definitions: list[Any] = [_asset]
    for check_fn, blocking in checks:
        definitions.append(check_asset(_asset, check_fn, blocking))
    return definitions


def check_asset(
    asset: Any, check_fn: Callable[[Settings], CheckOutcome], blocking: bool
) -> dg.AssetChecksDefinition:
    """A Dagster asset check around a plain check function (named after it)."""

    @dg.asset_check(
        asset=asset,
        name=check_fn.__name__,
        blocking=blocking,
        description=(check_fn.__doc__ or check_fn.__name__).strip().splitlines()[0],
    )
    def _run(sync: SyncSettings) -> dg.AssetCheckResult:
        return check_result(check_fn(sync.get()))

    return _run
