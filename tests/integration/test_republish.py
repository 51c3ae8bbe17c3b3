"""Materializing publish_store alone after a successful run (e.g. from the UI) would publish
the same layers twice: that run's merges (core.customer_id_redirect) and identity events
would be appended again. The publish refuses it by name and leaves the store as it was."""

from __future__ import annotations

import hashlib

import dagster as dg

from pipelines.definitions import build_defs
from pipelines.publish.assets import STORE_TABLES


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publishing_the_same_layers_again_is_refused_and_leaves_the_store(sync_env) -> None:
    job = build_defs().resolve_job_def("nightly_sync")
    first = job.execute_in_process(raise_on_error=False)
    assert first.success
    before = _digest(sync_env.store_path)

    again = job.execute_in_process(
        asset_selection=[dg.AssetKey(key.split("/")) for key in STORE_TABLES],
        raise_on_error=False,
    )
    assert not again.success
    [failure] = [e for e in again.all_events if e.is_step_failure]
    assert failure.step_key == "publish_store"
    message = failure.step_failure_data.error.to_string()
    assert "already holds exactly these layers" in message
    assert first.run_id in message
    assert _digest(sync_env.store_path) == before
