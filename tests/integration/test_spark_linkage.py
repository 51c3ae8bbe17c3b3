"""The same model on Spark (local[2]) agrees with DuckDB on a demo company.

Both syncs run the whole user path (registry -> cleanse -> link -> cluster -> publish);
only LINKAGE_BACKEND differs. Agreement is the pairwise F1 of Spark's published clusters
against DuckDB's. The demo is sized just above the training threshold so EM and
u-sampling really run on Spark, and u is sampled from fewer pairs than the nightly
default to keep local Spark inside the CI budget (same for both backends).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java 17 on PATH", allow_module_level=True)

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from bench.accuracy.harness import run_dataset  # noqa: E402
from bench.accuracy.scoring import pairwise_scores  # noqa: E402

pytestmark = pytest.mark.slow

CUSTOMERS = 420  # ~1,150 records: above MIN_RECORDS_FOR_TRAINING
COMMON = {"LINKAGE_U_SAMPLE_PAIRS": "200000", "SPARK_MASTER": "local[2]"}


def _xref(root: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(str(root / "store" / "customer_store.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT source_system || ':' || source_record_id, customer_id "
            "FROM core.customer_source_xref WHERE is_active"
        ).fetchall()
    finally:
        con.close()


def test_spark_clusters_agree_with_duckdb(tmp_path: Path) -> None:
    from sources.demo import generate

    demo = tmp_path / "demo"
    generate(demo, customers=CUSTOMERS, seed=11)
    duck = run_dataset(
        "demo", tmp_path / "duckdb", demo_dir=demo, env={**COMMON, "LINKAGE_BACKEND": "duckdb"}
    )
    spark = run_dataset(
        "demo", tmp_path / "spark", demo_dir=demo, env={**COMMON, "LINKAGE_BACKEND": "spark"}
    )
    print(f"duckdb {duck['pairwise']} {duck['seconds']}")
    print(f"spark  {spark['pairwise']} {spark['seconds']}")

    con = duckdb.connect()
    con.execute("CREATE TABLE d (record_key VARCHAR, entity_id VARCHAR)")
    con.executemany("INSERT INTO d VALUES (?, ?)", _xref(tmp_path / "duckdb"))
    con.execute("CREATE TABLE s (record_key VARCHAR, cluster_id VARCHAR)")
    con.executemany("INSERT INTO s VALUES (?, ?)", _xref(tmp_path / "spark"))
    agreement = pairwise_scores(con, "s", "d")
    print(f"spark vs duckdb pairwise {agreement}")
    assert agreement.f1 >= 0.99, agreement
    assert spark["pairwise"]["f1"] >= 0.95, spark["pairwise"]
    training = (tmp_path / "spark" / "work" / "model" / "training.json").read_text()
    assert '"backend": "spark"' in training and '"training_mode": "trained"' in training
