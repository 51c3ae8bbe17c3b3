"""Command line: `python -m pipelines sync` runs one nightly sync in-process and prints a summary."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from pipelines.settings import PROJECT_ROOT


def _sync(args: argparse.Namespace) -> int:
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "dagster_home"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    import dagster as dg

    from pipelines.definitions import build_defs
    from pipelines.publish.summary import run_summary_markdown, store_figures
    from pipelines.settings import load_settings

    started = time.monotonic()
    with dg.DagsterInstance.get() as instance:
        result = build_defs().resolve_job_def("nightly_sync").execute_in_process(
            instance=instance, raise_on_error=False
        )
    duration = time.monotonic() - started
    if not result.success:
        failed = [e for e in result.all_events if e.is_step_failure]
        for event in failed:
            error = event.step_failure_data.error
            print(f"step {event.step_key} failed: {error.message if error else ''}", file=sys.stderr)
        skipped = [e.step_key for e in result.all_events if e.event_type_value == "STEP_SKIPPED"]
        if skipped:
            print(f"skipped (a blocking check failed upstream): {skipped}", file=sys.stderr)
        print(f"sync {result.run_id} FAILED after {duration:.1f} s; the store was left as it was",
              file=sys.stderr)
        return 1
    settings = load_settings()
    print(run_summary_markdown(store_figures(settings.store_url, result.run_id), duration))
    print(f"\nstore: {settings.store_url}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("sync", help="run one nightly sync now, in this process")
    args = parser.parse_args(argv)
    if args.command == "sync":
        return _sync(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
