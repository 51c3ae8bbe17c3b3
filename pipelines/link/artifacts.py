"""Linkage run artefacts as Dagster metadata: the model, its match weights, the viewer.

The stage functions return plain figures (paths as strings); `dagster_metadata` turns
them into clickable paths and a Markdown match-weight table shown on the asset's page in
the Dagster UI, next to the interactive chart saved beside the model.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import dagster as dg


def match_weights_markdown(model_json: Path, max_rows: int = 120) -> str:
    """One row per comparison level: m, u and match weight (log2 m/u) of the saved model."""
    model = json.loads(Path(model_json).read_text(encoding="utf-8"))
    prior = model.get("probability_two_random_records_match")
    lines = [
        f"Prior: probability two random records match = {prior:.3g}" if prior else "",
        "",
        "| comparison | level | m | u | match weight |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for comparison in model.get("comparisons", []):
        name = comparison.get("output_column_name", "?")
        for level in comparison.get("comparison_levels", []):
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = (
                f"{math.log2(m / u):+.2f}"
                if isinstance(m, float | int) and isinstance(u, float | int) and m > 0 and u > 0
                else "n/a"
            )
            label = str(level.get("label_for_charts", level.get("sql_condition", "")))
            label = label.replace("|", "/")
            lines.append(f"| {name} | {label} | {_num(m)} | {_num(u)} | {weight} |")
            if len(lines) > max_rows:
                lines.append("| … | (truncated: see the chart) | | | |")
                return "\n".join(lines)
    return "\n".join(lines)


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float | int) else "n/a"


def dagster_metadata(figures: dict[str, Any]) -> dict[str, Any]:
    """Metadata values for the artefact paths in a linkage stage's figures."""
    out: dict[str, Any] = {}
    for key in ("model_path", "match_weights_chart", "comparison_viewer"):
        value = figures.get(key)
        if value and Path(value).exists():
            out[key] = dg.MetadataValue.path(value)
    model_path = figures.get("model_path")
    if model_path and Path(model_path).exists():
        out["match_weights"] = dg.MetadataValue.md(match_weights_markdown(Path(model_path)))
    return out
