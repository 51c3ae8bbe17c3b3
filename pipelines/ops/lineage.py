"""Column lineage of each asset, derived from the layers actually written and the registry.

Same-named columns are matched automatically; only the renames and derivations are spelled
out here, so a new canonical field gets lineage without touching this file.
"""

from __future__ import annotations

import dagster as dg

from pipelines import stages
from pipelines.ops.metadata import lineage_by_name, parquet_columns
from pipelines.settings import Settings


def _cols(settings: Settings, layer: str) -> list[str]:
    return parquet_columns(stages.work_area(settings).schema_path(layer))


def staged_customers(settings: Settings) -> dg.TableColumnLineage:
    """Each canonical field comes from the source columns the registry maps to it."""
    explicit: dict[str, list[tuple[str, str]]] = {}
    for source in stages.registry(settings).sources:
        key = f"raw/{source.name}"
        for canonical, mapping in source.fields.items():
            for column in mapping.columns:
                explicit.setdefault(canonical, []).append((key, column))
                explicit.setdefault(f"{canonical}_key", []).append((key, column))
        explicit.setdefault("source_record_id", []).append((key, source.primary_key))
        explicit.setdefault("record_key", []).append((key, source.primary_key))
        explicit.setdefault("source_row_number", []).append((key, "_source_row_number"))
        if source.watermark:
            explicit.setdefault("source_updated_at", []).append((key, source.watermark))
    explicit["address_key"] = explicit.get("address_line1", []) + explicit.get("address_line2", [])
    return lineage_by_name(_cols(settings, "staged"), {}, explicit)


def scored_pairs(settings: Settings) -> dg.TableColumnLineage:
    staged = set(_cols(settings, "staged"))
    explicit = {
        "record_key_l": [("staged_customers", "record_key")],
        "record_key_r": [("staged_customers", "record_key")],
    }
    for column in _cols(settings, "pairs"):
        for prefix in ("gamma_", "mw_"):
            if column.startswith(prefix) and column.removeprefix(prefix) in staged:
                explicit[column] = [("staged_customers", column.removeprefix(prefix))]
    return lineage_by_name(_cols(settings, "pairs"), {}, explicit)


def customer_clusters(settings: Settings) -> dg.TableColumnLineage:
    pair_keys = [("scored_pairs", "record_key_l"), ("scored_pairs", "record_key_r")]
    return lineage_by_name(
        _cols(settings, "clusters"),
        {"staged_customers": ["record_key"]},
        {"cluster_id": [("staged_customers", "record_key"), *pair_keys]},
    )


def customer_identity(settings: Settings) -> dg.TableColumnLineage:
    return lineage_by_name(
        _cols(settings, "assignment"),
        {"customer_clusters": ["record_key"]},
        {
            "customer_id": [("customer_clusters", "cluster_id")],
            "cluster_size": [("customer_clusters", "cluster_id")],
        },
    )


def golden_records(settings: Settings) -> dg.TableColumnLineage:
    staged = [c for c in _cols(settings, "staged") if c != "record_key"]
    return lineage_by_name(
        _cols(settings, "golden"),
        {"staged_customers": staged, "customer_identity": ["customer_id"]},
        {
            "source_count": [("staged_customers", "source_system")],
            "record_count": [("customer_identity", "record_key")],
        },
    )


def customer_activity(settings: Settings) -> dg.TableColumnLineage:
    golden = _cols(settings, "golden")
    return lineage_by_name(
        _cols(settings, "customer_360"),
        {"golden_records": golden},
        {
            "display_name": [
                ("golden_records", "full_name"),
                ("golden_records", "company_name"),
            ],
            "source_systems": [("staged_customers", "source_system")],
        },
    )


def store_table(settings: Settings, table: str, columns: list[str]) -> dg.TableColumnLineage:
    """Lineage of a governed table from the work layers the publish reads."""
    if table == "core.customer":
        return lineage_by_name(
            columns,
            {
                "golden_records": _cols(settings, "golden"),
                "customer_identity": ["customer_id"],
            },
        )
    if table == "core.customer_source_xref":
        return lineage_by_name(
            columns,
            {
                "staged_customers": ["source_system", "source_record_id"],
                "customer_identity": ["customer_id", "cluster_size"],
                "scored_pairs": ["match_probability"],
            },
        )
    if table == "audit.quarantined_record":
        return lineage_by_name(
            columns,
            {"staged_customers": ["source_system", "source_record_id", "source_row_number"]},
            {
                "reason_code": [("staged_customers", "quality_flags")],
                "raw_record": [("staged_customers", "source_record_id")],
            },
        )
    if table == "marts.customer_360":
        return lineage_by_name(columns, {"customer_activity": _cols(settings, "customer_360")})
    return dg.TableColumnLineage(deps_by_column={})
