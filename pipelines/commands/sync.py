"""`python -m pipelines sync`: one nightly sync now, in this process, with a summary."""

import argparse
import os
import sys
import time
from pathlib import Path

from pipelines.settings import PROJECT_ROOT, Settings
from pipelines.synclock import SyncRunningError, sync_lock

HELP = "run one nightly sync now, in this process, and print its summary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level", default="WARNING", help="Dagster console log level (default WARNING)"
    )
    parser.add_argument(
        "--wait", action="store_true", help="wait for a running sync instead of refusing"
    )
    parser.add_argument(
        "--ephemeral",
        action="store_true",
        help="do not record the run in the Dagster instance (faster; for tests and benchmarks)",
    )


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    from pipelines.settings import load_settings

    settings = load_settings()
    try:
        with sync_lock(settings.work_dir, wait=args.wait):
            return _run(args, settings)
    except SyncRunningError as exc:
        print(f"sync refused: {exc}", file=sys.stderr)
        return 3


def _run(args: argparse.Namespace, settings: Settings) -> int:
    import dagster as dg

    from pipelines.definitions import build_defs
    from pipelines.publish.summary import run_summary_markdown, store_figures

    started = time.monotonic()
    run_config = {"loggers": {"console": {"config": {"log_level": args.log_level.upper()}}}}
    instance_factory = dg.DagsterInstance.ephemeral if args.ephemeral else dg.DagsterInstance.get
    with instance_factory() as instance:
        result = (
            build_defs()
            .resolve_job_def("nightly_sync")
            .execute_in_process(instance=instance, raise_on_error=False, run_config=run_config)
        )
    duration = time.monotonic() - started
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure and event.step_failure_data.error:
                cause = event.step_failure_data.error.cause
                message = (cause or event.step_failure_data.error).message.strip()
                print(f"step {event.step_key} failed: {message}", file=sys.stderr)
        skipped = [e.step_key for e in result.all_events if e.event_type_value == "STEP_SKIPPED"]
        if skipped:
            print(f"skipped (a blocking check failed upstream): {skipped}", file=sys.stderr)
        print(
            f"sync {result.run_id} FAILED after {duration:.1f} s; the store was left as it was",
            file=sys.stderr,
        )
        return 1
    print(run_summary_markdown(store_figures(settings.store_url, result.run_id), duration))
    print(f"\nstore: {settings.store_url}")
    return 0
