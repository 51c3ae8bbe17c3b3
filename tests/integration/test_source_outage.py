"""An unreachable source is retried with backoff, then fails with a clear error; nothing is
published, so its customers are never dropped silently."""

import hashlib
import time

import pytest

from pipelines.definitions import build_defs
from pipelines.settings import PROJECT_ROOT
from sources.connectors import SourceReadError, read_location

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/test"


def test_refused_connection_is_retried_then_named(monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_CONNECT_ATTEMPTS", "3")
    monkeypatch.setenv("SOURCE_RETRY_DELAY", "0.2")
    started = time.monotonic()
    with pytest.raises(SourceReadError, match=r"source 'crm': cannot connect .* after 3 attempts"):
        read_location(source="crm", kind="sql", url=UNREACHABLE, table="contacts")
    assert time.monotonic() - started >= 0.2 + 0.4


def test_outage_fails_the_sync_and_keeps_the_store(sync_env, tmp_path, monkeypatch) -> None:
    first = build_defs().resolve_job_def("nightly_sync").execute_in_process(raise_on_error=False)
    assert first.success
    store_hash = hashlib.sha256(sync_env.store_path.read_bytes()).hexdigest()

    registry = (PROJECT_ROOT / "sources" / "sources.yaml").read_text()
    crm_url = 'url: "sqlite:///${DEMO_DATA_DIR:-data/demo}/crm.sqlite"'
    assert crm_url in registry
    broken = tmp_path / "sources.yaml"
    broken.write_text(registry.replace(crm_url, f'url: "{UNREACHABLE}"'))
    monkeypatch.setenv("SOURCES_CONFIG", str(broken))
    monkeypatch.setenv("SOURCE_CONNECT_ATTEMPTS", "2")
    monkeypatch.setenv("SOURCE_RETRY_DELAY", "0.1")

    second = (
        build_defs(str(broken))
        .resolve_job_def("nightly_sync")
        .execute_in_process(raise_on_error=False)
    )
    assert not second.success
    failures = [e for e in second.all_events if e.is_step_failure]
    assert any(e.step_key.startswith("raw__crm") for e in failures)
    messages = " ".join(str(e.step_failure_data.error) for e in failures)
    assert "cannot connect" in messages and "crm" in messages
    retried = [e for e in second.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retried, "the extract step is retried by its retry policy"
    succeeded = {e.step_key for e in second.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert "raw__billing" in succeeded  # other sources still extract
    assert "publish_store" not in succeeded
    assert hashlib.sha256(sync_env.store_path.read_bytes()).hexdigest() == store_hash
