"""Accuracy through the user path: source files + registry -> the real nightly sync -> store.

    python -m bench.accuracy --dataset demo|febrl3|febrl4 [--json] [--keep DIR]

Each data set is written as source systems with a source registry (`febrl.py`; the demo
company uses the shipped `sources/sources.yaml`), the whole `nightly_sync` job runs
in-process exactly as `python -m pipelines sync` does (extract, cleanse, link, cluster,
identity, publish) against a fresh store in a temporary directory, and the published
`core.customer_source_xref` is scored against the ground truth (`scoring.py`): pairwise
and cluster precision, recall and F1. Scored pairs before clustering ("edges") come from
the run's work area, to tell model errors from clustering errors.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from bench.accuracy.febrl import FEBRL_DATASETS, write_febrl
from bench.accuracy.scoring import cluster_scores, edge_scores, pairwise_scores
from pipelines.settings import PROJECT_ROOT
from pipelines.workarea import WorkArea

DATASETS: tuple[str, ...] = ("demo", *FEBRL_DATASETS)
DEMO_CUSTOMERS = 2000
DEMO_SEED = 42


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a run, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def prepare(
    dataset: str, root: Path, *, demo_dir: Path | None = None, customers: int = DEMO_CUSTOMERS
) -> tuple[Path, Path, dict[str, str]]:
    """Write the data set's sources; returns (registry, truth CSV, extra environment)."""
    if dataset == "demo":
        if demo_dir is None:
            from sources.demo import generate

            demo_dir = root / "demo"
            generate(demo_dir, customers=customers, seed=DEMO_SEED)
        return (
            PROJECT_ROOT / "sources" / "sources.yaml",
            Path(demo_dir) / "ground_truth.csv",
            {"DEMO_DATA_DIR": str(demo_dir)},
        )
    if dataset in FEBRL_DATASETS:
        registry, truth = write_febrl(dataset, root / "sources")  # type: ignore[arg-type]
        return registry, truth, {}
    raise ValueError(f"unknown dataset {dataset!r}; use one of {', '.join(DATASETS)}")


def run_sync() -> str:
    """One `nightly_sync`, in-process, configured by the environment; returns the run id."""
    from pipelines.definitions import build_defs

    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    result = (
        build_defs()
        .resolve_job_def("nightly_sync")
        .execute_in_process(raise_on_error=False, run_config=quiet)
    )
    if not result.success:
        errors = [
            f"{e.step_key}: "
            + (e.step_failure_data.error.cause or e.step_failure_data.error).message.strip()
            for e in result.all_events
            if e.is_step_failure and e.step_failure_data.error
        ]
        raise RuntimeError(f"sync {result.run_id} failed: {errors or 'a blocking check failed'}")
    return result.run_id


def score_store(store_path: Path, truth_csv: Path, work_dir: Path | None = None) -> dict[str, Any]:
    """Score the published xref (and, if given, the run's scored pairs) against the truth."""
    con = duckdb.connect()
    try:
        con.execute(
            "CREATE TABLE truth AS SELECT source_system || ':' || source_record_id AS record_key,"
            " CAST(entity_id AS VARCHAR) AS entity_id FROM read_csv(?, all_varchar = true)",
            [str(truth_csv)],
        )
        con.execute(f"ATTACH '{store_path}' AS store (READ_ONLY)")
        con.execute(
            "CREATE TABLE predicted AS SELECT source_system || ':' || source_record_id "
            "AS record_key, customer_id AS cluster_id FROM store.core.customer_source_xref "
            "WHERE is_active"
        )
        con.execute("DETACH store")
        missing = con.execute(
            "SELECT count(*) FROM truth ANTI JOIN predicted USING (record_key)"
        ).fetchall()[0][0]
        out: dict[str, Any] = {
            "records": con.execute("SELECT count(*) FROM truth").fetchall()[0][0],
            "records_not_linked": missing,
            "pairwise": pairwise_scores(con, "predicted", "truth").as_dict(),
            "cluster": cluster_scores(con, "predicted", "truth").as_dict(),
        }
        work = WorkArea(work_dir) if work_dir else None
        if work is not None and work.exists("pairs"):
            from pipelines.settings import load_settings

            con.execute(f"CREATE TABLE pairs AS {work.relation('pairs')}")
            threshold = load_settings().match_threshold
            out["edges"] = edge_scores(con, "pairs", "truth", threshold).as_dict()
        return out
    finally:
        con.close()


def run_dataset(
    dataset: str,
    root: Path | None = None,
    *,
    demo_dir: Path | None = None,
    customers: int = DEMO_CUSTOMERS,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Write `dataset` as sources, run the real sync into a fresh store, score it."""
    with contextlib.ExitStack() as stack:
        if root is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="accuracy-")))
        root = Path(root)
        t0 = time.perf_counter()
        registry, truth, extra = prepare(dataset, root, demo_dir=demo_dir, customers=customers)
        store = root / "store" / "customer_store.duckdb"
        settings = {
            "SOURCES_CONFIG": str(registry),
            "CUSTOMER_STORE_URL": f"duckdb:///{store}",
            "CUSTOMER_STORE_WORK_DIR": str(root / "work"),
            **extra,
            **(env or {}),
        }
        with environment(settings):
            t1 = time.perf_counter()
            run_id = run_sync()
            t2 = time.perf_counter()
            scores = score_store(store, truth, root / "work")
        return {
            "dataset": dataset,
            "run_id": run_id,
            **scores,
            "seconds": {"prepare": round(t1 - t0, 1), "sync": round(t2 - t1, 1)},
        }
