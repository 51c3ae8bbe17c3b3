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
    # Linkage: where Splink runs (duckdb | spark), the Spark master, the review band.
    linkage_backend: str = "duckdb"
    spark_master: str | None = None
    review_min_probability: float = 0.5
    review_max_probability: float = 0.95
    # Record pairs sampled to estimate u; fewer trains faster (Spark local) but noisier.
    u_sample_pairs: int = 10_000_000
    # Incremental linkage: rescore only new/changed records unless a full relink is asked
    # for (FULL_RELINK=1, or the weekly schedule's run tag) or too much changed.
    full_relink: bool = False
    # Re-read every source table, re-cleanse every record and rebuild the store file
    # (FULL_REFRESH=1, or the run tag full_refresh=1 from the launchpad).
    full_refresh: bool = False
    incremental_max_share: float = 0.2

    @property
    def store_is_duckdb(self) -> bool:
        return self.store_url.startswith("duckdb:")


def default_store_url() -> str:
    return f"duckdb:///{PROJECT_ROOT / 'data' / 'store' / 'customer_store.duckdb'}"


def parse_flag(value: str | None) -> bool:
    """An on/off switch from an environment variable or a run tag: 1, true or yes."""
    return (value or "").strip().lower() in {"1", "true", "yes"}


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    work_dir = Path(env.get("CUSTOMER_STORE_WORK_DIR") or PROJECT_ROOT / "data" / "work")
    return Settings(
        store_url=env.get("CUSTOMER_STORE_URL") or default_store_url(),
        sources_config=Path(env.get("SOURCES_CONFIG") or PROJECT_ROOT / "sources" / "sources.yaml"),
        work_dir=work_dir.resolve(),
        seed=int(env.get("LINKAGE_SEED", "42")),
        match_threshold=float(env.get("MATCH_THRESHOLD", "0.9")),
        linkage_backend=_backend(env.get("LINKAGE_BACKEND") or "duckdb"),
        spark_master=env.get("SPARK_MASTER") or None,
        review_min_probability=float(env.get("REVIEW_MIN_PROBABILITY", "0.5")),
        review_max_probability=float(env.get("REVIEW_MAX_PROBABILITY", "0.95")),
        u_sample_pairs=int(float(env.get("LINKAGE_U_SAMPLE_PAIRS", "1e7"))),
        full_relink=parse_flag(env.get("FULL_RELINK")),
        full_refresh=parse_flag(env.get("FULL_REFRESH")),
        incremental_max_share=float(env.get("INCREMENTAL_MAX_SHARE", "0.2")),
    )


def _backend(value: str) -> str:
    backend = value.strip().lower()
    if backend not in ("duckdb", "spark"):
        raise ValueError(
            f"LINKAGE_BACKEND={value!r} is not a linkage backend; set it to duckdb (default, "
            "one machine) or spark (SPARK_MASTER says where Spark runs)."
        )
    return backend
