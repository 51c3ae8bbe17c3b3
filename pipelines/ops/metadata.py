"""Asset metadata the Dagster UI shows: column schemas, column lineage, code versions.

Store schemas come from the SQLAlchemy models (the one place the store is defined); work-area
schemas come from the Parquet layer a stage just wrote, so the UI never shows a stale copy.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq


def arrow_type_name(arrow_type: pa.DataType) -> str:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "varchar"
    if isinstance(arrow_type, pa.ExtensionType):
        return str(arrow_type.extension_name).removeprefix("arrow.")
    return str(arrow_type)


def table_schema_from_parquet(path: Path) -> dg.TableSchema | None:
    """Column schema of a work-area layer as written (None when the layer is absent)."""
    if not Path(path).exists():
        return None
    schema = pq.read_schema(path)
    return dg.TableSchema(
        columns=[dg.TableColumn(name=f.name, type=arrow_type_name(f.type)) for f in schema]
    )


def parquet_columns(path: Path) -> list[str]:
    return list(pq.read_schema(path).names) if Path(path).exists() else []


def parquet_rows(path: Path) -> int:
    return int(pq.ParquetFile(path).metadata.num_rows) if Path(path).exists() else 0


def lineage_by_name(
    columns: Iterable[str],
    upstream: Mapping[str, Iterable[str]],
    explicit: Mapping[str, Iterable[tuple[str, str]]] | None = None,
) -> dg.TableColumnLineage:
    """Column lineage: each column depends on the same-named column of every upstream asset
    that has it, plus `explicit` (column -> [(asset key path, column)]) where names differ."""
    upstream_sets = {key: set(cols) for key, cols in upstream.items()}
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for column in columns:
        found = [
            dg.TableColumnDep(asset_key=dg.AssetKey.from_user_string(key), column_name=column)
            for key, cols in upstream_sets.items()
            if column in cols
        ]
        for key, source_column in (explicit or {}).get(column, ()):
            found.append(
                dg.TableColumnDep(
                    asset_key=dg.AssetKey.from_user_string(key), column_name=source_column
                )
            )
        if found:
            deps[column] = found
    return dg.TableColumnLineage(deps_by_column=deps)


def code_version(*objects: Any) -> str:
    """A short hash of the source of the functions/modules/files an asset runs: Dagster marks
    the asset unsynced when its logic changes, not only when someone bumps a number."""
    digest = hashlib.sha256()
    for obj in objects:
        if isinstance(obj, Path):
            digest.update(obj.read_bytes())
        else:
            digest.update(inspect.getsource(obj).encode())
    return digest.hexdigest()[:12]


def work_asset_metadata(
    path: Path, lineage: dg.TableColumnLineage | None = None, *, rows: int | None = None
) -> dict[str, Any]:
    """Row count, column schema and (optionally) lineage of a layer just written to `path`
    (`rows`, if given, counts it: a layer kept as a change has more rows than its file)."""
    metadata: dict[str, Any] = {"dagster/row_count": parquet_rows(path) if rows is None else rows}
    schema = table_schema_from_parquet(path)
    if schema is not None:
        metadata["dagster/column_schema"] = schema
    if lineage is not None and lineage.deps_by_column:
        metadata["dagster/column_lineage"] = lineage
    return metadata
