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
import sqlalchemy as sa

import models

_SQL_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (sa.Boolean, "boolean"),
    (sa.BigInteger, "bigint"),
    (sa.Integer, "integer"),
    (sa.Numeric, "decimal"),  # Float is a Numeric subclass: checked below first
    (sa.DateTime, "timestamp"),
    (sa.Date, "date"),
    (sa.JSON, "json"),
    (sa.Text, "text"),
    (sa.String, "varchar"),
)


def sql_type_name(sql_type: sa.types.TypeEngine) -> str:
    """A short, backend-neutral type name (with length/precision) for the UI."""
    if isinstance(sql_type, sa.Float):
        return "double"
    for cls, name in _SQL_TYPE_NAMES:
        if isinstance(sql_type, cls):
            if isinstance(sql_type, sa.Numeric) and sql_type.precision:
                return f"decimal({sql_type.precision},{sql_type.scale or 0})"
            length = getattr(sql_type, "length", None)
            return f"{name}({length})" if length and name == "varchar" else name
    return str(sql_type).lower()


def model_table(table: str) -> sa.Table:
    """The SQLAlchemy table of `schema.table` from `models`."""
    try:
        return models.metadata.tables[table]
    except KeyError as exc:
        known = sorted(models.metadata.tables)
        raise KeyError(f"no table {table!r} in models/ (known: {known})") from exc


def table_schema_from_model(table: str) -> dg.TableSchema:
    """Column schema of a governed table: type, comment, key, nullability and PII tag."""
    sa_table = model_table(table)
    single_key = len(sa_table.primary_key.columns) == 1
    columns = []
    for col in sa_table.columns:
        tags = {"pii": str(col.info.get("pii", "none"))}
        if col.primary_key:
            tags["key"] = "primary"
        columns.append(
            dg.TableColumn(
                name=col.name,
                type=sql_type_name(col.type),
                description=col.comment,
                constraints=dg.TableColumnConstraints(
                    nullable=bool(col.nullable) and not col.primary_key,
                    unique=col.primary_key and single_key,
                ),
                tags=tags,
            )
        )
    keys = [c.name for c in sa_table.primary_key.columns]
    other = [f"primary key ({', '.join(keys)})"] if keys else []
    return dg.TableSchema(columns=columns, constraints=dg.TableConstraints(other=other))


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
    path: Path, lineage: dg.TableColumnLineage | None = None
) -> dict[str, Any]:
    """Row count, column schema and (optionally) lineage of a layer just written."""
    metadata: dict[str, Any] = {"dagster/row_count": parquet_rows(path)}
    schema = table_schema_from_parquet(path)
    if schema is not None:
        metadata["dagster/column_schema"] = schema
    if lineage is not None and lineage.deps_by_column:
        metadata["dagster/column_lineage"] = lineage
    return metadata
