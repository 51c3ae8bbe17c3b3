"""Model features beyond the basics: nicknames, split-name shifts, m floors, model reuse,
the review queue."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb
import pytest
from splink import DuckDBAPI, Linker

from pipelines.link.clustering import cluster
from pipelines.link.linkage import (
    _INPUT_TABLE,
    M_PROBABILITY_FLOOR,
    _create_input,
    _estimate_u_in_threads,
    available_columns,
    floor_m_probabilities,
    link,
    profile_hash,
)
from pipelines.link.model import NICKNAME_COLUMN, build_model
from pipelines.link.nicknames import nickname_groups
from pipelines.link.review import build_review_queue

STAGED_DDL = """
CREATE TABLE staged (
    record_key VARCHAR, party_type VARCHAR, given_name_key VARCHAR, family_name_key VARCHAR,
    email_key VARCHAR, phone VARCHAR, postcode_key VARCHAR
)
"""


def test_nickname_groups_join_names_and_diminutives() -> None:
    groups = nickname_groups()
    assert groups["pepe"] == groups["jose"]
    assert groups["paco"] == groups["francisco"]
    assert groups["bill"] == groups["william"]
    assert groups["bob"] == groups["robert"]
    assert groups["maite"] == groups["maria teresa"]  # accents and case folded
    assert groups["jose"] != groups["juan jose"]
    assert groups["william"] != groups["robert"]


def test_nickname_and_shifted_name_levels_link(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute(STAGED_DDL)
    con.executemany(
        "INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            # Pepe / José, same family name and phone
            ("a:1", "person", "pepe", "quintana perez", None, "+34749822606", "29017"),
            ("b:1", "person", "jose", "quintana perez", None, "+34749822606", "29017"),
            # given/family boundary drawn elsewhere, same e-mail
            ("a:2", "person", "jose angel", "garcia rubio", "jg79@x.es", None, None),
            ("b:2", "person", "jose", "angel garcia rubio", "jg79@x.es", None, None),
            # unrelated person with a common given name
            ("a:3", "person", "jose", "marin", None, "+34600000001", "28001"),
        ],
    )
    link(con, seed=1, threshold_probability=0.5)
    pairs = {
        (a, b): p
        for a, b, p in con.execute(
            "SELECT record_key_l, record_key_r, match_probability FROM pairs"
        ).fetchall()
    }
    assert pairs[("a:1", "b:1")] >= 0.9
    assert pairs[("a:2", "b:2")] >= 0.9
    assert not any("a:3" in k for k in pairs)
    gammas = dict(
        con.execute(
            "SELECT record_key_l, gamma_given_name_key FROM pairs WHERE record_key_l IN "
            "('a:1', 'a:2')"
        ).fetchall()
    )
    # the level the pair fell into is neither exact (top) nor else (0)
    assert 0 < gammas["a:1"]
    assert 0 < gammas["a:2"]


def test_evidence_that_only_repeats_the_names_is_not_counted_twice() -> None:
    con = duckdb.connect()
    con.execute(STAGED_DDL)
    con.executemany(
        "INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            # two namesakes whose addresses are built from their names
            ("a:1", "person", "jose", "garcia", "jose.garcia@gmail.com", None, None),
            ("b:1", "person", "jose", "garcia", "jose.garcia7@hotmail.com", None, None),
            # namesakes by nickname, same address: an exact address still counts
            ("a:2", "person", "pepe", "marin", "pmarin@x.es", None, None),
            ("b:2", "person", "jose", "marin", "pmarin@x.es", None, None),
            # different names (a typo), similar addresses: the address is evidence
            ("a:3", "person", "maria", "lopez", "m.lopez@x.es", "+34600000003", None),
            ("b:3", "person", "mario", "lopes", "m.lopez1@x.es", "+34600000003", None),
            # one whole name split differently is one agreement, not two
            ("a:4", "person", "jose angel", "garcia rubio", None, "+34600000004", None),
            ("b:4", "person", "jose", "angel garcia rubio", None, "+34600000004", None),
        ],
    )
    link(con, seed=1, threshold_probability=1e-9)
    gammas = {
        key: (given, family, email)
        for key, given, family, email in con.execute(
            "SELECT record_key_l, gamma_given_name_key, gamma_family_name_key, gamma_email_key "
            "FROM pairs WHERE left(record_key_l, 2) = 'a:' AND left(record_key_r, 2) = 'b:' "
            "AND right(record_key_l, 1) = right(record_key_r, 1)"
        ).fetchall()
    }
    exact_email = 4  # the top level: exact, local part, Levenshtein, Jaro-Winkler, else
    assert gammas["a:1"][2] == -1  # neutral: similar only as the names are
    assert gammas["a:2"][2] == exact_email
    assert 0 < gammas["a:3"][2] < exact_email  # a fuzzy agreement that counts
    assert gammas["a:4"][0] > 0 and gammas["a:4"][1] == -1


def test_model_declares_the_derived_nickname_column() -> None:
    assert build_model(["given_name_key", "family_name_key"]).derived_columns == (
        NICKNAME_COLUMN,
    )
    assert build_model(["company_name_key"]).derived_columns == ()
    sql = [
        r.sql_condition
        for r in build_model(
            ["given_name_key", "family_name_key"]
        ).settings.blocking_rules_to_generate_predictions
    ]
    assert any(NICKNAME_COLUMN in s for s in sql)


def test_spark_model_uses_splink_udf_names() -> None:
    spark = build_model(["given_name_key", "family_name_key"], dialect="spark")
    text = json.dumps(spark.settings.create_settings_dict("spark"))
    assert "jaro_winkler(" in text.lower()
    assert "jaro_winkler_similarity" not in text.lower()
    duck = build_model(["given_name_key", "family_name_key"])
    assert "jaro_winkler_similarity" in json.dumps(duck.settings.create_settings_dict("duckdb"))


def test_floor_m_probabilities_bounds_every_disagreement() -> None:
    con = duckdb.connect()
    con.execute(STAGED_DDL)
    con.execute("INSERT INTO staged VALUES ('a:1', 'person', 'x', 'y', NULL, NULL, NULL)")
    model = build_model(["given_name_key", "family_name_key"])
    linker = Linker(
        DuckDBAPI(connection=con).register("staged"), model.settings, log_level=logging.ERROR
    )
    level = linker._settings_obj.comparisons[0].comparison_levels[-1]
    level.m_probability = 1e-9  # what EM leaves for a level it never saw among matches
    assert floor_m_probabilities(linker) >= 1
    for comparison in linker._settings_obj.comparisons:
        ms = [lv.m_probability for lv in comparison.comparison_levels if not lv.is_null_level]
        assert min(ms) >= M_PROBABILITY_FLOOR * 0.9
        assert sum(ms) == pytest.approx(1.0, abs=1e-6)


def test_profile_hash_changes_with_what_training_depends_on() -> None:
    base, profile = profile_hash({"email_key": 0.81}, 5000, backend="duckdb", seed=42)
    assert profile["completeness"] == {"email_key": 0.8}
    # noise inside a completeness step or a row-count power of two keeps the model
    assert profile_hash({"email_key": 0.82}, 5100, backend="duckdb", seed=42)[0] == base
    assert profile_hash({"email_key": 0.5}, 5000, backend="duckdb", seed=42)[0] != base
    assert profile_hash({"email_key": 0.81}, 20000, backend="duckdb", seed=42)[0] != base
    assert profile_hash({"email_key": 0.81}, 5000, backend="spark", seed=42)[0] != base
    assert profile_hash({"email_key": 0.81}, 5000, backend="duckdb", seed=7)[0] != base


def test_trained_model_is_versioned_and_reused(tmp_path: Path) -> None:
    con = duckdb.connect()
    # 1,200 records in 600 pairs: enough to train (MIN_RECORDS_FOR_TRAINING)
    con.execute(
        """
        CREATE TABLE staged AS
        SELECT 's' || (i % 2) || ':' || i AS record_key, 'person' AS party_type,
               'given' || (i // 2) AS given_name_key, 'family' || ((i // 2) % 97) AS
               family_name_key, 'mail' || (i // 2) || '@x.com' AS email_key,
               NULL::VARCHAR AS phone, lpad(CAST((i // 2) % 50 AS VARCHAR), 5, '0')
               AS postcode_key
        FROM range(1200) t(i)
        """
    )
    first = link(con, seed=5, model_dir=tmp_path)
    assert first.training_mode == "trained"
    version = tmp_path / "versions" / str(first.profile_hash)
    assert (version / "model.json").exists() and (version / "match_weights.html").exists()
    training = json.loads((version / "training.json").read_text())
    assert training["seed"] == 5 and training["profile"]["rows_log2"] == 10
    pairs_first = con.execute("SELECT record_key_l, record_key_r FROM pairs").fetchall()

    second = link(con, seed=5, model_dir=tmp_path)
    assert second.training_mode == "reused"
    assert second.profile_hash == first.profile_hash
    assert con.execute("SELECT record_key_l, record_key_r FROM pairs").fetchall() == pairs_first
    assert link(con, seed=5, model_dir=tmp_path, reuse_model=False).training_mode == "trained"


def _training_records(con: duckdb.DuckDBPyConnection) -> None:
    # 1,500 records, mostly in pairs, with sparse phones (levels rarely observed).
    con.execute(
        """
        CREATE TABLE staged AS
        SELECT 's' || (i % 2) || ':' || i AS record_key, 'person' AS party_type,
               'given' || (i // 2 % 400) AS given_name_key,
               'family' || ((i // 2) % 97) || CASE WHEN i % 7 = 0 THEN 'x' ELSE '' END
                   AS family_name_key,
               'mail' || (i // 2) || '@x.com' AS email_key,
               CASE WHEN i % 11 = 0 THEN '+3460000' || lpad(CAST(i // 2 % 1000 AS VARCHAR), 4, '0')
                    END AS phone,
               lpad(CAST((i // 2) % 50 AS VARCHAR), 5, '0') AS postcode_key
        FROM range(1500) t(i)
        """
    )


def test_u_estimated_in_threads_equals_splinks_own_loop() -> None:
    """The u values (and what Splink records of their training) are those of Splink's own
    sequential estimation, and so are the scored pairs."""
    con = duckdb.connect()
    _training_records(con)
    model = build_model(available_columns(con), use_term_frequencies=True)
    _create_input(con, "staged", model)
    trained = []
    for threads in (False, True):
        records = DuckDBAPI(connection=con).register(_INPUT_TABLE, dataset_display_name="s")
        linker = Linker(records, model.settings, log_level=logging.WARNING)
        if threads:
            _estimate_u_in_threads(linker, model, con, max_pairs=2e5, seed=3)
        else:
            linker.training.estimate_u_using_random_sampling(max_pairs=2e5, seed=3)
        trained.append(
            {
                (c.output_column_name, level.comparison_vector_value): (
                    level.u_probability,
                    [(r["probability"], r["description"]) for r in level._trained_u_probabilities],
                )
                for c in linker._settings_obj.comparisons
                for level in c._comparison_levels_excluding_null
            }
        )
        linker.table_management.delete_tables_created_by_splink_from_db()
    assert len(trained[0]) > 10 and trained[0] == trained[1]
    assert any(history for _, history in trained[0].values())

    pairs = []
    for threads in (False, True):
        link(con, seed=3, u_sample_pairs=2e5, u_in_threads=threads, reuse_model=False)
        pairs.append(
            con.execute(
                "SELECT record_key_l, record_key_r, match_weight FROM pairs ORDER BY ALL"
            ).fetchall()
        )
    assert len(pairs[0]) > 500 and pairs[0] == pairs[1]


def test_review_queue_band_and_steward_decisions() -> None:
    con = duckdb.connect()
    con.execute(
        """
        CREATE TABLE staged AS SELECT * FROM (VALUES ('a'), ('b'), ('c'), ('d'), ('e'))
        t(record_key)
        """
    )
    con.execute(
        """
        CREATE TABLE pairs AS SELECT * FROM (VALUES
            ('a', 'b', 0.99, 10.0), ('b', 'c', 0.7, 1.2), ('c', 'd', 0.6, 0.5),
            ('d', 'e', 0.3, -1.0)) t(record_key_l, record_key_r, match_probability,
            match_weight)
        """
    )
    con.execute(
        "CREATE TABLE decisions AS SELECT 'd' AS record_key_l, 'c' AS record_key_r, "
        "'cannot_link' AS decision"
    )
    cluster(con, threshold=0.9)
    n = build_review_queue(con, low=0.5, high=0.95, decisions="decisions")
    rows = con.execute(
        "SELECT record_key_l, record_key_r, reason, cluster_id_l, cluster_id_r FROM review_pair"
    ).fetchall()
    # (c, d) was decided by a steward (in the other order): not queued again
    assert rows == [("b", "c", "probability_band", "a", "c")]
    assert n == 1
    with pytest.raises(ValueError, match="REVIEW_MIN_PROBABILITY"):
        build_review_queue(con, low=0.9, high=0.5)


def test_review_queue_takes_a_pairs_best_row_and_oversized_clusters() -> None:
    """A pair scored twice (both orders) is judged by its best probability, not by the row
    that falls in the band; a pair inside an oversized cluster is queued whatever its
    probability, a pair across two clusters or in a cluster of normal size is not."""
    con = duckdb.connect()
    con.execute(
        """
        CREATE TABLE pairs AS SELECT * FROM (VALUES
            ('a', 'e', 0.97::DOUBLE, 5.0::DOUBLE), ('e', 'a', 0.6, 0.5),  -- best above the band
            ('f', 'g', 0.7, 1.0), ('g', 'f', 0.8, 1.5),    -- both in the band: the best
            ('x', 'y', 0.99, 9.0), ('y', 'z', 0.2, -2.0),  -- inside the oversized cluster
            ('z', 'a', 0.99, 9.0),                         -- across clusters
            ('a', 'b', 0.99, 9.0))                         -- inside a normal cluster
            t(record_key_l, record_key_r, match_probability, match_weight)
        """
    )
    con.execute(
        """
        CREATE TABLE clusters AS SELECT * FROM (VALUES
            ('a', 'A'), ('b', 'A'), ('e', 'A'), ('f', 'F'), ('g', 'F'),
            ('x', 'X'), ('y', 'X'), ('z', 'X')) t(record_key, cluster_id)
        """
    )
    con.execute(
        "CREATE TABLE cluster_review AS SELECT * FROM (VALUES ('X', 'oversized: 3 records'), "
        "('A', 'low_density')) t(cluster_id, reason)"
    )
    n = build_review_queue(con, low=0.5, high=0.95)
    rows = con.execute(
        "SELECT record_key_l, record_key_r, reason, match_probability FROM review_pair "
        "ORDER BY ALL"
    ).fetchall()
    assert rows == [
        ("f", "g", "probability_band", 0.8),
        ("x", "y", "oversized_cluster", 0.99),
        ("y", "z", "oversized_cluster", 0.2),
    ]
    assert n == 3
