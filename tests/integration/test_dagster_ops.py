"""The Dagster operating layer without running the sync: definitions and their metadata,
schedules, the drop-folder sensor, the failure alert (against a local HTTP server), the
instance config and the store checks on deliberately bad rows."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from models.dictionary import table_schema
from pipelines import quality
from pipelines.ops import alerts, instance, sensors
from pipelines.publish.summary import new_rows_relation
from pipelines.settings import PROJECT_ROOT

STORE_KEYS = [
    "core/customer",
    "core/customer_source_xref",
    "audit/quarantined_record",
    "marts/customer_360",
]


def _schema(value) -> dg.TableSchema:
    return getattr(value, "schema", value)  # raw TableSchema or its MetadataValue


@pytest.fixture
def defs(sync_env) -> dg.Definitions:
    from pipelines.definitions import build_defs

    return build_defs()


def test_every_asset_carries_its_metadata_and_checks(defs: dg.Definitions) -> None:
    graph = defs.get_repository_def().asset_graph
    keys = list(graph.get_all_asset_keys())
    assert {dg.AssetKey.from_user_string(k) for k in STORE_KEYS} <= set(keys)
    checked = {key.asset_key for key in graph.asset_check_keys}
    for key in keys:
        node = graph.get(key)
        name = key.to_user_string()
        assert node.group_name and node.group_name != "default", name
        assert node.kinds, name
        assert node.owners, name
        assert node.description, name
        assert node.code_version and node.code_version != "1", name
        assert key in checked, f"{name} has no check"
    for name in STORE_KEYS:
        node = graph.get(dg.AssetKey.from_user_string(name))
        schema = _schema(node.metadata["dagster/column_schema"])
        assert {c.name for c in schema.columns} == {
            c.name for c in table_schema(quality.STORE_ASSETS[name]).columns
        }
        assert node.freshness_policy is not None
        assert node.assets_def.op.pool == "customer_store"
    customer = graph.get(dg.AssetKey(["core", "customer"]))
    email = next(
        c for c in _schema(customer.metadata["dagster/column_schema"]).columns if c.name == "email"
    )
    assert email.tags["pii"] == "direct" and email.description
    blocking = {k.name for k in graph.asset_check_keys if graph.get_check_spec(k).blocking}
    assert {
        "reconciliation",
        "staged_keys_unique",
        "referential_integrity",
        "core_customer_source_xref_keys_unique",
        "audit_quarantined_record_has_reason",
        "marts_customer_360_one_row_per_customer",
    } <= blocking
    assert "cluster_drift" not in blocking and "quarantine_rate" not in blocking


def test_schedules_follow_the_environment(monkeypatch, sync_env) -> None:
    monkeypatch.setenv("SYNC_CRON", "30 1 * * *")
    monkeypatch.setenv("SYNC_TIMEZONE", "Europe/Lisbon")
    from pipelines.definitions import build_defs

    defs = build_defs()
    nightly = defs.resolve_schedule_def("nightly_sync_schedule")
    assert nightly.cron_schedule == "30 1 * * *"
    assert nightly.execution_timezone == "Europe/Lisbon"
    relink = defs.resolve_schedule_def("weekly_full_relink_schedule")
    assert relink.job_name == nightly.job_name == "nightly_sync"
    assert relink.cron_schedule == "0 4 * * 0"
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 1, 4, 4, tzinfo=dt.UTC)
    )
    requests = relink.evaluate_tick(context).run_requests
    assert requests and requests[0].tags["customer_store/full_relink"] == "true"
    assert defs.resolve_schedule_def("store_freshness_schedule").job_name == "store_freshness"


def test_drop_folder_sensor_starts_a_sync_once_per_new_file(tmp_path, monkeypatch, sync_env):
    from pipelines.definitions import build_defs

    drop = tmp_path / "drop"
    drop.mkdir()
    monkeypatch.setenv("DROP_FOLDER", str(drop))
    sensor = build_defs().resolve_sensor_def("drop_folder_sensor")

    def tick(cursor: str | None):
        context = dg.build_sensor_context(cursor=cursor)
        return sensor.evaluate_tick(context)

    first = tick(None)
    assert not first.run_requests  # empty folder
    (drop / "crm_2026-01-05.csv").write_text("id\n1\n")
    (drop / ".crm_partial.csv").write_text("x")  # hidden: still being copied in
    second = tick(first.cursor)
    assert len(second.run_requests) == 1
    assert second.run_requests[0].tags["customer_store/files"] == "crm_2026-01-05.csv"
    assert not tick(second.cursor).run_requests  # nothing new
    os.utime(drop / "crm_2026-01-05.csv", ns=(0, 10**18))  # replaced: new mtime
    assert len(tick(second.cursor).run_requests) == 1


def test_redact_removes_personal_values() -> None:
    message = (
        "row 12 of crm: cannot parse 'María López' <maria.lopez@example.es>, "
        "phone +34 612 345 678, NIF 12345678Z"
    )
    redacted = alerts.redact(message)
    for value in ("María", "maria.lopez", "612", "12345678Z"):
        assert value not in redacted
    assert "row 12 of crm" in redacted


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(
            {"path": self.path, "body": json.loads(body), "type": self.headers["Content-Type"]}
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@dg.op
def load_customers() -> None:
    raise ValueError("record crm:17 has unparseable e-mail 'ana.perez@example.org'")


@dg.job
def failing_job() -> None:
    load_customers()


def test_run_failure_sensor_posts_a_redacted_alert(monkeypatch) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received.clear()
    try:
        monkeypatch.setenv("ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")
        with dg.instance_for_test() as instance:
            result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
            assert not result.success
            records = instance.get_records_for_run(
                result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
            ).records
            failure = records[0].event_log_entry.dagster_event
            context = dg.build_run_status_sensor_context(
                sensor_name="alert_on_run_failure",
                dagster_event=failure,
                dagster_instance=instance,
                dagster_run=result.dagster_run,
            ).for_run_failure()
            sensors.alert_on_run_failure(context)
    finally:
        server.shutdown()
    assert len(_Hook.received) == 1
    hit = _Hook.received[0]
    assert hit["path"] == "/hook" and hit["type"] == "application/json"
    body = hit["body"]
    assert body["job"] == "failing_job"
    assert body["run_id"] == result.run_id
    assert body["failed_steps"] == ["load_customers"]
    assert body["errors"][0]["error_type"] == "ValueError"
    assert "crm:17" in body["errors"][0]["message"]
    assert "ana.perez" not in json.dumps(body)


def test_instance_is_sqlite_by_default_and_postgres_by_environment(tmp_path) -> None:
    base = tmp_path / "dagster_home"
    base.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", base)
    assert instance.dagster_home({}, base) == base.resolve()
    with dg.DagsterInstance.from_config(str(base)) as sqlite:
        assert type(sqlite.run_storage).__name__ == "SqliteRunStorage"
        assert sqlite.get_concurrency_config().pool_config.default_pool_limit == 1
        assert sqlite.run_retries_enabled
    home = instance.dagster_home({"DAGSTER_PG_HOST": "db.internal"}, base)
    assert home == base.resolve() / "postgres"
    text = (home / "dagster.yaml").read_text()
    assert "env: DAGSTER_PG_HOST" in text and "password" not in text
    assert "max_concurrent_runs: 4" in text  # shared settings carried over


def _bad_store_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Rows shaped like the publish's `new.*` tables (no constraints, as the publish builds
    them with CREATE TABLE AS), with one defect per check."""
    from pipelines.publish.prepare import mirror_schema

    mirror_schema(con)
    con.execute("CREATE SCHEMA new")
    for table in (
        "core.customer",
        "core.customer_source_xref",
        "core.activity",
        "audit.quarantined_record",
        "marts.customer_360",
    ):
        con.execute(f"CREATE TABLE {new_rows_relation(table)} AS FROM {table} WHERE false")
    con.execute("""
        INSERT INTO new.core__customer (customer_id, party_type, is_active)
        VALUES ('C1', 'person', true), ('C1', 'person', true), ('C2', 'company', true);
        INSERT INTO new.core__customer_source_xref (source_system, source_record_id,
                                                    customer_id, is_active)
        VALUES ('crm', '1', 'C1', true), ('crm', '1', 'C1', true), ('erp', '9', 'C404', true);
        INSERT INTO new.audit__quarantined_record (run_id, source_system, source_row_number,
                                                   reason_code, source_record_id, reason_message)
        VALUES ('r', 'crm', 3, 'missing_primary_key', '#row3', ''),
               ('r', 'crm', 4, 'no_identifying_fields', '4', 'no name, e-mail or phone');
        INSERT INTO new.marts__customer_360 (customer_id, party_type) VALUES ('C1', 'person');
    """)


def test_store_checks_catch_bad_rows() -> None:
    con = duckdb.connect()
    _bad_store_tables(con)
    outcomes = {o.name: o for o in quality.store_checks(con, new_rows_relation)}
    assert all(o.passed for n, o in outcomes.items() if n.endswith("_contract")), outcomes
    assert not outcomes["core_customer_keys_unique"].passed
    assert not outcomes["core_customer_source_xref_keys_unique"].passed
    assert outcomes["referential_integrity"].detail["xref_without_customer"] == 1
    assert outcomes["audit_quarantined_record_has_reason"].detail["without_message"] == 1
    mart = outcomes["marts_customer_360_one_row_per_customer"]
    assert not mart.passed and mart.detail["active_customers_without_row"] == 1
    assert quality.blocking_failures(list(outcomes.values()))
    con.execute("ALTER TABLE new.core__customer DROP COLUMN email")
    contract = quality.store_contract(con, "core/customer", "new.core__customer")
    assert not contract.passed and contract.detail["missing_columns"] == ["email"]


def test_drift_and_freshness_rules() -> None:
    current = {
        "duplicate_rate": 0.30,
        "match_rate": 0.5,
        "mean_cluster_size": 1.4,
        "max_cluster_size": 5,
    }
    assert quality.drift_outcome(current, None, 0.05, 0.25).passed  # first run
    same = dict(current)
    assert quality.drift_outcome(current, same, 0.05, 0.25).passed
    drifted = quality.drift_outcome(
        current, {**same, "duplicate_rate": 0.10, "max_cluster_size": 2}, 0.05, 0.25
    )
    assert not drifted.passed and drifted.severity == "WARN"
    assert set(drifted.detail["drifted"]) == {"duplicate_rate", "max_cluster_size"}
    now = dt.datetime(2026, 1, 5, 12)
    assert quality.freshness_outcome(now - dt.timedelta(hours=3), now, 26).passed
    assert not quality.freshness_outcome(now - dt.timedelta(hours=30), now, 26).passed
    assert not quality.freshness_outcome(None, now, 26).passed


def test_dagster_yaml_is_valid_for_an_instance(tmp_path: Path) -> None:
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as inst:
        config = inst.get_concurrency_config()
        assert config.run_queue_config.max_concurrent_runs == 4
        assert inst.run_monitoring_enabled
