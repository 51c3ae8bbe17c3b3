"""Run-failure alerts: a JSON POST to ALERT_WEBHOOK_URL, with no personal values in it.

Error messages of this project name the source, the record and the reason, but an exception
raised by a library can quote a value it choked on (an e-mail, a phone, a tax id, a name in
quotes). `redact` removes those before anything leaves the machine; stack traces never do.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_CHARS = 500

_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "<email>"),
    # Quoted literals come first: they may hold names, addresses, raw rows.
    (re.compile(r"'[^']{1,200}'"), "'<value>'"),
    (re.compile(r'"[^"]{1,200}"'), '"<value>"'),
    # Phone numbers, tax ids, account numbers: long digit runs, with or without separators.
    (re.compile(r"\+?\d[\d\s().-]{5,}\d"), "<number>"),
    (re.compile(r"\b[A-Z]?\d{7,8}[A-Z]\b"), "<tax_id>"),
)


def redact(message: str) -> str:
    """The message with e-mails, quoted values, long numbers and tax ids masked."""
    text = message.strip()
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[:MAX_MESSAGE_CHARS] + "…"
    return text


@dataclass(frozen=True)
class StepFailure:
    step: str
    error_type: str
    message: str


def alert_payload(
    job: str,
    run_id: str,
    failures: Iterable[StepFailure],
    run_error: str | None = None,
    webserver_url: str | None = None,
) -> dict[str, Any]:
    """The JSON body of a failure alert (counts and redacted messages only)."""
    steps = [
        {"step": f.step, "error_type": f.error_type, "message": redact(f.message)}
        for f in failures
    ]
    payload: dict[str, Any] = {
        "event": "run_failure",
        "job": job,
        "run_id": run_id,
        "failed_steps": [s["step"] for s in steps],
        "errors": steps,
        "run_error": redact(run_error) if run_error else None,
        "text": f"customer store: run {run_id} of {job} failed"
        + (f" in {', '.join(s['step'] for s in steps)}" if steps else ""),
    }
    if webserver_url:
        payload["run_url"] = f"{webserver_url.rstrip('/')}/runs/{run_id}"
    return payload


def post_json(url: str, payload: dict[str, Any], timeout: float = 10.0) -> int:
    """POST `payload` as JSON; returns the HTTP status (raises on network errors)."""
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own webhook
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "customer-store-alerts"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return int(response.status)
