"""Library-backed standardisers registered in DuckDB as vectorised (Arrow) Python UDFs.

DuckDB hands each UDF a batch of up to 2048 values as Arrow arrays; `cleanse.py` calls them
on DISTINCT values (or, inside CASE, only on the rows that need them), never row by row
through pandas.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.cleanse import standardise as std

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


def log_udf_errors(errors: Counter) -> None:
    for name, count in sorted(errors.items()):
        # Values are personal data: only the function and how often it failed are logged.
        log.warning("cleanse: %s raised on %d distinct value(s); fallback used", name, count)
