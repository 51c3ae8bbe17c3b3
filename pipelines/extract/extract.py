"""Extraction: read each source as it is into the raw layer, then map it to canonical fields.

A source that cannot be read, or whose mapped columns disappeared (schema drift), fails alone
with an error that names it; the other sources still extract.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.extract.mapping import activity_mapping_sql, customer_mapping_sql
from pipelines.workarea import WorkArea, connect
from sources.connectors import SourceReadError, read_location
from sources.registry import ActivitySpec, FieldMapping, Registry, SourceSpec

ROW_NUMBER = "_source_row_number"
LOADED_AT = "_loaded_at"


class SchemaDriftError(SourceReadError):
    """A column the registry maps is missing from the source."""


@dataclass
class ExtractResult:
    source: str
    rows: int
    activity_rows: dict[str, int] = field(default_factory=dict)
    unmapped_columns: list[str] = field(default_factory=list)


def _mapped_columns(mappings: dict[str, FieldMapping], *keys: str | None) -> set[str]:
    used = {k for k in keys if k}
    for mapping in mappings.values():
        used.update(mapping.columns)
    return used


def _check_drift(table: pa.Table, needed: set[str], where: str) -> list[str]:
    present = set(table.column_names)
    missing = sorted(needed - present)
    if missing:
        raise SchemaDriftError(
            f"{where}: mapped column(s) {missing} not found in the source (it has "
            f"{sorted(present)}); the source schema changed: update 'fields' in the registry "
            "or restore the column at the source"
        )
    return sorted(present - needed)


def _stamp(table: pa.Table, loaded_at: dt.datetime) -> pa.Table:
    n = table.num_rows
    table = table.append_column(ROW_NUMBER, pa.array(range(1, n + 1), pa.int64()))
    return table.append_column(
        LOADED_AT,
        pa.array([loaded_at] * n, pa.timestamp("us")) if n else pa.array([], pa.timestamp("us")),
    )


def _read(source: SourceSpec, spec: SourceSpec | ActivitySpec) -> pa.Table:
    return read_location(
        source=source.name,
        kind=source.kind,
        url=source.url,
        table=spec.table,
        query=spec.query,
        path=spec.path,
        encoding=source.encoding,
        delimiter=source.delimiter,
    )


def extract_source(source: SourceSpec, work: WorkArea, loaded_at: dt.datetime) -> ExtractResult:
    """Read a source's customer table and activity tables into the raw layer."""
    customers = _read(source, source)
    needed = _mapped_columns(source.fields, source.primary_key, source.watermark)
    unmapped = _check_drift(customers, needed, f"source {source.name!r}")
    work.write_arrow(work.raw_path(source.name), _stamp(customers, loaded_at))
    result = ExtractResult(source.name, customers.num_rows, unmapped_columns=unmapped)
    for activity in source.activities:
        rows = _read(source, activity)
        _check_drift(
            rows,
            _mapped_columns(activity.fields, activity.primary_key, activity.customer_key),
            f"source {source.name!r} activity {activity.name!r}",
        )
        work.write_arrow(work.raw_path(source.name, activity.name), _stamp(rows, loaded_at))
        result.activity_rows[activity.name] = rows.num_rows
    return result


def _source_columns(path: str) -> list[str]:
    names = pq.read_schema(path).names
    return [n for n in names if n not in (ROW_NUMBER, LOADED_AT)]


def build_mapped(
    registry: Registry, work: WorkArea, sources: list[str] | None = None
) -> dict[str, int]:
    """Union every extracted source, mapped to canonical fields, into the `mapped` layer and
    every activity table into the `activity` layer. Returns mapped rows per source."""
    con = connect()
    customer_selects: list[str] = []
    activity_selects: list[str] = []
    counts: dict[str, int] = {}
    for source in registry.sources:
        if sources is not None and source.name not in sources:
            continue
        raw = work.raw_path(source.name)
        if not raw.exists():
            continue
        view = f"raw_{source.name}"
        con.read_parquet(str(raw)).create_view(view)
        customer_selects.append(customer_mapping_sql(source, view, _source_columns(str(raw))))
        counts[source.name] = pq.ParquetFile(raw).metadata.num_rows
        for activity in source.activities:
            raw_activity = work.raw_path(source.name, activity.name)
            if raw_activity.exists():
                activity_view = f"raw_{source.name}__{activity.name}"
                con.read_parquet(str(raw_activity)).create_view(activity_view)
                activity_selects.append(
                    activity_mapping_sql(
                        source, activity, activity_view, _source_columns(str(raw_activity))
                    )
                )
    if not customer_selects:
        raise SourceReadError("no source was extracted; check the registry and the extract step")
    con.execute(
        "CREATE TABLE mapped AS "
        + " UNION ALL BY NAME ".join(f"({select})" for select in customer_selects)
    )
    work.save(con, "mapped")
    if activity_selects:
        con.execute(
            "CREATE TABLE activity AS "
            + " UNION ALL BY NAME ".join(f"({select})" for select in activity_selects)
        )
    else:
        con.execute(
            "CREATE TABLE activity AS SELECT NULL::VARCHAR AS source_system, "
            "NULL::VARCHAR AS activity_name, NULL::BIGINT AS source_row_number, "
            "NULL::VARCHAR AS activity_type, "
            "NULL::VARCHAR AS activity_id, NULL::VARCHAR AS source_record_id, "
            "NULL::TIMESTAMP AS occurred_at, NULL::DECIMAL(18,2) AS amount, "
            "NULL::DECIMAL(18,2) AS cost, NULL::VARCHAR AS currency, NULL::VARCHAR AS status, "
            "NULL::DECIMAL(18,2) AS satisfaction, NULL::DECIMAL(18,2) AS open_amount, "
            "NULL::TIMESTAMP AS closed_at, NULL::VARCHAR AS raw_record, "
            "NULL::TIMESTAMP AS loaded_at WHERE false"
        )
    work.save(con, "activity")
    con.close()
    return counts
