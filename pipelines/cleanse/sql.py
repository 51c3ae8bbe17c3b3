"""DuckDB macros mirroring `text.py`, so hygiene and keys run set-based instead of in Python.

Every pattern here is generated from the constants in `text.py` / `contact.py`; the unit
tests run both paths on the same inputs and require identical results.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from pipelines.cleanse.contact import (
    EMAIL_FAST_RE,
    EMAIL_SPECIAL_TLDS,
    PHONE_LAYOUT_CHARS_RE,
    PHONE_LAYOUT_ONLY_RE,
    PHONE_REGIONS,
    PhoneDesc,
    PhoneRegionRule,
    phone_validity_rules,
)
from pipelines.cleanse.text import (
    DROP_RANGES,
    FORMULA_RE2,
    SPACE_RANGES,
    SUSPECT_RE2,
    re2_class,
)


def _lit(text: str) -> str:
    """A SQL string literal. Only ever applied to the module constants above."""
    return "'" + text.replace("'", "''") + "'"


_DROP = _lit(re2_class(DROP_RANGES))
_SPACES = _lit(re2_class(SPACE_RANGES) + "+")
# Most values are already clean; this finds the ones hygiene would change (other than by
# NFC), so the costly replacements run only on those.
_DIRTY = _lit(
    re2_class(DROP_RANGES)
    + "|"
    + re2_class([r for r in SPACE_RANGES if r != (0x20, 0x20)])
    + "|^ | $|  "
)
# Values whose accents DuckDB's strip_accents removes exactly as unidecode would: characters
# up to U+024F (checked exhaustively). Anything else goes to the `_cl_translit` UDF.
_LATIN = _lit(r"^[\x{0}-\x{24F}]*$")
_ASCII = _lit(r"^[\x{0}-\x{7F}]*$")
_SPECIAL_TLDS = ", ".join(_lit(t) for t in EMAIL_SPECIAL_TLDS)

MACROS = f"""
CREATE OR REPLACE TEMP MACRO _cl_hyg(x) AS
    nullif(CASE WHEN regexp_matches(x, {_DIRTY})
                THEN trim(regexp_replace(nfc_normalize(regexp_replace(x, {_DROP}, '', 'g')),
                                         {_SPACES}, ' ', 'g'))
                ELSE nfc_normalize(x) END, '');

CREATE OR REPLACE TEMP MACRO _cl_suspect(x) AS regexp_matches(x, {_lit(SUSPECT_RE2)});

CREATE OR REPLACE TEMP MACRO _cl_repaired(x) AS
    CASE WHEN regexp_matches(x, {_lit(SUSPECT_RE2)}) THEN _cl_repair(x) ELSE x END;

CREATE OR REPLACE TEMP MACRO _cl_repair_changed(x) AS
    CASE WHEN regexp_matches(x, {_lit(SUSPECT_RE2)}) THEN _cl_repair(x) <> x ELSE false END;

CREATE OR REPLACE TEMP MACRO _cl_formula(x) AS regexp_matches(x, {_lit(FORMULA_RE2)});

CREATE OR REPLACE TEMP MACRO _cl_trunc(x, n) AS
    CASE
        WHEN length(x) <= n THEN x
        WHEN substr(x, n + 1, 1) = ' ' THEN rtrim(left(x, n))
        WHEN length(regexp_replace(left(x, n), ' [^ ]*$', '')) < n
             AND length(regexp_replace(left(x, n), ' [^ ]*$', '')) >= n // 2
            THEN rtrim(regexp_replace(left(x, n), ' [^ ]*$', ''))
        ELSE left(x, n)
    END;

CREATE OR REPLACE TEMP MACRO _cl_ascii(x) AS
    CASE
        WHEN regexp_matches(x, {_ASCII}) THEN x
        WHEN regexp_matches(x, {_LATIN}) AND regexp_matches(strip_accents(x), {_ASCII})
            THEN strip_accents(x)
        ELSE _cl_translit(x)
    END;

-- Most values only need lower(); the replacements run on the others (unidecode output can
-- also bring leading, trailing or double spaces).
CREATE OR REPLACE TEMP MACRO _cl_key_ascii(x) AS
    CASE WHEN regexp_matches(lower(x), '[^a-z0-9 ]|^ | $|  ')
         THEN nullif(trim(regexp_replace(
             regexp_replace(regexp_replace(lower(x), '[''`.]', '', 'g'), '[^a-z0-9 ]+', ' ', 'g'),
             ' {{2,}}', ' ', 'g')), '')
         ELSE nullif(lower(x), '') END;

CREATE OR REPLACE TEMP MACRO _cl_key(x) AS _cl_key_ascii(_cl_ascii(x));

CREATE OR REPLACE TEMP MACRO _cl_compact_phone(x) AS
    CASE WHEN regexp_matches(x, {_lit(PHONE_LAYOUT_ONLY_RE)})
         THEN regexp_replace(x, {_lit(PHONE_LAYOUT_CHARS_RE)}, '', 'g') ELSE x END;

-- Mirrors contact.phone_lookup_key; r is the row of _cl_phone_regions for the region.
CREATE OR REPLACE TEMP MACRO _cl_phone_key(x, region, code, idd_00, no_prefix, shortest, longest)
    AS CASE
        WHEN x IS NULL THEN NULL
        WHEN regexp_matches(x, '^\+[1-9][0-9]*$') THEN {{'number': x, 'region': ''}}
        WHEN idd_00 AND regexp_matches(x, '^00[1-9][0-9]*$')
            THEN {{'number': '+' || substr(x, 3), 'region': ''}}
        WHEN no_prefix AND regexp_matches(x, '^[1-9][0-9]*$')
             AND length(x) BETWEEN shortest AND longest AND NOT starts_with(x, code)
            THEN {{'number': '+' || code || x, 'region': ''}}
        ELSE {{'number': x, 'region': region}}
    END;

CREATE OR REPLACE TEMP MACRO _cl_email_fast(x) AS
    length(x) <= 254
    AND regexp_matches(x, {_lit(EMAIL_FAST_RE)})
    AND length(split_part(x, '@', 1)) <= 64
    AND NOT contains(split_part(x, '@', 2), '--')
    AND lower(regexp_extract(x, '\\.([A-Za-z]+)$', 1)) NOT IN ({_SPECIAL_TLDS});

CREATE OR REPLACE TEMP MACRO _cl_email_normal(x) AS
    split_part(x, '@', 1) || '@' || lower(split_part(x, '@', 2));
"""  # noqa: S608 - built from the module constants above


def _phone_desc_sql(x: str, desc: PhoneDesc) -> str:
    match = f"regexp_full_match({x}, {_lit(desc.pattern)})"
    if not desc.lengths:
        return match
    return f"(length({x}) IN ({', '.join(str(n) for n in desc.lengths)}) AND {match})"


def _phone_region_valid_sql(x: str, rule: PhoneRegionRule) -> str:
    if rule.general is None or not rule.types:
        return "false"
    types = " OR ".join(_phone_desc_sql(x, t) for t in rule.types)
    return f"({_phone_desc_sql(x, rule.general)} AND ({types}))"


def _phone_code_valid_sql(x: str, rules: list[PhoneRegionRule]) -> str:
    """The library's choice of region (the first whose leading digits start the number, or
    without leading digits, the first the number is valid in), then validity there. A last
    region without leading digits is the answer for every number that reaches it (its
    validity, not a CASE around it)."""
    fallback = "false"
    if rules[-1].leading_digits is None:
        *rules, last = rules
        fallback = _phone_region_valid_sql(x, last)
    branches = []
    for rule in rules:
        valid = _phone_region_valid_sql(x, rule)
        if rule.leading_digits is None:
            branches.append(f"WHEN {valid} THEN true")
        else:
            leading = _lit("^(?:" + rule.leading_digits + ")")
            branches.append(f"WHEN regexp_matches({x}, {leading}) THEN {valid}")
    if not branches:
        return fallback
    return f"CASE {' '.join(branches)} ELSE {fallback} END"


def phone_valid_macro() -> str:
    """`_cl_phone_valid(x)`: for a "+<digits>" lookup key of a verbatim calling code (see
    contact._parse_international), whether phonenumbers takes it for a valid number (its
    E.164 form is the key itself); NULL for any other key, which the library decides. The
    library's validity check alone took ~13 µs a number at a million records, in Python on
    one core per process; this verdict for the 339,248 international keys there took 0.31 s
    in DuckDB (287,742 of them decided)."""
    branches = []
    for code, rules in phone_validity_rules().items():
        size = len(str(code)) + 1
        national = f"substr(x, {size + 1})"
        branches.append(
            f"WHEN starts_with(x, '+{code}') THEN CASE WHEN length(x) - {size} BETWEEN 2 AND 17 "
            f"AND substr(x, {size + 1}, 1) <> '0' THEN {_phone_code_valid_sql(national, rules)} END"
        )
    return (
        "CREATE OR REPLACE TEMP MACRO _cl_phone_valid(x) AS CASE "
        "WHEN x IS NULL OR NOT regexp_full_match(x, '\\+[1-9][0-9]*') THEN NULL "
        + " ".join(branches)
        + " END"
    )


PHONE_VALID_MACRO = phone_valid_macro()


def _phone_regions() -> pa.Table:
    rows = sorted(PHONE_REGIONS.items())
    columns = list(zip(*[(region, str(m[0]), *m[1:]) for region, m in rows], strict=True))
    names = ["pr_region", "pr_code", "pr_idd_00", "pr_no_prefix", "pr_shortest", "pr_longest"]
    return pa.table(dict(zip(names, columns, strict=True)))


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the `_cl_*` macros and the `_cl_phone_regions` table (phonenumbers metadata).

    The `_cl_*` UDFs the macros call must be registered first.
    """
    con.execute(MACROS)
    con.execute(PHONE_VALID_MACRO)
    regions = _phone_regions()  # noqa: F841 - read by DuckDB's replacement scan below
    con.execute("CREATE OR REPLACE TEMP TABLE _cl_phone_regions AS SELECT * FROM regions")
