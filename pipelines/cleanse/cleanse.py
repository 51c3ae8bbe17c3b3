"""The cleansing stage: `mapped` -> `staged` + `quarantine` (contracts in docs/architecture.md).

Set-based DuckDB SQL throughout; the library-backed standardisers (phonenumbers,
email-validator, nameparser, unidecode) run on distinct values only (`udfs.LookupRunner`).
Every mapped row ends in exactly one place by construction: one `_cl_final` row per mapped
row carries its list of quarantine reasons, an empty list means staged, a non-empty one
becomes that many quarantine rows. A count check proves it before the tables are replaced.
"""

from __future__ import annotations

import logging
from datetime import date

import duckdb

from pipelines.cleanse import stages
from pipelines.cleanse.rules import REASON_CODES
from pipelines.cleanse.sql import install_macros
from pipelines.cleanse.udfs import LookupRunner, log_udf_errors, register_udfs

log = logging.getLogger(__name__)


class CleanseError(RuntimeError):
    """The input breaks the `mapped` contract, or the reconciliation check failed."""


def _check_input(con: duckdb.DuckDBPyConnection, mapped: str) -> None:
    try:
        relation = con.table(mapped)
    except duckdb.Error as exc:
        raise CleanseError(
            f"cleanse: no table or view named {mapped!r}; run the map stage first"
        ) from exc
    missing = [c for c in stages.REQUIRED_COLUMNS if c not in relation.columns]
    if missing:
        raise CleanseError(
            f"cleanse: {mapped!r} lacks column(s) {', '.join(missing)} required by the "
            "`mapped` contract in docs/architecture.md; fix the map stage"
        )
    relation.create_view(stages.INPUT_VIEW, replace=True)


def _reconcile(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    (mapped, staged, quarantined, quarantine_rows, final_rows), = con.execute(
        f"""
        SELECT
            (SELECT count(*) FROM {stages.INPUT_VIEW}),
            (SELECT count(*) FROM staged),
            (SELECT count(DISTINCT _rid) FROM _cl_final WHERE len(reasons) > 0),
            (SELECT count(*) FROM quarantine),
            (SELECT count(*) FROM _cl_final)
        """  # noqa: S608 - constants only
    ).fetchall()
    if not (mapped == final_rows == staged + quarantined):
        raise CleanseError(
            f"cleanse: reconciliation failed: {mapped} mapped rows, {staged} staged, "
            f"{quarantined} quarantined ({final_rows} classified); this is a bug in the "
            "cleanse stage, the previous outputs were left in place"
        )
    (unique_keys,), = con.execute("SELECT count(DISTINCT record_key) FROM staged").fetchall()
    if unique_keys != staged:
        raise CleanseError("cleanse: record_key is not unique in staged; this is a bug")
    return {
        "mapped": mapped,
        "staged": staged,
        "quarantined_records": quarantined,
        "quarantine_rows": quarantine_rows,
    }


def _drop_temporaries(con: duckdb.DuckDBPyConnection) -> None:
    for table in stages.TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute(f"DROP VIEW IF EXISTS {stages.INPUT_VIEW}")


def cleanse(
    con: duckdb.DuckDBPyConnection, mapped: str = "mapped", *, today: date | None = None
) -> dict[str, int]:
    """Cleanse the table or view `mapped` of `con` into the tables `staged` and `quarantine`.

    `today` bounds birth dates (default: the current date). Returns the counts
    {"mapped", "staged", "quarantined_records", "quarantine_rows", one per reason code,
    "udf_errors"}. The output tables are replaced only if the reconciliation check passes.
    """
    _check_input(con, mapped)
    today = today or date.today()
    errors = register_udfs(con, today)
    install_macros(con)
    rows = con.execute(f"SELECT count(*) FROM {stages.INPUT_VIEW}").fetchall()[0][0]  # noqa: S608
    lookups = LookupRunner(con, today, errors, input_rows=rows)
    try:
        for step in (
            stages.load_input(),
            stages.hygiene(),
            stages.text_checks(),
            *stages.first_lookups(),
            stages.party(),
            *stages.second_lookups(),
            stages.standardised(),
            stages.final(),
        ):
            if isinstance(step, stages.Lookup):
                lookups.run(step)
            else:
                con.execute(step)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(stages.staged())
            con.execute(stages.quarantine())
            counts = _reconcile(con)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        by_reason = dict(
            con.execute(
                "SELECT reason_code, count(*) FROM quarantine GROUP BY reason_code"
            ).fetchall()
        )
    finally:
        lookups.close()
        _drop_temporaries(con)
    counts.update({code: by_reason.get(code, 0) for code in REASON_CODES})
    counts["udf_errors"] = sum(errors.values())
    log_udf_errors(errors)
    log.info("cleanse: %s", counts)
    return counts
