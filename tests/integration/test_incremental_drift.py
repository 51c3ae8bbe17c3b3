"""Schema drift in one source while the whole job runs: that source fails with a clear error,
every other table still extracts, and nothing is published (the store keeps its state)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.definitions import build_defs
from pipelines.settings import PROJECT_ROOT


def test_broken_source_fails_alone_and_blocks_the_publish(
    sync_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = (PROJECT_ROOT / "sources" / "sources.yaml").read_text()
    # The marketing list renamed its e-mail column: the mapped column is gone.
    broken = registry.replace(
        "      email: email\n      given_name: first_name\n",
        "      email: e_mail\n      given_name: first_name\n",
    )
    assert broken != registry
    config = tmp_path / "sources.yaml"
    config.write_text(broken)
    monkeypatch.setenv("SOURCES_CONFIG", str(config))

    result = build_defs().resolve_job_def("nightly_sync").execute_in_process(raise_on_error=False)

    assert not result.success
    failures = {
        e.step_key: e.step_failure_data.error for e in result.all_events if e.is_step_failure
    }
    assert set(failures) == {"raw__marketing"}
    error = failures["raw__marketing"]
    message = (error.cause or error).message
    assert "source 'marketing': mapped column(s) ['e_mail'] not found" in message
    assert "update 'fields' in the registry" in message
    materialized = {
        "/".join(e.asset_key.path)
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }
    for table in (
        "crm",
        "crm/orders",
        "billing",
        "billing/invoices",
        "billing/payments",
        "servicedesk",
        "servicedesk/tickets",
        "logistics",
        "logistics/shipments",
        "marketing/campaign_responses",
    ):
        assert f"raw/{table}" in materialized
    assert not any(key.startswith(("core/", "marts/", "audit/")) for key in materialized)
    assert not sync_env.store_path.exists()  # nothing was published


def test_one_table_of_a_source_materializes_alone(sync_env) -> None:
    """A source's tables are extracted by one step, yet each is its own asset: selecting
    one (e.g. from the UI) extracts only that table, with its checks."""
    import dagster as dg

    from pipelines import stages
    from pipelines.settings import load_settings

    job = build_defs().resolve_job_def("nightly_sync")
    result = job.execute_in_process(
        asset_selection=[dg.AssetKey(["raw", "crm", "orders"])], raise_on_error=False
    )
    assert result.success
    materialized = [
        "/".join(e.asset_key.path)
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    ]
    assert materialized == ["raw/crm/orders"]
    checked = {
        e.event_specific_data.asset_key.to_user_string()
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert checked == {"raw/crm/orders"}
    work = stages.work_area(load_settings())
    assert work.raw_path("crm", "orders").exists()
    assert not work.raw_path("crm").exists()
