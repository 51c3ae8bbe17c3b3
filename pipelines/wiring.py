"""Turn a plain stage function and its plain check functions into a Dagster asset + checks."""

from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg

from pipelines.quality import CheckOutcome
from pipelines.resources import SyncSettings, check_result, count_metadata
from pipelines.settings import Settings


def stage_asset(
    *,
    name: str,
    stage: Callable[[Settings], dict[str, Any]],
    deps: Sequence[Any],
    description: str,
    group: str,
    kinds: set[str],
    checks: Sequence[tuple[Callable[[Settings], CheckOutcome], bool]] = (),
    row_count_key: str | None = None,
) -> list[Any]:
    """`checks` pairs a check function with whether it blocks downstream assets."""

    @dg.asset(
        name=name,
        deps=list(deps),
        description=description,
        group_name=group,
        kinds=kinds,
        code_version="1",
        owners=["team:data-platform"],
        tags={"layer": "work"},
    )
    def _asset(sync: SyncSettings) -> dg.MaterializeResult:
        figures = stage(sync.get())
        metadata = count_metadata(figures)
        if row_count_key and row_count_key in figures:
            metadata["dagster/row_count"] = figures[row_count_key]
        return dg.MaterializeResult(metadata=metadata)

    definitions: list[Any] = [_asset]
    for check_fn, blocking in checks:
        definitions.append(_check(_asset, check_fn, blocking))
    return definitions


def _check(
    asset: dg.AssetsDefinition, check_fn: Callable[[Settings], CheckOutcome], blocking: bool
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name=check_fn.__name__,
        blocking=blocking,
        description=(check_fn.__doc__ or check_fn.__name__).strip().splitlines()[0],
    )
    def _run(sync: SyncSettings) -> dg.AssetCheckResult:
        return check_result(check_fn(sync.get()))

    return _run
