"""Incremental linkage: score only new and changed records, keep every other pair.

A nightly sync on mostly unchanged sources does not need to re-score the whole population.
When the trained model for the current input profile exists (the same condition under which
`link()` reuses it) and at most `max_share` of the records are new, changed or gone, the new
and changed records are scored against everyone else (`predict_between`) and among
themselves (`predict_within`); pairs between two untouched records are carried over from the
previous scoring. Term frequencies come from the whole population, as in a full run, so the
result equals a full relink with the same model up to pairs whose blocking or
term-frequency context moved (measured in tests/integration/test_incremental_linkage.py).
The weekly full relink (FULL_RELINK=1 or the run tag customer_store/full_relink) retrains
and rescores everything.
"""

from dataclasses import dataclass
from pathlib import Path

import duckdb
from splink import Linker

from pipelines.link.linkage import (
    _INPUT_TABLE,
    _NICKNAMES_TABLE,
    _completeness,
    _create_input,
    _create_pairs,
    _ident,
    make_db_api,
    profile_hash,
)
from pipelines.link.model import REQUIRED_COLUMNS, build_model
from pipelines.workarea import over_base

BASE_STAGED = "linkage_base__staged"
BASE_PAIRS = "linkage_base__pairs"
# An incremental linking's pairs as a change over the base's (`link_incrementally`).
PAIRS_DROP = "__inc_pairs_drop"
PAIRS_ADD = "__inc_pairs_add"


@dataclass(frozen=True)
class IncrementalResult:
    records: int
    changed: int
    removed: int
    pairs_rescored: int
    pairs_kept: int
    model_path: Path


def _changes_from(con: duckdb.DuckDBPyConnection, changes: str) -> None:
    """The changed and removed records as the cleanse found them (`save_changes`): a
    'changed' record may compare equal on the model's columns; scoring it again gives its
    pairs as they were."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __inc_changed_keys AS
        SELECT record_key FROM {_ident(changes)} WHERE change = 'changed';
        CREATE OR REPLACE TEMP TABLE __inc_removed_keys AS
        SELECT record_key FROM {_ident(changes)} WHERE change = 'removed';
        """  # noqa: S608 - a quoted identifier
    )


def _compare_with_base(
    con: duckdb.DuckDBPyConnection, staged: str, base_staged: str, compared: list[str]
) -> bool:
    """The changed and removed records found by comparing the `compared` columns of every
    record with the base's (`base_staged`: the SQL of its rows); False if the two cannot be
    compared (other types)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE __inc_base AS {base_staged}")
    # The records must compare column by column: same names, same types.
    base_types = {r[0]: r[1] for r in con.execute("DESCRIBE __inc_base").fetchall()}
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {_ident(staged)}").fetchall()}  # noqa: S608
    if any(base_types.get(c) != types.get(c) for c in compared):
        return False
    now, before = (", ".join(f"{a}.{_ident(c)}" for c in compared) for a in ("s", "b"))
    # A record changed if any compared column differs (NULLs equal); one join on the key
    # (an md5 over every column, both sides, took 4x as long).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __inc_changed_keys AS
        SELECT s.record_key FROM {_ident(staged)} s
        LEFT JOIN __inc_base b USING (record_key)
        WHERE b.record_key IS NULL OR ({now}) IS DISTINCT FROM ({before});
        CREATE OR REPLACE TEMP TABLE __inc_removed_keys AS
        SELECT record_key FROM __inc_base ANTI JOIN {_ident(staged)} USING (record_key);
        DROP TABLE __inc_base;
        """  # noqa: S608 - identifiers from the model's column list
    )
    return True


def link_incrementally(
    con: duckdb.DuckDBPyConnection,
    *,
    staged: str,
    base_staged: str | None,
    base_pairs: str | None,
    model_dir: Path,
    seed: int,
    threshold_probability: float,
    u_sample_pairs: float,
    max_share: float,
    changes: str | None = None,
) -> IncrementalResult | None:
    """Create `pairs` incrementally, as its change over `base_pairs` (`PAIRS_DROP`: the keys
    of the base's pairs scored again or gone; `PAIRS_ADD`: the pairs scored again) and the
    view `pairs` of the whole; and `pairs_touched(record_key)`: the new, changed and gone
    records, the only ones whose pairs differ from the base's. `base_staged` and `base_pairs`
    are the SQL of the base's records and pairs (None: there is no base). None when a full
    relink is needed."""
    if base_staged is None or base_pairs is None:
        return None
    completeness = _completeness(con, staged)
    columns = list(completeness)
    n_records = con.execute(f"SELECT count(*) FROM {_ident(staged)}").fetchall()[0][0]  # noqa: S608
    if not columns or n_records < 2:
        return None
    digest, _ = profile_hash(
        completeness, n_records, backend="duckdb", seed=seed, u_sample_pairs=u_sample_pairs
    )
    saved = model_dir / "versions" / digest / "model.json"
    if not saved.exists():
        return None
    model = build_model(columns, use_term_frequencies=True, dialect="duckdb")
    if changes is not None:
        _changes_from(con, changes)
    elif not _compare_with_base(con, staged, base_staged, [*REQUIRED_COLUMNS, *model.columns]):
        return None
    changed, removed = con.execute(
        "SELECT (SELECT count(*) FROM __inc_changed_keys), "
        "(SELECT count(*) FROM __inc_removed_keys)"
    ).fetchall()[0]
    if (changed + removed) > max_share * n_records:
        return None

    # Only scored, never trained on: unsorted (at a million records 0.47 -> 0.33 s, timed).
    _create_input(con, staged, model, ordered=False)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __inc_changed AS SELECT * FROM {_INPUT_TABLE} "  # noqa: S608
        "SEMI JOIN __inc_changed_keys USING (record_key)"
    )
    # Only the keys of the base's pairs that go: the million kept pairs are not copied,
    # sorted or written again (0.4 + 0.5 + 0.5 s a night at a million records, under py-spy).
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {PAIRS_DROP} AS "  # noqa: S608 - the base's own SQL
        f"SELECT record_key_l, record_key_r FROM ({base_pairs}) p "
        "WHERE p.record_key_l IN (SELECT record_key FROM __inc_changed_keys "
        "UNION ALL SELECT record_key FROM __inc_removed_keys) "
        "OR p.record_key_r IN (SELECT record_key FROM __inc_changed_keys "
        "UNION ALL SELECT record_key FROM __inc_removed_keys)"
    )
    db_api = make_db_api(con, "duckdb")
    everyone = db_api.register(_INPUT_TABLE, dataset_display_name="staged")
    # The saved model was validated against these columns when it was trained (same
    # profile): validating it again parsed every rule and level with sqlglot (~0.2 s).
    linker = Linker(everyone, str(saved), validate_settings=False)
    try:
        for column in model.tf_columns:
            linker.table_management.compute_tf_table(column)
        parts = []
        if changed:
            # The changed records against every record, themselves included: one blocking
            # pass instead of one against the rest (a copy of a million records) and one
            # within the changed; a pair of two changed records comes twice (once each way)
            # and a record meets itself, both dropped below.
            new = db_api.register("__inc_changed", dataset_display_name="changed")
            between = linker.inference.predict_between(
                new,
                everyone,
                threshold_match_probability=threshold_probability,
                warning_mode="never",
            )
            parts = [between.physical_name]
        if parts:
            # Splink's own table names.
            union = " UNION ALL BY NAME ".join(f"SELECT * FROM {p}" for p in parts)  # noqa: S608
            # Keys in a fixed order, as a full run writes them (record_key_l < record_key_r).
            con.execute(
                "CREATE OR REPLACE TEMP TABLE __inc_pred AS "  # noqa: S608
                "SELECT * REPLACE (least(record_key_l, record_key_r) AS record_key_l, "
                "greatest(record_key_l, record_key_r) AS record_key_r) "
                f"FROM ({union}) WHERE record_key_l <> record_key_r"
            )
            _create_pairs(con, "__inc_pred")
            con.execute("ALTER TABLE pairs RENAME TO __inc_new")
        else:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE __inc_new AS "  # noqa: S608 - the base's own SQL
                f"SELECT * FROM ({base_pairs}) LIMIT 0"
            )
        # What clustering needs to know to cluster only what changed (`cluster_incrementally`).
        con.execute(
            "CREATE OR REPLACE TABLE pairs_touched AS SELECT record_key FROM __inc_changed_keys "
            "UNION ALL SELECT record_key FROM __inc_removed_keys"
        )
        # A kept pair never meets a rescored one (every rescored pair has a changed record,
        # no kept pair has), so only the rescored pairs need their duplicates dropped (the
        # window over a million pairs: 1.5 s, now 0.4 s with the same rows).
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {PAIRS_ADD} AS "  # noqa: S608 - constant names
            "SELECT * FROM __inc_new QUALIFY row_number() OVER ("
            "PARTITION BY record_key_l, record_key_r ORDER BY match_probability DESC) = 1 "
            "ORDER BY record_key_l, record_key_r"
        )
        # The pairs layer's rows are the kept and these (`pairs_scored`).
        rescored = con.execute(f"SELECT count(*) FROM {PAIRS_ADD}").fetchall()[0][0]  # noqa: S608
        keys = ["record_key_l", "record_key_r"]
        whole = over_base(f"({base_pairs})", PAIRS_DROP, PAIRS_ADD, keys)
        con.execute(f"CREATE OR REPLACE TEMP VIEW pairs AS {whole}")
        kept = con.execute(
            f"SELECT (SELECT count(*) FROM ({base_pairs})) - (SELECT count(*) FROM {PAIRS_DROP})"  # noqa: S608
        ).fetchall()[0][0]
    finally:
        linker.table_management.delete_tables_created_by_splink_from_db()
        for table in (_INPUT_TABLE, _NICKNAMES_TABLE, "__inc_new", "__inc_pred", "__inc_changed"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return IncrementalResult(
        records=n_records,
        changed=int(changed),
        removed=int(removed),
        pairs_rescored=int(rescored),
        pairs_kept=int(kept),
        model_path=saved,
    )
