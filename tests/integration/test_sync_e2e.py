"""The whole nightly sync, in-process on a generated demo company, scored against the truth."""

from __future__ import annotations

import csv
from itertools import combinations

import duckdb

from pipelines.definitions import build_defs


def run_sync() -> str:
    result = build_defs().resolve_job_def("nightly_sync").execute_in_process(raise_on_error=False)
    failures = [e.step_failure_data.error.message for e in result.all_events if e.is_step_failure]
    assert result.success, failures
    return result.run_id


def read_store(env, sql: str) -> list[tuple]:
    con = duckdb.connect(str(env.store_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def pairs(groups: dict[tuple[str, str], str]) -> set[frozenset]:
    by_group: dict[str, list] = {}
    for record, group in groups.items():
        by_group.setdefault(group, []).append(record)
    return {frozenset(p) for members in by_group.values() for p in combinations(sorted(members), 2)}


def test_nightly_sync_end_to_end(sync_env) -> None:
    run_id = run_sync()

    truth = {}
    with open(sync_env.demo_dir / "ground_truth.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            truth[(row["source_system"], row["source_record_id"])] = row["entity_id"]
    xref = {
        (s, r): c
        for s, r, c in read_store(
            sync_env,
            "SELECT source_system, source_record_id, customer_id "
            "FROM core.customer_source_xref WHERE is_active",
        )
    }
    linked_truth = {k: v for k, v in truth.items() if k in xref}
    predicted, actual = pairs(xref), pairs(linked_truth)
    true_positives = len(predicted & actual)
    precision = true_positives / len(predicted)
    recall = true_positives / len(actual)
    print(f"pairwise precision {precision:.4f} recall {recall:.4f}")
    assert precision >= 0.95
    assert recall >= 0.95

    # Nothing lost: extracted = linked + quarantined, per the store's own audit.
    extracted, linked, quarantined = read_store(
        sync_env,
        f"SELECT records_extracted, records_linked, records_quarantined FROM audit.sync_run "
        f"WHERE run_id = '{run_id}'",
    )[0]
    assert extracted == linked + quarantined
    assert linked == len(xref)
    assert quarantined > 0  # the demo carries deliberately bad rows
    reasons = {
        r
        for (r,) in read_store(
            sync_env, "SELECT DISTINCT reason_code FROM audit.quarantined_record"
        )
    }
    assert {"no_identifying_fields", "duplicate_primary_key"} <= reasons
    failed_checks = read_store(
        sync_env,
        "SELECT check_name FROM audit.check_result WHERE NOT passed AND severity = 'ERROR'",
    )
    assert failed_checks == []

    customers = read_store(sync_env, "SELECT count(*) FROM core.customer")[0][0]
    mart = read_store(
        sync_env,
        "SELECT count(*), sum(lifetime_revenue), sum(orders), sum(tickets) FROM marts.customer_360",
    )[0]
    assert mart[0] == customers
    assert mart[1] > 0 and mart[2] > 0 and mart[3] > 0
    multi_system = read_store(
        sync_env, "SELECT count(*) FROM marts.customer_360 WHERE source_count >= 3"
    )[0][0]
    assert multi_system > 0

    # A second run on unchanged sources changes no customer_id and creates no event.
    run_sync()
    xref_again = {
        (s, r): c
        for s, r, c in read_store(
            sync_env,
            "SELECT source_system, source_record_id, customer_id "
            "FROM core.customer_source_xref WHERE is_active",
        )
    }
    assert xref_again == xref
    events = read_store(
        sync_env,
        f"SELECT count(*) FROM core.identity_event WHERE run_id <> '{run_id}'",
    )[0][0]
    assert events == 0
