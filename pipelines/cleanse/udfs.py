"""Library-backed standardisers, applied to Arrow arrays of distinct values.

Two ways in: registered in DuckDB as vectorised (Arrow) UDFs, which the macros call inside
CASE on only the rows that need them; and `LookupRunner`, which applies them to a lookup's
DISTINCT values outside DuckDB. The libraries are pure Python and hold the GIL, so a lookup
with many values runs half in a helper process and half here at once: both cores instead of
one (the phone lookup of the 1M-record demo took 6.6 s on one core).
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.cleanse import standardise as std
from pipelines.cleanse.stages import Lookup

log = logging.getLogger(__name__)


def _arrow_udf(
    name: str,
    fn: Callable[..., Any],
    arity: int,
    out_type: pa.DataType,
    fallback: Any,
    errors: Counter,
) -> Callable[..., pa.Array]:
    """Wrap a per-value function for a batch. A value that makes a library raise gets the
    fallback result and is counted, so one odd value cannot stop the nightly run."""
    is_struct = pa.types.is_struct(out_type)

    def call(*args: Any) -> Any:
        try:
            result = fn(*args)
        except Exception:  # noqa: BLE001 - counted and reported, see docstring
            errors[name] += 1
            result = fallback
        return result._asdict() if is_struct and result is not None else result

    def batch(*columns: pa.ChunkedArray) -> pa.Array:
        values = [column.to_pylist() for column in columns]
        return pa.array([call(*row) for row in zip(*values, strict=True)], type=out_type)

    # DuckDB checks the Python signature against the declared parameter count.
    if arity == 1:
        return lambda a: batch(a)
    return lambda a, b: batch(a, b)


def _struct(**fields: pa.DataType) -> pa.DataType:
    return pa.struct(list(fields.items()))


def _duck_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_struct(arrow_type):
        inner = ", ".join(f"{f.name} {_duck_type(f.type)}" for f in arrow_type)
        return f"STRUCT({inner})"
    return {pa.string(): "VARCHAR", pa.bool_(): "BOOLEAN", pa.date32(): "DATE"}[arrow_type]


def _udf_specs(today: date) -> list[tuple[str, Callable[..., Any], int, pa.DataType, Any]]:
    s = pa.string()
    return [
        ("_cl_repair", std.repair_mojibake, 1, s, None),
        ("_cl_translit", std.transliterate, 1, s, ""),
        ("_cl_email_slow", lambda v: std.standardise_email(v).normalized, 1, s, None),
        ("_cl_country", std.standardise_country, 1, s, None),
        ("_cl_party", std.canonical_party_type, 1, s, None),
        ("_cl_given", std.strip_honorifics, 1, s, None),
        ("_cl_split", std.split_full_name, 2, _struct(given=s, family=s), None),
        ("_cl_company", std.standardise_company, 1,
         _struct(display=s, key=s, legal_form=s), None),
        ("_cl_tax", std.standardise_tax_id, 1,
         _struct(value=s, kind=s, valid=pa.bool_()), None),
        ("_cl_phone", std.standardise_phone, 2, _struct(e164=s, status=s),
         std.Phone(None, "unparseable")),
        ("_cl_postcode", std.standardise_postcode, 2, _struct(value=s, status=s),
         std.Postcode(None, "invalid")),
        ("_cl_birth_date", lambda v, f: std.parse_birth_date(v, f, today), 2,
         _struct(value=pa.date32(), status=s), std.BirthDate(None, "unparseable")),
    ]


def register_udfs(con: duckdb.DuckDBPyConnection, today: date) -> Counter:
    """Register the `_cl_*` UDFs on `con`; returns the per-UDF counter of values that raised."""
    errors: Counter = Counter()
    for name, fn, arity, out_type, fallback in _udf_specs(today):
        try:
            con.remove_function(name)
        except duckdb.InvalidInputException:
            pass
        con.create_function(
            name,
            _arrow_udf(name, fn, arity, out_type, fallback, errors),
            ["VARCHAR"] * arity,
            _duck_type(out_type),
            type="arrow",
            null_handling="special",
        )
    return errors


def _spec(name: str, today: date) -> tuple[str, Callable[..., Any], int, pa.DataType, Any]:
    return next(spec for spec in _udf_specs(today) if spec[0] == name)


def apply_udf(name: str, today: date, columns: list[Any], errors: Counter) -> pa.Array:
    """The `_cl_*` function `name` over Arrow columns, as the UDF computes it in DuckDB."""
    _name, fn, arity, out_type, fallback = _spec(name, today)
    return _arrow_udf(name, fn, arity, out_type, fallback, errors)(*columns)


# Below this many distinct values a lookup runs here alone: the helper's start (1.1 s of
# imports) would cost more than half the work saves.
PARALLEL_MIN_VALUES = 20_000


# A helper that is alive but uses no CPU for this long while its answer is due is stuck, not
# slow (a computing helper keeps a core busy): its half is then computed here. Seen once, with
# both processes waiting on each other's pipe while a profiler was pausing them; a nightly run
# must not hang on a speed-up.
HELPER_STALL_SECONDS = 30.0


class HelperStalled(OSError):
    """The lookup helper stopped working without exiting."""


def _cpu_seconds(pid: int) -> float | None:
    """CPU time used so far by process `pid` (Linux /proc); None where that is not readable,
    and then a helper is never taken for stuck."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # utime and stime: the 14th and 15th fields of stat, counted after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Helper:
    """The helper process (`pipelines.cleanse.helper`): one request at a time."""

    def __init__(self, command: list[str] | None = None) -> None:
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        self.process = subprocess.Popen(
            command or [sys.executable, "-m", "pipelines.cleanse.helper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def send(self, name: str, today: date, rows: pa.Table) -> None:
        request = rows.replace_schema_metadata({"udf": name, "today": today.isoformat()})
        with pa.ipc.new_stream(self.process.stdin, request.schema) as writer:
            writer.write_table(request)
        self.process.stdin.flush()  # type: ignore[union-attr]

    def receive(self) -> tuple[pa.ChunkedArray, int]:
        self._wait_for_reply()
        reply = pa.ipc.open_stream(self.process.stdout).read_all()
        return reply.column("v"), int((reply.schema.metadata or {})[b"errors"])

    def _wait_for_reply(self) -> None:
        """Return once the reply starts to arrive. Raises OSError if the helper exits first,
        HelperStalled if it waits without computing for HELPER_STALL_SECONDS."""
        stdout = self.process.stdout
        assert stdout is not None
        cpu, since = _cpu_seconds(self.process.pid), time.monotonic()
        while not select.select([stdout], [], [], 1.0)[0]:
            if self.process.poll() is not None:
                raise OSError(f"the helper exited with code {self.process.returncode}")
            now = _cpu_seconds(self.process.pid)
            if now is None or now != cpu:
                cpu, since = now, time.monotonic()
            elif time.monotonic() - since > HELPER_STALL_SECONDS:
                raise HelperStalled(
                    f"the helper (pid {self.process.pid}) used no CPU for "
                    f"{HELPER_STALL_SECONDS:.0f} s while its answer was due"
                )

    def close(self) -> None:
        try:
            self.process.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass  # the helper is gone already
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class LookupRunner:
    """Creates each lookup table (`stages.Lookup`): distinct keys, the function applied to
    them, one row per key combination. A lookup of many values is split in two halves
    computed at once, one by a helper process (`close` stops it)."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, today: date, errors: Counter, *, input_rows: int
    ) -> None:
        self.con = con
        self.today = today
        self.errors = errors
        # Started now, so that its imports overlap the SQL before the first lookup; not at
        # all when no lookup can reach PARALLEL_MIN_VALUES (it has at most `input_rows`).
        wanted = input_rows >= PARALLEL_MIN_VALUES and (os.cpu_count() or 1) > 1
        self._helper = _Helper() if wanted else None

    def run(self, lookup: Lookup) -> None:
        if lookup.fast is None:
            rows = self.con.sql(lookup.distinct_sql()).to_arrow_table()
        else:
            # The keys the fast path answers never reach the library.
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE _cl_lookup_fast AS "  # noqa: S608 - constants
                f"SELECT *, {lookup.fast} AS v FROM ({lookup.distinct_sql()})"
            )
            rows = self.con.sql(
                "SELECT * EXCLUDE (v) FROM _cl_lookup_fast WHERE v IS NULL"
            ).to_arrow_table()
        rows_here = rows
        shared = self._helper is not None and rows.num_rows >= PARALLEL_MIN_VALUES
        if shared:
            half = rows.num_rows // 2
            try:
                self._helper.send(lookup.udf, self.today, rows[half:])  # type: ignore[union-attr]
                rows_here = rows[:half]
            except OSError as exc:
                self._lost_helper(exc)
                shared = False
        values = [apply_udf(lookup.udf, self.today, rows_here.columns, self.errors)]
        if shared:
            values.extend(self._helper_half(lookup, rows[rows_here.num_rows:]))
        self.con.register("_cl_lookup_rows", rows.append_column("v", pa.chunked_array(values)))
        # The table name is one of stages.py's constants.
        fast = ""
        if lookup.fast is not None:
            fast = " UNION ALL BY NAME SELECT * FROM _cl_lookup_fast WHERE v IS NOT NULL"
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {lookup.table} AS SELECT * FROM _cl_lookup_rows{fast}"  # noqa: S608
        )
        self.con.unregister("_cl_lookup_rows")
        self.con.execute("DROP TABLE IF EXISTS _cl_lookup_fast")

    def _helper_half(self, lookup: Lookup, rows: pa.Table) -> list[pa.Array]:
        """The helper's answer for `rows`; computed here instead if the helper failed."""
        try:
            values, errors = self._helper.receive()  # type: ignore[union-attr]
        except (pa.ArrowInvalid, OSError, KeyError, ValueError) as exc:
            self._lost_helper(exc)
            return [apply_udf(lookup.udf, self.today, rows.columns, self.errors)]
        if errors:
            self.errors[lookup.udf] += errors
        return list(values.chunks)

    def _lost_helper(self, error: Exception) -> None:
        # Only a speed-up: the run goes on in this process alone.
        if isinstance(error, HelperStalled) and self._helper is not None:
            self._helper.process.kill()
            self._helper.process.wait()
        exit_code = self._helper.process.poll() if self._helper else None
        log.warning(
            "cleanse: the lookup helper process failed (%s; exit code %s; any error of its own "
            "is on stderr above); the remaining lookups run in this process alone, more slowly",
            error,
            exit_code,
        )
        self.close()

    def close(self) -> None:
        if self._helper is not None:
            self._helper.close()
            self._helper = None


def log_udf_errors(errors: Counter) -> None:
    for name, count in sorted(errors.items()):
        # Values are personal data: only the function and how often it failed are logged.
        log.warning("cleanse: %s raised on %d distinct value(s); fallback used", name, count)
