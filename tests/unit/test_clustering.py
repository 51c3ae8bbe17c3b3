"""Clustering of scored pairs: chaining resistance, review constraints, coverage."""

from __future__ import annotations

import random

import duckdb
import pytest

from pipelines.link import clustering
from pipelines.link.clustering import cluster, cluster_incrementally, connected_components


def _setup(
    records: list[str],
    pairs: list[tuple[str, str, float]],
    must: list[tuple[str, str]] | None = None,
    cannot: list[tuple[str, str]] | None = None,
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE staged (record_key VARCHAR, party_type VARCHAR)")
    con.executemany("INSERT INTO staged VALUES (?, 'person')", [(r,) for r in records])
    con.execute(
        "CREATE TABLE pairs (record_key_l VARCHAR, record_key_r VARCHAR, match_probability DOUBLE)"
    )
    if pairs:
        con.executemany("INSERT INTO pairs VALUES (?, ?, ?)", pairs)
    for name, rows in (("must_link", must), ("cannot_link", cannot)):
        if rows is not None:
            con.execute(f"CREATE TABLE {name} (record_key_l VARCHAR, record_key_r VARCHAR)")
            if rows:
                con.executemany(f"INSERT INTO {name} VALUES (?, ?)", rows)  # noqa: S608
    return con


def _clusters(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT record_key, cluster_id FROM clusters").fetchall())


def _groups(con: duckdb.DuckDBPyConnection) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for key, cid in _clusters(con).items():
        groups.setdefault(cid, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def test_every_record_gets_exactly_one_cluster() -> None:
    records = ["a", "b", "c", "d", "e"]
    con = _setup(records, [("a", "b", 0.99), ("d", "c", 0.97)])
    cluster(con, threshold=0.9)
    rows = con.execute("SELECT record_key, cluster_id FROM clusters").fetchall()
    assert sorted(r[0] for r in rows) == records  # one row per record, none missing
    assert _clusters(con) == {"a": "a", "b": "a", "c": "c", "d": "c", "e": "e"}


def test_below_threshold_pairs_are_ignored() -> None:
    con = _setup(["a", "b"], [("a", "b", 0.5)])
    stats = cluster(con, threshold=0.9)
    assert _groups(con) == {frozenset({"a"}), frozenset({"b"})}
    assert stats["n_singletons"] == 2


def test_weak_bridge_in_chain_is_cut() -> None:
    # A-B is strong; B-C just clears the threshold and nothing corroborates it
    # (no A-C evidence): C must not be chained into A's cluster.
    con = _setup(["A", "B", "C"], [("A", "B", 0.999), ("B", "C", 0.92)])
    stats = cluster(con, threshold=0.9)
    assert _groups(con) == {frozenset({"A", "B"}), frozenset({"C"})}
    assert stats["weak_edges_removed"] == 1


def test_weak_bridge_between_two_groups_is_cut() -> None:
    pairs = [
        ("a1", "a2", 0.999),
        ("a2", "a3", 0.999),
        ("a1", "a3", 0.999),
        ("b1", "b2", 0.999),
        ("a3", "b1", 0.91),
    ]
    con = _setup(["a1", "a2", "a3", "b1", "b2"], pairs)
    cluster(con, threshold=0.9)
    assert _groups(con) == {frozenset({"a1", "a2", "a3"}), frozenset({"b1", "b2"})}


def test_corroborated_weak_edges_are_kept() -> None:
    # C is weakly linked to both A and B: the triangle supports it.
    pairs = [("A", "B", 0.999), ("B", "C", 0.92), ("A", "C", 0.93)]
    con = _setup(["A", "B", "C"], pairs)
    cluster(con, threshold=0.9)
    assert _groups(con) == {frozenset({"A", "B", "C"})}


def test_weak_pair_on_its_own_is_kept() -> None:
    con = _setup(["A", "B"], [("A", "B", 0.91)])
    cluster(con, threshold=0.9)
    assert _groups(con) == {frozenset({"A", "B"})}


def test_weak_chain_keeps_mutual_best_link() -> None:
    con = _setup(["A", "B", "C"], [("A", "B", 0.95), ("B", "C", 0.92)])
    cluster(con, threshold=0.9)
    assert _groups(con) == {frozenset({"A", "B"}), frozenset({"C"})}


def test_must_link_joins_records_without_a_pair() -> None:
    con = _setup(["d", "e", "f"], [], must=[("e", "d")])
    cluster(con, threshold=0.9, must_link="must_link")
    assert _clusters(con) == {"d": "d", "e": "d", "f": "f"}


def test_cannot_link_separates_a_direct_pair() -> None:
    con = _setup(["f", "g"], [("f", "g", 0.999)], cannot=[("g", "f")])
    cluster(con, threshold=0.9, cannot_link="cannot_link")
    assert _groups(con) == {frozenset({"f"}), frozenset({"g"})}


def test_cannot_link_separates_records_connected_through_others() -> None:
    pairs = [("f", "g", 0.999), ("g", "h", 0.9999), ("f", "h", 0.95)]
    con = _setup(["f", "g", "h"], pairs, cannot=[("f", "h")])
    stats = cluster(con, threshold=0.9, cannot_link="cannot_link")
    clusters = _clusters(con)
    assert clusters["f"] != clusters["h"]
    # g goes with h: their link is the stronger one
    assert _groups(con) == {frozenset({"g", "h"}), frozenset({"f"})}
    assert stats["cannot_link_rebuilt_clusters"] == ["f"]


def test_must_link_and_cannot_link_together() -> None:
    pairs = [("a", "b", 0.999)]
    con = _setup(["a", "b", "c"], pairs, must=[("b", "c")], cannot=[("a", "c")])
    stats = cluster(con, threshold=0.9, must_link="must_link", cannot_link="cannot_link")
    clusters = _clusters(con)
    assert clusters["b"] == clusters["c"]  # must-link edges are placed first
    assert clusters["a"] != clusters["c"]
    assert stats["must_link_conflicts"] == 0


def test_oversized_cluster_is_split_and_reported() -> None:
    # Two tight groups joined by many mid-strength edges: too big as one cluster.
    left = [f"l{i}" for i in range(4)]
    right = [f"r{i}" for i in range(4)]
    pairs = [(a, b, 0.9999) for grp in (left, right) for a in grp for b in grp if a < b]
    pairs += [(a, b, 0.995) for a in left for b in right]
    con = _setup(left + right, pairs)
    stats = cluster(con, threshold=0.9, max_cluster_size=5)
    assert _groups(con) == {frozenset(left), frozenset(right)}
    assert stats["oversized_clusters"] == [{"cluster_id": "l0", "size": 8}]
    review = con.execute("SELECT cluster_id, size FROM cluster_review").fetchall()
    assert review == [("l0", 8)]


def test_connected_components_long_chain() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE e AS SELECT lpad(i::VARCHAR, 4, '0') AS a, "
        "lpad((i + 1)::VARCHAR, 4, '0') AS b FROM range(1000) t(i)"
    )
    rounds = connected_components(con, "e", "cc")
    labels = con.execute("SELECT DISTINCT label FROM cc").fetchall()
    assert labels == [("0000",)]
    assert rounds < 30  # pointer jumping: logarithmic, not linear, in the chain length


def test_invalid_arguments() -> None:
    con = _setup(["a"], [])
    with pytest.raises(ValueError):
        cluster(con, threshold=1.5)
    with pytest.raises(ValueError):
        cluster(con, threshold=0.9, max_cluster_size=1)


def _random_run(rng: random.Random, records: list[str]) -> list[tuple[str, str, float]]:
    """Pairs among `records`: many small groups (strong, weak and review-band links) and a
    few long weak chains, so that cuts, the size guard and cannot-links all have work."""
    pairs = []
    for _ in range(len(records) * 2):
        a, b = rng.sample(records, 2)
        if abs(records.index(a) - records.index(b)) > 8 and rng.random() < 0.8:
            continue  # mostly near neighbours: groups, not one giant component
        pairs.append((a, b, rng.choice([0.5, 0.91, 0.95, 0.97, 0.995, 0.999])))
    return pairs


@pytest.mark.parametrize("seed", range(12))
def test_incremental_clustering_equals_clustering_everything(seed: int) -> None:
    rng = random.Random(seed)
    records = [f"r{i:03d}" for i in range(160)]
    pairs = _random_run(rng, records)
    cannot = [tuple(rng.sample(records[:40], 2)) for _ in range(3)]
    must = [tuple(rng.sample(records[40:80], 2)) for _ in range(3)]
    settings = {"threshold": 0.9, "max_cluster_size": 6, "must_link": "must_link",
                "cannot_link": "cannot_link"}
    con = _setup(records, pairs, must, cannot)
    cluster(con, **settings)
    con.execute("CREATE TABLE base_clusters AS SELECT * FROM clusters")
    con.execute("CREATE TABLE base_review AS SELECT * FROM cluster_review")
    con.execute("CREATE TABLE base_pairs AS SELECT * FROM pairs")

    # The next run, as incremental linking makes it: records gone (with their pairs), new
    # records, and changed records whose pairs are all scored again (some differently,
    # some dropped, some new); every other pair is carried over.
    gone = set(rng.sample(records, 6))
    new = [f"n{i:03d}" for i in range(8)]
    kept = [r for r in records if r not in gone]
    changed = set(rng.sample(kept, 6))
    touched = gone | changed | set(new)
    next_pairs = []
    for a, b, p in pairs:
        if a in gone or b in gone:
            continue
        if a in changed or b in changed:
            roll = rng.random()
            if roll < 0.3:
                continue
            p = rng.choice([0.3, 0.92, 0.999]) if roll < 0.6 else p
        next_pairs.append((a, b, p))
    next_pairs += [(n, rng.choice(kept), rng.choice([0.93, 0.999])) for n in new]
    next_pairs += [(c, rng.choice(kept), 0.96) for c in changed]
    con.execute("DELETE FROM staged")
    con.executemany("INSERT INTO staged VALUES (?, 'person')", [(r,) for r in kept + new])
    con.execute("DELETE FROM pairs")
    con.executemany("INSERT INTO pairs VALUES (?, ?, ?)", next_pairs)

    con.execute(
        "CREATE TABLE touched AS SELECT * FROM (VALUES " + ", ".join(f"('{r}')" for r in touched)
        + ") t(record_key)"
    )
    full = cluster(con, **settings)
    expected = (_clusters(con), set(con.execute("SELECT * FROM cluster_review").fetchall()))
    inc = cluster_incrementally(
        con, touched="touched", base_pairs="base_pairs", base_clusters="base_clusters",
        base_review="base_review", **settings,
    )
    assert _clusters(con) == expected[0]
    assert set(con.execute("SELECT * FROM cluster_review").fetchall()) == expected[1]
    for figure in ("n_records", "n_clusters", "n_singletons", "largest_cluster_size"):
        assert inc[figure] == full[figure], figure
    # Only part of the graph was clustered again.
    assert 0 < inc["records_reclustered"] < len(kept) + len(new)


def test_a_search_that_does_not_close_labels_the_whole_graph(monkeypatch) -> None:
    # A chain longer than the search may walk: the whole chain is still clustered again.
    records = [f"r{i:03d}" for i in range(30)]
    pairs = [(a, b, 0.999) for a, b in zip(records, records[1:], strict=False)]
    con = _setup(records, pairs, [], [])
    settings = {"threshold": 0.9, "max_cluster_size": 50, "must_link": "must_link",
                "cannot_link": "cannot_link"}
    cluster(con, **settings)
    con.execute("CREATE TABLE base_clusters AS SELECT * FROM clusters")
    con.execute("CREATE TABLE base_review AS SELECT * FROM cluster_review")
    con.execute("CREATE TABLE base_pairs AS SELECT * FROM pairs")
    con.execute("DELETE FROM pairs WHERE record_key_l = 'r000'")  # r000 leaves the chain
    con.execute("CREATE TABLE touched AS SELECT 'r000' AS record_key")
    monkeypatch.setattr(clustering, "MAX_SEARCH_ROUNDS", 3)
    inc = cluster_incrementally(
        con, touched="touched", base_pairs="base_pairs", base_clusters="base_clusters",
        base_review="base_review", **settings,
    )
    assert inc["records_reclustered"] == 30
    assert _groups(con) == {frozenset({"r000"}), frozenset(records[1:])}
