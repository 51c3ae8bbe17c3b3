"""CLI: ``python -m sources.demo --out data/demo --customers 2000 --seed 42``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sources.demo.generator import generate


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
    args = parser.parse_args(argv)

    started = time.perf_counter()
    counts = generate(args.out, customers=args.customers, seed=args.seed)
    elapsed = time.perf_counter() - started
    width = max(len(k) for k in counts)
    for name, n in counts.items():
        print(f"{name:<{width}}  {n:>10,}")
    print(f"wrote {args.out} in {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
