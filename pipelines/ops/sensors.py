"""Sensors: a sync when a file lands in the drop folder, an alert when a run fails."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import dagster as dg

from pipelines.ops.alerts import StepFailure, alert_payload, post_json

DROP_SENSOR_INTERVAL_S = 30


def scan_drop_folder(folder: Path, cursor: str | None) -> tuple[list[str], str]:
    """Files of `folder` that are new or changed since `cursor` (JSON {name: mtime_ns}).

    Returns the changed names (sorted) and the new cursor. Hidden and temporary files
    (`.name`, `*.tmp`, `*.part`) are ignored: a file still being copied in is not a drop yet.
    """
    seen: dict[str, int] = json.loads(cursor) if cursor else {}
    current: dict[str, int] = {}
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not path.is_file() or path.name.startswith(".") or path.suffix in (".tmp", ".part"):
            continue
        current[path.name] = path.stat().st_mtime_ns
    changed = sorted(name for name, mtime in current.items() if seen.get(name) != mtime)
    return changed, json.dumps(current, sort_keys=True)


def build_drop_folder_sensor(job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name="drop_folder_sensor",
        job=job,
        minimum_interval_seconds=DROP_SENSOR_INTERVAL_S,
        description="Starts a sync when a file is added to or replaced in DROP_FOLDER "
        "(cursor: file names and modification times).",
        default_status=dg.DefaultSensorStatus.RUNNING
        if os.environ.get("DROP_FOLDER")
        else dg.DefaultSensorStatus.STOPPED,
    )
    def drop_folder_sensor(context: dg.SensorEvaluationContext):
        folder = os.environ.get("DROP_FOLDER")
        if not folder:
            return dg.SkipReason("DROP_FOLDER is not set: no drop folder to watch")
        changed, cursor = scan_drop_folder(Path(folder), context.cursor)
        if not changed:
            context.update_cursor(cursor)
            return dg.SkipReason(f"no new file in {folder}")
        context.update_cursor(cursor)
        # The run key makes a re-evaluation with the same files idempotent.
        return dg.RunRequest(
            run_key="drop:" + hashlib.sha256(cursor.encode()).hexdigest()[:16],
            tags={
                "customer_store/trigger": "drop_folder",
                "customer_store/files": ",".join(changed)[:200],
            },
        )

    return drop_folder_sensor


def failures_of(context: dg.RunFailureSensorContext) -> list[StepFailure]:
    failures = []
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        # The user code's exception is the cause of Dagster's wrapper error.
        root = error.cause if error is not None and error.cause is not None else error
        failures.append(
            StepFailure(
                step=event.step_key or "?",
                error_type=root.cls_name if root and root.cls_name else "Error",
                message=root.message if root else "",
            )
        )
    return failures


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    description="POSTs a JSON alert (job, run id, failed steps, redacted errors) to "
    "ALERT_WEBHOOK_URL when a run fails.",
    default_status=dg.DefaultSensorStatus.RUNNING
    if os.environ.get("ALERT_WEBHOOK_URL")
    else dg.DefaultSensorStatus.STOPPED,
)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    url = os.environ.get("ALERT_WEBHOOK_URL")
    if not url:
        context.log.warning("run failed but ALERT_WEBHOOK_URL is not set: no alert sent")
        return
    run = context.dagster_run
    run_error = context.failure_event.message if context.failure_event else None
    payload = alert_payload(
        run.job_name,
        run.run_id,
        failures_of(context),
        run_error=run_error,
        webserver_url=os.environ.get("DAGSTER_WEBSERVER_URL"),
    )
    status = post_json(url, payload)
    context.log.info(f"alert for run {run.run_id} sent, webhook answered {status}")
