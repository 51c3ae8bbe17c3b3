"""Schedules: the nightly sync, the weekly full relink, the hourly freshness check.

Times and time zones come from the environment (read when the code location loads):
SYNC_CRON / SYNC_TIMEZONE, RELINK_CRON, FRESHNESS_CRON; SYNC_SCHEDULE_ON=1 starts them running.
"""

from __future__ import annotations

import os

import dagster as dg

# Run tags that switch a sync to its full form (`pipelines.resources.run_settings`): relink
# every record (or FULL_RELINK=1), re-read and rebuild everything (or FULL_REFRESH=1).
FULL_RELINK_TAG = "customer_store/full_relink"
FULL_REFRESH_TAG = "full_refresh"


def _default_status() -> dg.DefaultScheduleStatus:
    if os.environ.get("SYNC_SCHEDULE_ON") == "1":
        return dg.DefaultScheduleStatus.RUNNING
    return dg.DefaultScheduleStatus.STOPPED


def build_schedules(
    sync_job: dg.UnresolvedAssetJobDefinition, freshness_job: dg.UnresolvedAssetJobDefinition
) -> list[dg.ScheduleDefinition]:
    timezone = os.environ.get("SYNC_TIMEZONE", "Europe/Madrid")
    nightly = dg.ScheduleDefinition(
        name="nightly_sync_schedule",
        job=sync_job,
        cron_schedule=os.environ.get("SYNC_CRON", "0 2 * * *"),
        execution_timezone=timezone,
        default_status=_default_status(),
        tags={"customer_store/trigger": "nightly"},
        description="The nightly sync (SYNC_CRON in SYNC_TIMEZONE).",
    )
    weekly_relink = dg.ScheduleDefinition(
        name="weekly_full_relink_schedule",
        job=sync_job,
        cron_schedule=os.environ.get("RELINK_CRON", "0 4 * * 0"),
        execution_timezone=timezone,
        default_status=_default_status(),
        tags={FULL_RELINK_TAG: "true", "customer_store/trigger": "weekly_relink"},
        description="The same sync with run tag customer_store/full_relink=true: every record "
        "is re-scored and re-clustered from scratch (RELINK_CRON, Sunday 04:00 by default).",
    )
    freshness = dg.ScheduleDefinition(
        name="store_freshness_schedule",
        job=freshness_job,
        cron_schedule=os.environ.get("FRESHNESS_CRON", "15 * * * *"),
        execution_timezone=timezone,
        default_status=_default_status(),
        description="Hourly: is the store's last publish recent enough (store_freshness)?",
    )
    return [nightly, weekly_relink, freshness]
