"""CLI: ``python -m sources.demo --out data/demo --customers 2000 --seed 42``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sources.demo.generator import generate, is_current
from sources.demo.servers import load_targets, parse_targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sources.demo",
        description="Generate the five demo departmental source systems (seeded, deterministic).",
    )
    parser.add_argument("--out", type=Path, default=Path("data/demo"),
                        help="output directory, replaced atomically (default: data/demo)")
    parser.add_argument("--customers", type=int, default=2000,
                        help="number of real customers (default: 2000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    parser.add_argument(
        "--target-url", action="append", default=[], metavar="[SYSTEM=]URL",
        help="also load the SQL systems into a database server: crm=URL, billing=URL, or a "
        "bare URL for both (postgresql+psycopg://..., mysql+pymysql://...); repeatable",
    )
    parser.add_argument("--target-schema", default="demo",
                        help="schema (PostgreSQL) or database (MariaDB) to load into "
                        "(default: demo)")
    parser.add_argument("--if-stale", action="store_true",
                        help="do nothing when --out already holds this generator's demo for "
                        "the same --customers and --seed")
    args = parser.parse_args(argv)
    if args.if_stale and not args.target_url and is_current(args.out, args.customers, args.seed):
        return 0
    try:
        targets = parse_targets(args.target_url)
    except ValueError as exc:
        parser.error(str(exc))

    print(f"generating demo source systems in {args.out}")
    started = time.perf_counter()
    counts = generate(args.out, customers=args.customers, seed=args.seed)
    elapsed = time.perf_counter() - started
    width = max(len(k) for k in counts)
    for name, n in counts.items():
        print(f"{name:<{width}}  {n:>10,}")
    print(f"wrote {args.out} in {elapsed:.1f}s")
    if targets:
        started = time.perf_counter()
        loaded = load_targets(args.out, targets, args.target_schema)
        for name, n in loaded.items():
            print(f"{name:<{width}}  {n:>10,}  -> {targets[name.split('.')[0]].split('@')[-1]}")
        print(f"loaded into {len(set(targets.values()))} server(s) in "
              f"{time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
