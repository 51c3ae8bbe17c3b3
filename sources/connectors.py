"""Connectors: read one source table (or activity table) into Arrow, in batches.

Every connector returns a `pyarrow.Table` of the source's columns as read, so that what lands
in the raw layer is exactly what the source held. SQL sources stream through SQLAlchemy in
batches; files are read by DuckDB's or Arrow's native readers.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import sqlalchemy as sa

BATCH_ROWS = 50_000
PAGE_KEYS = ("data", "items", "results", "records", "rows")


class SourceReadError(RuntimeError):
    """A source could not be read; the message names the source and what to do."""


def _files(pattern: str, source: str) -> list[str]:
    files = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
    missing = [f for f in files if not Path(f).exists()]
    if not files or missing:
        raise SourceReadError(
            f"source {source!r}: file {pattern!r} not found; check 'path' in the registry "
            "(relative paths are relative to the working directory)"
        )
    return files


def _all_strings(table: pa.Table) -> pa.Table:
    """Cast every column to string: mapping and cleansing work on text, and raw keeps it."""
    columns = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            columns.append(col.cast(pa.string()))
        elif pa.types.is_null(col.type):
            columns.append(pa.nulls(len(col), pa.string()))
        else:
            columns.append(col.cast(pa.string()))
    return pa.table(columns, names=table.column_names)


def read_csv(path: str, source: str, encoding: str | None, delimiter: str | None) -> pa.Table:
    tables = []
    for file in _files(path, source):
        read_options = pa_csv.ReadOptions(encoding=encoding or "utf-8", block_size=1 << 24)
        parse_options = pa_csv.ParseOptions(
            delimiter=delimiter or ",",
            newlines_in_values=True,
            invalid_row_handler=None,
        )
        # Everything as text: leading zeros in postcodes and phone numbers must survive.
        probe = pa_csv.open_csv(file, read_options=read_options, parse_options=parse_options)
        names = probe.schema.names
        convert = pa_csv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=True,
            null_values=[""],
        )
        try:
            tables.append(
                pa_csv.read_csv(
                    file,
                    read_options=read_options,
                    parse_options=parse_options,
                    convert_options=convert,
                )
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise SourceReadError(
                f"source {source!r}: cannot parse {file} as CSV ({exc}); check 'encoding' and "
                "'delimiter' in the registry"
            ) from exc
    return pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})


def read_json(path: str, source: str, encoding: str | None) -> pa.Table:
    """JSON array files or JSON-lines files; several (paged) files are concatenated."""
    records: list[dict] = []
    for file in _files(path, source):
        text = Path(file).read_text(encoding=encoding or "utf-8")
        try:
            page = json.loads(text)
        except json.JSONDecodeError:
            try:
                page = [json.loads(line) for line in text.splitlines() if line.strip()]
            except json.JSONDecodeError as exc:
                raise SourceReadError(
                    f"source {source!r}: {file} is neither a JSON document nor JSON lines "
                    f"({exc}); check 'kind' and 'encoding' in the registry"
                ) from exc
        if isinstance(page, dict):
            # Paged API exports wrap their rows: {"data": [...], "next": ...}.
            wrapped = [page[k] for k in PAGE_KEYS if isinstance(page.get(k), list)]
            page = wrapped[0] if wrapped else [page]
        records.extend(page)
    if not records:
        return pa.table({})
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    columns = {
        name: pa.array(
            [None if r.get(name) is None else _json_scalar(r.get(name)) for r in records],
            pa.string(),
        )
        for name in names
    }
    return pa.table(columns)


def _json_scalar(value: object) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def read_parquet(path: str, source: str) -> pa.Table:
    tables = [pq.read_table(f) for f in _files(path, source)]
    return pa.concat_tables(tables, promote_options="permissive")


def _sql_batches(url: str, sql: sa.Executable, source: str) -> Iterator[pa.RecordBatch]:
    engine = sa.create_engine(url)
    try:
        with engine.connect().execution_options(stream_results=True) as conn:
            result = conn.execute(sql)
            names = list(result.keys())
            while rows := result.fetchmany(BATCH_ROWS):
                columns = list(zip(*rows, strict=True))
                yield pa.record_batch(
                    [
                        pa.array([None if v is None else str(v) for v in col], pa.string())
                        for col in columns
                    ],
                    names=names,
                )
            if not names:
                return
    except sa.exc.SQLAlchemyError as exc:
        raise SourceReadError(
            f"source {source!r}: query failed ({type(exc).__name__}: {exc.orig or exc}); "
            "check 'url', 'table'/'query' and that the server is reachable"
        ) from exc
    finally:
        engine.dispose()


def read_sql(url: str, source: str, table: str | None, query: str | None) -> pa.Table:
    if query:
        statement: sa.Executable = sa.text(query)
    else:
        schema, _, name = (table or "").rpartition(".")
        statement = sa.select(sa.text("*")).select_from(sa.table(name, schema=schema or None))
    batches = list(_sql_batches(url, statement, source))
    if not batches:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                names = list(conn.execute(statement).keys())
        finally:
            engine.dispose()
        return pa.table({n: pa.array([], pa.string()) for n in names})
    return pa.Table.from_batches(batches)


def read_location(
    *,
    source: str,
    kind: str,
    url: str | None = None,
    table: str | None = None,
    query: str | None = None,
    path: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> pa.Table:
    """Read one table of a source as text columns."""
    if kind == "sql":
        assert url is not None
        data = read_sql(url, source, table, query)
    elif kind == "csv":
        assert path is not None
        data = read_csv(path, source, encoding, delimiter)
    elif kind == "json":
        assert path is not None
        data = read_json(path, source, encoding)
    elif kind == "parquet":
        assert path is not None
        data = read_parquet(path, source)
    else:
        raise SourceReadError(f"source {source!r}: unknown kind {kind!r}")
    return _all_strings(data)
