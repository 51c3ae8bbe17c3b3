"""Stable customer ids: carry-over, merges, splits, and invariants under random histories."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.identity.assign import (
    ASSIGNMENT_CHANGES,
    MOVED_SQL,
    assign_ids,
    assign_ids_incrementally,
    new_customer_id,
)


def run(clusters: dict[str, str], previous: dict[str, str]) -> dict:
    con = duckdb.connect()
    con.execute("CREATE TABLE clusters (record_key VARCHAR, cluster_id VARCHAR)")
    con.execute("CREATE TABLE previous_xref (record_key VARCHAR, customer_id VARCHAR)")
    if clusters:
        con.executemany("INSERT INTO clusters VALUES (?, ?)", list(clusters.items()))
    if previous:
        con.executemany("INSERT INTO previous_xref VALUES (?, ?)", list(previous.items()))
    result = assign_ids(con)
    assignment = dict(con.execute("SELECT record_key, customer_id FROM assignment").fetchall())
    redirects = dict(con.execute("SELECT * FROM redirects").fetchall())
    changes = con.execute(
        "SELECT customer_id, change, related_customer_ids FROM id_changes"
    ).fetchall()
    return {"result": result, "ids": assignment, "redirects": redirects, "changes": changes}


def test_first_run_ids_are_derived_from_smallest_record_key() -> None:
    out = run({"a:1": "a:1", "b:7": "a:1", "c:2": "c:2"}, {})
    assert out["ids"]["a:1"] == out["ids"]["b:7"] == new_customer_id("a:1")
    assert out["ids"]["c:2"] == new_customer_id("c:2")
    assert out["result"].created == 2


def test_unchanged_rerun_keeps_every_id_and_records_no_event() -> None:
    first = run({"a:1": "a:1", "b:7": "a:1", "c:2": "c:2"}, {})
    second = run({"a:1": "a:1", "b:7": "a:1", "c:2": "c:2"}, first["ids"])
    assert second["ids"] == first["ids"]
    assert second["changes"] == [] and second["redirects"] == {}


def test_new_record_joins_existing_customer_without_renumbering() -> None:
    out = run({"a:1": "a:1", "b:7": "a:1", "z:0": "a:1"}, {"a:1": "X", "b:7": "X"})
    assert set(out["ids"].values()) == {"X"}


def test_merge_keeps_larger_customer_and_redirects_the_other() -> None:
    clusters = {"a:1": "a:1", "a:2": "a:1", "a:3": "a:1"}
    out = run(clusters, {"a:1": "Y", "a:2": "X", "a:3": "X"})
    assert set(out["ids"].values()) == {"X"}
    assert out["redirects"] == {"Y": "X"}
    assert out["changes"] == [("X", "merged", ["Y"])]


def test_split_largest_part_keeps_id() -> None:
    previous = {"a:1": "X", "a:2": "X", "a:3": "X"}
    out = run({"a:1": "a:1", "a:2": "a:2", "a:3": "a:2"}, previous)
    assert out["ids"]["a:2"] == out["ids"]["a:3"] == "X"
    assert out["ids"]["a:1"] not in {"X"}
    assert out["changes"] == [(out["ids"]["a:1"], "split", ["X"])]


def test_new_id_never_reuses_an_issued_id() -> None:
    # a:1 anchored X's id, then the split leaves a:1 alone: it must not get that id again.
    anchor_id = new_customer_id("a:1")
    previous = {"a:1": anchor_id, "a:2": anchor_id, "a:3": anchor_id}
    out = run({"a:1": "a:1", "a:2": "a:2", "a:3": "a:2"}, previous)
    assert out["ids"]["a:2"] == anchor_id
    assert out["ids"]["a:1"] != anchor_id


def test_a_new_id_skips_every_salt_issued_before() -> None:
    # The anchor's id and its first salt were issued before (one retired, one still a
    # customer without records): the new cluster takes the next salt.
    con = duckdb.connect()
    con.execute("CREATE TABLE clusters AS SELECT 'a:1' AS record_key, 'a:1' AS cluster_id")
    con.execute("CREATE TABLE previous_xref (record_key VARCHAR, customer_id VARCHAR)")
    con.execute("CREATE TABLE retired_ids AS SELECT ? AS customer_id", [new_customer_id("a:1")])
    con.execute(
        "CREATE TABLE previous_customer AS SELECT ? AS customer_id, "
        "TIMESTAMP '2026-01-01' AS created_at",
        [new_customer_id("a:1", 1)],
    )
    assign_ids(con)
    assert con.execute("SELECT customer_id FROM assignment").fetchall() == [
        (new_customer_id("a:1", 2),)
    ]


partition = st.dictionaries(
    st.sampled_from([f"s:{i}" for i in range(12)]), st.integers(0, 4), min_size=1
)


@settings(max_examples=60, deadline=None)
@given(first=partition, second=partition)
def test_invariants_over_random_histories(first: dict, second: dict) -> None:
    def clusters(groups: dict) -> dict:
        anchors: dict[int, str] = {}
        for key in sorted(groups):
            anchors.setdefault(groups[key], key)
        return {key: anchors[g] for key, g in groups.items()}

    one = run(clusters(first), {})
    two = run(clusters(second), one["ids"])
    # Every record gets exactly one id; records clustered together share it; apart differ.
    assert set(two["ids"]) == set(second)
    for a in second:
        for b in second:
            assert (two["ids"][a] == two["ids"][b]) == (second[a] == second[b])
    # A previous id survives at most once, and every previous id with records left is either
    # still in use or redirected.
    previous_ids = {one["ids"][k] for k in second if k in one["ids"]}
    in_use = set(two["ids"].values())
    assert previous_ids <= in_use | set(two["redirects"])
    assert not (set(two["redirects"]) & in_use)
    # Idempotent: a third run on the same clusters changes nothing.
    three = run(clusters(second), two["ids"])
    assert three["ids"] == two["ids"] and three["changes"] == []


def _assigned(con: duckdb.DuckDBPyConnection) -> tuple:
    return tuple(
        con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()  # noqa: S608
        for table in ("assignment", "id_changes", "redirects")
    )


@settings(max_examples=80, deadline=None)
@given(
    first=partition,
    touched_groups=st.sets(st.integers(0, 4)),
    regroup=st.dictionaries(
        st.sampled_from([f"s:{i}" for i in range(12)] + [f"n:{i}" for i in range(3)]),
        st.integers(0, 3),
    ),
)
def test_touched_clusters_only_assign_like_every_cluster(
    first: dict, touched_groups: set, regroup: dict
) -> None:
    """Last run's clusters `first`; this run re-clusters the records of the groups in
    `touched_groups` (whole old clusters) and new records as `regroup` says (a touched
    record it leaves out is gone); every other cluster stays as it was."""
    anchors: dict = {}
    for key in sorted(first):
        anchors.setdefault(first[key], key)
    before = {key: anchors[group] for key, group in first.items()}
    touched = {k for k, g in first.items() if g in touched_groups} | {
        k for k in regroup if k.startswith("n:")
    }
    now = {k: c for k, c in before.items() if k not in touched}
    regrouped = {k: g for k, g in regroup.items() if k in touched}
    new_anchors: dict = {}
    for key in sorted(regrouped):
        new_anchors.setdefault(regrouped[key], key)
    now.update({k: new_anchors[g] for k, g in regrouped.items()})
    one = run(before, {})
    results = []
    for incremental in (False, True):
        con = duckdb.connect()
        con.execute("CREATE TABLE clusters (record_key VARCHAR, cluster_id VARCHAR)")
        if now:
            con.executemany("INSERT INTO clusters VALUES (?, ?)", list(now.items()))
        con.execute("CREATE TABLE previous_xref (record_key VARCHAR, customer_id VARCHAR)")
        con.executemany("INSERT INTO previous_xref VALUES (?, ?)", list(one["ids"].items()))
        if incremental:
            sizes = {c: list(before.values()).count(c) for c in before.values()}
            con.execute(
                "CREATE TABLE base (record_key VARCHAR, customer_id VARCHAR, cluster_size BIGINT)"
            )
            con.executemany(
                "INSERT INTO base VALUES (?, ?, ?)",
                [(k, one["ids"][k], sizes[before[k]]) for k in before],
            )
            con.execute("CREATE TABLE touched (record_key VARCHAR)")
            if touched:
                con.executemany("INSERT INTO touched VALUES (?)", [(k,) for k in touched])
            result = assign_ids_incrementally(con, "touched", "base")
            # The changes it reports are exactly what comparing the whole assignments finds.
            con.execute("CREATE VIEW base_assignment AS SELECT * FROM base")
            compared = set(con.execute(f"SELECT * FROM {MOVED_SQL}").fetchall())
            reported = set(con.execute(f"SELECT * FROM {ASSIGNMENT_CHANGES}").fetchall())
            assert reported == compared
        else:
            result = assign_ids(con)
        results.append((result, _assigned(con)))
        con.close()
    (whole, whole_rows), (part, part_rows) = results
    assert part_rows == whole_rows
    assert part == whole
