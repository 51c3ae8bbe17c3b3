"""What `audit.data_quality` and the source assessment count, record by record: which fields
the source supplied and which are usable after cleansing.

Completeness = usable values / staged records; validity = supplied values that survived
cleansing / supplied values, per source and field. Each staged record's answers are kept as
bits (`quality_bits`) beside the cleanse's base, so that a nightly run counts a million
records from the bits of the records it kept and those of the few it cleansed again, instead
of joining every mapped row to its staged row again. The field list lives here, in the
cleansing package: a change to it changes the cleanse's fingerprint, and no kept bit
outlives the definition it was computed with.

The source assessment's validity (`extract.assessment`) has bits of its own after those:
per canonical field, whether the mapped value was there and whether the staged one still is.
"""

from __future__ import annotations

from sources.registry import CANONICAL_FIELDS

# (field, value as the source supplied it in `mapped` m, usable value after cleansing in
# `staged` s).
QUALITY_FIELDS: tuple[tuple[str, str, str], ...] = (
    (
        "name",
        "coalesce(m.given_name, m.family_name, m.full_name, m.company_name)",
        "coalesce(s.given_name, s.family_name, s.full_name, s.company_name)",
    ),
    ("email", "m.email", "s.email"),
    ("phone", "m.phone", "s.phone"),
    ("address_line1", "m.address_line1", "s.address_line1"),
    ("postcode", "m.postcode", "s.postcode"),
    ("city", "m.city", "s.city"),
    ("country", "m.country", "s.country"),
    ("birth_date", "m.birth_date", "s.birth_date"),
    # A tax id whose control character is wrong is kept for matching but is not valid.
    ("tax_id", "m.tax_id", "CASE WHEN s.tax_id_valid IS NOT FALSE THEN s.tax_id END"),
)


# The source assessment's fields: every canonical field cleansing can reject.
VALIDATED_FIELDS = tuple(f for f in CANONICAL_FIELDS if f != "party_type")
# Where their bits start in `quality_bits` (after QUALITY_FIELDS' two each).
_VALIDATED_BASE = 2 * len(QUALITY_FIELDS)


def _supplied(expression: str) -> str:
    return f"nullif(trim(CAST({expression} AS VARCHAR)), '') IS NOT NULL"


def quality_bits_sql() -> str:
    """BIGINT expression over a mapped row `m` and its staged row `s`: bit 2i is set when
    the source supplied field i of QUALITY_FIELDS, bit 2i+1 when it is usable after
    cleansing; then, from bit `_VALIDATED_BASE`, two per VALIDATED_FIELDS field: the mapped
    value is not null, the staged value is not null."""
    terms = []
    for i, (_, supplied, usable) in enumerate(QUALITY_FIELDS):
        terms.append(f"CASE WHEN {_supplied(supplied)} THEN {1 << (2 * i)} ELSE 0 END")
        terms.append(f"CASE WHEN {usable} IS NOT NULL THEN {1 << (2 * i + 1)} ELSE 0 END")
    for j, field in enumerate(VALIDATED_FIELDS):
        bit = _VALIDATED_BASE + 2 * j
        # Canonical field names are plain identifiers (code constants).
        terms.append(f"CASE WHEN m.{field} IS NOT NULL THEN {1 << bit} ELSE 0 END")
        terms.append(f"CASE WHEN s.{field} IS NOT NULL THEN {1 << (bit + 1)} ELSE 0 END")
    # The first terms sum below 2^18; the later constants are BIGINTs, and so is the sum.
    return "CAST(" + " + ".join(terms) + " AS BIGINT)"


def joined_bits_sql(staged: str = "staged", mapped: str = "mapped") -> str:
    """SELECT source_system, quality_bits: every staged record's bits, counted from relation
    `staged` joined to its row in `mapped` (what a consumer does when the staging stage's
    saved counts do not describe the staged layer it reads)."""
    return (
        f"SELECT s.source_system, {quality_bits_sql()} AS quality_bits "  # noqa: S608
        f"FROM {staged} s JOIN {mapped} m USING (source_system, source_row_number)"
    )


def _per_source_and_field(bits: str, sums: list[str], rows: list[str]) -> str:
    """The shell of both counts: `sums` (aggregates over relation `bits`, grouped by source)
    turned into one row per source and field by `rows` (SELECTs over `sums`). Relation
    name from the caller, field names constants. Ordered: a grouping's order varies between
    runs, and the counts are saved and compared as a layer."""
    return (
        f"WITH sums AS (SELECT source_system, {', '.join(sums)} "  # noqa: S608
        f"FROM {bits} GROUP BY source_system) "
        f"SELECT * FROM ({' UNION ALL '.join(rows)}) ORDER BY source_system, field"
    )


def counts_sql(bits: str) -> str:
    """SELECT source_system, field, records, supplied, usable, valid: the counts of
    QUALITY_FIELDS over relation `bits` (a row per staged record: source_system,
    quality_bits)."""
    sums, rows = ["count(*) AS records"], []
    for i, (field, _, _) in enumerate(QUALITY_FIELDS):
        supplied, usable = f"(quality_bits >> {2 * i}) & 1", f"(quality_bits >> {2 * i + 1}) & 1"
        sums.append(
            f"sum({supplied}) AS s{i}, sum({usable}) AS u{i}, sum({supplied} & {usable}) AS v{i}"
        )
        rows.append(
            f"SELECT source_system, '{field}' AS field, records, s{i} AS supplied, "  # noqa: S608
            f"u{i} AS usable, v{i} AS valid FROM sums"
        )
    return _per_source_and_field(bits, sums, rows)


def validity_counts_sql(bits: str) -> str:
    """SELECT source_system, field, supplied, kept: per source and VALIDATED_FIELDS field,
    the staged records whose mapped value was there, and of those, the ones whose value
    survived cleansing; over relation `bits` (as for `counts_sql`)."""
    sums, rows = [], []
    for j, field in enumerate(VALIDATED_FIELDS):
        bit = _VALIDATED_BASE + 2 * j
        supplied, kept = f"(quality_bits >> {bit}) & 1", f"(quality_bits >> {bit + 1}) & 1"
        sums.append(f"sum({supplied}) AS s{j}, sum({supplied} & {kept}) AS k{j}")
        rows.append(
            f"SELECT source_system, '{field}' AS field, s{j} AS supplied, k{j} AS kept FROM sums"  # noqa: S608
        )
    return _per_source_and_field(bits, sums, rows)
