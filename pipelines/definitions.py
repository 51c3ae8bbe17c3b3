"""The Dagster code location: every stage's assets and checks, the jobs, schedules, sensors."""

from __future__ import annotations

import dagster as dg

from pipelines.cleanse.assets import cleanse_assets
from pipelines.extract.assets import raw_assets
from pipelines.golden.assets import golden_assets
from pipelines.identity.assets import identity_assets
from pipelines.link.assets import link_assets
from pipelines.marts.assets import mart_assets
from pipelines.ops.schedules import build_schedules
from pipelines.ops.sensors import alert_on_run_failure, build_drop_folder_sensor
from pipelines.publish.assets import publish_assets
from pipelines.resources import SyncSettings
from pipelines.settings import load_settings
from sources.registry import load_registry

SYNC_JOB = "nightly_sync"
FRESHNESS_JOB = "store_freshness"


def build_defs(sources_config: str | None = None) -> dg.Definitions:
    """Assemble the code location; the registry decides which raw assets exist."""
    settings = load_settings()
    registry = load_registry(sources_config or settings.sources_config)
    raw = raw_assets(registry)
    definitions = [
        *raw,
        *cleanse_assets([key for asset in raw for key in asset.keys]),
        *link_assets,
        *identity_assets,
        *golden_assets,
        *mart_assets,
        *publish_assets,
    ]
    checks = [d for d in definitions if isinstance(d, dg.AssetChecksDefinition)]
    assets = [d for d in definitions if not isinstance(d, dg.AssetChecksDefinition)]
    nightly_sync = dg.define_asset_job(
        SYNC_JOB,
        selection=dg.AssetSelection.all(),
        description="Extract every source, cleanse, link, assign ids, build golden records "
        "and publish the governed store. Run tag customer_store/full_relink=true relinks "
        "every record from scratch.",
    )
    store_freshness = dg.define_asset_job(
        FRESHNESS_JOB,
        selection=dg.AssetSelection.checks(
            dg.AssetCheckKey(dg.AssetKey(["core", "customer"]), "store_freshness")
        ),
        description="Only the store_freshness check: is the last publish recent enough?",
    )
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[nightly_sync, store_freshness],
        schedules=build_schedules(nightly_sync, store_freshness),
        sensors=[build_drop_folder_sensor(nightly_sync), alert_on_run_failure],
        resources={"sync": SyncSettings()},
    )


def nightly_sync_job() -> dg.JobDefinition:
    """The sync job, rebuilt from this module: what `dagster.reconstructable` needs to run it
    under the multiprocess executor from Python (tests, scripts)."""
    return defs.resolve_job_def(SYNC_JOB)


defs = build_defs()
