"""Extraction: read each source table into the raw layer, then map it to canonical fields.

Each table (a source's customers, or one of its activity tables) is streamed from the source in
Arrow batches into the work area with `ParquetWriter` (memory bounded by one batch), merged
into that table's snapshot (`pipelines.extract.incremental`: full read or rows changed since
the published watermarks, deletions), which keeps each row's position as `_source_row_number`:
the snapshot file itself becomes `raw/<table>.parquet` (a hard link). A file source whose files
did not change since its snapshot was built is not read at all (`incremental.input_unchanged`),
and a snapshot or raw layer whose content would not change is not rewritten: an unchanged table
costs next to nothing. This sync's load time (the same for every row of a table) is in the
table's report, `raw/<table>.extract.json`; the mapping stamps it on the mapped rows.

A table that cannot be read, or whose mapped columns disappeared (schema drift), fails alone
with an error that names it; the other tables still extract. Policy for the publish: a sync
with a failed table does not publish (Dagster skips everything downstream of a failed raw
asset). Publishing without it would retire every link of that source as if its records had been
deleted; instead the store keeps its previous state and no watermark advances until the
source is fixed and the sync re-run.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.extract import incremental
from pipelines.extract.mapping import (
    activity_mapping_sql,
    customer_mapping_sql,
    raw_records_sql,
)
from pipelines.workarea import (
    WorkArea,
    atomic_target,
    connect,
    file_metadata,
    link_file,
    sql_literal,
)
from sources.connectors import MALFORMED_COLUMN, BatchStream, SourceReadError, open_location
from sources.registry import Registry, SourceSpec, TableRead

# "_source_row_number": the snapshot's position column is the raw layer's row number.
ROW_NUMBER = incremental.POSITION
# Work layer: (source_system, loaded_at) of every mapped source (`save_source_load`).
SOURCE_LOAD = "source_load"
# Columns the pipeline adds to what the source said; never reported as unmapped source columns.
INTERNAL_COLUMNS = (ROW_NUMBER, MALFORMED_COLUMN)


class SchemaDriftError(SourceReadError):
    """A column the registry maps is missing from the source."""


@dataclass
class TableResult:
    """What extracting one table did (counts and settings only, never personal values)."""

    table: str  # "<source>" or "<source>/<activity>"
    rows: int  # rows in the raw layer: the table's whole current population
    rows_read: int  # rows delivered by the source this sync
    mode: str
    full_read: bool
    reason: str
    deleted: int = 0
    soft_deleted: int = 0
    malformed_rows: int = 0
    watermark_column: str | None = None
    since: str | None = None
    high_water: str | None = None
    unmapped_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    loaded_at: str | None = None  # this sync's load time of every row (ISO 8601)
    seconds: float = 0.0

    def metadata(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], "")}


@dataclass
class ExtractResult:
    source: str
    rows: int
    activity_rows: dict[str, int] = field(default_factory=dict)
    unmapped_columns: list[str] = field(default_factory=list)
    tables: dict[str, TableResult] = field(default_factory=dict)


def _check_drift(names: list[str], needed: set[str], where: str) -> list[str]:
    present = set(names) - {MALFORMED_COLUMN}
    missing = sorted(needed - present)
    if missing:
        raise SchemaDriftError(
            f"{where}: mapped column(s) {missing} not found in the source (it has "
            f"{sorted(present)}); the source schema changed: update 'fields' in the registry "
            "or restore the column at the source"
        )
    return sorted(present - needed)


def _open(read: TableRead, since: str | None) -> BatchStream:
    return open_location(
        source=read.source,
        kind=read.kind,
        url=read.url,
        table=read.table,
        query=read.query,
        path=read.path,
        encoding=read.encoding,
        delimiter=read.delimiter,
        quoting=read.quoting,
        escape=read.escape,
        watermark=read.watermark,
        since=since,
    )


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Reading a source allocates millions of row tuples and strings, none of them in a
    reference cycle; each few thousand allocations would start a cyclic collection that walks
    the whole heap, and in a Dagster step process (Dagster, Splink, the definitions) that cost
    a quarter of the extraction at 1M records (40 s -> 30 s without it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _write_stream(stream: BatchStream, target: Path) -> int:
    """Write the stream batch by batch (bounded memory), numbering rows in read order.

    The file lives only until the snapshot merge has read it: written fast rather than small
    (LZ4, no dictionary: 0.33 s instead of 0.67 s with zstd and dictionaries for 950k
    invoices, 31 MB instead of 14 MB; uncompressed was 117 MB for 0.06 s less)."""
    schema = stream.schema.append(pa.field(incremental.POSITION, pa.int64()))
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with (
        _without_cyclic_gc(),
        pq.ParquetWriter(target, schema, compression="lz4", use_dictionary=False) as writer,
    ):
        for batch in stream.batches:
            if not batch.num_rows:
                continue
            position = pa.array(range(rows + 1, rows + batch.num_rows + 1), pa.int64())
            writer.write_batch(
                pa.RecordBatch.from_arrays([*batch.columns, position], schema=schema)
            )
            rows += batch.num_rows
    return rows


def _write_raw(snapshot: Path, target: Path, malformed: bool) -> None:
    """raw/<table>.parquet: the snapshot with each row's position as `_source_row_number`.

    The snapshot already holds its rows in that layout: the raw layer is the snapshot file
    itself (a hard link, no copy: a full sync copied its 4.65M rows for 3.8 s at a million
    records). Both files are only ever replaced, never written in place, so the next
    snapshot does not change this one. A copy only where the snapshot holds a column the raw
    layer leaves out (the malformed-row flag of a read that found none) or where the file
    system has no hard links.

    Renewed only when the snapshot's version changed: a link carries the snapshot's
    metadata, version included; a copy records the version it was built from. The load time
    is not a column (it is the same for every row of a table): `raw/<table>.extract.json`
    carries it and the mapping adds it, so an unchanged table costs nothing each night."""
    columns = pq.read_schema(snapshot).names
    drop_flag = not malformed and MALFORMED_COLUMN in columns
    version = (incremental.snapshot_meta(snapshot) or {}).get("version")
    # A link of an earlier file of the same version holds the same rows (a re-read that
    # gave back the snapshot keeps its version, see `merge_snapshot`).
    built_from = f"{version}:{'0' if drop_flag else 'linked'}"
    if target.exists() and raw_built_from(target) == built_from:
        return
    if not drop_flag:
        link_file(snapshot, target)
        return
    tmp = atomic_target(target)
    # COPY takes no bound parameters: the paths are sqlglot literals. The snapshot is stored
    # in position order and the work connection preserves insertion order: no second sort.
    con = connect()
    try:
        con.execute(
            f"""
            COPY (SELECT * EXCLUDE ({incremental.ident(MALFORMED_COLUMN)})
                  FROM read_parquet({incremental.literal(str(snapshot))}))
            TO {incremental.literal(str(tmp))} (FORMAT parquet, COMPRESSION zstd,
                KV_METADATA {{built_from: {incremental.literal(built_from)}}})
            """  # noqa: S608 - identifiers and paths quoted by sqlglot
        )
    finally:
        con.close()
    os.replace(tmp, target)


def run_load_time(work: WorkArea, run_id: str | None, now: dt.datetime) -> dt.datetime:
    """The load time of every table one run extracts: `now` at its first extraction.

    One time per run, not per table: the multiprocess executor extracts several tables at
    once in no fixed order, and with a time per table the survivorship's recency rule (for a
    record without a source timestamp) followed that order, so a golden value could change
    between two nights with no source change, and the incremental golden build (it needs the
    load times in last run's order) rebuilt everything whenever the order changed. Records
    read in one run are equally recent; the group's other rules decide, the same way every
    night. Without a run id (a table extracted outside a job), `now`."""
    if run_id is None:
        return now
    folder = work.root / "raw" / "run_load_time"
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / f"{run_id}.json"
    if not marker.exists():
        tmp = folder / f".{run_id}.{uuid.uuid4().hex}.tmp"
        tmp.write_text(json.dumps({"loaded_at": now.isoformat()}))
        try:
            # Atomic: of two tables of one run extracted at once, one writes, both read it.
            os.link(tmp, marker)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        # Earlier runs' markers are never read again; a day's grace for a run still going.
        for old in folder.glob("*.json"):
            if old != marker and time.time() - old.stat().st_mtime > 86_400:
                old.unlink(missing_ok=True)
    return dt.datetime.fromisoformat(json.loads(marker.read_text())["loaded_at"])


def table_loaded_at(work: WorkArea, table: str) -> dt.datetime:
    """When this sync extracted `table` ("<source>" or "<source>/<activity>"), from its report."""
    path = _report_path(work, table)
    try:
        return dt.datetime.fromisoformat(json.loads(path.read_text())["loaded_at"])
    except (OSError, ValueError, KeyError) as exc:
        raise SourceReadError(
            f"{table}: extraction report {path} missing or without loaded_at ({exc}); "
            "extract the table again (materialize its raw asset) before mapping"
        ) from exc


def extract_table(
    read: TableRead,
    work: WorkArea,
    loaded_at: dt.datetime,
    *,
    published: dict[str, tuple[str, str | None]] | None = None,
    full_refresh: bool = False,
    run_id: str | None = None,
) -> TableResult:
    """Read one table (all of it, or what changed) and refresh its snapshot and raw layer;
    a file source whose files did not change keeps its snapshot without being read."""
    started = time.monotonic()
    incremental.clear_candidate(work, read)
    snapshot = incremental.snapshot_path(work, read)
    previous_meta = incremental.snapshot_meta(snapshot)
    plan = incremental.plan_read(
        read, previous_meta, (published or {}).get(read.key), full_refresh
    )
    # Taken before the read: a file that changes while it is being read looks changed to the
    # next sync, which then reads it again.
    fingerprint = incremental.input_fingerprint(read)
    if previous_meta is not None and incremental.input_unchanged(
        read, plan, previous_meta, fingerprint, full_refresh
    ):
        result = _keep_snapshot(read, work, plan, snapshot, previous_meta)
    else:
        result = _read_table(read, work, plan, snapshot, previous_meta, fingerprint)
    if read.mode == "incremental":
        incremental.write_candidate(work, read, result.high_water, run_id, loaded_at)
    result.loaded_at = loaded_at.isoformat()
    result.seconds = round(time.monotonic() - started, 3)
    write_report(work, result)
    return result


def _read_table(
    read: TableRead,
    work: WorkArea,
    plan: incremental.ReadPlan,
    snapshot: Path,
    previous_meta: dict[str, str | None] | None,
    fingerprint: str | None,
) -> TableResult:
    """Read the source, merge the read into the snapshot, write the raw layer."""
    stream = _open(read, plan.since)
    try:
        unmapped = _check_drift(stream.names, set(read.mapped_columns), read.where)
        read_file = snapshot.with_name(f".{snapshot.stem}.read.{uuid.uuid4().hex}.parquet")
        try:
            _write_stream(stream, read_file)
        except (OSError, pa.ArrowException) as exc:
            raise SourceReadError(f"{read.where}: reading failed ({exc})") from exc
    finally:
        stream.close()
    # What the next sync needs to report this read without repeating it (input_unchanged).
    read_meta = {
        "input_fingerprint": fingerprint or "",
        "malformed_rows": str(stream.malformed_rows),
        "read_notes": json.dumps(stream.notes),
    }
    con = connect()
    try:
        merge = incremental.merge_snapshot(
            con,
            read,
            plan,
            read_file,
            snapshot if previous_meta is not None else None,
            snapshot,
            (previous_meta or {}).get("high_water") or None,
            read_meta,
        )
    finally:
        con.close()
        read_file.unlink(missing_ok=True)
    _write_raw(snapshot, work.raw_path(read.source, read.activity), stream.malformed_rows > 0)
    return TableResult(
        table=read.key,
        rows=merge.rows,
        rows_read=merge.rows_read,
        mode=read.mode,
        full_read=plan.full,
        reason=plan.reason,
        deleted=merge.deleted,
        soft_deleted=merge.soft_deleted,
        malformed_rows=stream.malformed_rows,
        watermark_column=read.watermark,
        since=plan.since,
        high_water=merge.high_water,
        unmapped_columns=unmapped,
        notes=list(stream.notes),
    )


def _keep_snapshot(
    read: TableRead,
    work: WorkArea,
    plan: incremental.ReadPlan,
    snapshot: Path,
    meta: dict[str, str | None],
) -> TableResult:
    """The files did not change: the snapshot stays as it is, nothing is read; the figures of
    the read that built it (malformed rows, notes, high water) come from its metadata."""
    parquet = pq.ParquetFile(snapshot)
    names = [n for n in parquet.schema_arrow.names if n != incremental.POSITION]
    # The registry may map a column the file never had: the same error a read would raise.
    unmapped = _check_drift(names, set(read.mapped_columns), read.where)
    malformed_rows = int(meta.get("malformed_rows") or 0)
    # Rebuilt only if missing or built from another snapshot; this sync's load time reaches
    # the rows through the report (`table_loaded_at`), not the file.
    _write_raw(snapshot, work.raw_path(read.source, read.activity), malformed_rows > 0)
    return TableResult(
        table=read.key,
        rows=parquet.metadata.num_rows,
        rows_read=0,
        mode=read.mode,
        full_read=False,
        reason="file unchanged since the last read (size, mtime): not read, snapshot kept",
        malformed_rows=malformed_rows,
        watermark_column=read.watermark,
        since=plan.since,
        high_water=meta.get("high_water") or None,
        unmapped_columns=unmapped,
        notes=json.loads(meta.get("read_notes") or "[]"),
    )


def _report_path(work: WorkArea, table: str) -> Path:
    return work.root / "raw" / f"{table.replace('/', '__')}.extract.json"


def write_report(work: WorkArea, result: TableResult) -> None:
    """raw/<table>.extract.json: the figures of the last extraction (assessment, summary,
    and the load time the mapping stamps on the table's rows)."""
    path = _report_path(work, result.table)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.metadata(), sort_keys=True))


def extract_source(
    source: SourceSpec,
    work: WorkArea,
    loaded_at: dt.datetime,
    *,
    published: dict[str, tuple[str, str | None]] | None = None,
    full_refresh: bool = False,
    run_id: str | None = None,
) -> ExtractResult:
    """Extract a source's customer table and every activity table (tests, scripts)."""
    customers = extract_table(
        source.read(), work, loaded_at, published=published, full_refresh=full_refresh,
        run_id=run_id,
    )
    result = ExtractResult(
        source.name, customers.rows, unmapped_columns=customers.unmapped_columns,
        tables={customers.table: customers},
    )
    for activity in source.activities:
        table = extract_table(
            source.read(activity.name), work, loaded_at, published=published,
            full_refresh=full_refresh, run_id=run_id,
        )
        result.tables[table.table] = table
        result.activity_rows[activity.name] = table.rows
    return result


def _source_columns(path: str) -> list[str]:
    names = pq.read_schema(path).names
    return [n for n in names if n != ROW_NUMBER]


# The metadata entry of the `activity` and `mapped` layers naming the raw layer (and its
# version) each table was mapped from: `raw_records` reads rows as read back from them.
RAW_VERSIONS = "raw_versions"


def raw_records(work: WorkArea, layer: str, keys: str) -> str:
    """SELECT (source_system, source_row_number, raw_record) for the rows of layer `layer`
    (`activity`: source_system '<source>.<activity>'; `mapped`) that relation `keys` names
    by those two columns, read back from the raw layers the layer was mapped from.

    Neither layer holds the raw row: building it as JSON for every row cost more than the
    rest of the mapping (the 3.6M activity rows at a million records: ~8.0 s with it, ~3.4 s
    without; the layer 225 -> 78 MB), for the few rows the quarantine keeps."""
    mapped_from = json.loads(work.layer_metadata(layer, RAW_VERSIONS) or "{}")
    selects = []
    for table, (where, built_from) in sorted(mapped_from.items()):
        raw = work.root / where
        if raw_built_from(raw) != built_from:
            raise SourceReadError(
                f"{where} changed since the {layer} layer was mapped from it (a raw asset "
                "materialized alone?): materialize staged_customers, which maps it again, "
                "before the stage that failed"
            )
        selects.append(raw_records_sql(table, str(raw), _source_columns(str(raw)), keys))
    if not selects:
        return (
            "SELECT NULL::VARCHAR AS source_system, NULL::BIGINT AS source_row_number, "
            "NULL::VARCHAR AS raw_record WHERE false"
        )
    return " UNION ALL ".join(selects)


def _raw_version(work: WorkArea, raw: Path) -> list[str | None]:
    """A `RAW_VERSIONS` entry: the raw layer's path, relative (a work area moved or restored
    elsewhere keeps its layers), and the version it was built from."""
    return [str(raw.relative_to(work.root)), raw_built_from(raw)]


def raw_built_from(raw: Path) -> str | None:
    """Which snapshot version a raw layer holds (`_write_raw`): a copy without the flag
    column says so in its metadata (`<version>:0`), a link to the snapshot carries the
    snapshot's own (`<version>:linked`)."""
    copied = file_metadata(raw, "built_from")
    if copied is not None:
        return copied
    version = file_metadata(raw, "version")
    return None if version is None else f"{version}:linked"


# The `mapped` layer's metadata naming its part per source (`WorkArea.save_parts`) and what
# that part was mapped from: {source: [part file, relative to the work area, `_mapped_from`]}.
MAPPED_PARTS = "parts_by_source"


def mapped_parts(work: WorkArea) -> dict[str, str]:
    """The `mapped` layer's part file per source, in the layer's order (empty if the layer
    is not kept in parts): a part is written once, so the same file is the same rows."""
    parts = json.loads(work.layer_metadata("mapped", MAPPED_PARTS) or "{}")
    return {source: part for source, (part, _) in parts.items()}


def _mapped_from(
    source: SourceSpec, view: str, columns: list[str], raw_version: list[str | None]
) -> str:
    """What a source's mapped rows are a function of: its mapping (the SQL, without the raw
    row as JSON, which no part holds) and the version of the raw layer it reads."""
    digest = hashlib.sha256()
    digest.update(customer_mapping_sql(source, view, columns, raw_record=False).encode())
    digest.update(json.dumps(raw_version).encode())
    return digest.hexdigest()


def save_source_load(work: WorkArea, loads: list[tuple[str, dt.datetime]]) -> None:
    """The `SOURCE_LOAD` layer: when this sync extracted each mapped source's table.

    A column of the source, not of its records: one value per source and night, it made
    every row of `mapped` and `staged` differ from the night before, so that both had to be
    written whole (and re-read whole downstream) however few records changed."""
    work.write_arrow(
        work.path(SOURCE_LOAD),
        pa.table(
            {
                "source_system": pa.array([name for name, _ in loads], pa.string()),
                "loaded_at": pa.array([at for _, at in loads], pa.timestamp("us")),
            }
        ),
    )


def _write_parts(
    con: duckdb.DuckDBPyConnection, work: WorkArea, table: str, parts: dict[str, str]
) -> None:
    """Write each source's rows of `table` (without the raw row as JSON) to its part file."""
    excluded = "EXCLUDE (raw_record)" if "raw_record" in con.table(table).columns else ""
    for name, part in parts.items():
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW mapped_part AS SELECT * {excluded} "  # noqa: S608 - constants
            f"FROM {table} WHERE source_system = {sql_literal(name)}"
        )
        work.write_query(con, work.root / part, "mapped_part")
    con.execute("DROP VIEW IF EXISTS mapped_part")


def build_mapped(
    registry: Registry,
    work: WorkArea,
    sources: list[str] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    raw_record: bool = True,
) -> dict[str, int]:
    """Union every extracted source, mapped to canonical fields, into the `mapped` layer and
    every activity table into the `activity` layer. Returns mapped rows per source.

    Given `con`, `mapped` stays in it for the caller (cleansing reads it next): with
    `raw_record`, a table (reading every column of the saved layer back cost 0.7 s at a
    million records); without, a view of the parts (see below). Only that table has
    `raw_record` (each row as read, as JSON) and `raw_hash`: the saved layer is every row
    without them, since only the cleansing reads them (quarantine keeps the raw row for the
    rows it holds; raw/ has every row as read), and the JSON was two thirds of the file (366
    of 550 MB at a million records; writing the layer each night 1.6 -> 0.8 s).
    `raw_record=False` leaves the JSON out of the table too (a nightly cleanse cleanses few
    rows: `raw_records(work, "mapped", keys)` builds it for those)."""
    own = con is None
    con = connect() if con is None else con
    views: list[str] = []
    # Per source, the SELECT of its mapped rows: its kept part, or its mapping.
    customer_selects: dict[str, str] = {}
    # The layer's part per source and what it was mapped from (`_mapped_from`).
    previous_parts = json.loads(work.layer_metadata("mapped", MAPPED_PARTS) or "{}")
    parts: dict[str, list[str]] = {}
    mapped_now: list[str] = []  # the sources mapped again
    activity_selects: list[str] = []
    # What the activity layer is built from: its mapping SQL and the raw layers' versions.
    activity_inputs = hashlib.sha256()
    raw_versions: dict[str, list[str | None]] = {}
    customer_raw_versions: dict[str, list[str | None]] = {}
    counts: dict[str, int] = {}
    loads: list[tuple[str, dt.datetime]] = []
    for source in registry.sources:
        if sources is not None and source.name not in sources:
            continue
        raw = work.raw_path(source.name)
        if not raw.exists():
            continue
        view = f"raw_{source.name}"
        con.read_parquet(str(raw)).create_view(view)
        views.append(view)
        columns = _source_columns(str(raw))
        customer_raw_versions[source.name] = _raw_version(work, raw)
        made_from = _mapped_from(source, view, columns, customer_raw_versions[source.name])
        kept = previous_parts.get(source.name)
        if not raw_record and kept and kept[1] == made_from and (work.root / kept[0]).exists():
            # The same raw rows mapped the same way: the last run's part is this run's.
            kept_file = sql_literal(str(work.root / kept[0]))
            customer_selects[source.name] = f"SELECT * FROM read_parquet({kept_file})"  # noqa: S608
            parts[source.name] = kept
        else:
            customer_selects[source.name] = customer_mapping_sql(
                source, view, columns, raw_record=raw_record
            )
            part = work.part_path("mapped")
            parts[source.name] = [str(part.relative_to(work.root)), made_from]
            mapped_now.append(source.name)
        loads.append((source.name, table_loaded_at(work, source.name)))
        counts[source.name] = pq.ParquetFile(raw).metadata.num_rows
        for activity in source.activities:
            raw_activity = work.raw_path(source.name, activity.name)
            if raw_activity.exists():
                activity_view = f"raw_{source.name}__{activity.name}"
                con.read_parquet(str(raw_activity)).create_view(activity_view)
                views.append(activity_view)
                select = activity_mapping_sql(source, activity, activity_view)
                activity_selects.append(select)
                version = _raw_version(work, raw_activity)
                activity_inputs.update(f"{select}\0{version[0]}\0{version[1]}\0".encode())
                raw_versions[f"{source.name}.{activity.name}"] = version
    if not customer_selects:
        raise SourceReadError("no source was extracted; check the registry and the extract step")
    if raw_record:
        con.execute(
            "CREATE TABLE mapped AS "
            + " UNION ALL BY NAME ".join(f"({select})" for select in customer_selects.values())
        )
        _write_parts(con, work, "mapped", {name: parts[name][0] for name in mapped_now})
    else:
        # Without the JSON the parts hold every column: only the sources mapped again go
        # through memory, and `mapped` reads the parts (copying the kept sources' rows into a
        # table cost ~0.4 s a night at a million records; a nightly cleanse reads a few
        # columns of them).
        if mapped_now:
            con.execute(
                "CREATE TEMP TABLE __mapped_now AS "
                + " UNION ALL BY NAME ".join(f"({customer_selects[n]})" for n in mapped_now)
            )
            _write_parts(con, work, "__mapped_now", {n: parts[n][0] for n in mapped_now})
            con.execute("DROP TABLE __mapped_now")
        files = ", ".join(sql_literal(str(work.root / part)) for part, _ in parts.values())
        con.execute(f"CREATE VIEW mapped AS SELECT * FROM read_parquet([{files}])")  # noqa: S608
    work.save_parts(
        "mapped",
        [work.root / part for part, _ in parts.values()],
        metadata={
            RAW_VERSIONS: json.dumps(customer_raw_versions),
            MAPPED_PARTS: json.dumps(parts),
        },
    )
    save_source_load(work, loads)
    # The activity (millions of rows) is mapped again only when a raw activity layer or its
    # mapping changed: on most nights none did.
    fingerprint = activity_inputs.hexdigest()
    if work.layer_metadata("activity", "inputs") != fingerprint:
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
                "NULL::DECIMAL(18,2) AS cost, NULL::VARCHAR AS currency, "
                "NULL::VARCHAR AS status, NULL::DECIMAL(18,2) AS satisfaction, "
                "NULL::DECIMAL(18,2) AS open_amount, NULL::TIMESTAMP AS closed_at WHERE false"
            )
        work.save(
            con,
            "activity",
            metadata={"inputs": fingerprint, RAW_VERSIONS: json.dumps(raw_versions)},
        )
    if own:
        con.close()
    else:
        con.execute("DROP TABLE IF EXISTS activity")
        for view in views:
            con.execute(f"DROP VIEW {incremental.ident(view)}")  # noqa: S608
    return counts
