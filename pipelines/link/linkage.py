"""Train the shipped Splink model on `staged` and score candidate pairs into `pairs`.

Pure stage logic: takes a DuckDB connection that already holds `staged`, leaves the
tables `pairs` (and `review_pair` candidates) in it. The Dagster asset
(pipelines/link/assets.py) does the file I/O.

Backends: the records are always prepared in DuckDB (derived columns, projection). With
`backend="spark"` they are handed to a Spark session (local or a cluster, see
`pipelines/link/spark.py`), the same Python model is trained there, and the scored pairs
come back into DuckDB, so everything downstream is backend-neutral.

Model reuse: the trained model is saved as a versioned JSON artefact under
`model_dir/versions/<profile>/`, where <profile> hashes what training depends on (the
model's code, the nickname table, the backend, the seed, every matching column's
completeness and the order of magnitude of the row count). While that profile is
unchanged the next run loads the saved parameters instead of retraining: the same inputs
give the same model, and a nightly run on stable sources skips EM.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import math
import queue
import shutil
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import splink
from splink import DuckDBAPI, Linker
from splink.blocking_analysis import count_comparisons_from_blocking_rules
from splink.blocking_rule_library import CustomRule
from splink.internals.database_api import DatabaseAPI
from splink.internals.splink_dataframe import SplinkDataFrame

from pipelines.link import model as model_module
from pipelines.link.model import (
    DEFAULT_PROBABILITY_TWO_RANDOM_RECORDS_MATCH,
    MATCH_COLUMNS,
    NICKNAME_COLUMN,
    REQUIRED_COLUMNS,
    LinkModel,
    build_model,
)
from pipelines.link.nicknames import NICKNAMES_CSV, nickname_table

logger = logging.getLogger(__name__)

Backend = Literal["duckdb", "spark"]
BACKENDS: tuple[str, ...] = ("duckdb", "spark")

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
# EM sets m to ~0 for a level it never saw among its matches (a birth date a year off, a
# different tax id); that would make one disagreeing field an absolute veto. A floor keeps
# every disagreement finite, so the other fields can still speak.
M_PROBABILITY_FLOOR = 0.005
# Completeness is profiled to this step: noise in a few records must not force retraining.
PROFILE_COMPLETENESS_STEP = 0.05

_INPUT_TABLE = "__link_input"
_NICKNAMES_TABLE = "__link_nicknames"


@dataclass(frozen=True)
class LinkResult:
    """What `link` did: counts, the model it trained (or reused) and where it saved it."""

    n_records: int
    n_pairs: int
    threshold_probability: float
    probability_two_random_records_match: float
    columns_used: tuple[str, ...]
    training_mode: Literal["trained", "priors", "reused"]
    backend: str = "duckdb"
    profile_hash: str | None = None
    model_path: Path | None = None
    chart_paths: tuple[Path, ...] = ()
    comparison_viewer_path: Path | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def make_db_api(
    con: duckdb.DuckDBPyConnection, backend: Backend = "duckdb", spark_master: str | None = None
) -> DatabaseAPI:
    """The Splink database API for `backend`.

    DuckDB runs in the stage's own connection; Spark in a session on `spark_master`
    (default `local[2]`) with Splink's similarity UDF jar on its class path.
    """
    if backend == "duckdb":
        return DuckDBAPI(connection=con)
    if backend == "spark":
        from pipelines.link.spark import spark_api

        return spark_api(spark_master)
    raise ValueError(f"unknown linkage backend {backend!r}; use one of {', '.join(BACKENDS)}")


def available_columns(con: duckdb.DuckDBPyConnection, staged: str = "staged") -> list[str]:
    """Matching columns of `staged` that exist and hold at least one non-NULL value."""
    return list(_completeness(con, staged))


def _completeness(con: duckdb.DuckDBPyConnection, staged: str) -> dict[str, float]:
    """Share of non-NULL values of every populated matching column of `staged`."""
    present = {row[0] for row in con.execute(f"DESCRIBE {_ident(staged)}").fetchall()}
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if missing:
        raise ValueError(
            f"Table {staged!r} lacks required column(s) {', '.join(missing)}; "
            "it must follow the `staged` contract in docs/architecture.md."
        )
    candidates = [c for c in MATCH_COLUMNS if c in present]
    if not candidates:
        return {}
    counts = ", ".join(f"count({_ident(c)})" for c in candidates)
    row = con.execute(f"SELECT count(*), {counts} FROM {_ident(staged)}").fetchall()[0]  # noqa: S608
    total = row[0] or 1
    return {c: n / total for c, n in zip(candidates, row[1:], strict=True) if n > 0}


def profile_hash(
    completeness: dict[str, float],
    n_records: int,
    *,
    backend: str,
    seed: int,
    u_sample_pairs: float = U_SAMPLING_MAX_PAIRS,
) -> tuple[str, dict[str, Any]]:
    """Hash of everything training depends on; equal hashes may share a trained model."""
    code = hashlib.sha256()
    for path in (Path(model_module.__file__), Path(__file__), NICKNAMES_CSV):
        code.update(path.read_bytes())
    step = PROFILE_COMPLETENESS_STEP
    profile = {
        "code": code.hexdigest()[:16],
        "splink": splink.__version__,
        "backend": backend,
        "seed": seed,
        "u_sample_pairs": int(u_sample_pairs),
        # powers of two: 1,000 and 1,900 records train alike, 1,000 and 10,000 do not
        "rows_log2": int(math.log2(max(n_records, 1))),
        "completeness": {c: round(round(v / step) * step, 2) for c, v in completeness.items()},
    }
    digest = hashlib.sha256(json.dumps(profile, sort_keys=True).encode()).hexdigest()[:16]
    return digest, profile


def link(
    con: duckdb.DuckDBPyConnection,
    staged: str = "staged",
    *,
    seed: int = 42,
    threshold_probability: float = DEFAULT_THRESHOLD_PROBABILITY,
    model_dir: Path | None = None,
    backend: Backend = "duckdb",
    spark_master: str | None = None,
    reuse_model: bool = True,
    comparison_viewer: bool = False,
    u_sample_pairs: float = U_SAMPLING_MAX_PAIRS,
    u_in_threads: bool = True,
) -> LinkResult:
    """Train (or reuse) the model on `staged`, score candidate pairs, create table `pairs`.

    `pairs` holds every scored pair with match_probability >= `threshold_probability`
    (record_key_l < record_key_r), with match_weight, match_probability, the gamma_*
    levels and mw_* partial weights, ordered by the two keys. With `model_dir`, the
    trained model (model.json), its match-weights chart (.html/.json) and, with
    `comparison_viewer`, Splink's comparison viewer (comparison_viewer.html) are saved.
    `u_in_threads=False` estimates u with Splink's own loop (on DuckDB it runs on two
    threads otherwise, with the same result: `_estimate_u_in_threads`).
    """
    if not 0.0 < threshold_probability < 1.0:
        raise ValueError(f"threshold_probability must be in (0, 1), got {threshold_probability}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown linkage backend {backend!r}; use one of {', '.join(BACKENDS)}")
    completeness = _completeness(con, staged)
    columns = list(completeness)
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
            backend=backend,
            notes=tuple(notes),
        )

    trainable = n_records >= MIN_RECORDS_FOR_TRAINING
    model = build_model(columns, use_term_frequencies=trainable, dialect=backend)
    digest, profile = profile_hash(
        completeness, n_records, backend=backend, seed=seed, u_sample_pairs=u_sample_pairs
    )
    _create_input(con, staged, model)
    version_dir = Path(model_dir) / "versions" / digest if model_dir is not None else None
    saved = version_dir / "model.json" if version_dir is not None else None
    reuse = bool(reuse_model and trainable and saved is not None and saved.exists())

    db_api = make_db_api(con, backend, spark_master)
    spark_input = None if backend == "duckdb" else _spark_input_path(model_dir)
    viewer_path: Path | None = None
    linker: Linker | None = None
    try:
        if spark_input is None:
            input_sdf = db_api.register(_INPUT_TABLE, dataset_display_name="staged")
        else:
            input_sdf = db_api.register(
                _records_to_spark(con, db_api, spark_input), dataset_display_name="staged"
            )
        linker = Linker(
            input_sdf, str(saved) if reuse else model.settings, log_level=logging.WARNING
        )
        if reuse:
            mode: Literal["trained", "priors", "reused"] = "reused"
            notes.append(f"model reused: input profile {digest} unchanged since it was trained")
        else:
            mode = _train(
                linker,
                input_sdf,
                model,
                n_records=n_records,
                seed=seed,
                notes=notes,
                u_sample_pairs=u_sample_pairs,
                u_threads_con=con if backend == "duckdb" and u_in_threads else None,
            )
        for col in model.tf_columns:
            linker.table_management.compute_tf_table(col)
        predictions = linker.inference.predict(
            threshold_match_probability=threshold_probability, warning_mode="never"
        )
        if backend == "duckdb":
            _create_pairs(con, predictions.physical_name)
        else:
            _pairs_from_spark(con, predictions, model_dir)
        model_path, chart_paths = _save_model(
            linker, model_dir, version_dir, profile, mode, seed, notes
        )
        if comparison_viewer and model_dir is not None and backend == "spark":
            # Splink builds the viewer by collecting every comparison vector to the
            # driver, which runs a local Spark driver out of memory; the DuckDB backend
            # produces it.
            notes.append("comparison viewer not produced on the Spark backend")
        elif comparison_viewer and model_dir is not None:
            viewer_path = Path(model_dir) / "comparison_viewer.html"
            # Every JavaScript library is inlined by Splink: the file opens offline.
            linker.visualisations.comparison_viewer_dashboard(
                predictions, str(viewer_path), overwrite=True, num_example_rows=2
            )
        prior = linker._settings_obj._probability_two_random_records_match
    finally:
        if linker is not None:
            linker.table_management.delete_tables_created_by_splink_from_db()
        if spark_input is not None:
            shutil.rmtree(spark_input, ignore_errors=True)
        con.execute(f"DROP TABLE IF EXISTS {_INPUT_TABLE}")
        con.execute(f"DROP TABLE IF EXISTS {_NICKNAMES_TABLE}")

    n_pairs = con.execute("SELECT count(*) FROM pairs").fetchall()[0][0]
    return LinkResult(
        n_records=n_records,
        n_pairs=n_pairs,
        threshold_probability=threshold_probability,
        probability_two_random_records_match=prior,
        columns_used=model.columns,
        training_mode=mode,
        backend=backend,
        profile_hash=digest,
        model_path=model_path,
        chart_paths=chart_paths,
        comparison_viewer_path=viewer_path,
        notes=tuple(notes),
    )


def _create_input(
    con: duckdb.DuckDBPyConnection, staged: str, model: LinkModel, *, ordered: bool = True
) -> None:
    """The records Splink sees: only the columns the model uses, plus derived ones; in
    record_key order if `ordered` (training samples by position; scoring alone does not
    depend on the order)."""
    select = [f"s.{_ident(c)}" for c in (*REQUIRED_COLUMNS, *model.columns)]
    joins = ""
    if NICKNAME_COLUMN in model.derived_columns:
        con.register("__nick_arrow", nickname_table())
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_NICKNAMES_TABLE} AS SELECT * FROM __nick_arrow"  # noqa: S608
        )
        con.unregister("__nick_arrow")
        # A name without a nickname group is its own group, so the level never fires on
        # two NULLs and "maria" still equals "maria".
        select.append(f"coalesce(n.group_key, s.given_name_key) AS {NICKNAME_COLUMN}")
        joins = f"LEFT JOIN {_NICKNAMES_TABLE} n ON n.name_key = s.given_name_key"
    # Splink copies every input column through its pipeline; hand it only what it uses.
    # Not a TEMP table: the u estimation's second thread reads it through a cursor of its own.
    con.execute(
        f"CREATE OR REPLACE TABLE {_INPUT_TABLE} AS "  # noqa: S608
        f"SELECT {', '.join(select)} FROM {_ident(staged)} s {joins}"
        + (" ORDER BY s.record_key" if ordered else "")
    )


def _estimate_u_in_threads(
    linker: Linker,
    model: LinkModel,
    con: duckdb.DuckDBPyConnection,
    *,
    max_pairs: float,
    seed: int,
) -> None:
    """Splink's u estimation with the comparisons shared between two threads.

    Splink estimates u one comparison after the other, each over the cross product of a
    small sample (~4,500 records for 1e7 pairs); DuckDB runs each of those queries on one
    core (the sample is one row group), so at a million records this step kept a core idle
    for ~50 s. A comparison's u values depend only on that comparison and on the sample,
    which is a function of the record ids and the seed: a linker of that one comparison on
    a cursor of its own gives the values of Splink's own loop (a test checks it), which are
    then recorded on `linker` as Splink records them."""
    pending = queue.SimpleQueue()
    # The costliest first, so that the last one to start is a short one (at 1M records the
    # e-mail comparison took 15.4 s of 18.6 s, starting third: the wall time was it plus
    # what ran before it). Cost is not known beforehand; the length of a comparison's
    # level conditions (how much it computes per pair) ranks the e-mail and given-name
    # comparisons, the two slowest measured, first.
    for comparison in sorted(model.settings.comparisons, key=_condition_length, reverse=True):
        pending.put(comparison)
    estimated: dict[str, dict[int, Any]] = {}

    def estimate() -> None:
        # One linker per comparison, each thread taking the next one as it is free (levels
        # rarely observed make Splink read every chunk of its sample: the order above is
        # only a guess at the cost).
        cursor = con.cursor()
        try:
            db_api = DuckDBAPI(connection=cursor)
            records = db_api.register(_INPUT_TABLE, dataset_display_name="staged")
            while True:
                try:
                    comparison = pending.get_nowait()
                except queue.Empty:
                    return
                part = Linker(
                    records,
                    dataclasses.replace(model.settings, comparisons=[comparison]),
                    log_level=logging.WARNING,
                )
                try:
                    part.training.estimate_u_using_random_sampling(
                        max_pairs=max_pairs, seed=seed
                    )
                    # The value this estimation recorded (Splink's "not observed" included).
                    for c in part._settings_obj.comparisons:
                        estimated[c.output_column_name] = {
                            level.comparison_vector_value: level._trained_u_probabilities[-1][
                                "probability"
                            ]
                            for level in c._comparison_levels_excluding_null
                        }
                finally:
                    part.table_management.delete_tables_created_by_splink_from_db()
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(estimate) for _ in range(2)]:
            future.result()
    for comparison in linker._settings_obj.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            level._add_trained_u_probability(
                estimated[comparison.output_column_name][level.comparison_vector_value],
                "estimate u by random sampling",
            )
    # What Splink's estimate_u_using_random_sampling does once its loop is done.
    linker._populate_m_u_from_trained_values()


def _condition_length(comparison: Any) -> int:
    levels = comparison.get_comparison("duckdb").as_dict()["comparison_levels"]
    return sum(len(level["sql_condition"]) for level in levels)


def _train(
    linker: Linker,
    input_sdf: SplinkDataFrame,
    model: LinkModel,
    *,
    n_records: int,
    seed: int,
    notes: list[str],
    u_sample_pairs: float = U_SAMPLING_MAX_PAIRS,
    u_threads_con: duckdb.DuckDBPyConnection | None = None,
) -> Literal["trained", "priors"]:
    """Unsupervised, deterministic training; keeps the priors wherever it cannot run.
    With `u_threads_con` (the DuckDB connection holding the input), the u estimation runs on
    two threads (`_estimate_u_in_threads`)."""
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

    max_pairs = min(u_sample_pairs, n_records * (n_records - 1) / 2)
    if u_threads_con is None:
        training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    else:
        _estimate_u_in_threads(linker, model, u_threads_con, max_pairs=max_pairs, seed=seed)

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
    floored = floor_m_probabilities(linker)
    if floored:
        notes.append(f"m floored at {M_PROBABILITY_FLOOR} on {floored} level(s)")
    return "trained"


def floor_m_probabilities(linker: Linker, floor: float = M_PROBABILITY_FLOOR) -> int:
    """Raise every trained m below `floor` to it and renormalise each comparison.

    Returns how many levels were raised.
    """
    raised = 0
    for comparison in linker._settings_obj.comparisons:
        levels = [lvl for lvl in comparison.comparison_levels if not lvl.is_null_level]
        ms = [lvl.m_probability or 0.0 for lvl in levels]
        low = [m < floor for m in ms]
        if not any(low):
            continue
        raised += sum(low)
        bumped = [max(m, floor) for m in ms]
        total = sum(bumped)
        for lvl, m in zip(levels, bumped, strict=True):
            lvl.m_probability = m / total
    return raised


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
    # person/company separation independent of the rule list. Backends disagree on the
    # numeric types (Spark's match_key is a string); cast to one contract.
    casts = {"match_weight": "DOUBLE", "match_probability": "DOUBLE", "match_key": "VARCHAR"}
    select = ", ".join(
        f"CAST({_ident(c)} AS {casts[c]}) AS {_ident(c)}"
        if c in casts
        else (f"CAST({_ident(c)} AS DOUBLE) AS {_ident(c)}" if c.startswith("mw_") else _ident(c))
        for c in keep
    )
    con.execute(
        f"CREATE OR REPLACE TABLE pairs AS SELECT {select} FROM {predictions} "  # noqa: S608
        "WHERE party_type_l = party_type_r ORDER BY record_key_l, record_key_r"
    )


def _spark_input_path(model_dir: Path | None) -> Path:
    """Where the records for Spark are written: beside the model (shared on a cluster)."""
    return Path(model_dir or tempfile.gettempdir()) / f"spark_input_{uuid.uuid4().hex}"


def _records_to_spark(con: duckdb.DuckDBPyConnection, db_api: DatabaseAPI, out: Path) -> Any:
    """The prepared records as a Spark DataFrame read from a Parquet file DuckDB writes.

    Not `createDataFrame` from Arrow/pandas: Spark 4 turns a local frame under
    `spark.sql.execution.arrow.localRelationThreshold` (48 MB; 100,000 records are below) into
    a LocalRelation whose rows live in the query plan. Every one of Splink's queries then
    re-evaluates and copies those rows on the driver (ConvertToLocalRelation) and every
    persisted table's plan keeps a copy, until the driver heap is exhausted; the
    OutOfMemoryError then kills a `toArrow()` serving thread without failing its result,
    and the Python side waits in `SocketAuthServer.getResult` forever (the 100,000-record
    hang). A Parquet scan keeps the plans small and moves no data through the driver.
    The directory must be readable by the executors (on a cluster, a shared path).
    """
    out.mkdir(parents=True, exist_ok=True)
    path = out / "records.parquet"
    literal = "'" + str(path).replace("'", "''") + "'"
    con.execute(
        f"COPY (SELECT * FROM {_INPUT_TABLE}) TO {literal} (FORMAT PARQUET)"  # noqa: S608
    )
    return db_api.spark.read.parquet(str(path))  # type: ignore[attr-defined]


def _pairs_from_spark(
    con: duckdb.DuckDBPyConnection, predictions: SplinkDataFrame, model_dir: Path | None
) -> None:
    """Spark writes the scored pairs as Parquet and DuckDB reads them back.

    Collecting millions of pairs to the driver through pandas hung a local driver at 100,000
    records; files stream. The directory must be visible to the executors and to this
    process: beside the model in the work area (on a cluster, a shared path)."""
    out = Path(model_dir or tempfile.gettempdir()) / f"spark_pairs_{uuid.uuid4().hex}"
    try:
        predictions.as_spark_dataframe().write.mode("overwrite").parquet(str(out))
        literal = "'" + str(out / "*.parquet").replace("'", "''") + "'"
        con.execute(
            "CREATE OR REPLACE TEMP VIEW __link_predictions AS "  # noqa: S608 - quoted path
            f"SELECT * FROM read_parquet({literal})"
        )
        _create_pairs(con, "__link_predictions")
        con.execute("DROP VIEW __link_predictions")
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _create_empty_pairs(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE OR REPLACE TABLE pairs (record_key_l VARCHAR, record_key_r VARCHAR, "
        "match_weight DOUBLE, match_probability DOUBLE)"
    )


def _save_model(
    linker: Linker,
    model_dir: Path | None,
    version_dir: Path | None,
    profile: dict[str, Any],
    mode: str,
    seed: int,
    notes: list[str],
) -> tuple[Path | None, tuple[Path, ...]]:
    """Save model.json + match-weight chart in the version folder and as the current model.

    `model_dir/model.json` is always the model this run scored with; the version folder
    (`model_dir/versions/<profile>/`) keeps one model per input profile, with
    `training.json` saying when, on what and how it was trained.
    """
    if model_dir is None or version_dir is None:
        return None, ()
    model_dir = Path(model_dir)
    version_dir.mkdir(parents=True, exist_ok=True)
    if mode != "reused":
        linker.misc.save_model_to_json(str(version_dir / "model.json"), overwrite=True)
        chart = linker.visualisations.match_weights_chart()
        # Inline the chart libraries: the chart is opened from run artefacts, often offline.
        (version_dir / "match_weights.html").write_text(
            chart.to_html(inline=True), encoding="utf-8"
        )
        (version_dir / "match_weights.json").write_text(
            json.dumps(chart.chart_dict, indent=2, default=str), encoding="utf-8"
        )
        (version_dir / "training.json").write_text(
            json.dumps(
                {
                    "profile": profile,
                    "training_mode": mode,
                    "seed": seed,
                    "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "notes": notes,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    current = []
    for name in ("model.json", "match_weights.html", "match_weights.json", "training.json"):
        if (version_dir / name).exists():
            shutil.copyfile(version_dir / name, model_dir / name)
            current.append(model_dir / name)
    (model_dir / "version.txt").write_text(version_dir.name + "\n", encoding="utf-8")
    charts = tuple(p for p in current if p.name.startswith("match_weights"))
    return model_dir / "model.json", charts


def _ident(name: str) -> str:
    """Quote an identifier; table and column names come from code, never from data."""
    return '"' + name.replace('"', '""') + '"'
