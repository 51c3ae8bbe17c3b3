"""Connectors: stream one source table (customers or an activity) as Arrow batches of text.

Every connector yields `pyarrow.RecordBatch`es whose columns are all strings, exactly as the
source holds them (leading zeros, odd spellings and all), so that what lands in the raw layer is
what the source said. Nothing loads a whole table into Python objects:

- SQL (PostgreSQL, MariaDB/MySQL, anything SQLAlchemy speaks): a server-side cursor
  (`stream_results`) fetched `BATCH_ROWS` at a time, each batch turned into Arrow arrays.
  A SQLite file is read by the ADBC SQLite driver, which hands over Arrow batches itself.
- CSV: Arrow's streaming reader; the encoding and the delimiter are declared or detected;
  malformed rows (wrong column count) become rows of NULLs carrying the raw text in
  `_malformed_row`, so that cleansing quarantines them instead of the read failing.
- JSON: arrays, JSON lines and paged API exports (`{"data": [...], "next": ...}`), one file or a
  glob of pages; JSON lines are parsed line by line.
- Parquet: row groups streamed with `iter_batches`.

The extraction step writes the batches with `pyarrow.parquet.ParquetWriter`, so memory stays
bounded by one batch whatever the table's size.
"""

from __future__ import annotations

import codecs
import csv
import glob
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.types import NullType

BATCH_ROWS = 50_000
PAGE_KEYS = ("data", "items", "results", "records", "rows")
# Raw text of a CSV line that did not parse (wrong number of columns); NULL on good rows.
MALFORMED_COLUMN = "_malformed_row"
# Candidate delimiters for detection, in order of preference when the sample is ambiguous.
DELIMITERS = (",", ";", "\t", "|")
# What `encoding: auto` falls back to when a file is not UTF-8: cp1252 is what Windows-era
# exports write; latin-1 decodes any byte, so it is the last resort.
FALLBACK_ENCODINGS = ("cp1252", "latin-1")
_SNIFF_BYTES = 1 << 16


class SourceReadError(RuntimeError):
    """A source could not be read; the message names the source and what to do."""


@dataclass
class BatchStream:
    """A table being read: its column names (all text) and its batches, read lazily.

    `notes` (detected encoding or delimiter, malformed rows) and `malformed_rows` fill in as the
    batches are consumed. `filtered` says whether the watermark filter was applied at the
    source (SQL) or is still to be applied by the caller (files).
    """

    names: list[str]
    batches: Iterator[pa.RecordBatch]
    notes: list[str] = field(default_factory=list)
    malformed_rows: int = 0
    filtered: bool = False
    closer: Callable[[], None] | None = None

    def close(self) -> None:
        """Release the connection of a stream that is abandoned before its end."""
        if self.closer is not None:
            closer, self.closer = self.closer, None
            closer()

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([(name, pa.string()) for name in self.names])


# --------------------------------------------------------------------------- helpers


def source_files(pattern: str, source: str) -> list[str]:
    files = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
    missing = [f for f in files if not Path(f).exists()]
    if not files or missing:
        raise SourceReadError(
            f"source {source!r}: file {pattern!r} not found; check 'path' in the registry "
            "(relative paths are relative to the working directory)"
        )
    return files


def _as_text(array: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Any Arrow column as text: mapping and cleansing work on text, and raw keeps it."""
    if pa.types.is_string(array.type):
        return array
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.string())
    return array.cast(pa.string())


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` with exactly `schema`'s text columns (absent ones NULL), for one writer schema
    across files whose columns differ (paged exports, globbed drops)."""
    present = set(batch.schema.names)
    arrays = [
        _as_text(batch.column(name)) if name in present else pa.nulls(batch.num_rows, pa.string())
        for name in schema.names
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _union_names(per_file: Iterable[list[str]]) -> list[str]:
    names: dict[str, None] = {}
    for file_names in per_file:
        names.update(dict.fromkeys(file_names))
    return list(names)


def detect_encoding(path: str, declared: str | None) -> tuple[str, str | None]:
    """The codec to read `path` with, and a note when it was detected rather than declared.

    `auto` decodes the whole file incrementally (1 MiB at a time, bounded memory) as UTF-8 and
    falls back to cp1252, then latin-1, naming the first undecodable byte in the note.
    """
    if declared and declared != "auto":
        return declared, None
    if declared is None:
        return "utf-8", None
    first_error: str | None = None
    for candidate in ("utf-8", *FALLBACK_ENCODINGS):
        decoder = codecs.getincrementaldecoder(candidate)()
        offset = 0
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    decoder.decode(chunk)
                    offset += len(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            if first_error is None:
                first_error = f"byte 0x{exc.object[exc.start]:02x} at offset {offset + exc.start}"
            continue
        if candidate == "utf-8":
            return "utf-8", None
        return candidate, (
            f"encoding auto: {Path(path).name} is not valid UTF-8 ({first_error}); "
            f"read as {candidate}"
        )
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def detect_delimiter(path: str, encoding: str, quote: str | None) -> str:
    """The delimiter of a CSV file: csv.Sniffer on the first 64 KiB, else the candidate that
    splits the first lines into the same number of fields most often, else a comma."""
    with open(path, "rb") as handle:
        sample = handle.read(_SNIFF_BYTES).decode(encoding, errors="replace")
    if len(sample) >= _SNIFF_BYTES // 2 and "\n" in sample:
        sample = sample[: sample.rfind("\n")]  # a cut last line would mislead the sniffer
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        pass
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    best, best_score = ",", 0
    for candidate in DELIMITERS:
        counts = [line.count(candidate) for line in lines]
        if not counts or counts[0] == 0:
            continue
        score = sum(1 for c in counts if c == counts[0])
        if score > best_score:
            best, best_score = candidate, score
    return best


# --------------------------------------------------------------------------- CSV


def _csv_parse_options(
    delimiter: str, quoting: str | None, escape: str | None, handler: Callable[[Any], str]
) -> pa_csv.ParseOptions:
    return pa_csv.ParseOptions(
        delimiter=delimiter,
        quote_char=False if quoting == "none" else (quoting or '"'),
        double_quote=escape is None,
        escape_char=escape or False,
        newlines_in_values=quoting != "none",
        invalid_row_handler=handler,
    )


def stream_csv(
    path: str,
    source: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    quoting: str | None = None,
    escape: str | None = None,
) -> BatchStream:
    files = source_files(path, source)
    notes: list[str] = []
    plans = []
    for file in files:
        codec, note = detect_encoding(file, encoding)
        if note:
            notes.append(note)
        sep = delimiter
        if sep is None:
            sep = detect_delimiter(file, codec, quoting)
            notes.append(f"delimiter detected in {Path(file).name}: {sep!r}")
        malformed: list[str] = []

        def handler(row: Any, sink: list[str] = malformed) -> str:
            # Arrow drops the row; we keep its text so the record is quarantined, not lost.
            sink.append(row.text)
            return "skip"

        parse = _csv_parse_options(sep, quoting, escape, handler)
        read = pa_csv.ReadOptions(encoding=codec, block_size=1 << 22, use_threads=False)
        try:
            with pa_csv.open_csv(file, read_options=read, parse_options=parse) as probe:
                names = probe.schema.names
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _csv_error(source, file, exc) from exc
        malformed.clear()  # the probe parsed the first block: those rows are read again below
        plans.append((file, read, parse, names, malformed))

    all_names = _union_names(plan[3] for plan in plans) + [MALFORMED_COLUMN]
    stream = BatchStream(names=all_names, batches=iter(()), notes=notes)

    def batches() -> Iterator[pa.RecordBatch]:
        schema = stream.schema
        for file, read, parse, names, malformed in plans:
            # Every column as text: leading zeros in postcodes and phone numbers must survive.
            convert = pa_csv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=True,
                null_values=[""],
            )
            try:
                reader = pa_csv.open_csv(
                    file, read_options=read, parse_options=parse, convert_options=convert
                )
                for batch in reader:
                    yield from _slices(_conform(batch, schema))
                    yield from _malformed_batches(malformed, schema, stream, file)
                yield from _malformed_batches(malformed, schema, stream, file)
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                raise _csv_error(source, file, exc) from exc

    stream.batches = batches()
    return stream


def _slices(batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
    for offset in range(0, batch.num_rows, BATCH_ROWS):
        yield batch.slice(offset, BATCH_ROWS)


def _malformed_batches(
    malformed: list[str], schema: pa.Schema, stream: BatchStream, file: str
) -> Iterator[pa.RecordBatch]:
    if not malformed:
        return
    n = len(malformed)
    arrays = [pa.nulls(n, pa.string()) for _ in schema.names[:-1]]
    arrays.append(pa.array(malformed, pa.string()))
    if stream.malformed_rows == 0:
        stream.notes.append(
            f"{Path(file).name}: rows with the wrong number of columns kept as "
            f"{MALFORMED_COLUMN} (cleansing quarantines them)"
        )
    stream.malformed_rows += n
    malformed.clear()
    yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _csv_error(source: str, file: str, exc: Exception) -> SourceReadError:
    return SourceReadError(
        f"source {source!r}: cannot parse {file} as CSV ({exc}); check 'encoding' (or set "
        "encoding: auto), 'delimiter' and 'quoting' in the registry"
    )


# --------------------------------------------------------------------------- JSON


def _json_scalar(value: object) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _unwrap_page(document: Any) -> list[Any]:
    if isinstance(document, dict):
        # Paged API exports wrap their rows: {"data": [...], "next": ...}.
        wrapped = [document[k] for k in PAGE_KEYS if isinstance(document.get(k), list)]
        return wrapped[0] if wrapped else [document]
    if isinstance(document, list):
        return document
    return [document]


def _json_records(file: str, source: str, encoding: str) -> Iterator[dict[str, Any]]:
    """Records of one JSON file: a document (array or page object), or JSON lines."""
    with open(file, encoding=encoding) as handle:
        first = ""
        for line in handle:
            if line.strip():
                first = line
                break
        lines_format = False
        if first.lstrip().startswith("{"):
            try:
                json.loads(first)
                lines_format = True
            except json.JSONDecodeError:
                lines_format = False  # a pretty-printed object spans several lines
    try:
        if lines_format:
            with open(file, encoding=encoding) as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise SourceReadError(
                            f"source {source!r}: {file} line {number} is not valid JSON "
                            f"({exc.msg}); fix the export or check 'encoding'"
                        ) from exc
                    yield from _unwrap_page(record)
        else:
            with open(file, encoding=encoding) as handle:
                try:
                    document = json.load(handle)
                except json.JSONDecodeError as exc:
                    raise SourceReadError(
                        f"source {source!r}: {file} is neither a JSON document nor JSON lines "
                        f"({exc}); check 'kind' and 'encoding' in the registry"
                    ) from exc
            yield from _unwrap_page(document)
    except UnicodeDecodeError as exc:
        raise SourceReadError(
            f"source {source!r}: {file} is not {encoding} ({exc.reason}); set 'encoding' in "
            "the registry (or encoding: auto)"
        ) from exc


def stream_json(path: str, source: str, encoding: str | None = None) -> BatchStream:
    """JSON array files, JSON-lines files, paged exports; several files are concatenated.

    A first pass collects the union of keys (records may differ), a second builds batches of
    `BATCH_ROWS` records: two parses, but memory bounded by one batch (JSON lines) or one
    file (a document)."""
    files = source_files(path, source)
    notes: list[str] = []
    codecs_per_file = []
    for file in files:
        codec, note = detect_encoding(file, encoding)
        if note:
            notes.append(note)
        codecs_per_file.append(codec)
    names: dict[str, None] = {}
    for file, codec in zip(files, codecs_per_file, strict=True):
        for record in _json_records(file, source, codec):
            if isinstance(record, dict):
                names.update(dict.fromkeys(record))
    stream = BatchStream(names=list(names), batches=iter(()), notes=notes)

    def batches() -> Iterator[pa.RecordBatch]:
        schema = stream.schema
        chunk: list[dict[str, Any]] = []
        for file, codec in zip(files, codecs_per_file, strict=True):
            for record in _json_records(file, source, codec):
                chunk.append(record if isinstance(record, dict) else {})
                if len(chunk) >= BATCH_ROWS:
                    yield _json_batch(chunk, schema)
                    chunk = []
        if chunk:
            yield _json_batch(chunk, schema)

    stream.batches = batches()
    return stream


def _json_batch(records: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    arrays = [
        pa.array(
            [None if (v := r.get(name)) is None else _json_scalar(v) for r in records],
            pa.string(),
        )
        for name in schema.names
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# --------------------------------------------------------------------------- Parquet


def stream_parquet(path: str, source: str) -> BatchStream:
    files = source_files(path, source)
    try:
        names = _union_names(pq.read_schema(f).names for f in files)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceReadError(
            f"source {source!r}: cannot read {path} as Parquet ({exc}); check 'path' and 'kind'"
        ) from exc
    stream = BatchStream(names=names, batches=iter(()))

    def batches() -> Iterator[pa.RecordBatch]:
        schema = stream.schema
        for file in files:
            for batch in pq.ParquetFile(file).iter_batches(batch_size=BATCH_ROWS):
                yield _conform(batch, schema)

    stream.batches = batches()
    return stream


# --------------------------------------------------------------------------- SQL


def _text_column(values: tuple[Any, ...]) -> pa.Array:
    """One fetched column as Arrow text. Integers and strings go through Arrow's vectorised
    cast; anything else (dates, decimals, floats) through str(), which keeps the driver's
    rendering ('2024-01-31 10:00:00', '12.50') the way the source shows it."""
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    if pa.types.is_string(array.type) or pa.types.is_integer(array.type):
        return _as_text(array)
    if pa.types.is_null(array.type):
        return pa.nulls(len(values), pa.string())
    return pa.array([None if v is None else str(v) for v in values], pa.string())


def _sql_statement(
    table: str | None, query: str | None, watermark: str | None, since: str | None
) -> sa.Executable:
    if query:
        if watermark and since is not None:
            inner = sa.text(query).columns(sa.column(watermark)).subquery("src")
            return (
                sa.select(sa.text("*"))
                .select_from(inner)
                .where(_changed_since(inner.c[watermark], since))
            )
        return sa.text(query)
    schema, _, name = (table or "").rpartition(".")
    statement = sa.select(sa.text("*")).select_from(sa.table(name, schema=schema or None))
    if watermark and since is not None:
        statement = statement.where(_changed_since(sa.column(watermark), since))
    return statement


def _changed_since(column: sa.ColumnElement[Any], since: str) -> sa.ColumnElement[bool]:
    # Bound without a type (NullType): the server casts the text to the column's own type,
    # so a TIMESTAMP, an INTEGER version or a TEXT column all compare natively (a VARCHAR
    # bind cast would make PostgreSQL reject `timestamp >= varchar`). `>=` rather than `>`
    # re-reads rows stamped in the same instant as the last read, which the snapshot upsert
    # absorbs; rows with no watermark are always re-read so that none is ever missed.
    bound = sa.bindparam("watermark_since", since, type_=NullType())
    return sa.or_(column >= bound, column.is_(None))


def stream_sql(
    url: str,
    source: str,
    table: str | None = None,
    query: str | None = None,
    *,
    watermark: str | None = None,
    since: str | None = None,
) -> BatchStream:
    """Rows of a table or query; with `watermark` and `since`, only rows changed since then."""
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None:
        return stream_sqlite(sqlite_file, source, table, query, watermark=watermark, since=since)
    statement = _sql_statement(table, query, watermark, since)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=_connect_args(url))
    try:
        connection = _connect_with_retries(engine, source)
        result = connection.execution_options(stream_results=True).execute(statement)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise _sql_error(source, exc) from exc
    names = list(result.keys())

    def release() -> None:
        result.close()
        connection.close()
        engine.dispose()

    stream = BatchStream(names=names, batches=iter(()), filtered=since is not None, closer=release)

    def batches() -> Iterator[pa.RecordBatch]:
        schema = stream.schema
        try:
            while rows := result.fetchmany(BATCH_ROWS):
                columns = zip(*rows, strict=True)
                yield pa.RecordBatch.from_arrays(
                    [_text_column(col) for col in columns], schema=schema
                )
        except sa.exc.SQLAlchemyError as exc:
            raise _sql_error(source, exc) from exc
        finally:
            stream.close()

    stream.batches = batches()
    return stream


def _sqlite_file(url: str) -> Path | None:
    """The database file of a plain `sqlite:///<file>` URL that exists (None otherwise: other
    URLs, in-memory or missing databases keep SQLAlchemy's behaviour and errors)."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.query or not parsed.database:
        return None
    path = Path(parsed.database)
    return path if path.is_file() else None


def _sqlite_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def stream_sqlite(
    path: Path,
    source: str,
    table: str | None = None,
    query: str | None = None,
    *,
    watermark: str | None = None,
    since: str | None = None,
) -> BatchStream:
    """`stream_sql` for a SQLite file, read by the ADBC driver straight into Arrow batches:
    5x faster than fetching Python tuples through SQLAlchemy (0.8 s instead of 4.3 s for
    950k invoices), and nothing per row in Python.

    Every column is selected as `CAST(... AS TEXT)`, which is SQLite's own rendering of its
    values; the driver infers a column's Arrow type from the first batch, so a first row of
    empty strings (dropped again) makes every column text even when its first batch holds only
    NULLs. The watermark filter is the one `_changed_since` builds, bound the same way."""
    if query:
        relation = f"({query}) AS src"
    else:
        relation = ".".join(_sqlite_ident(part) for part in (table or "").split(".") if part)
    connection = adbc_sqlite.connect(f"{path.resolve().as_uri()}?mode=ro")
    cursor = connection.cursor()

    def release() -> None:
        cursor.close()
        connection.close()

    try:
        cursor.execute(f"SELECT * FROM {relation} LIMIT 0")  # noqa: S608
        names = cursor.fetch_arrow_table().column_names
    except adbc_sqlite.Error as exc:
        release()
        raise _sqlite_error(source, exc) from exc
    where, parameters = "", None
    if watermark and since is not None:
        column = _sqlite_ident(watermark)
        where, parameters = f" WHERE {column} >= ? OR {column} IS NULL", (since,)
    types_row = ", ".join(f"'' AS {_sqlite_ident(n)}" for n in names)
    values = ", ".join(f"CAST({_sqlite_ident(n)} AS TEXT)" for n in names)
    statement = f"SELECT {types_row} UNION ALL SELECT {values} FROM {relation}{where}"  # noqa: S608
    stream = BatchStream(names=names, batches=iter(()), filtered=since is not None, closer=release)

    def batches() -> Iterator[pa.RecordBatch]:
        schema = stream.schema
        try:
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
            cursor.execute(statement, parameters)
            first = True
            for batch in cursor.fetch_record_batch():
                if first:
                    batch, first = batch.slice(1), False
                if batch.num_rows:
                    yield pa.RecordBatch.from_arrays(
                        [_as_text(column) for column in batch.columns], schema=schema
                    )
        except (adbc_sqlite.Error, OSError) as exc:
            raise _sqlite_error(source, exc) from exc
        finally:
            stream.close()

    stream.batches = batches()
    return stream


def _sqlite_error(source: str, exc: Exception) -> SourceReadError:
    return SourceReadError(
        f"source {source!r}: query failed ({type(exc).__name__}: {exc}); "
        "check 'url', 'table'/'query' and that the database file is readable"
    )


def _connect_args(url: str) -> dict[str, Any]:
    """A bounded connect timeout, so an unreachable server fails fast instead of hanging."""
    backend = sa.make_url(url).get_backend_name()
    if backend in {"postgresql", "mysql", "mariadb"}:
        return {"connect_timeout": int(os.environ.get("SOURCE_CONNECT_TIMEOUT", "10"))}
    return {}


def _connect_with_retries(engine: sa.Engine, source: str) -> sa.Connection:
    """Connect, retrying refused or timed-out connections with exponential backoff.

    Only connecting is retried: a query error is not a glitch and fails at once."""
    attempts = int(os.environ.get("SOURCE_CONNECT_ATTEMPTS", "3"))
    delay = float(os.environ.get("SOURCE_RETRY_DELAY", "1"))
    for attempt in range(1, attempts + 1):
        try:
            return engine.connect()
        except sa.exc.OperationalError as exc:
            if attempt == attempts:
                orig = getattr(exc, "orig", None) or exc
                raise SourceReadError(
                    f"source {source!r}: cannot connect to {engine.url.host or 'the database'}"
                    f":{engine.url.port or ''} after {attempts} attempts ({orig}); check that "
                    "the server is up and reachable and the credentials in the registry's "
                    "${…} variables. Nothing is published while a source fails, so its "
                    "customers are not dropped"
                ) from exc
            time.sleep(delay * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _sql_error(source: str, exc: sa.exc.SQLAlchemyError) -> SourceReadError:
    orig = getattr(exc, "orig", None) or exc
    return SourceReadError(
        f"source {source!r}: query failed ({type(exc).__name__}: {orig}); "
        "check 'url', 'table'/'query' and that the server is reachable"
    )


# --------------------------------------------------------------------------- entry points


def open_location(
    *,
    source: str,
    kind: str,
    url: str | None = None,
    table: str | None = None,
    query: str | None = None,
    path: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    quoting: str | None = None,
    escape: str | None = None,
    watermark: str | None = None,
    since: str | None = None,
) -> BatchStream:
    """Start reading one table of a source; nothing is fetched until the batches are."""
    if kind == "sql":
        if url is None:
            raise SourceReadError(f"source {source!r}: a sql source needs 'url'")
        return stream_sql(url, source, table, query, watermark=watermark, since=since)
    if path is None:
        raise SourceReadError(f"source {source!r}: a {kind} source needs 'path'")
    if kind == "csv":
        return stream_csv(path, source, encoding, delimiter, quoting, escape)
    if kind == "json":
        return stream_json(path, source, encoding)
    if kind == "parquet":
        return stream_parquet(path, source)
    raise SourceReadError(f"source {source!r}: unknown kind {kind!r}")


def read_location(**kwargs: Any) -> pa.Table:
    """Read one table of a source whole, as text columns (small tables and tests)."""
    stream = open_location(**kwargs)
    try:
        batches = list(stream.batches)
    finally:
        stream.close()
    table = pa.Table.from_batches(batches, schema=stream.schema)
    if MALFORMED_COLUMN in table.column_names and not stream.malformed_rows:
        table = table.drop_columns([MALFORMED_COLUMN])
    return table
