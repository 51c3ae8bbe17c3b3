"""Run-time settings, read from the environment (never from code).

Every setting has a documented default so that `make run` works on a fresh clone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    store_url: str
    sources_config: Path
    work_dir: Path
    seed: int
    match_threshold: float

    @property
    def store_is_duckdb(self) -> bool:
        return self.store_url.startswith("duckdb:")


def default_store_url() -> str:
    return f"duckdb:///{PROJECT_ROOT / 'data' / 'store' / 'customer_store.duckdb'}"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    work_dir = Path(env.get("CUSTOMER_STORE_WORK_DIR") or PROJECT_ROOT / "data" / "work")
    return Settings(
        store_url=env.get("CUSTOMER_STORE_URL") or default_store_url(),
        sources_config=Path(env.get("SOURCES_CONFIG") or PROJECT_ROOT / "sources" / "sources.yaml"),
        work_dir=work_dir.resolve(),
        seed=int(env.get("LINKAGE_SEED", "42")),
        match_threshold=float(env.get("MATCH_THRESHOLD", "0.9")),
    )
