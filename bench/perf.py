"""Performance harness: the whole nightly sync against a bare Splink dedupe, at N records.

    .venv/bin/python -m bench.perf --records 100000 --runs 3
    .venv/bin/python -m bench.perf --records 1000000 --runs 3 --incremental 0.01

Each measurement runs in its own child process so that its peak memory (VmHWM) and its CPU
seconds (every thread, user + system) are its own:
- `sync`: the Dagster job in-process (the same assets a user runs), wall time per stage
  from the step events;
- `bare`: Splink 5 alone on the same staged records with the same model settings (train,
  predict, Splink's own clustering), i.e. what wiring Splink by hand costs: the same
  training steps, Splink's own sequential u estimation (the pipeline runs it on two threads);
- `incremental`: after changing a share of the CRM records at the source, one more sync,
  dated the next day (as a nightly run is: load times and the changed rows' dates move).
Figures go to `bench/out/perf_<N>.json`; the medians print as a Markdown table.
"""

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("BENCH_OUT_DIR") or ROOT / "bench" / "out")
RECORDS_PER_CUSTOMER = 2.75  # the demo spreads each customer over ~2.75 source records
# A sync child runs this many days after today (the incremental sync runs "the next night").
DAYS_LATER_ENV = "BENCH_DAYS_LATER"


def _cpu_s() -> float:
    """CPU seconds of this process so far, every thread (DuckDB's included), user + system:
    steadier than wall time on a shared box, so two versions of the code compare better."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _env(demo: Path, work: Path, store: Path, backend: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DEMO_DATA_DIR=str(demo),
        CUSTOMER_STORE_WORK_DIR=str(work),
        CUSTOMER_STORE_URL=f"duckdb:///{store}",
        SOURCES_CONFIG=str(ROOT / "sources" / "sources.yaml"),
        LINKAGE_BACKEND=backend,
        PYTHONPATH=str(ROOT),
    )
    return env


def child_sync() -> dict[str, Any]:
    import dagster as dg

    from pipelines import stages
    from pipelines.definitions import build_defs

    days_later = int(os.environ.get(DAYS_LATER_ENV) or 0)
    if days_later:
        # The next night's sync: what depends on the date (load times, the as_of of the
        # customer_360 rows that change) moves as it does between two nightly runs.
        clock = stages.utcnow
        stages.utcnow = lambda: clock() + dt.timedelta(days=days_later)

    started, cpu_started = time.monotonic(), _cpu_s()
    result = (
        build_defs()
        .resolve_job_def("nightly_sync")
        .execute_in_process(
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        )
    )
    total, cpu = time.monotonic() - started, _cpu_s() - cpu_started
    stages: dict[str, float] = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_SUCCESS":
            key = "extract" if event.step_key.startswith("raw__") else event.step_key
            seconds = event.event_specific_data.duration_ms / 1000
            stages[key] = stages.get(key, 0.0) + seconds
    # Why a step failed, so that a failed run is reported with its cause, not as a missing store.
    failures = [
        f"{event.step_key}: {event.step_failure_data.error.message.strip()[:2000]}"
        for event in result.all_events
        if event.is_step_failure and event.step_failure_data.error
    ]
    return {
        "ok": result.success,
        "failures": failures,
        "total_s": total,
        "cpu_s": cpu,
        "stages_s": stages,
        "peak_rss_mb": _peak_rss_mb(),
    }


def child_bare() -> dict[str, Any]:
    """Splink alone: the same staged records, the same model, Splink's clustering."""
    import logging

    from splink import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    from pipelines.link.linkage import link
    from pipelines.settings import load_settings
    from pipelines.stages import registry, staged_in_source_order
    from pipelines.workarea import WorkArea, connect

    logging.getLogger("splink").setLevel(logging.ERROR)
    settings = load_settings()
    con = connect()
    work = WorkArea(settings.work_dir)
    # In the order a full sync's linkage reads them (`stages.staged_in_source_order`).
    con.execute(f"CREATE TABLE staged AS {staged_in_source_order(work, registry(settings))}")
    started, cpu_started = time.monotonic(), _cpu_s()
    result = link(
        con,
        "staged",
        seed=settings.seed,
        threshold_probability=settings.match_threshold,
        model_dir=None,
        reuse_model=False,
        backend=settings.linkage_backend,  # type: ignore[arg-type]
        spark_master=settings.spark_master,
        u_sample_pairs=settings.u_sample_pairs,
        # As Splink runs it: the pipeline shares the u estimation between two threads.
        u_in_threads=False,
    )
    # The scored pairs are back in DuckDB whatever the backend; clustering them is cheap.
    db_api = DuckDBAPI(connection=con)
    nodes = db_api.register("staged")
    edges = db_api.register("pairs")
    clusters = cluster_pairwise_predictions_at_threshold(
        nodes,
        edges,
        node_id_column_name="record_key",
        edge_id_column_name_left="record_key_l",
        edge_id_column_name_right="record_key_r",
        db_api=db_api,
        threshold_match_probability=settings.match_threshold,
    )
    n_clusters = con.execute(
        f"SELECT count(DISTINCT cluster_id) FROM {clusters.physical_name}"  # noqa: S608
    ).fetchall()[0][0]
    return {
        "total_s": time.monotonic() - started,
        "cpu_s": _cpu_s() - cpu_started,
        "pairs": result.n_pairs,
        "clusters": n_clusters,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _run_child(kind: str, env: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.perf", "--child", kind],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def ensure_demo(records: int) -> Path:
    from sources.demo import is_current

    demo = OUT / f"demo_{records}"
    customers = max(20, round(records / RECORDS_PER_CUSTOMER))
    if not is_current(demo, customers, 42):
        _pristine_crm_path(demo).unlink(missing_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sources.demo",
                "--out",
                str(demo),
                "--customers",
                str(customers),
                "--seed",
                "42",
            ],
            cwd=ROOT,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    return demo


def _pristine_crm_path(demo: Path) -> Path:
    return demo.parent / f"{demo.name}.crm.pristine.sqlite"


def pristine_crm(demo: Path) -> None:
    """Put the CRM database back as generated: every run starts from the same sources
    (`change_crm` edits them in place). The first call keeps a copy beside the demo."""
    kept = _pristine_crm_path(demo)
    if kept.exists():
        shutil.copyfile(kept, demo / "crm.sqlite")
    else:
        shutil.copyfile(demo / "crm.sqlite", kept)


def change_crm(demo: Path, share: float, total_records: int, run: int) -> int:
    """Change `share` of all records at the CRM source (family name + updated_at)."""
    n = max(1, round(total_records * share))
    con = sqlite3.connect(demo / "crm.sqlite")
    try:
        stamp = (dt.datetime(2026, 11, 1) + dt.timedelta(days=run)).strftime("%Y-%m-%d %H:%M:%S")
        cursor = con.execute(
            "UPDATE contacts SET last_name = last_name || 'x', updated_at = ? "
            "WHERE rowid IN (SELECT rowid FROM contacts ORDER BY rowid LIMIT ? OFFSET ?)",
            (stamp, n, run * n),
        )
        con.commit()
        return cursor.rowcount
    finally:
        con.close()


def score(demo: Path, base: Path) -> dict[str, Any]:
    """Pairwise and cluster scores of the published store: a fast wrong run is no result."""
    from bench.accuracy.harness import score_store

    out = score_store(base / "store" / "store.duckdb", demo / "ground_truth.csv")
    return {kind: out[kind] for kind in ("pairwise", "cluster")}


def measure(records: int, runs: int, backend: str, incremental: float | None) -> dict[str, Any]:
    demo = ensure_demo(records)
    manifest = json.loads((demo / "manifest.json").read_text())
    total_records = int(manifest.get("counts", {}).get("records", records))
    results = []
    for run in range(runs):
        base = OUT / f"run_{records}_{backend}_{run}"
        subprocess.run(["rm", "-rf", str(base)], check=True)
        pristine_crm(demo)
        env = _env(demo, base / "work", base / "store" / "store.duckdb", backend)
        sync = _run_child("sync", env)
        if not sync["ok"]:
            raise RuntimeError(f"run {run}: the sync failed: {sync['failures']}")
        bare = _run_child("bare", env)
        entry = {
            "accuracy": score(demo, base),
            "sync": sync,
            "bare": bare,
            "ratio_sync_to_bare": sync["total_s"] / bare["total_s"],
            "cpu_ratio_sync_to_bare": sync["cpu_s"] / bare["cpu_s"],
        }
        if incremental:
            changed = change_crm(demo, incremental, total_records, run)
            inc = _run_child("sync", {**env, DAYS_LATER_ENV: "1"})
            if not inc["ok"]:
                raise RuntimeError(f"run {run}: the incremental sync failed: {inc['failures']}")
            entry["incremental"] = {**inc, "changed_records": changed}
            entry["ratio_incremental_to_full"] = inc["total_s"] / sync["total_s"]
            entry["cpu_ratio_incremental_to_full"] = inc["cpu_s"] / sync["cpu_s"]
        results.append(entry)
        print(
            json.dumps(
                {
                    "run": run,
                    "sync_s": round(sync["total_s"], 1),
                    "bare_s": round(bare["total_s"], 1),
                    "pairwise_f1": round(entry["accuracy"]["pairwise"]["f1"], 4),
                    "pairwise_precision": round(entry["accuracy"]["pairwise"]["precision"], 4),
                }
            ),
            flush=True,
        )
    summary = {
        "records": total_records,
        "backend": backend,
        "runs": runs,
        "machine": f"{os.cpu_count()} cores",
        "median_sync_s": statistics.median(r["sync"]["total_s"] for r in results),
        "median_bare_s": statistics.median(r["bare"]["total_s"] for r in results),
        "median_ratio_sync_to_bare": statistics.median(r["ratio_sync_to_bare"] for r in results),
        "median_cpu_sync_s": statistics.median(r["sync"]["cpu_s"] for r in results),
        "median_cpu_bare_s": statistics.median(r["bare"]["cpu_s"] for r in results),
        "median_cpu_ratio_sync_to_bare": statistics.median(
            r["cpu_ratio_sync_to_bare"] for r in results
        ),
        "max_peak_rss_mb": max(r["sync"]["peak_rss_mb"] for r in results),
        "max_peak_rss_bare_mb": max(r["bare"]["peak_rss_mb"] for r in results),
        "median_pairwise": {
            k: statistics.median(r["accuracy"]["pairwise"][k] for r in results)
            for k in ("precision", "recall", "f1")
        },
        "median_stage_s": {
            stage: statistics.median(r["sync"]["stages_s"].get(stage, 0.0) for r in results)
            for stage in results[0]["sync"]["stages_s"]
        },
        "runs_detail": results,
    }
    if incremental:
        summary["median_incremental_stage_s"] = {
            stage: statistics.median(
                r["incremental"]["stages_s"].get(stage, 0.0) for r in results
            )
            for stage in results[0]["sync"]["stages_s"]
        }
        summary["median_incremental_s"] = statistics.median(
            r["incremental"]["total_s"] for r in results
        )
        summary["median_ratio_incremental_to_full"] = statistics.median(
            r["ratio_incremental_to_full"] for r in results
        )
        summary["median_cpu_incremental_s"] = statistics.median(
            r["incremental"]["cpu_s"] for r in results
        )
        summary["median_cpu_ratio_incremental_to_full"] = statistics.median(
            r["cpu_ratio_incremental_to_full"] for r in results
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"perf_{total_records}_{backend}.json").write_text(json.dumps(summary, indent=2))
    return summary


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"records {summary['records']}, backend {summary['backend']}, "
        f"{summary['runs']} runs, medians:",
        "",
        "| stage | full sync (s) | incremental sync (s) |",
        "| --- | ---: | ---: |",
    ]
    incremental = summary.get("median_incremental_stage_s", {})
    for stage, seconds in summary["median_stage_s"].items():
        inc = f"{incremental[stage]:.1f}" if stage in incremental else "-"
        lines.append(f"| {stage} | {seconds:.1f} | {inc} |")
    lines += [
        "",
        f"- full sync: {summary['median_sync_s']:.1f} s, peak RSS "
        f"{summary['max_peak_rss_mb']:.0f} MB",
        f"- bare Splink: {summary['median_bare_s']:.1f} s (peak RSS "
        f"{summary['max_peak_rss_bare_mb']:.0f} MB); pipeline / bare (per run, median): "
        f"{summary['median_ratio_sync_to_bare']:.2f}",
        "- published store vs ground truth, pairwise P / R / F1: "
        + " / ".join(f"{summary['median_pairwise'][k]:.4f}" for k in ("precision", "recall", "f1")),
    ]
    cpu = (
        f"- CPU seconds, all threads (steadier than wall time on a shared box): full sync "
        f"{summary['median_cpu_sync_s']:.1f}, bare {summary['median_cpu_bare_s']:.1f} "
        f"(pipeline / bare {summary['median_cpu_ratio_sync_to_bare']:.2f})"
    )
    if "median_incremental_s" in summary:
        lines.append(
            f"- incremental sync: {summary['median_incremental_s']:.1f} s; incremental / full: "
            f"{summary['median_ratio_incremental_to_full']:.2f}"
        )
        cpu += (
            f", incremental {summary['median_cpu_incremental_s']:.1f} (incremental / full "
            f"{summary['median_cpu_ratio_incremental_to_full']:.2f})"
        )
    lines.append(cpu)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", default="duckdb", choices=["duckdb", "spark"])
    parser.add_argument("--incremental", type=float, default=None, help="share changed, e.g. 0.01")
    parser.add_argument("--child", choices=["sync", "bare"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "sync":
        print(json.dumps(child_sync()))
        return 0
    if args.child == "bare":
        print(json.dumps(child_bare()))
        return 0
    summary = measure(args.records, args.runs, args.backend, args.incremental)
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
