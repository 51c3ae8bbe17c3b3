"""Incremental cleansing: cleanse only the records that changed since the last successful run.

A nightly sync where 1% of the source records changed should not re-standardise the other 99%.
Cleansing is a function of each record's own mapped values, except for two things that look
across rows or outside the record, and the plan below accounts for both:

- duplicate-primary-key detection compares every row sharing a `record_key`: a record_key
  group is re-cleansed whole when any row of it is new, changed or gone, and groups with more
  than one row (now or in the base) are always re-cleansed (they are rare);
- birth dates are checked against `today`: when the date moved on, staged records whose birth
  date was rejected as impossible (in the future, then) are re-cleansed.

Each mapped row gets a content hash over every mapped column except its position in the
source (`POSITION_COLUMNS`: it changes without the record changing). A record whose single
row has the same hash as in the base keeps its previous staged row (with its row number
refreshed if it moved); or its previous quarantine rows, but only if its row number did not
move (quarantine messages and `#row<n>` ids quote it). Everything else (new, changed,
duplicate, keyless, suppressed, moved quarantined records) goes through `cleanse()` as one
subset. A source whose mapped rows are the very part the base was cleansed from (`parts`,
see `cleanse_incrementally`) is not hashed again: its rows and hashes are the base's.
The result is the same rows with the same values as a full cleanse of the same input
(tests/integration/test_incremental_cleanse.py proves it): `quarantine` in the same order,
`staged` kept as a change over the base's (`save_staged`), in that order once sorted by
source and row number (`stages.staged_in_source_order`).

The base is the last successful stage's output (`staged`, `quarantine`, kept by
`WorkArea.keep`, not copied) plus the per-row hashes, and a metadata file holding a
fingerprint of the cleansing code and reference data: a change to either invalidates the
base, as does FULL_REFRESH=1, a clock that went back, or more than `max_share` of the rows to
re-cleanse (then a full cleanse is as cheap and simpler).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from pipelines.cleanse import data_quality, stages
from pipelines.cleanse.cleanse import CleanseError, cleanse
from pipelines.cleanse.rules import REASON_CODES
from pipelines.cleanse.sql import install_macros
from pipelines.cleanse.udfs import register_udfs
from pipelines.extract.mapping import RAW_HASH
from pipelines.workarea import WorkArea, over_base, sql_literal

BASE_ROWS = "cleanse_base__rows"
BASE_STAGED = "cleanse_base__staged"
BASE_QUARANTINE = "cleanse_base__quarantine"
BASE_META = "cleanse_base__meta.json"
# Where a row was read, not what it says: not hashed, refreshed on kept records.
POSITION_COLUMNS = ("source_row_number",)
# Libraries whose data decide the standardised values (phone metadata, e-mail rules, name
# titles, transliteration tables, DuckDB's own nfc_normalize/strip_accents and hash()).
REFERENCE_LIBRARIES = ("phonenumbers", "email-validator", "nameparser", "Unidecode", "duckdb")
SUPPRESSED = "suppressed_by_erasure"
BIRTH_DATE_IMPOSSIBLE = "birth_date_impossible_removed"
_ROWS = "_cli_rows"
_TODO = "_cli_todo"
_RECLEANSED = "_cli_recleansed"
_KEYS = "_cli_todo_keys"
_BITS = "_cli_quality_bits"
_BASE = "_cli_base"  # the base's rows (BASE_ROWS), read once by an incremental run
_RAW = "_cli_raw_records"
# An incremental cleanse's staged records as a change over the base's (`_assemble`).
STAGED_DROP = "_cli_staged_drop"
STAGED_ADD = "_cli_staged_add"
# The way from the base's staged records to this run's (`save_changes`).
STAGED_CHANGES = "staged_changes"
# audit.data_quality's counts of this run's staged records, and the source assessment's
# validity counts (`save_quality_counts`).
QUALITY_COUNTS = "data_quality_counts"
VALIDITY_COUNTS = "field_validity_counts"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def code_fingerprint() -> str:
    """Hash of everything a record's cleansed values depend on besides the record itself:
    this package's files (code, rules, any reference file beside them), the versions of the
    libraries that carry reference data, and Python's Unicode database."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith("."):
            digest.update(str(path.relative_to(package)).encode() + b"\0")
            digest.update(path.read_bytes())
    for name in REFERENCE_LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{name}={version}\0".encode())
    digest.update(f"unicode={unicodedata.unidata_version}\0".encode())
    digest.update(f"python={sys.version_info[:2]}\0".encode())
    return digest.hexdigest()[:16]


def expects_incremental(work: WorkArea, *, full: bool = False) -> bool:
    """Whether a cleanse now would start from the base, as far as can be told before the
    input is mapped: the map stage then leaves the raw rows as JSON out of `mapped` (built
    for every row, they cost more than the rest of the mapping; a nightly cleanse needs a
    few), and if the plan still turns full, `raw_records` builds them for every row."""
    meta = _read_meta(work)
    return (
        not full
        and meta is not None
        and meta.get("fingerprint") == code_fingerprint()
        and all(work.exists(n) for n in (BASE_ROWS, BASE_STAGED, BASE_QUARANTINE))
    )


@dataclass(frozen=True)
class Plan:
    mode: str  # "incremental" or "full"
    reason: str
    rows: int
    rows_to_cleanse: int


def _hashed_columns(con: duckdb.DuckDBPyConnection, mapped: str) -> list[str]:
    """The mapped columns a row's content hash covers: all but its position and, where the
    input has `raw_hash` (the raw row's own hash), the raw row as JSON (both say the same,
    and the table may be without the JSON: `build_mapped(raw_record=False)`)."""
    every = con.table(mapped).columns
    skipped = {*POSITION_COLUMNS, "raw_record"} if RAW_HASH in every else set(POSITION_COLUMNS)
    return [c for c in every if c not in skipped]


def _create_rows(
    con: duckdb.DuckDBPyConnection,
    mapped: str,
    columns: list[str],
    parts: list[str],
    reused: list[str],
) -> None:
    """`_cli_rows`: each mapped row's position in the input, record_key and content hash.

    The record_key is built as `stages.final()` builds it (source_system + the hygiene-cleaned
    id), so that rows whose ids differ only by whitespace or control characters, which
    cleansing treats as duplicates, land in one group here too. DuckDB's 64-bit hash() is 4x
    cheaper than md5 over ~20 columns; a change is missed only if the old and new row of one
    record collide (2^-64), and the DuckDB version is part of the fingerprint.

    The rows of a source in `reused` (its mapped rows are the base's: `_reused_sources`) are
    the base's, hashes included: at a million records, hashing the four sources a night
    did not touch cost ~0.4 s of ~0.55 s. `parts` names every source of `mapped` in its order,
    each source's rows in row-number order (as `build_mapped` writes them): `_rid` is then
    the part's index and the row number (it only orders rows; numbering the rows of such a
    union cost as much as the hashes it saved)."""
    key = (
        "CASE WHEN source_system IS NOT NULL AND _cl_hyg(source_record_id) IS NOT NULL "
        "THEN CAST(source_system AS VARCHAR) || ':' || _cl_hyg(source_record_id) END"
    )
    hashed = f"hash({', '.join(_ident(c) for c in columns)})"
    fields = (
        "CAST(source_system AS VARCHAR) AS source_system, "
        "CAST(source_row_number AS BIGINT) AS source_row_number"
    )
    if not reused:
        rows = (
            f"SELECT row_number() OVER () AS _rid, {key} AS record_key, {hashed} AS row_hash, "  # noqa: S608
            f"{fields} FROM {_ident(mapped)}"
        )
    else:
        rows = " UNION ALL ".join(
            f"SELECT ({index}::BIGINT << 40) + source_row_number AS _rid, record_key, "  # noqa: S608
            f"row_hash, source_system, source_row_number FROM {_BASE} "
            f"WHERE source_system = {sql_literal(source)}"
            if source in reused
            else f"SELECT ({index}::BIGINT << 40) + source_row_number AS _rid, "  # noqa: S608
            f"{key} AS record_key, {hashed} AS row_hash, {fields} FROM {_ident(mapped)} "
            f"WHERE source_system = {sql_literal(source)}"
            for index, source in enumerate(parts)
        )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_ROWS} AS {rows}")  # noqa: S608 - built above


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {_ident(relation)}").fetchall()[0][0])  # noqa: S608


def _load_base(con: duckdb.DuckDBPyConnection, work: WorkArea) -> None:
    """`_cli_base`: the base's rows (`BASE_ROWS`), read once."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_BASE} AS "  # noqa: S608 - a quoted path
        f"SELECT * FROM read_parquet({_literal(work.path(BASE_ROWS))})"
    )


def _reused_sources(
    work: WorkArea,
    parts: dict[str, str] | None,
    columns: list[str],
    fingerprint: str,
    *,
    full: bool,
) -> list[str]:
    """The sources whose mapped rows are the base's: the same part of `mapped` (`parts`: an
    identity of each source's rows, e.g. its part file, which is written once), hashed over
    the same columns by the same code. Empty when the base cannot be used at all."""
    meta = _read_meta(work)
    if not parts or _base_unusable(work, meta, columns, fingerprint, full=full) is not None:
        return []
    assert meta is not None
    kept = meta.get("parts")
    if not isinstance(kept, dict):
        return []
    return [s for s, part in parts.items() if kept.get(s) == part]


def _base_unusable(
    work: WorkArea,
    meta: dict[str, Any] | None,
    columns: list[str],
    fingerprint: str,
    *,
    full: bool,
) -> str | None:
    """Why no row of the base can stand for this run's (None if they can): asked for a
    full cleanse, no base, other cleansing code, other mapped columns, or a base too old."""
    if full:
        return "full refresh requested (FULL_REFRESH=1 or run tag full_refresh=1)"
    if meta is None or not all(work.exists(n) for n in (BASE_ROWS, BASE_STAGED, BASE_QUARANTINE)):
        return "no previous cleanse output to start from"
    if meta.get("fingerprint") != fingerprint:
        return "cleansing code or reference data changed since the last run"
    if meta.get("hashed_columns") != columns:
        return "the mapped columns changed since the last run"
    if "quality_bits" not in pq.read_schema(work.path(BASE_ROWS)).names:
        return "the base keeps no data-quality bits (an older base)"
    return None


def _read_meta(work: WorkArea) -> dict[str, Any] | None:
    path = work.root / BASE_META
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _plan(
    con: duckdb.DuckDBPyConnection,
    work: WorkArea,
    columns: list[str],
    today: date,
    fingerprint: str,
    *,
    full: bool,
    max_share: float,
    reused: list[str],
) -> Plan:
    """Decide full or incremental; for incremental, create `_cli_kept`: the record_keys whose
    previous output is kept (with their row number now, whether it moved, their source and
    the base's quality bits). A record of a `reused` source is the base's, row for row."""
    (rows, positions, unplaced), = con.execute(
        f"""
        SELECT count(*), count(DISTINCT (source_system, source_row_number)),
               count(*) FILTER (WHERE source_system IS NULL OR source_row_number IS NULL)
        FROM {_ROWS}
        """  # noqa: S608 - constants only
    ).fetchall()
    meta = _read_meta(work)
    unusable = _base_unusable(work, meta, columns, fingerprint, full=full)
    if unusable is not None:
        return Plan("full", unusable, rows, rows)
    assert meta is not None
    try:
        base_today = date.fromisoformat(meta["today"])
    except (KeyError, TypeError, ValueError):
        return Plan("full", "the previous cleanse left no readable metadata", rows, rows)
    if today < base_today:
        return Plan("full", "the date went back since the last run", rows, rows)
    if positions != rows or unplaced:
        # Output rows are matched to mapped rows by (source_system, source_row_number).
        return Plan("full", "rows are not numbered uniquely per source", rows, rows)

    base_quarantine = _literal(work.path(BASE_QUARANTINE))
    if not reused:
        _load_base(con, work)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _cli_kept AS
        WITH cur AS (
            SELECT record_key, count(*) AS n, any_value(row_hash) AS row_hash,
                   any_value(source_row_number) AS source_row_number
            FROM {_ROWS}
            WHERE record_key IS NOT NULL AND NOT list_contains($reused::VARCHAR[], source_system)
            GROUP BY record_key
        ), base AS (
            SELECT record_key, count(*) AS n, any_value(row_hash) AS row_hash,
                   any_value(source_row_number) AS source_row_number,
                   any_value(source_system) AS source_system,
                   any_value(quality_bits) AS quality_bits
            FROM {_BASE} WHERE record_key IS NOT NULL GROUP BY record_key
        ), same AS (
            -- one row with the same content as the base's, where it may have moved (the
            -- key names the source: the base's source_system is the row's)
            SELECT c.record_key, c.source_row_number, b.source_row_number AS base_row_number,
                   b.source_system, b.quality_bits
            FROM cur c JOIN base b USING (record_key)
            WHERE c.n = 1 AND b.n = 1 AND c.row_hash = b.row_hash
            UNION ALL
            SELECT record_key, source_row_number, source_row_number, source_system,
                   quality_bits
            FROM base
            WHERE n = 1 AND list_contains($reused::VARCHAR[], source_system)
        ), was_staged AS (
            SELECT record_key, list_contains(quality_flags, $birth_flag) AS birth_date_rejected
            FROM ({work.relation(BASE_STAGED)})
        ), was_quarantined AS (
            SELECT r.record_key, bool_or(q.reason_code = $suppressed) AS suppressed
            FROM read_parquet({base_quarantine}) q
            JOIN {_BASE} r USING (source_system, source_row_number)
            WHERE r.record_key IS NOT NULL
            GROUP BY r.record_key
        )
        SELECT c.record_key, c.source_row_number,
               c.source_row_number IS DISTINCT FROM c.base_row_number AS moved,
               c.source_system, c.quality_bits
        FROM same c
        LEFT JOIN was_staged s USING (record_key)
        LEFT JOIN was_quarantined q USING (record_key)
        WHERE
            -- staged last time: kept unless its birth date may have stopped being future
            (s.record_key IS NOT NULL AND q.record_key IS NULL
             AND NOT (s.birth_date_rejected AND $date_moved))
            -- quarantined last time (not by an erasure, re-applied to staged rows every run):
            -- kept only where the messages' row number is still right
            OR (q.record_key IS NOT NULL AND s.record_key IS NULL AND NOT q.suppressed
                AND c.source_row_number = c.base_row_number)
        """,  # noqa: S608 - paths quoted as literals, values bound
        {
            "birth_flag": BIRTH_DATE_IMPOSSIBLE,
            "suppressed": SUPPRESSED,
            "date_moved": today > base_today,
            "reused": reused,
        },
    )
    (kept,), = con.execute("SELECT count(*) FROM _cli_kept").fetchall()
    todo = rows - kept
    if todo > max_share * rows:
        return Plan("full", f"{todo} of {rows} rows changed, more than {max_share:.0%}",
                    rows, rows)
    return Plan("incremental", f"{todo} of {rows} rows new, changed or affected", rows, todo)


def _assemble(con: duckdb.DuckDBPyConnection, work: WorkArea) -> None:
    """Turn the subset's `staged`/`quarantine` into the whole output.

    `staged` becomes a view of the base's staged records without `STAGED_DROP` (those
    cleansed again, gone, or kept but renumbered) plus `STAGED_ADD` (the subset's records
    and the renumbered kept ones): `save_staged` keeps the layer as that change over the
    base instead of writing a million unchanged rows again. `quarantine` (a few rows) is
    put back whole, in mapped order."""
    base_staged = work.relation(BASE_STAGED)
    base_quarantine = _literal(work.path(BASE_QUARANTINE))
    staged_columns = ", ".join(_ident(c) for c in stages.STAGED_COLUMNS)
    quarantine_columns = ", ".join(_ident(c) for c in stages.QUARANTINE_COLUMNS)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {STAGED_ADD} AS
        SELECT {staged_columns} FROM (
            SELECT * FROM staged
            UNION ALL BY NAME
            SELECT b.* REPLACE (k.source_row_number AS source_row_number)
            FROM ({base_staged}) b JOIN _cli_kept k USING (record_key)
            WHERE k.moved
        ) ORDER BY source_system, source_row_number;

        CREATE OR REPLACE TEMP TABLE {STAGED_DROP} AS
        SELECT record_key FROM ({base_staged}) b
        ANTI JOIN (SELECT record_key FROM _cli_kept WHERE NOT moved) USING (record_key);

        DROP TABLE staged;
        CREATE TEMP VIEW staged AS
        {over_base(f"({base_staged})", STAGED_DROP, STAGED_ADD, ["record_key"])};

        CREATE OR REPLACE TABLE _cli_quarantine AS
        SELECT {quarantine_columns} FROM (
            SELECT r._rid, q.*
            FROM read_parquet({base_quarantine}) q
            JOIN {_BASE} br USING (source_system, source_row_number)
            JOIN {_ROWS} r ON r.record_key = br.record_key
            WHERE br.record_key IN (SELECT record_key FROM _cli_kept)
            UNION ALL BY NAME
            SELECT r._rid, q.*
            FROM quarantine q JOIN {_ROWS} r USING (source_system, source_row_number)
        ) ORDER BY _rid, reason_code;
        DROP TABLE quarantine;
        ALTER TABLE _cli_quarantine RENAME TO quarantine;
        """  # noqa: S608 - paths quoted as literals, column names are module constants
    )
    (mapped, staged, quarantined, keys), = con.execute(
        f"""
        SELECT (SELECT count(*) FROM {_ROWS}),
               (SELECT count(*) FROM staged),
               (SELECT count(DISTINCT (source_system, source_row_number)) FROM quarantine),
               (SELECT count(DISTINCT record_key) FROM staged)
        """  # noqa: S608 - constants only
    ).fetchall()
    if mapped != staged + quarantined or keys != staged:
        raise CleanseError(
            f"incremental cleanse: reconciliation failed: {mapped} mapped rows, {staged} "
            f"staged ({keys} distinct keys), {quarantined} quarantined; this is a bug in "
            "pipelines/cleanse/incremental.py: run with FULL_REFRESH=1 to cleanse everything"
        )


def remove_staged(con: duckdb.DuckDBPyConnection, keys: str) -> None:
    """Remove the records whose record_key relation `keys` names from `staged`: a table
    after a full cleanse; after an incremental one, a view over the base (`_assemble`)."""
    if _is_over_base(con):
        con.execute(
            f"INSERT INTO {STAGED_DROP} SELECT record_key FROM {keys} "  # noqa: S608
            f"ANTI JOIN {STAGED_ADD} USING (record_key);"
            f"DELETE FROM {STAGED_ADD} WHERE record_key IN (SELECT record_key FROM {keys})"
        )
    else:
        con.execute(f"DELETE FROM staged WHERE record_key IN (SELECT record_key FROM {keys})")  # noqa: S608


def save_staged(con: duckdb.DuckDBPyConnection, work: WorkArea) -> None:
    """Save `staged`: whole after a full cleanse; after an incremental one as its change over
    the base's layer (`WorkArea.save_over`), so that a night's few changed records do not
    rewrite the million others (1.3 s to write, 1.2 s to put in order at a million, under
    py-spy)."""
    if _is_over_base(con):
        work.save_over(
            con, "staged", base=BASE_STAGED, drop=STAGED_DROP, add=STAGED_ADD, keys=["record_key"]
        )
    else:
        work.save(con, "staged")


def _is_over_base(con: duckdb.DuckDBPyConnection) -> bool:
    (n,), = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [STAGED_ADD]
    ).fetchall()
    return bool(n)


def _create_input(
    con: duckdb.DuckDBPyConnection,
    mapped: str,
    condition: str,
    raw_records: Callable[[str], str] | None,
) -> None:
    """View `_cli_todo`: the rows of `mapped` whose `_cli_rows` row meets `condition`, in
    mapped order, with their raw_record from `raw_records` if given (built once, for those
    rows only)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_KEYS} AS "  # noqa: S608 - constants only
        f"SELECT _rid, source_system, source_row_number FROM {_ROWS} WHERE {condition}"
    )
    raw, raw_join = "", ""
    if raw_records is not None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_RAW} AS {raw_records(_KEYS)}")
        raw = ", x.raw_record"
        raw_join = (
            f"LEFT JOIN {_RAW} x ON x.source_system = m.source_system "
            "AND x.source_row_number = m.source_row_number"
        )
    # Rows are matched by (source_system, source_row_number), unique per `_plan`.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW {_TODO} AS
        SELECT m.*{raw} FROM {_ident(mapped)} m
        JOIN {_KEYS} r
            ON r.source_system = m.source_system AND r.source_row_number = m.source_row_number
        {raw_join}
        ORDER BY r._rid
        """  # noqa: S608 - identifier quoted, constants
    )


def _drop_input(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP VIEW {_TODO}; DROP TABLE {_KEYS}; DROP TABLE IF EXISTS {_RAW}")


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    (mapped, staged, quarantined, quarantine_rows), = con.execute(
        f"""
        SELECT (SELECT count(*) FROM {_ROWS}), (SELECT count(*) FROM staged),
               (SELECT count(DISTINCT (source_system, source_row_number)) FROM quarantine),
               (SELECT count(*) FROM quarantine)
        """  # noqa: S608 - constants only
    ).fetchall()
    by_reason = dict(
        con.execute("SELECT reason_code, count(*) FROM quarantine GROUP BY reason_code").fetchall()
    )
    return {
        "mapped": mapped,
        "staged": staged,
        "quarantined_records": quarantined,
        "quarantine_rows": quarantine_rows,
        **{code: by_reason.get(code, 0) for code in REASON_CODES},
    }


def cleanse_incrementally(
    con: duckdb.DuckDBPyConnection,
    work: WorkArea,
    mapped: str = "mapped",
    *,
    today: date | None = None,
    full: bool = False,
    max_share: float = 0.2,
    raw_records: Callable[[str], str] | None = None,
    parts: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Cleanse `mapped` of `con` into the tables `staged` and `quarantine`, re-cleansing only
    what changed since the base in `work` (see the module docstring). A `mapped` without
    `raw_record` needs `raw_records`: given a relation naming rows by (source_system,
    source_row_number), the SELECT of their raw_record (`extract.raw_records`); it is run for
    the rows cleansed only.

    Returns the counts of `cleanse()` (over the whole output) plus `cleanse_mode`
    ("incremental"/"full"), `cleanse_mode_reason`, `rows_cleansed` and `rows_kept`;
    `udf_errors` counts this run's cleansed values only. `parts`, if given, names every
    source of `mapped` in its order with an identity of its rows (`build_mapped`'s part
    files): a source whose rows are the base's is not hashed again. Call `save_base` once
    the stage's outputs are written."""
    today = today or date.today()
    # A change over the base is this call's only (`save_staged` tells the forms apart).
    con.execute(f"DROP TABLE IF EXISTS {STAGED_ADD}; DROP TABLE IF EXISTS {STAGED_DROP}")
    try:
        con.table(mapped)
    except duckdb.Error as exc:
        raise CleanseError(
            f"cleanse: no table or view named {mapped!r}; run the map stage first"
        ) from exc
    register_udfs(con, today)  # `_cl_hyg` (record_key) is one of the cleanse macros
    install_macros(con)
    # Taken once: the base is labelled with the code that produced it.
    fingerprint = code_fingerprint()
    columns = _hashed_columns(con, mapped)
    reused = _reused_sources(work, parts, columns, fingerprint, full=full)
    if reused:
        _load_base(con, work)
    _create_rows(con, mapped, columns, list(parts or {}), reused)
    if reused and _count(con, _ROWS) != _count(con, mapped):
        # `parts` missed a source of `mapped`: hash every row instead.
        reused = []
        _create_rows(con, mapped, columns, [], reused)
    plan = _plan(
        con, work, columns, today, fingerprint, full=full, max_share=max_share, reused=reused
    )
    if plan.mode == "full" and reused:
        # A full cleanse takes the rows in `mapped` order, which `_rid` then numbers (a row
        # number may be missing or twice in one source, the reason a plan may turn full).
        _create_rows(con, mapped, columns, [], [])
    with_raw = "raw_record" in con.table(mapped).columns
    if not with_raw and raw_records is None:
        raise CleanseError(
            f"cleanse: {mapped!r} has no raw_record column and no way to read the raw rows "
            "was given (raw_records); build it with build_mapped(raw_record=True)"
        )
    bits = data_quality.quality_bits_sql()
    if plan.mode == "full":
        if with_raw:
            counts: dict[str, Any] = cleanse(con, mapped, today=today)
        else:
            _create_input(con, mapped, "true", raw_records)
            counts = cleanse(con, _TODO, today=today)
            _drop_input(con)
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {_BITS} AS
            SELECT s.record_key, s.source_system, s.source_row_number, {bits} AS quality_bits
            FROM staged s JOIN {_ident(mapped)} m USING (source_system, source_row_number)
            """  # noqa: S608 - identifier quoted, constants
        )
    else:
        _create_input(
            con,
            mapped,
            "record_key IS NULL OR record_key NOT IN (SELECT record_key FROM _cli_kept)",
            None if with_raw else raw_records,
        )
        subset = cleanse(con, _TODO, today=today)
        # The records this run cleansed again: with the base's records gone, what changed.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_RECLEANSED} AS SELECT record_key FROM staged"  # noqa: S608
        )
        _assemble(con, work)
        _drop_input(con)
        # The kept records' bits are the base's (same mapped and staged values), carried by
        # the plan (joining a million kept keys with the base again cost ~0.3 s a night);
        # those cleansed again are counted from their rows.
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {_BITS} AS
            SELECT record_key, source_system, source_row_number, quality_bits FROM _cli_kept
            WHERE quality_bits IS NOT NULL
            UNION ALL
            SELECT s.record_key, s.source_system, s.source_row_number, {bits}
            FROM {STAGED_ADD} s SEMI JOIN {_RECLEANSED} USING (record_key)
            JOIN {_ident(mapped)} m USING (source_system, source_row_number)
            """  # noqa: S608 - identifier quoted, constants
        )
        counts = {**_counts(con), "udf_errors": subset["udf_errors"]}
    counts.update(
        cleanse_mode=plan.mode,
        cleanse_mode_reason=plan.reason,
        rows_cleansed=plan.rows_to_cleanse,
        rows_kept=plan.rows - plan.rows_to_cleanse,
    )
    # Remembered for save_base: the base describes exactly this run's input.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cli_meta AS SELECT ?::VARCHAR AS fingerprint, "
        "?::VARCHAR AS today, ?::VARCHAR[] AS hashed_columns, ?::VARCHAR AS parts",
        [fingerprint, today.isoformat(), columns, json.dumps(parts or {})],
    )
    return counts


def save_changes(con: duckdb.DuckDBPyConnection, work: WorkArea) -> bool:
    """After an incremental cleanse, save which staged records differ from the base's
    (`STAGED_CHANGES`: record_key, change 'changed' or 'removed'), so that linkage and
    golden records need not compare a million records column by column to find them.

    Every other staged record is the base's row, its row number refreshed if it moved;
    'changed' may name a record cleansed again to the same values. Tagged with the
    identities of the staged layer and of the base it starts from: a stage uses it only if
    its own base is that very layer. Call it once `staged` (with the erasure suppression
    applied) is saved and before `save_base`; after a full cleanse it removes the last
    run's. Returns whether it saved one."""
    target = work.path(STAGED_CHANGES)
    if not _is_over_base(con) or not work.exists(BASE_STAGED):
        target.unlink(missing_ok=True)
        return False
    # The dropped keys are the base's only (`remove_staged`): those not added back are gone.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _cli_changes AS
        SELECT record_key, 'changed' AS change
        FROM {STAGED_ADD} SEMI JOIN {_RECLEANSED} USING (record_key)
        UNION ALL
        SELECT DISTINCT record_key, 'removed' FROM {STAGED_DROP}
        ANTI JOIN {STAGED_ADD} USING (record_key)
        """  # noqa: S608 - constant table names
    )
    work.save(
        con,
        STAGED_CHANGES,
        "_cli_changes",
        metadata={"staged": work.identity("staged"), "base": work.identity(BASE_STAGED)},
    )
    con.execute(f"DROP TABLE _cli_changes; DROP TABLE {_RECLEANSED}")
    return True


def save_quality_counts(
    con: duckdb.DuckDBPyConnection, work: WorkArea, *, suppressed: int = 0
) -> None:
    """Save audit.data_quality's counts of the `staged` table (`QUALITY_COUNTS`, see
    `data_quality.counts_sql`) and the source assessment's (`VALIDITY_COUNTS`, see
    `data_quality.validity_counts_sql`), tagged with the staged layer's identity. Call it
    once `staged` (with the erasure suppression applied) is saved: a suppressed record does
    not count. The cleanse's bits are those of every record it staged: only if
    `suppressed` records left `staged` since are they matched with it (a million keys,
    ~0.2 s a night)."""
    kept = f"{_BITS} SEMI JOIN staged USING (record_key)" if suppressed else _BITS
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _cli_staged_bits AS "  # noqa: S608 - constant names
        f"SELECT source_system, quality_bits FROM {kept}"
    )
    tags = {"staged": work.identity("staged")}
    for name, sql in (
        (QUALITY_COUNTS, data_quality.counts_sql("_cli_staged_bits")),
        (VALIDITY_COUNTS, data_quality.validity_counts_sql("_cli_staged_bits")),
    ):
        con.execute(f"CREATE OR REPLACE TEMP VIEW _cli_counts AS {sql}")
        work.save(con, name, "_cli_counts", metadata=tags)
    con.execute("DROP VIEW _cli_counts; DROP TABLE _cli_staged_bits")


def quality_counts(
    con: duckdb.DuckDBPyConnection, work: WorkArea, name: str = QUALITY_COUNTS
) -> str | None:
    """Load counts layer `name` (QUALITY_COUNTS or VALIDITY_COUNTS) as a view of that name
    if it counts the current `staged` layer; returns the view's name, or None (then count
    from staged and mapped)."""
    tags = {"staged": "staged"}
    return name if work.load_if_tagged(con, name, tags) else None


def staged_changes(
    con: duckdb.DuckDBPyConnection, work: WorkArea, base: str, as_name: str = STAGED_CHANGES
) -> str | None:
    """Load the cleanse's `STAGED_CHANGES` as view `as_name` if it leads from layer `base`
    (a stage's kept copy of the staged records it last used) to the current `staged`;
    returns the view's name, or None (the stage then compares the records itself)."""
    tags = {"staged": "staged", "base": base}
    return as_name if work.load_if_tagged(con, STAGED_CHANGES, tags, as_name) else None


def save_base(con: duckdb.DuckDBPyConnection, work: WorkArea) -> None:
    """Keep this run's output as the next run's base. Call it last, after `staged` and
    `quarantine` (with the erasure suppression applied) were written: a run that fails
    before keeps the previous base, one that fails inside leaves none (full next time)."""
    meta_path = work.root / BASE_META
    meta_path.unlink(missing_ok=True)
    con.execute(
        "CREATE OR REPLACE TEMP VIEW _cli_base_rows AS "  # noqa: S608 - constants
        "SELECT r.record_key, r.row_hash, r.source_system, r.source_row_number, b.quality_bits "
        f"FROM {_ROWS} r LEFT JOIN {_BITS} b USING (source_system, source_row_number)"
    )
    work.save(con, BASE_ROWS, "_cli_base_rows")
    work.keep("staged", BASE_STAGED)
    work.keep("quarantine", BASE_QUARANTINE)
    (fingerprint, today, columns, parts), = con.execute(
        "SELECT fingerprint, today, hashed_columns, parts FROM _cli_meta"
    ).fetchall()
    meta = {
        "fingerprint": fingerprint,
        "today": today,
        "hashed_columns": list(columns),
        "parts": json.loads(parts),
    }
    tmp = meta_path.with_name(f".{meta_path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(meta, sort_keys=True))
    os.replace(tmp, meta_path)
