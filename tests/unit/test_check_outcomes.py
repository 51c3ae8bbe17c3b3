"""The publish records the stage checks' outcomes of its own run instead of running them again."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import quality
from pipelines.definitions import build_defs
from pipelines.settings import load_settings


def _settings(work: Path):
    return load_settings({"CUSTOMER_STORE_WORK_DIR": str(work)})


def test_an_outcome_is_reused_in_its_own_run_only(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    calls = []

    def staged_keys_unique(_settings) -> quality.CheckOutcome:
        calls.append(1)
        return quality.CheckOutcome("staged_keys_unique", "staged_customers", True, "ERROR",
                                    {"records": 5})

    kept = quality.CheckOutcome("staged_keys_unique", "staged_customers", False, "ERROR",
                                {"records": 7, "null_keys": 1}, "record_key is present")
    quality.remember_outcome(settings, "run-1", staged_keys_unique, kept)

    assert quality.outcome_in_run(settings, "run-1", staged_keys_unique) == kept
    assert calls == []
    # Another run (a re-execution, a publish materialized alone) checks the layers again.
    fresh = quality.outcome_in_run(settings, "run-2", staged_keys_unique)
    assert fresh.passed and fresh.detail == {"records": 5} and calls == [1]
    # An unreadable record is no outcome: the check runs.
    next((tmp_path / quality.OUTCOMES_DIR).glob("*.json")).write_text("{not json")
    assert quality.outcome_in_run(settings, "run-1", staged_keys_unique).passed
    assert calls == [1, 1]


@pytest.mark.parametrize("check", quality.PRE_PUBLISH_CHECKS, ids=lambda c: c.__name__)
def test_every_pre_publish_check_is_a_stage_check_of_the_same_name(check) -> None:
    # The publish finds a stage step's outcome by the check's name: a pre-publish check that
    # no stage step runs under that name would silently be run twice.
    defs = build_defs()
    stage_checks = {
        spec.name
        for asset in defs.assets or []
        for spec in getattr(asset, "check_specs", [])
        if spec.asset_key.path[-1] != "publish_store"
    }
    assert check.__name__ in stage_checks
