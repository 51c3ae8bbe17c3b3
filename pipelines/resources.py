"""Dagster resource carrying the sync's settings (read from the environment)."""

import dataclasses
import os

import dagster as dg

from pipelines.ops.schedules import FULL_REFRESH_TAG, FULL_RELINK_TAG
from pipelines.quality import CheckOutcome
from pipelines.settings import Settings, load_settings, parse_flag


class SyncSettings(dg.ConfigurableResource):
    """Overrides for tests and launchpad runs; unset fields come from the environment
    (CUSTOMER_STORE_URL, SOURCES_CONFIG, CUSTOMER_STORE_WORK_DIR, ...)."""

    store_url: str | None = None
    sources_config: str | None = None
    work_dir: str | None = None

    def get(self) -> Settings:
        env: dict[str, str] = {}
        if self.store_url:
            env["CUSTOMER_STORE_URL"] = self.store_url
        if self.sources_config:
            env["SOURCES_CONFIG"] = self.sources_config
        if self.work_dir:
            env["CUSTOMER_STORE_WORK_DIR"] = self.work_dir
        return load_settings({**os.environ, **env})


def run_settings(context: dg.OpExecutionContext, sync: SyncSettings) -> Settings:
    """The settings of this run: the resource and environment, then the run's tags, so a
    run launched with full_refresh=1 or the weekly relink tag is full in every stage."""
    settings = sync.get()
    tags = context.run.tags if context.run else {}
    if parse_flag(tags.get(FULL_RELINK_TAG)):
        settings = dataclasses.replace(settings, full_relink=True)
    if FULL_REFRESH_TAG in tags:
        settings = dataclasses.replace(settings, full_refresh=parse_flag(tags[FULL_REFRESH_TAG]))
    return settings


def check_result(
    outcome: CheckOutcome, asset_key: dg.AssetKey | None = None
) -> dg.AssetCheckResult:
    """A plain check outcome as a Dagster check result (figures become metadata); a step
    that materializes several assets whose checks share names says which asset it checked."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=outcome.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity),
        metadata=count_metadata(outcome.detail),
        description=outcome.description,
    )


def count_metadata(figures: dict) -> dict:
    """Dagster metadata from a stage's figures (dicts and lists become JSON, None is left out)."""
    out = {}
    for key, value in figures.items():
        if isinstance(value, (dict, list)):
            out[key] = dg.MetadataValue.json(value)
        elif value is None:
            continue
        else:
            out[key] = value
    return out
