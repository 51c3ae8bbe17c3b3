"""Turn a source's raw columns into the canonical field names, as SQL built with sqlglot.

Column names, template text, defaults and value maps come from the registry, i.e. from users:
building the statement as a sqlglot expression tree (identifiers quoted, literals escaped)
keeps any of them from being read as SQL.
"""

from __future__ import annotations

import re

from sqlglot import exp

from sources.registry import (
    ACTIVITY_FIELDS,
    CANONICAL_FIELDS,
    ActivitySpec,
    FieldMapping,
    SourceSpec,
)

_TEMPLATE_PARTS = re.compile(r"\{([^{}]+)\}")


def _col(name: str) -> exp.Expression:
    return exp.column(name, quoted=True)


def _lit(value: str) -> exp.Expression:
    return exp.Literal.string(value)


def _func(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _blank_to_null(expression: exp.Expression) -> exp.Expression:
    return _func("nullif", _func("trim", expression), _lit(""))


def _template(template: str) -> exp.Expression:
    """'{street_no} {street}' -> trimmed concatenation; NULL when every column is empty."""
    parts: list[exp.Expression] = []
    columns: list[exp.Expression] = []
    position = 0
    for match in _TEMPLATE_PARTS.finditer(template):
        if match.start() > position:
            parts.append(_lit(template[position : match.start()]))
        column = _col(match.group(1))
        columns.append(column)
        parts.append(_func("coalesce", column.copy(), _lit("")))
        position = match.end()
    if position < len(template):
        parts.append(_lit(template[position:]))
    joined = _func("regexp_replace", _func("concat", *parts), _lit(r"\s+"), _lit(" "), _lit("g"))
    any_value = exp.or_(*[exp.Not(this=exp.Is(this=c, expression=exp.Null())) for c in columns])
    return exp.Case(ifs=[exp.If(this=any_value, true=_blank_to_null(joined))], default=exp.Null())


def field_expression(mapping: FieldMapping | None, default: str | None = None) -> exp.Expression:
    """The text value of one canonical field, with value maps and defaults applied."""
    if mapping is None:
        value: exp.Expression = exp.Null()
    elif mapping.template is not None:
        value = _template(mapping.template)
    else:
        value = _blank_to_null(exp.cast(_col(mapping.column or ""), "VARCHAR"))
    if mapping is not None and mapping.values:
        value = exp.Case(
            this=value,
            ifs=[exp.If(this=_lit(k), true=_lit(v)) for k, v in sorted(mapping.values.items())],
            default=value.copy(),
        )
    if default is not None:
        value = _func("coalesce", value, _lit(default))
    return exp.cast(value, "VARCHAR")


def _timestamp(mapping: FieldMapping | None) -> exp.Expression:
    if mapping is None:
        return exp.cast(exp.Null(), "TIMESTAMP")
    text = field_expression(mapping)
    if mapping.format:
        return _func("try_strptime", text, _lit(mapping.format))
    return exp.TryCast(this=text, to=exp.DataType.build("TIMESTAMP"))


# Raw text of a CSV line that did not parse (sources.connectors.MALFORMED_COLUMN).
MALFORMED_COLUMN = "_malformed_row"


def _raw_record(columns: list[str]) -> exp.Expression:
    """The row as read, as JSON. A malformed CSV line has no columns, only its raw text: that
    text is what quarantine keeps for it."""
    args: list[exp.Expression] = []
    for name in columns:
        if name != MALFORMED_COLUMN:
            args.extend([_lit(name), _col(name)])
    record = exp.cast(_func("json_object", *args), "VARCHAR")
    if MALFORMED_COLUMN not in columns:
        return record
    malformed = _col(MALFORMED_COLUMN)
    return exp.Case(
        ifs=[
            exp.If(
                this=exp.Not(this=exp.Is(this=malformed, expression=exp.Null())),
                true=exp.cast(
                    _func("json_object", _lit(MALFORMED_COLUMN), malformed.copy()), "VARCHAR"
                ),
            )
        ],
        default=record,
    )


# A mapped row's fingerprint of its raw row (every column as read): what tells a nightly
# cleanse that a record changed when `raw_record`, the row as JSON, is not built.
RAW_HASH = "raw_hash"


def _raw_hash(columns: list[str]) -> exp.Expression:
    return _func("hash", *[_col(name) for name in columns])


def customer_mapping_sql(
    source: SourceSpec,
    raw_view: str,
    columns: list[str],
    *,
    raw_record: bool = True,
) -> str:
    """SELECT producing the `mapped` contract (docs/architecture.md) for one source (when
    its table was read is the `source_load` layer's, not a column). Without `raw_record` (the
    row as JSON, built for every row) only `raw_hash` says what was read:
    `raw_records_sql` builds the JSON for the rows that need it."""
    birth = source.fields.get("birth_date")
    select: list[exp.Expression] = [
        exp.alias_(_lit(source.name), "source_system"),
        exp.alias_(exp.cast(_col("_source_row_number"), "BIGINT"), "source_row_number"),
        exp.alias_(
            field_expression(FieldMapping("id", column=source.primary_key)), "source_record_id"
        ),
    ]
    for name in CANONICAL_FIELDS:
        select.append(
            exp.alias_(field_expression(source.fields.get(name), source.defaults.get(name)), name)
        )
    select += [
        exp.alias_(
            exp.cast(_lit(birth.format) if birth and birth.format else exp.Null(), "VARCHAR"),
            "birth_date_format",
        ),
        exp.alias_(
            _timestamp(FieldMapping("w", column=source.watermark) if source.watermark else None),
            "source_updated_at",
        ),
        exp.alias_(_raw_hash(columns), RAW_HASH),
    ]
    if raw_record:
        select.append(exp.alias_(_raw_record(columns), "raw_record"))
    query = (
        exp.select(*select)
        .from_(exp.to_table(raw_view, quoted=True))
        .order_by(_col("_source_row_number"))
    )
    return query.sql(dialect="duckdb")


def activity_mapping_sql(source: SourceSpec, activity: ActivitySpec, raw_view: str) -> str:
    """SELECT producing canonical activity rows for one activity table of a source (without
    the raw row: `raw_records_sql` reads it back for the rows the quarantine keeps)."""
    fields = activity.fields
    numeric = {"amount", "cost", "open_amount", "satisfaction"}
    select: list[exp.Expression] = [
        exp.alias_(_lit(source.name), "source_system"),
        exp.alias_(_lit(activity.name), "activity_name"),
        exp.alias_(exp.cast(_col("_source_row_number"), "BIGINT"), "source_row_number"),
        exp.alias_(_lit(activity.type), "activity_type"),
        exp.alias_(
            field_expression(FieldMapping("id", column=activity.primary_key)), "activity_id"
        ),
        exp.alias_(
            field_expression(FieldMapping("k", column=activity.customer_key)), "source_record_id"
        ),
    ]
    for name in ACTIVITY_FIELDS:
        if name in {"occurred_at", "closed_at"}:
            value = _timestamp(fields.get(name))
        elif name in numeric:
            value = exp.TryCast(
                this=field_expression(fields.get(name)),
                to=exp.DataType.build("DECIMAL(18,2)"),
            )
        else:
            value = field_expression(fields.get(name))
        select.append(exp.alias_(value, name))
    return exp.select(*select).from_(exp.to_table(raw_view, quoted=True)).sql(dialect="duckdb")


def raw_records_sql(table: str, raw_file: str, columns: list[str], keys: str) -> str:
    """SELECT source_system (`table`: '<source>' or '<source>.<activity>'), source_row_number,
    raw_record (the row as read, as JSON) of the rows of the raw layer `raw_file` that
    relation `keys` names by (source_system, source_row_number). The JSON is built only for
    those rows: the filter comes before the projection."""
    wanted = (
        exp.select(_col("source_row_number"))
        .from_(exp.to_table(keys, quoted=True))
        .where(exp.EQ(this=_col("source_system"), expression=_lit(table)))
    )
    return (
        exp.select(
            exp.alias_(_lit(table), "source_system"),
            exp.alias_(exp.cast(_col("_source_row_number"), "BIGINT"), "source_row_number"),
            exp.alias_(_raw_record(columns), "raw_record"),
        )
        .from_(_func("read_parquet", _lit(raw_file)))
        .where(exp.In(this=_col("_source_row_number"), query=wanted.subquery()))
        .sql(dialect="duckdb")
    )
