"""Incremental cleansing gives exactly what a full cleanse of the same input gives.

Two runs over the demo's mapped records: the second changes, adds and deletes records, makes
duplicates (one only after hygiene), sends a record to quarantine and brings one back, moves a
quarantined record's row number, lets a rejected birth date become possible, and adds an
erasure suppression. Its incremental output must equal a from-scratch cleanse of the same
input: same rows, same values, same order.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from pipelines import quality, stages
from pipelines.cleanse import data_quality, incremental
from pipelines.cleanse.incremental import cleanse_incrementally, save_base
from pipelines.extract.extract import build_mapped, mapped_parts
from pipelines.identity.erasure import apply_suppression, identifier_hash
from pipelines.publish.prepare import build_data_quality
from pipelines.settings import PROJECT_ROOT, load_settings
from pipelines.workarea import WorkArea, connect

SALT = "test-salt-0123456789abcdef"
TODAY_1 = dt.date(2030, 1, 1)
TODAY_2 = dt.date(2030, 1, 3)
SOURCES = ("crm", "billing", "servicedesk", "logistics", "marketing")
IDENTIFYING = ("given_name", "family_name", "full_name", "company_name", "email", "phone",
               "tax_id")


def _extract_all(settings) -> None:
    for source in stages.registry(settings).sources:
        stages.extract(settings, source.name)
        for activity in source.activities:
            stages.extract(settings, source.name, activity.name)


@pytest.fixture(scope="module")
def demo_mapped(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's `mapped` layer, extracted once for the module."""
    root = tmp_path_factory.mktemp("mapped")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEMO_DATA_DIR", str(demo_dir))
        mp.setenv("CUSTOMER_STORE_WORK_DIR", str(root / "work"))
        mp.setenv("CUSTOMER_STORE_URL", f"duckdb:///{root / 'store.duckdb'}")
        mp.setenv("SOURCES_CONFIG", str(PROJECT_ROOT / "sources" / "sources.yaml"))
        mp.delenv("FULL_REFRESH", raising=False)
        settings = load_settings()
        _extract_all(settings)
        con = connect()
        # The `mapped` table as the cleansing gets it (the saved layer has no raw_record).
        build_mapped(stages.registry(settings), stages.work_area(settings), con=con)
        path = root / "mapped_input.parquet"
        con.execute(f"COPY mapped TO '{path}' (FORMAT parquet)")
        con.close()
    return path


def _versions(demo_mapped: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Write the first run's and the second run's mapped input; rows are picked by position."""
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    con.execute("CREATE TABLE m AS SELECT * FROM read_parquet(?)", [str(demo_mapped)])
    ids, servicedesk_ids = (
        dict(
            con.execute(
                "SELECT source_row_number, source_record_id FROM m WHERE source_system = ?",
                [system],
            ).fetchall()
        )
        for system in ("crm", "servicedesk")
    )
    # Records quarantined for lack of identifying fields in the first run: billing rows 2
    # (stays, same row number) and 20 (stays, but row 3 is deleted before it: its row number
    # and message move), crm row 6 (leaves quarantine in the second run).
    con.execute(
        f"""
        CREATE TABLE m0 AS
        SELECT * REPLACE (
            {", ".join(
                f"CASE WHEN (source_system = 'billing' AND source_row_number IN (2, 20)) "
                f"OR (source_system = 'crm' AND source_row_number = 6) THEN NULL ELSE {c} END "
                f"AS {c}" for c in IDENTIFYING)},
            -- crm row 5: a birth date in the future on the first run's date, not the second's
            -- (servicedesk row 5 too, a source the second run does not change)
            CASE WHEN source_system IN ('crm', 'servicedesk') AND source_row_number = 5
                 THEN '2030-01-02' ELSE birth_date END AS birth_date,
            -- crm row 17: no primary key in both runs; crm row 30 shares crm row 31's key
            -- in the first run only, and is the newer version then (row 31 is quarantined)
            -- (servicedesk row 8 shares row 9's key in both runs)
            CASE WHEN source_system = 'crm' AND source_row_number = 17 THEN NULL
                 WHEN source_system = 'crm' AND source_row_number = 30 THEN $id31
                 WHEN source_system = 'servicedesk' AND source_row_number = 8 THEN $sd9
                 ELSE source_record_id END AS source_record_id,
            CASE WHEN source_system = 'crm' AND source_row_number = 30
                 THEN TIMESTAMP '2029-12-31 00:00:00' ELSE source_updated_at
            END AS source_updated_at
        )
        FROM m
        """,  # noqa: S608 - constants only
        {"id31": ids[31], "sd9": servicedesk_ids[9]},
    )
    crm_id = dict(
        con.execute(
            "SELECT source_row_number, source_record_id FROM m0 WHERE source_system = 'crm'"
        ).fetchall()
    )
    last_crm = max(crm_id)
    con.execute(
        f"""
        CREATE TABLE m1 AS
        WITH edited AS (
            SELECT * REPLACE (
                CASE WHEN source_system = 'crm' AND source_row_number = 10
                     THEN family_name || 'x' ELSE family_name END AS family_name,
                -- crm 12 takes crm 13's key (a duplicate); crm 14 takes crm 15's with a
                -- trailing space, which hygiene removes (a duplicate only after cleansing)
                CASE WHEN source_system = 'crm' AND source_row_number = 12 THEN $id13
                     WHEN source_system = 'crm' AND source_row_number = 14 THEN $id15 || ' '
                     ELSE source_record_id END AS source_record_id
            )
            FROM m0
        ), restored AS (
            -- crm row 6 leaves quarantine (its identifying fields come back); crm row 16
            -- goes there (they go); crm row 30 gets its own key back (no duplicate left)
            SELECT e.* REPLACE (
                CASE WHEN e.source_system = 'crm' AND e.source_row_number = 30
                     THEN o.source_record_id ELSE e.source_record_id END AS source_record_id,
                CASE WHEN e.source_system = 'crm' AND e.source_row_number = 30
                     THEN o.source_updated_at ELSE e.source_updated_at END AS source_updated_at,
                {", ".join(
                    f"CASE WHEN e.source_system = 'crm' AND e.source_row_number = 6 THEN o.{c} "
                    f"WHEN e.source_system = 'crm' AND e.source_row_number = 16 THEN NULL "
                    f"ELSE e.{c} END AS {c}" for c in IDENTIFYING)}
            )
            FROM edited e
            LEFT JOIN m o
              ON o.source_system = e.source_system AND o.source_row_number = e.source_row_number
        ), renumbered AS (
            -- billing row 3 is deleted: the rows after it move up by one
            SELECT * REPLACE (
                CASE WHEN source_system = 'billing' AND source_row_number > 3
                     THEN source_row_number - 1 ELSE source_row_number END AS source_row_number
            )
            FROM restored
            WHERE NOT (source_system = 'billing' AND source_row_number = 3)
        ), added AS (
            -- a new crm record, a copy of crm row 11 with its own key and e-mail
            SELECT * REPLACE (
                {last_crm + 1}::BIGINT AS source_row_number,
                'NEW-1' AS source_record_id,
                'new.customer@example.com' AS email
            )
            FROM renumbered WHERE source_system = 'crm' AND source_row_number = 11
        )
        SELECT * FROM renumbered
        UNION ALL
        SELECT * FROM added
        """,  # noqa: S608 - constants only
        {"id13": crm_id[13], "id15": crm_id[15]},
    )
    # The new record goes after the last crm row, as the extraction would read it.
    con.execute(
        "CREATE TABLE m1_ordered AS SELECT * FROM m1 ORDER BY "
        f"list_position({list(SOURCES)}, source_system), source_row_number"
    )
    paths = (tmp_path / "m0.parquet", tmp_path / "m1.parquet")
    con.execute(f"COPY m0 TO '{paths[0]}' (FORMAT parquet)")
    con.execute(f"COPY m1_ordered TO '{paths[1]}' (FORMAT parquet)")
    con.close()
    return paths


def _suppression(*record_keys: str) -> pa.Table:
    return pa.table(
        {"identifier_hash": [identifier_hash(SALT, "record_key", k) for k in record_keys]}
    )


def _run(
    work: WorkArea,
    mapped: Path,
    today: dt.date,
    suppression: pa.Table | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """What stage_customers does after mapping, on a given `mapped` input."""
    con = connect()
    con.execute("CREATE TABLE mapped AS SELECT * FROM read_parquet(?)", [str(mapped)])
    counts = cleanse_incrementally(con, work, "mapped", today=today, **kwargs)
    counts["suppressed_by_erasure"] = apply_suppression(con, suppression)
    incremental.save_staged(con, work)
    work.save(con, "quarantine")
    counts["changes_saved"] = incremental.save_changes(con, work)
    incremental.save_quality_counts(con, work, suppressed=counts["suppressed_by_erasure"])
    save_base(con, work)
    con.close()
    return counts


def _assert_changes_complete(work: WorkArea, before: Path) -> None:
    """The saved change set names every staged record whose values (besides its position)
    differ from `before`'s staged records, or that is new, and every record gone."""
    con = duckdb.connect()
    changes, staged = str(work.path(incremental.STAGED_CHANGES)), work.relation("staged")
    columns = [
        r[0]
        for r in con.execute(f"DESCRIBE {staged}").fetchall()
        if r[0] not in incremental.POSITION_COLUMNS
    ]
    listed = ", ".join(f'"{c}"' for c in columns)
    (unnamed_changes, removed, named_removed, wrongly_removed), = con.execute(
        f"""
        WITH named AS (SELECT * FROM read_parquet($changes))
        SELECT
          (SELECT count(*) FROM (
              SELECT {listed} FROM ({staged})
              EXCEPT SELECT {listed} FROM read_parquet($before))
           WHERE record_key NOT IN (SELECT record_key FROM named WHERE change = 'changed')),
          (SELECT count(*) FROM read_parquet($before)
           WHERE record_key NOT IN (SELECT record_key FROM ({staged}))),
          (SELECT count(*) FROM named WHERE change = 'removed'),
          (SELECT count(*) FROM named WHERE change = 'removed'
           AND record_key IN (SELECT record_key FROM ({staged})))
        """,  # noqa: S608 - column names from the layer itself
        {"changes": changes, "before": str(before)},
    ).fetchall()
    con.close()
    assert unnamed_changes == 0
    assert removed == named_removed > 0
    assert wrongly_removed == 0


def _assert_quality_counts_as_joined(work: WorkArea, mapped: Path) -> None:
    """The saved data-quality counts are what the publish counts from staged and mapped."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA new")
    work.load(con, "staged")
    con.execute("CREATE TABLE mapped AS SELECT * FROM read_parquet(?)", [str(mapped)])
    figures = []
    for counts in (None, incremental.quality_counts(con, work)):
        build_data_quality(con, "run", counts)
        figures.append(con.execute("SELECT * FROM new.audit__data_quality").fetchall())
    # The source assessment's validity counts, likewise.
    con.execute(f"CREATE VIEW joined_bits AS {data_quality.joined_bits_sql()}")
    joined = con.execute(data_quality.validity_counts_sql("joined_bits")).fetchall()
    saved = incremental.quality_counts(con, work, incremental.VALIDITY_COUNTS)
    assert saved is not None
    assert con.execute(f"SELECT * FROM {saved}").fetchall() == joined  # noqa: S608
    con.close()
    assert figures[0] == figures[1]
    assert len(figures[0]) > 20
    assert len(joined) > 20 and any(kept < supplied for _, _, supplied, kept in joined)


def _in_source_order(work: WorkArea, layer: str) -> str:
    """A layer's rows in the order a full cleanse writes them (sources in registry order, each
    in row order); staged after an incremental cleanse is kept as a change over its base."""
    if layer != "staged":
        return work.relation(layer)
    return (
        f"SELECT * FROM ({work.relation(layer)}) ORDER BY "  # noqa: S608 - a layer's own SQL
        f"list_position({list(SOURCES)}, source_system), source_row_number"
    )


def _assert_same_output(a: WorkArea, b: WorkArea) -> None:
    con = duckdb.connect()
    for layer in ("staged", "quarantine", incremental.QUALITY_COUNTS, incremental.VALIDITY_COUNTS):
        left, right = (f"SELECT * FROM ({w.relation(layer)})" for w in (a, b))  # noqa: S608
        describe = "SELECT column_name, column_type FROM (DESCRIBE {})"
        assert con.execute(describe.format(left)).fetchall() == con.execute(
            describe.format(right)
        ).fetchall()
        (only_a, only_b, count_a, count_b), = con.execute(
            f"""
            SELECT
              (SELECT count(*) FROM ({left} EXCEPT ALL {right})),
              (SELECT count(*) FROM ({right} EXCEPT ALL {left})),
              (SELECT count(*) FROM ({left})),
              (SELECT count(*) FROM ({right}))
            """  # noqa: S608 - the layers' own SQL
        ).fetchall()
        assert (only_a, only_b) == (0, 0), layer
        assert count_a == count_b, layer
        # Same order too: a full cleanse writes the layers in source order, and the records
        # of a layer kept as a change are in that order once sorted so.
        full_rows = con.execute(right).fetchall()
        assert con.execute(_in_source_order(a, layer)).fetchall() == full_rows, layer
        assert con.execute(_in_source_order(b, layer)).fetchall() == full_rows, layer
    con.close()


def _record_key(path: Path, system: str, row: int) -> str:
    con = duckdb.connect()
    (key,), = con.execute(
        "SELECT source_system || ':' || trim(source_record_id) FROM read_parquet(?) "
        "WHERE source_system = ? AND source_row_number = ?",
        [str(path), system, row],
    ).fetchall()
    con.close()
    return key


def _reasons(work: WorkArea, system: str, row: int) -> list[str]:
    con = duckdb.connect()
    rows = con.execute(
        "SELECT reason_code FROM read_parquet(?) WHERE source_system = ? "
        "AND source_row_number = ? ORDER BY reason_code",
        [str(work.path("quarantine")), system, row],
    ).fetchall()
    con.close()
    return [r[0] for r in rows]


@pytest.mark.parametrize("by_part", [False, True])
def test_incremental_cleanse_equals_full_cleanse(
    by_part: bool, demo_mapped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`by_part`: the input is named part by part (as `build_mapped` does), the second run
    changing the crm and billing parts only: the others' rows are the base's, not hashed
    again, yet their duplicates, birth dates and suppressions are handled as before."""
    monkeypatch.setenv("ERASURE_SALT", SALT)
    m0, m1 = _versions(demo_mapped, tmp_path)
    parts: list[dict[str, Any]] = [{}, {}]
    if by_part:
        parts = [
            {"parts": {s: f"{s}-0" for s in SOURCES}},
            {"parts": {s: f"{s}-{int(s in ('crm', 'billing'))}" for s in SOURCES}},
        ]
    # crm row 21 is suppressed in both runs, crm row 22 (kept from the base) from the second.
    first_suppressed = _record_key(m0, "crm", 21)
    second_suppressed = _record_key(m0, "crm", 22)
    work = WorkArea(tmp_path / "incremental")

    first = _run(work, m0, TODAY_1, _suppression(first_suppressed), **parts[0])
    assert first["cleanse_mode"] == "full"
    assert first["rows_kept"] == 0
    assert _reasons(work, "billing", 20) == ["no_identifying_fields"]
    assert _reasons(work, "crm", 6) == ["no_identifying_fields"]
    assert _reasons(work, "crm", 21) == ["suppressed_by_erasure"]
    assert _reasons(work, "crm", 31) == ["duplicate_primary_key"]
    assert not first["changes_saved"]  # a full cleanse: stages compare for themselves
    before = tmp_path / "first_staged.parquet"
    before.write_bytes(work.path("staged").read_bytes())

    suppression = _suppression(first_suppressed, second_suppressed)
    if by_part:
        # What the second run would not hash again: the parts it did not change.
        con = connect()
        con.execute("CREATE TABLE mapped AS SELECT * FROM read_parquet(?)", [str(m1)])
        columns = incremental._hashed_columns(con, "mapped")
        con.close()
        reused = incremental._reused_sources(
            work, parts[1]["parts"], columns, incremental.code_fingerprint(), full=False
        )
        assert reused == ["servicedesk", "logistics", "marketing"]
    second = _run(work, m1, TODAY_2, suppression, **parts[1])
    assert second["cleanse_mode"] == "incremental", second["cleanse_mode_reason"]
    assert second["changes_saved"]
    _assert_changes_complete(work, before)
    assert 0 < second["rows_cleansed"] < 0.05 * second["mapped"]
    assert second["rows_kept"] + second["rows_cleansed"] == second["mapped"]

    _assert_quality_counts_as_joined(work, m1)

    full = WorkArea(tmp_path / "full")
    reference = _run(full, m1, TODAY_2, suppression)
    assert reference["cleanse_mode"] == "full"
    assert not full.path(incremental.STAGED_CHANGES).exists()
    _assert_same_output(work, full)
    for key in ("mapped", "staged", "quarantined_records", "quarantine_rows",
                "duplicate_primary_key", "no_identifying_fields", "missing_primary_key",
                "suppressed_by_erasure"):
        assert second[key] == reference[key], key

    # The cases the second run covers, as the full cleanse sees them.
    assert _reasons(work, "crm", 6) == []  # left quarantine
    assert _reasons(work, "crm", 16) == ["no_identifying_fields"]  # went there
    assert "duplicate_primary_key" in _reasons(work, "crm", 12) + _reasons(work, "crm", 13)
    assert "duplicate_primary_key" in _reasons(work, "crm", 14) + _reasons(work, "crm", 15)
    assert _reasons(work, "billing", 19) == ["no_identifying_fields"]  # was row 20
    assert _reasons(work, "crm", 30) == _reasons(work, "crm", 31) == []  # no duplicate left
    assert _reasons(work, "crm", 22) == ["suppressed_by_erasure"]
    con = duckdb.connect()
    (birth_date,), = con.execute(
        f"SELECT birth_date FROM ({work.relation('staged')}) WHERE source_system = 'crm' "  # noqa: S608
        "AND source_row_number = 5"
    ).fetchall()
    assert birth_date == dt.date(2030, 1, 2)  # no longer in the future
    (birth_date,), = con.execute(
        f"SELECT birth_date FROM ({work.relation('staged')}) "  # noqa: S608
        "WHERE source_system = 'servicedesk' AND source_row_number = 5"
    ).fetchall()
    con.close()
    assert birth_date == dt.date(2030, 1, 2)
    assert "duplicate_primary_key" in _reasons(work, "servicedesk", 8) + _reasons(
        work, "servicedesk", 9
    )


def test_unchanged_input_keeps_everything_but_duplicates_and_keyless(
    demo_mapped: Path, tmp_path: Path
) -> None:
    m0, _ = _versions(demo_mapped, tmp_path)
    work = WorkArea(tmp_path / "incremental")
    _run(work, m0, TODAY_1)
    again = _run(work, m0, TODAY_1)
    assert again["cleanse_mode"] == "incremental"
    con = duckdb.connect()
    (grouped,), = con.execute(
        "SELECT count(*) FROM read_parquet(?) WHERE source_record_id IS NULL OR "
        "(source_system, trim(source_record_id)) IN (SELECT (source_system, "
        "trim(source_record_id)) FROM read_parquet(?) GROUP BY ALL HAVING count(*) > 1)",
        [str(m0), str(m0)],
    ).fetchall()
    con.close()
    assert again["rows_cleansed"] == grouped
    full = WorkArea(tmp_path / "full")
    _run(full, m0, TODAY_1)
    _assert_same_output(work, full)


@pytest.mark.parametrize("why", ["full_refresh", "code", "share", "date_back", "no_base"])
def test_full_cleanse_when_the_base_cannot_be_trusted(
    why: str, demo_mapped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    m0, m1 = _versions(demo_mapped, tmp_path)
    work = WorkArea(tmp_path / "incremental")
    _run(work, m0, TODAY_1)
    kwargs: dict[str, Any] = {}
    today = TODAY_2
    if why == "full_refresh":
        kwargs["full"] = True
    elif why == "code":
        monkeypatch.setattr(incremental, "code_fingerprint", lambda: "changed-cleanse-code")
    elif why == "share":
        kwargs["max_share"] = 0.0001
    elif why == "date_back":
        today = TODAY_1 - dt.timedelta(days=1)
    else:
        (work.root / incremental.BASE_META).unlink()
    second = _run(work, m1, today, **kwargs)
    assert second["cleanse_mode"] == "full", why
    assert second["rows_cleansed"] == second["mapped"]
    assert second["rows_kept"] == 0


def test_a_cleansing_code_change_changes_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "cleanse"
    package.mkdir()
    (package / "incremental.py").write_text("# v1\n")
    monkeypatch.setattr(incremental, "__file__", str(package / "incremental.py"))
    before = incremental.code_fingerprint()
    (package / "rules.py").write_text("LIMIT = 1\n")
    assert incremental.code_fingerprint() != before


def test_stage_customers_reports_and_passes_its_checks(
    sync_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FULL_REFRESH", raising=False)
    settings = load_settings()
    _extract_all(settings)
    first = stages.stage_customers(settings)
    assert (first["cleanse_mode"], first["rows_kept"]) == ("full", 0)
    reused_sources: list[list[str]] = []
    create_rows = incremental._create_rows

    def recording(con, mapped, columns, parts, reused):  # noqa: ANN001, ANN202
        reused_sources.append(list(reused))
        return create_rows(con, mapped, columns, parts, reused)

    monkeypatch.setattr(incremental, "_create_rows", recording)
    second = stages.stage_customers(settings)
    monkeypatch.setattr(incremental, "_create_rows", create_rows)
    assert second["cleanse_mode"] == "incremental"
    # Nothing was extracted again: every source's mapped part is the one the base was
    # cleansed from, and its rows were not hashed again.
    assert reused_sources == [list(mapped_parts(stages.work_area(settings)))]
    assert sorted(reused_sources[0]) == sorted(SOURCES)
    # The nightly path maps without the raw rows as JSON and builds them for the records it
    # cleanses again (duplicates, keyless rows: quarantined ones among them).
    assert incremental.expects_incremental(stages.work_area(settings))
    # The publish takes the data-quality counts of this very staged layer.
    con = duckdb.connect()
    assert incremental.quality_counts(con, stages.work_area(settings)) is not None
    con.close()
    kept = {}
    work = stages.work_area(settings)
    for layer in ("staged", "quarantine"):
        kept[layer] = settings.work_dir / f"second_{layer}.parquet"
        con = duckdb.connect()
        con.execute(f"COPY ({_in_source_order(work, layer)}) TO '{kept[layer]}'")
        con.close()
    assert second["rows_kept"] > 0.9 * second["mapped"]
    # Too much to cleanse again: the plan turns full after a mapping without the raw rows'
    # JSON, which is then built for every row, to the same output.
    monkeypatch.setenv("INCREMENTAL_MAX_SHARE", "0")
    again = stages.stage_customers(load_settings())
    monkeypatch.delenv("INCREMENTAL_MAX_SHARE")
    assert again["cleanse_mode"] == "full"
    assert "more than" in again["cleanse_mode_reason"]
    con = duckdb.connect()
    for layer, path in kept.items():
        rows = f"SELECT * FROM read_parquet('{path}')"
        now = _in_source_order(work, layer)
        assert con.execute(rows).fetchall() == con.execute(now).fetchall()
    con.close()
    assert second["rows_kept"] + second["rows_cleansed"] == second["mapped"]
    for key in ("staged", "quarantined_records", "quarantine_rows"):
        assert second[key] == first[key], key
    checks = [
        quality.layer_contract("staged", "staged_customers"),
        quality.staged_keys_unique,
        quality.quarantine_reasons,
        quality.quarantine_rate,
    ]
    for check in checks:
        outcome = check(settings)
        assert outcome.passed or outcome.severity == "WARN", outcome
    monkeypatch.setenv("FULL_REFRESH", "1")
    third = stages.stage_customers(load_settings())
    assert third["cleanse_mode"] == "full"
    # Row for row the full cleanse's, raw_record included.
    con = duckdb.connect()
    for layer, path in kept.items():
        rows = f"SELECT * FROM read_parquet('{path}')"
        now = _in_source_order(work, layer)
        assert con.execute(rows).fetchall() == con.execute(now).fetchall()
    (with_raw,), = con.execute(
        "SELECT count(*) FROM read_parquet(?) WHERE raw_record IS NOT NULL",
        [str(kept["quarantine"])],
    ).fetchall()
    con.close()
    assert with_raw == second["quarantine_rows"] > 0
    assert {k: v for k, v in third.items() if not k.startswith(("cleanse_mode", "rows_"))} == {
        k: v for k, v in second.items() if not k.startswith(("cleanse_mode", "rows_"))
    }
