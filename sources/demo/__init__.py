"""Demo departmental source systems: a seeded generator of five messy customer systems.

Run ``python -m sources.demo --out data/demo --customers 2000 --seed 42``; tests call
:func:`generate`. Ground truth (``ground_truth.csv``) is for tests only.
"""

from sources.demo.generator import SYSTEMS, generate, is_current

__all__ = ["SYSTEMS", "generate", "is_current"]
