"""`python -m pipelines steward ...`: data stewards' decisions and explanations.

    steward must-link   --left crm:123 --right billing:9 --by alice --reason "same NIF"
    steward cannot-link --left crm:123 --right billing:9 --by alice --reason "twins"
    steward revoke      --left crm:123 --right billing:9
    steward list        [--all] [--json]
    steward review      [--limit 50] [--json]   (this run's queue from the work area)
    steward explain     --customer C0123… | --record crm:123 [--json]

Decisions are written to the store named by CUSTOMER_STORE_URL and applied by every later
sync. Do not run must-link / cannot-link / revoke while a sync is running.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

HELP = "record must-link / cannot-link decisions, list them, see the review queue, explain"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    actions = parser.add_subparsers(dest="action", required=True)
    for name, text in (
        ("must-link", "these two records are the same customer"),
        ("cannot-link", "these two records are never the same customer"),
    ):
        sub = actions.add_parser(name, help=text)
        sub.add_argument("--left", required=True, help="record key <source_system>:<id>")
        sub.add_argument("--right", required=True, help="record key <source_system>:<id>")
        sub.add_argument("--by", required=True, help="who decides (recorded)")
        sub.add_argument("--reason", required=True, help="why (recorded)")
    revoke = actions.add_parser("revoke", help="end the active decision on a pair")
    revoke.add_argument("--left", required=True)
    revoke.add_argument("--right", required=True)
    listing = actions.add_parser("list", help="active decisions (--all: with revoked ones)")
    listing.add_argument("--all", action="store_true")
    listing.add_argument("--json", action="store_true")
    review = actions.add_parser("review", help="uncertain pairs of the last run (work area)")
    review.add_argument("--limit", type=int, default=50)
    review.add_argument("--json", action="store_true")
    explain = actions.add_parser("explain", help="why a customer's records were linked")
    group = explain.add_mutually_exclusive_group(required=True)
    group.add_argument("--customer", help="customer_id (retired ids are followed)")
    group.add_argument("--record", help="record key <source_system>:<id>")
    explain.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from pipelines import steward
    from pipelines.settings import load_settings

    url = load_settings().store_url
    try:
        if args.action in ("must-link", "cannot-link"):
            decision = steward.record_decision(
                url,
                args.left,
                args.right,
                args.action.replace("-", "_"),
                decided_by=args.by,
                reason=args.reason,
            )
            print(
                f"{decision.decision} {decision.record_key_l} {decision.record_key_r} "
                f"recorded as {decision.decision_id}; applied from the next sync"
            )
        elif args.action == "revoke":
            n = steward.revoke_decision(url, args.left, args.right)
            print(f"{n} active decision(s) revoked" if n else "no active decision on that pair")
        elif args.action == "list":
            rows = [d.__dict__ for d in steward.list_decisions(url, include_revoked=args.all)]
            _print(rows, args.json)
        elif args.action == "review":
            _print(_review_queue(args.limit), args.json)
        elif args.action == "explain":
            out = steward.explain(url, customer_id=args.customer, record=args.record)
            if args.json:
                print(json.dumps(out, indent=2, default=str))
            else:
                _print_explanation(out)
    except steward.StewardError as exc:
        print(f"steward: {exc}", file=sys.stderr)
        return 2
    return 0


def _review_queue(limit: int) -> list[dict[str, Any]]:
    import duckdb

    from pipelines.settings import load_settings
    from pipelines.workarea import WorkArea

    path = WorkArea(load_settings().work_dir).path("review_pair")
    if not path.exists():
        from pipelines.steward import StewardError

        raise StewardError(f"no review queue at {path}; run a sync first")
    con = duckdb.connect()
    try:
        rel = con.execute("SELECT * FROM read_parquet(?) LIMIT ?", [str(path), limit])
        names = [d[0] for d in rel.description]
        return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
    finally:
        con.close()


def _print(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        print("(none)")
        return
    names = list(rows[0])
    print(" | ".join(names))
    for row in rows:
        print(" | ".join(str(row[n]) for n in names))


def _print_explanation(out: dict[str, Any]) -> None:
    print(f"customer {out['customer_id']}", end="")
    if out["requested"] and out["requested"] != out["customer_id"]:
        print(f" (retired id {out['requested']} redirects here)", end="")
    print(f": {len(out['records'])} record(s)")
    for r in out["records"]:
        print(f"  {r['record_key']}{'' if r['is_active'] else ' (no longer in its source)'}")
    print("linked by:")
    for p in out["pairs"]:
        print(
            f"  {p['record_key_l']} ~ {p['record_key_r']}: probability "
            f"{p['match_probability']:.4f}, match weight {p['match_weight']:+.2f}"
        )
        weights = sorted(p["comparison_weights"].items(), key=lambda kv: -abs(kv[1] or 0))
        for name, w in weights:
            if w is not None:
                print(f"      {name:<28} {w:+.2f}")
    if out["steward_decisions"]:
        print("steward decisions:")
        for d in out["steward_decisions"]:
            print(
                f"  {d['decision']} {d['record_key_l']} {d['record_key_r']} by "
                f"{d['decided_by']} ({d['decided_at']}): {d['reason']}"
            )
