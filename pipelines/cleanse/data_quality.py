"""What `audit.data_quality` counts, record by record: which fields the source supplied and
which are usable after cleansing.

Completeness = usable values / staged records; validity = supplied values that survived
cleansing / supplied values, per source and field. Each staged record's answers are kept as
bits (`quality_bits`) beside the cleanse's base, so that a nightly run counts a million
records from the bits of the records it kept and those of the few it cleansed again, instead
of joining every mapped row to its staged row again. The field list lives here, in the
cleansing package: a change to it changes the cleanse's fingerprint, and no kept bit
outlives the definition it was computed with.
"""

from __future__ import annotations

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


def _supplied(expression: str) -> str:
    return f"nullif(trim(CAST({expression} AS VARCHAR)), '') IS NOT NULL"


def quality_bits_sql() -> str:
    """INTEGER expression over a mapped row `m` and its staged row `s`: bit 2i is set when
    the source supplied field i of QUALITY_FIELDS, bit 2i+1 when it is usable after
    cleansing."""
    terms = []
    for i, (_, supplied, usable) in enumerate(QUALITY_FIELDS):
        terms.append(f"CASE WHEN {_supplied(supplied)} THEN {1 << (2 * i)} ELSE 0 END")
        terms.append(f"CASE WHEN {usable} IS NOT NULL THEN {1 << (2 * i + 1)} ELSE 0 END")
    return "CAST(" + " + ".join(terms) + " AS INTEGER)"


def counts_sql(bits: str) -> str:
    """SELECT source_system, field, records, supplied, usable, valid: the counts of
    QUALITY_FIELDS over relation `bits` (a row per staged record: source_system,
    quality_bits)."""
    sums = []
    for i, _ in enumerate(QUALITY_FIELDS):
        supplied, usable = f"(quality_bits >> {2 * i}) & 1", f"(quality_bits >> {2 * i + 1}) & 1"
        sums.append(
            f"sum({supplied}) AS s{i}, sum({usable}) AS u{i}, sum({supplied} & {usable}) AS v{i}"
        )
    per_field = " UNION ALL ".join(
        f"SELECT source_system, '{field}' AS field, records, s{i} AS supplied, "  # noqa: S608
        f"u{i} AS usable, v{i} AS valid FROM sums"
        for i, (field, _, _) in enumerate(QUALITY_FIELDS)
    )
    # Relation name from the caller, field names constants above. Ordered: a grouping's
    # order varies between runs, and the counts are saved and compared as a layer.
    return (
        f"WITH sums AS (SELECT source_system, count(*) AS records, {', '.join(sums)} "  # noqa: S608
        f"FROM {bits} GROUP BY source_system) "
        f"SELECT * FROM ({per_field}) ORDER BY source_system, field"
    )
