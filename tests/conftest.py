"""Shared fixtures: a small generated demo company and an isolated store per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.settings import PROJECT_ROOT


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first: under `make test`'s two workers a long test started last would run
    alone at the end while the other worker idles."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@dataclass
class SyncEnv:
    demo_dir: Path
    store_url: str
    work_dir: Path
    sources_config: Path

    @property
    def store_path(self) -> Path:
        return Path(self.store_url.removeprefix("duckdb:///"))


def _set_env(monkeypatch: pytest.MonkeyPatch, env: SyncEnv) -> None:
    monkeypatch.setenv("DEMO_DATA_DIR", str(env.demo_dir))
    monkeypatch.setenv("CUSTOMER_STORE_URL", env.store_url)
    monkeypatch.setenv("CUSTOMER_STORE_WORK_DIR", str(env.work_dir))
    monkeypatch.setenv("SOURCES_CONFIG", str(env.sources_config))


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sources.demo import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out, customers=int(os.environ.get("TEST_DEMO_CUSTOMERS", "300")), seed=7)
    return out


@pytest.fixture
def sync_env(demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SyncEnv]:
    env = SyncEnv(
        demo_dir=demo_dir,
        store_url=f"duckdb:///{tmp_path / 'store' / 'customer_store.duckdb'}",
        work_dir=tmp_path / "work",
        sources_config=PROJECT_ROOT / "sources" / "sources.yaml",
    )
    _set_env(monkeypatch, env)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    yield env
