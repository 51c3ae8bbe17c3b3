"""The real sync job under Dagster's default multiprocess executor (one process per step), on a
small demo company: no DuckDB lock error, every asset described, every check recorded, the
publish inside its concurrency pool, the run summary on the run and in the store."""

from __future__ import annotations

import time

import dagster as dg
import duckdb
import pytest

from pipelines.definitions import nightly_sync_job

pytestmark = pytest.mark.slow

LINEAGE_REQUIRED = {"core/customer", "marts/customer_360", "golden_records"}


def _events(instance: dg.DagsterInstance, run_id: str, event_type: dg.DagsterEventType) -> list:
    records = instance.get_records_for_run(run_id, of_type=event_type, limit=10_000).records
    return [r.event_log_entry for r in records]


def test_sync_runs_under_the_multiprocess_executor(sync_env) -> None:
    started = time.monotonic()
    # The pool limit as dagster_home/dagster.yaml sets it, so the publish claims a slot.
    overrides = {"concurrency": {"pools": {"default_limit": 1}}}
    with dg.DagsterInstance.local_temp(overrides=overrides) as instance:
        result = dg.execute_job(
            dg.reconstructable(nightly_sync_job), instance=instance, raise_on_error=False
        )
        errors = [
            e.event_specific_data.error.to_string()
            for e in result.all_events
            if e.is_step_failure and e.event_specific_data.error
        ]
        assert result.success, errors
        run_id = result.run_id
        elapsed = time.monotonic() - started
        print(f"multiprocess sync: {elapsed:.1f} s")

        # Steps really ran in separate processes (the multiprocess executor).
        step_pids = {e.pid for e in result.all_events if e.step_key and e.pid}
        assert len(step_pids) > 5
        assert not any("lock" in err.lower() for err in errors)

        materialized = {}
        for entry in _events(instance, run_id, dg.DagsterEventType.ASSET_MATERIALIZATION):
            mat = entry.asset_materialization
            materialized[mat.asset_key.to_user_string()] = mat.metadata
        graph = nightly_sync_job().asset_layer.asset_graph
        assert set(materialized) == {k.to_user_string() for k in graph.get_all_asset_keys()}
        for key, metadata in materialized.items():
            assert "dagster/row_count" in metadata, key
            if not key.startswith(("core/", "marts/", "audit/")):
                assert "dagster/column_schema" in metadata, key
        for key in LINEAGE_REQUIRED:
            lineage = materialized[key]["dagster/column_lineage"].value.deps_by_column
            assert lineage, key
        customer_lineage = materialized["core/customer"]["dagster/column_lineage"].value
        email_deps = customer_lineage.deps_by_column["email"]
        assert {d.asset_key.to_user_string() for d in email_deps} == {"golden_records"}
        staged_lineage = materialized["staged_customers"]["dagster/column_lineage"].value
        assert any(
            d.asset_key.to_user_string().startswith("raw/")
            for d in staged_lineage.deps_by_column["email"]
        )
        assert "run_summary" in materialized["core/customer"]

        evaluations = [
            e.dagster_event.event_specific_data
            for e in _events(instance, run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        ]
        failed = [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed]
        assert not failed
        checked = {e.asset_key.to_user_string() for e in evaluations}
        assert checked == set(materialized), set(materialized) - checked

        # The publish ran inside its one-slot concurrency pool, and gave the slot back.
        pool = instance.event_log_storage.get_concurrency_info("customer_store")
        assert pool.slot_count == 1 and not pool.claimed_slots

        tags = instance.get_run_by_id(run_id).tags
        assert int(tags["customer_store/customers"]) > 0
        assert tags["customer_store/checks_failed"] == "0"

    # The extraction steps ran in their own processes, in no fixed order, yet every table
    # carries the run's one load time (`run_load_time`): recency between sources cannot
    # depend on which table was read first.
    loads = sync_env.work_dir / "source_load.parquet"
    sources, load_times = duckdb.sql(
        f"SELECT count(DISTINCT source_system), count(DISTINCT loaded_at) FROM '{loads}'"
    ).fetchall()[0]
    assert (sources, load_times) == (5, 1)

    con = duckdb.connect(str(sync_env.store_path), read_only=True)
    try:
        names = {
            r[0]
            for r in con.execute(
                "SELECT check_name FROM audit.check_result WHERE run_id = ?", [run_id]
            ).fetchall()
        }
        summary = con.execute(
            "SELECT summary FROM audit.sync_run WHERE run_id = ?", [run_id]
        ).fetchall()[0][0]
    finally:
        con.close()
    assert {
        "reconciliation",
        "cluster_drift",
        "referential_integrity",
        "core_customer_source_xref_keys_unique",
        "audit_quarantined_record_has_reason",
        "marts_customer_360_one_row_per_customer",
    } <= names
    assert '"quarantine_reasons"' in summary and '"per_source"' in summary
