"""Turn a plain stage function and its plain check functions into a Dagster asset + checks."""

from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg

from pipelines import stages
from pipelines.ops.metadata import code_version, work_asset_metadata
from pipelines.quality import CheckOutcome, remember_outcome
from pipelines.resources import SyncSettings, check_result, count_metadata, run_settings
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
    rows_figure: str | None = None,
) -> list[Any]:
    """An asset that runs `stage` and describes the work layer `layer` it writes (row count,
    column schema, column lineage). `checks` pairs a check function with whether it blocks
    downstream assets; `code` lists the modules whose source makes up the code version;
    `rows_figure` names the stage's figure that counts the layer's rows, if it has one
    (a layer kept as a change over its base is otherwise counted again: a join of its
    base's million keys with the dropped ones, ~0.1 s a layer a night).

    The checks run in the asset's own step, right after the layer is written: one process per
    asset under the multiprocess executor instead of one per check (each step process pays
    for importing the code location), and a failed blocking check fails the step, so nothing
    downstream reads the layer."""

    check_specs = [
        dg.AssetCheckSpec(
            name=check_fn.__name__,
            asset=name,
            blocking=blocking,
            description=describe(check_fn),
        )
        for check_fn, blocking in checks
    ]

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
        check_specs=check_specs,
    )
    def _asset(context: dg.AssetExecutionContext, sync: SyncSettings) -> dg.MaterializeResult:
        settings = run_settings(context, sync)
        figures = stage(settings)
        metadata = count_metadata(figures)
        work = stages.work_area(settings)
        metadata.update(
            work_asset_metadata(
                work.schema_path(layer),
                lineage(settings) if lineage else None,
                rows=figures[rows_figure] if rows_figure in figures else work.rows(layer),
            )
        )
        outcomes = [check_fn(settings) for check_fn, _ in checks]
        for (check_fn, _), outcome in zip(checks, outcomes, strict=True):
            remember_outcome(settings, context.run_id, check_fn, outcome)
        return dg.MaterializeResult(
            metadata=metadata, check_results=[check_result(outcome) for outcome in outcomes]
        )

    return [_asset]


def describe(check_fn: Callable[..., Any]) -> str:
    """The first line of a check function's docstring (what the UI shows)."""
    return (check_fn.__doc__ or check_fn.__name__).strip().splitlines()[0]


def check_asset(
    asset: Any, check_fn: Callable[[Settings], CheckOutcome], blocking: bool
) -> dg.AssetChecksDefinition:
    """A stand-alone Dagster asset check around a plain check function (its own step: for
    checks that run apart from their asset, e.g. on a schedule)."""

    @dg.asset_check(
        asset=asset,
        name=check_fn.__name__,
        blocking=blocking,
        description=describe(check_fn),
    )
    def _run(sync: SyncSettings) -> dg.AssetCheckResult:
        return check_result(check_fn(sync.get()))

    return _run
