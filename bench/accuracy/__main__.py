"""`python -m bench.accuracy --dataset demo|febrl3|febrl4|all`: accuracy through the user path."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.accuracy.harness import DATASETS, DEMO_CUSTOMERS, run_dataset


def _fmt(name: str, s: dict[str, float]) -> str:
    return (
        f"  {name:<9} P={s['precision']:.4f} R={s['recall']:.4f} F1={s['f1']:.4f} "
        f"(tp={s['true_positives']}, predicted={s['predicted_positives']}, "
        f"actual={s['actual_positives']})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__)
    parser.add_argument("--dataset", choices=[*DATASETS, "all"], default="all")
    parser.add_argument("--demo-dir", type=Path, help="existing demo systems (default: generate)")
    parser.add_argument("--customers", type=int, default=DEMO_CUSTOMERS)
    parser.add_argument("--keep", type=Path, help="work in DIR and keep sources, store, work")
    parser.add_argument("--backend", choices=["duckdb", "spark"], help="LINKAGE_BACKEND")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    env = {"LINKAGE_BACKEND": args.backend} if args.backend else {}
    results = []
    for dataset in DATASETS if args.dataset == "all" else (args.dataset,):
        root = args.keep / dataset if args.keep else None
        out = run_dataset(
            dataset, root, demo_dir=args.demo_dir, customers=args.customers, env=env
        )
        results.append(out)
        if not args.json:
            print(
                f"{dataset}: {out['records']} records ({out['records_not_linked']} quarantined),"
                f" sync {out['seconds']['sync']} s"
            )
            if "edges" in out:
                print(_fmt("edges", out["edges"]))
            print(_fmt("pairwise", out["pairwise"]))
            print(_fmt("cluster", out["cluster"]))
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
