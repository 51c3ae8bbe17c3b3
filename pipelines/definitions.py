"""The Dagster code location: every stage's assets, checks, the sync job and its schedule."""

from __future__ import annotations

import os

import dagster as dg

from pipelines.cleanse.assets import cleanse_assets
from pipelines.extract.assets import raw_assets
from pipelines.golden.assets import golden_assets
from pipelines.identity.assets import identity_assets
from pipelines.link.assets import link_assets
from pipelines.marts.assets import mart_assets
from pipelines.publish.assets import publish_assets
from pipelines.resources import SyncSettings
from pipelines.settings import load_settings
from sources.registry import load_registry


def build_defs(sources_config: str | None = None) -> dg.Definitions:
    """Assemble the code location; the registry decides which raw assets exist."""
    settings = load_settings()
    registry = load_registry(sources_config or settings.sources_config)
    raw, raw_checks = raw_assets(registry)
    definitions = [
        *raw,
        *raw_checks,
        *cleanse_assets([asset.key for asset in raw]),
        *link_assets,
        *identity_assets,
        *golden_assets,
        *mart_assets,
        *publish_assets,
    ]
    checks = [d for d in definitions if isinstance(d, dg.AssetChecksDefinition)]
    assets = [d for d in definitions if not isinstance(d, dg.AssetChecksDefinition)]
    nightly_sync = dg.define_asset_job(
        "nightly_sync",
        selection=dg.AssetSelection.all(),
        description="Extract every source, cleanse, link, assign ids, build golden records "
        "and publish the governed store.",
    )
    nightly_schedule = dg.ScheduleDefinition(
        name="nightly_sync_schedule",
        job=nightly_sync,
        cron_schedule=os.environ.get("SYNC_CRON", "0 2 * * *"),
        execution_timezone=os.environ.get("SYNC_TIMEZONE", "Europe/Madrid"),
        default_status=dg.DefaultScheduleStatus.RUNNING
        if os.environ.get("SYNC_SCHEDULE_ON") == "1"
        else dg.DefaultScheduleStatus.STOPPED,
    )
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[nightly_sync],
        schedules=[nightly_schedule],
        resources={"sync": SyncSettings()},
    )


defs = build_defs()
