"""Train the shipped Splink model on `staged` and score candidate pairs into `pairs`.

Pure stage logic: takes a DuckDB connection that already holds `staged`, leaves the
table `pairs` in it. The Dagster asset (pipelines/link/assets.py) does the file I/O.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb
from splink import DuckDBAPI, Linker
from splink.blocking_analysis import count_comparisons_from_blocking_rules
from splink.blocking_rule_library import CustomRule
from splink.internals.database_api import DatabaseAPI
from splink.internals.splink_dataframe import SplinkDataFrame

from pipelines.link.model import (
    DEFAULT_PROBABILITY_TWO_RANDOM_RECORDS_MATCH,
    MATCH_COLUMNS,
    REQUIRED_COLUMNS,
    LinkModel,
    build_model,
)

logger = logging.getLogger(__name__)

Backend = Literal["duckdb", "spark"]

#: Pairs at or above this probability are written to `pairs`; tuned on FEBRL3/4.
DEFAULT_THRESHOLD_PROBABILITY = 0.9

# Below this many records, u-sampling sees too few non-matching pairs and EM too few
# matches for either to beat the priors; term frequencies are noise as well.
MIN_RECORDS_FOR_TRAINING = 1000
# EM blocks smaller than this cannot separate matches from non-matches reliably.
MIN_PAIRS_FOR_EM = 200
U_SAMPLING_MAX_PAIRS = 1e7
EM_MAX_PAIRS = 5e6
# Recall assumed for the deterministic rules when estimating the prior match rate.
DETERMINISTIC_RECALL = 0.7

_INPUT_TABLE = "__link_input"


@dataclass(frozen=True)
class LinkResult:
    """What `link` did: counts, the model it trained and where it saved it."""

    n_records: int
    n_pairs: int
    threshold_probability: float
    probability_two_random_records_match: float
    columns_used: tuple[str, ...]
    training_mode: Literal["trained", "priors"]
    model_path: Path | None = None
    chart_paths: tuple[Path, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def make_db_api(con: duckdb.DuckDBPyConnection, backend: Backend = "duckdb") -> DatabaseAPI:
    """The Splink database API for `backend`, bound to the stage's connection.

    Spark is the planned second backend (same model, trained per backend because a
    saved model holds dialect SQL); only this function and the input hand-over change.
    """
    if backend == "duckdb":
        return DuckDBAPI(connection=con)
    raise NotImplementedError(
        f"Linkage backend {backend!r} is not implemented yet; use 'duckdb'. "
        "Spark needs a SparkAPI built from a SparkSession with Splink's similarity jar."
    )


def available_columns(con: duckdb.DuckDBPyConnection, staged: str = "staged") -> list[str]:
    """Matching columns of `staged` that exist and hold at least one non-NULL value."""
    present = {row[0] for row in con.execute(f"DESCRIBE {_ident(staged)}").fetchall()}
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if missing:
        raise ValueError(
            f"Table {staged!r} lacks required column(s) {', '.join(missing)}; "
            "it must follow the `staged` contract in docs/architecture.md."
        )
    candidates = [c for c in MATCH_COLUMNS if c in present]
    if not candidates:
        return []
    counts = ", ".join(f"count({_ident(c)})" for c in candidates)
    row = con.execute(f"SELECT {counts} FROM {_ident(staged)}").fetchall()[0]  # noqa: S608
    return [c for c, n in zip(candidates, row, strict=True) if n > 0]


def link(
    con: duckdb.DuckDBPyConnection,
    staged: str = "staged",
    *,
    seed: int = 42,
    threshold_probability: float = DEFAULT_THRESHOLD_PROBABILITY,
    model_dir: Path | None = None,
    backend: Backend = "duckdb",
) -> LinkResult:
    """Train the model on `staged`, score candidate pairs and create table `pairs`.

    `pairs` holds every scored pair with match_probability >= `threshold_probability`
    (record_key_l < record_key_r), with match_weight, match_probability, the gamma_*
    levels and mw_* partial weights, ordered by the two keys. With `model_dir`, the
    trained model (model.json) and its match-weights chart (.html/.json) are saved.
    """
    if not 0.0 < threshold_probability < 1.0:
        raise ValueError(f"threshold_probability must be in (0, 1), got {threshold_probability}")
    columns = available_columns(con, staged)
    n_records = con.execute(f"SELECT count(*) FROM {_ident(staged)}").fetchall()[0][0]  # noqa: S608
    notes: list[str] = []

    if n_records < 2 or not columns:
        if not columns:
            notes.append("no matching column populated: every record stays a singleton")
        _create_empty_pairs(con)
        return LinkResult(
            n_records=n_records,
            n_pairs=0,
            threshold_probability=threshold_probability,
            probability_two_random_records_match=DEFAULT_PROBABILITY_TWO_RANDOM_RECORDS_MATCH,
            columns_used=tuple(columns),
            training_mode="priors",
            notes=tuple(notes),
        )

    trainable = n_records >= MIN_RECORDS_FOR_TRAINING
    model = build_model(columns, use_term_frequencies=trainable)
    select_cols = ", ".join(_ident(c) for c in (*REQUIRED_COLUMNS, *model.columns))
    # Splink copies every input column through its pipeline; hand it only what it uses.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_INPUT_TABLE} AS "  # noqa: S608
        f"SELECT {select_cols} FROM {_ident(staged)} ORDER BY record_key"
    )
    db_api = make_db_api(con, backend)
    input_sdf = db_api.register(_INPUT_TABLE, dataset_display_name="staged")
    linker = Linker(input_sdf, model.settings, log_level=logging.WARNING)
    try:
        mode = _train(linker, input_sdf, model, n_records=n_records, seed=seed, notes=notes)
        for col in model.tf_columns:
            linker.table_management.compute_tf_table(col)
        predictions = linker.inference.predict(
            threshold_match_probability=threshold_probability, warning_mode="never"
        )
        _create_pairs(con, predictions.physical_name)
        model_path, chart_paths = _save_model(linker, model_dir)
        prior = linker._settings_obj._probability_two_random_records_match
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
        con.execute(f"DROP TABLE IF EXISTS {_INPUT_TABLE}")

    n_pairs = con.execute("SELECT count(*) FROM pairs").fetchall()[0][0]
    return LinkResult(
        n_records=n_records,
        n_pairs=n_pairs,
        threshold_probability=threshold_probability,
        probability_two_random_records_match=prior,
        columns_used=model.columns,
        training_mode=mode,
        model_path=model_path,
        chart_paths=chart_paths,
        notes=tuple(notes),
    )


def _train(
    linker: Linker,
    input_sdf: SplinkDataFrame,
    model: LinkModel,
    *,
    n_records: int,
    seed: int,
    notes: list[str],
) -> Literal["trained", "priors"]:
    """Unsupervised, deterministic training; keeps the priors wherever it cannot run."""
    training = linker.training
    if model.deterministic_rules:
        try:
            training.estimate_probability_two_random_records_match(
                list(model.deterministic_rules), recall=DETERMINISTIC_RECALL
            )
        except ValueError as exc:
            notes.append(f"prior match rate kept at default: {exc}")
        prior = linker._settings_obj._probability_two_random_records_match
        if not 0.0 < prior < 0.5 or math.isnan(prior):
            # No deterministic match at all (or an absurd rate on tiny inputs): a prior
            # of 0 would veto every link, so fall back to the default.
            linker._settings_obj._probability_two_random_records_match = (
                DEFAULT_PROBABILITY_TWO_RANDOM_RECORDS_MATCH
            )
            notes.append("prior match rate out of range; default used")

    if n_records < MIN_RECORDS_FOR_TRAINING:
        notes.append(
            f"{n_records} records < {MIN_RECORDS_FOR_TRAINING}: prior m/u values used, "
            "no term-frequency adjustment"
        )
        return "priors"

    max_pairs = min(U_SAMPLING_MAX_PAIRS, n_records * (n_records - 1) / 2)
    training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)

    for rule in model.em_rules:
        n_block = _count_pairs(input_sdf, rule)
        if n_block < MIN_PAIRS_FOR_EM:
            notes.append(f"EM skipped on {rule.sql_condition}: only {n_block} pairs")
            continue
        try:
            training.estimate_parameters_using_expectation_maximisation(
                rule,
                estimate_without_term_frequencies=True,
                max_pairs=EM_MAX_PAIRS if n_block > EM_MAX_PAIRS else None,
            )
        except Exception as exc:  # noqa: BLE001 - any EM failure must leave the priors usable
            notes.append(f"EM failed on a training rule, priors kept: {exc}")
    return "trained"


def _count_pairs(input_sdf: SplinkDataFrame, rule: CustomRule) -> int:
    stats = count_comparisons_from_blocking_rules(
        input_sdf,
        blocking_rules=rule,
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        record_sample_proportion=1.0,
    )
    return int(stats[-1]["cumulative_comparison_count"])


def _create_pairs(con: duckdb.DuckDBPyConnection, predictions: str) -> None:
    cols = [row[0] for row in con.execute(f"DESCRIBE {predictions}").fetchall()]
    keep = ["record_key_l", "record_key_r", "match_weight", "match_probability"]
    keep += [c for c in cols if c.startswith("gamma_")]
    keep += [c for c in cols if c.startswith("mw_")]
    if "match_key" in cols:
        keep.append("match_key")
    select = ", ".join(_ident(c) for c in keep)
    # The party guard is already in every blocking rule; filtering again makes the
    # person/company separation independent of the rule list.
    con.execute(
        f"CREATE OR REPLACE TABLE pairs AS SELECT {select} FROM {predictions} "  # noqa: S608
        "WHERE party_type_l = party_type_r ORDER BY record_key_l, record_key_r"
    )


def _create_empty_pairs(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE OR REPLACE TABLE pairs (record_key_l VARCHAR, record_key_r VARCHAR, "
        "match_weight DOUBLE, match_probability DOUBLE)"
    )


def _save_model(linker: Linker, model_dir: Path | None) -> tuple[Path | None, tuple[Path, ...]]:
    if model_dir is None:
        return None, ()
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    model_path = model_dir / "model.json"
    linker.misc.save_model_to_json(str(model_path), overwrite=True)
    chart = linker.visualisations.match_weights_chart()
    html_path = model_dir / "match_weights.html"
    # Inline the chart libraries: the chart is opened from run artefacts, often offline.
    html_path.write_text(chart.to_html(inline=True), encoding="utf-8")
    json_path = model_dir / "match_weights.json"
    json_path.write_text(json.dumps(chart.chart_dict, indent=2, default=str), encoding="utf-8")
    return model_path, (html_path, json_path)


def _ident(name: str) -> str:
    """Quote an identifier; table and column names come from code, never from data."""
    return '"' + name.replace('"', '""') + '"'
