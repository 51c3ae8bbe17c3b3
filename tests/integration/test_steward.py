"""Stewards in the loop, through the command line and the real sync.

A cannot-link splits a pair the model links and survives two more syncs; a must-link joins
a pair the model leaves apart; revoking hands the pair back to the model; `explain` shows
the pairs and the match weight of every comparison from the store; the review queue is
written each run.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from pipelines.__main__ import main
from pipelines.definitions import build_defs

pytestmark = pytest.mark.slow


def _sync() -> None:
    result = build_defs().resolve_job_def("nightly_sync").execute_in_process(raise_on_error=False)
    errors = [e.step_failure_data.error.message for e in result.all_events if e.is_step_failure]
    assert result.success, errors


def _xref(env) -> dict[str, str]:
    con = duckdb.connect(str(env.store_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT source_system || ':' || source_record_id, customer_id "
            "FROM core.customer_source_xref WHERE is_active"
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


def _store(env, sql: str) -> list[tuple]:
    con = duckdb.connect(str(env.store_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_steward_decisions_survive_syncs(sync_env, capsys) -> None:
    _sync()
    xref = _xref(sync_env)
    # a pair the model linked: the strongest evidence pair of any customer
    left, right, customer = _store(
        sync_env,
        "SELECT record_key_l, record_key_r, customer_id FROM core.linkage_evidence "
        "ORDER BY match_probability DESC, record_key_l LIMIT 1",
    )[0]
    assert xref[left] == xref[right] == customer
    # two persons the model keeps apart
    apart = _store(
        sync_env,
        "SELECT min(x.source_system || ':' || x.source_record_id) FROM "
        "core.customer_source_xref x JOIN core.customer c USING (customer_id) "
        "WHERE c.party_type = 'person' AND c.record_count = 1 GROUP BY x.customer_id "
        "ORDER BY 1 LIMIT 2",
    )
    a, b = apart[0][0], apart[1][0]
    assert xref[a] != xref[b]

    assert (
        main(
            [
                "steward",
                "cannot-link",
                "--left",
                left,
                "--right",
                right,
                "--by",
                "alice",
                "--reason",
                "different people, shared address",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "steward",
                "must-link",
                "--left",
                a,
                "--right",
                b,
                "--by",
                "bob",
                "--reason",
                "same NIF in the paper file",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["steward", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(d["decision"], d["decided_by"]) for d in listed} == {
        ("cannot_link", "alice"),
        ("must_link", "bob"),
    }

    for _ in range(2):  # kept across every later run
        _sync()
        xref = _xref(sync_env)
        assert xref[left] != xref[right]
        assert xref[a] == xref[b]

    # the review queue of the run: work layer with the columns the store's review_pair needs
    con = duckdb.connect()
    columns = [
        r[0]
        for r in con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?)",
            [str(sync_env.work_dir / "review_pair.parquet")],
        ).fetchall()
    ]
    assert columns[:2] == ["record_key_l", "record_key_r"]
    assert {"match_probability", "match_weight", "reason"} <= set(columns)
    assert (sync_env.work_dir / "model" / "comparison_viewer.html").exists()

    # revoking hands the pair back to the model
    assert main(["steward", "revoke", "--left", right, "--right", left]) == 0
    _sync()
    xref = _xref(sync_env)
    assert xref[left] == xref[right]
    assert (
        _store(sync_env, "SELECT count(*) FROM core.steward_decision WHERE NOT is_active")[0][0]
        == 1
    )


def test_explain_shows_pairs_and_comparison_weights(sync_env, capsys) -> None:
    _sync()
    customer, n = _store(
        sync_env,
        "SELECT customer_id, count(*) FROM core.linkage_evidence GROUP BY 1 "
        "ORDER BY 2 DESC, 1 LIMIT 1",
    )[0]
    capsys.readouterr()
    assert main(["steward", "explain", "--customer", customer, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["customer_id"] == customer
    assert len(out["pairs"]) == n
    assert len(out["records"]) >= 2
    # every comparison of the model has its weight (mw_*), plus the tf adjustments
    model = json.loads((sync_env.work_dir / "model" / "model.json").read_text())
    comparisons = {c["output_column_name"] for c in model["comparisons"]}
    for pair in out["pairs"]:
        assert comparisons <= set(pair["comparison_weights"]), pair["comparison_weights"]
    record = out["records"][0]["record_key"]
    assert main(["steward", "explain", "--record", record]) == 0
    text = capsys.readouterr().out
    assert customer in text and "match weight" in text
    # a bad record key is refused with a message saying what to write
    assert (
        main(
            [
                "steward",
                "must-link",
                "--left",
                "nocolon",
                "--right",
                record,
                "--by",
                "x",
                "--reason",
                "y",
            ]
        )
        == 2
    )
    assert "<source_system>:<source_record_id>" in capsys.readouterr().err
