"""The SQL of the cleansing stage, one statement per step, generated from `rules.py`.

Only module constants are interpolated into these statements (field names, patterns,
message templates); data never is. Each step materialises a temp table so that the Python
UDFs behind a column run once, not once per reference. The UDF lookups are run by
`udfs.LookupRunner` (on distinct values, on both cores when there are many).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.cleanse import rules
from pipelines.cleanse.rules import DISPLAY_FIELDS, NAME_FIELDS, TEXT_FIELDS, flag
from pipelines.cleanse.sql import _lit

INPUT_VIEW = "_cl_mapped"
TEMP_TABLES = (
    "_cl_in", "_cl_h", "_cl_t", "_cl_p", "_cl_s", "_cl_final",
    "_cl_lk_country", "_cl_lk_party", "_cl_lk_tax", "_cl_lk_given", "_cl_lk_split",
    "_cl_lk_company", "_cl_lk_email", "_cl_lk_phone", "_cl_phone_regions", "_cl_lk_postcode",
    "_cl_lk_date",
)
REQUIRED_COLUMNS = (
    "source_system", "source_row_number", "source_record_id", *TEXT_FIELDS,
    "birth_date_format", "source_updated_at", "raw_record",
)
STAGED_COLUMNS = (
    "record_key", "source_system", "source_record_id", "party_type",
    "given_name", "family_name", "full_name", "company_name", "email", "phone",
    "address_line1", "address_line2", "city", "region", "postcode", "country",
    "birth_date", "tax_id", "tax_id_valid",
    "given_name_key", "family_name_key", "full_name_key", "company_name_key",
    "address_key", "city_key", "email_key", "postcode_key",
    "quality_flags", "source_updated_at", "source_row_number",
)
QUARANTINE_COLUMNS = (
    "source_system", "source_record_id", "source_row_number", "reason_code",
    "reason_message", "raw_record",
)


def _csv(items) -> str:
    return ",\n    ".join(items)


def _flags(conditions: list[tuple[str, str]]) -> str:
    """VARCHAR[] of the flag names whose condition holds, in name order.

    concat_ws skips NULLs, which makes this several times cheaper per row than filtering
    and sorting a list of ~70 CASE results; flag names contain no comma.
    """
    cases = ", ".join(
        f"CASE WHEN {cond} THEN {_lit(name)} END" for name, cond in sorted(conditions)
    )
    joined = f"concat_ws(',', {cases})"
    return f"CASE WHEN {joined} = '' THEN []::VARCHAR[] ELSE string_split({joined}, ',') END"


def load_input() -> str:
    # DuckDB preserves insertion order, so the row id follows the order rows were read in.
    text = [f"CAST({f} AS VARCHAR) AS {f}" for f in TEXT_FIELDS]
    return f"""
CREATE OR REPLACE TEMP TABLE _cl_in AS
SELECT
    row_number() OVER () AS _rid,
    CAST(source_system AS VARCHAR) AS source_system,
    CAST(source_row_number AS BIGINT) AS source_row_number,
    CAST(source_record_id AS VARCHAR) AS source_record_id,
    {_csv(text)},
    CAST(birth_date_format AS VARCHAR) AS birth_date_format,
    CAST(source_updated_at AS TIMESTAMP) AS source_updated_at,
    CAST(raw_record AS VARCHAR) AS raw_record
FROM {INPUT_VIEW}"""  # noqa: S608 - constants only


def hygiene() -> str:
    # Mojibake is repaired on the raw value: hygiene would drop the C1 controls it contains.
    cols = []
    for f in TEXT_FIELDS:
        cols.append(f"_cl_hyg(_cl_repaired({f})) AS {f}")
        cols.append(f"coalesce(_cl_repair_changed({f}), false) AS {f}__moj")
    return f"""
CREATE OR REPLACE TEMP TABLE _cl_h AS
SELECT
    _rid,
    _cl_hyg(source_record_id) AS source_record_id,
    nullif(trim(birth_date_format), '') AS birth_date_format,
    {_csv(cols)}
FROM _cl_in"""  # noqa: S608 - constants only


def text_checks() -> str:
    cols = []
    for f, max_length in TEXT_FIELDS.items():
        cols.append(f"{f}__moj")
        cols.append(f"coalesce(_cl_suspect({f}), false) AS {f}__und")
        # Undecodable names quarantine the record (below); other fields are just dropped.
        value = f if f in NAME_FIELDS else f"CASE WHEN _cl_suspect({f}) THEN NULL ELSE {f} END"
        if max_length is None:
            cols.append(f"{value} AS {f}")
            cols.append(f"false AS {f}__trunc")
        else:
            cols.append(f"_cl_trunc({value}, {max_length}) AS {f}")
            cols.append(f"coalesce(length({f}) > {max_length}, false) AS {f}__trunc")
        formula = f"coalesce(_cl_formula({f}), false)" if f in DISPLAY_FIELDS else "false"
        cols.append(f"{formula} AS {f}__formula")
    return f"""
CREATE OR REPLACE TEMP TABLE _cl_t AS
SELECT _rid, source_record_id, birth_date_format,
    {_csv(cols)}
FROM _cl_h"""  # noqa: S608 - constants only


@dataclass(frozen=True)
class Lookup:
    """A UDF called once per distinct key combination; the table `table` holds the keys and
    the result `v`, joined back on the keys. A key is a column name, or "expression AS
    name" (the lookup table's column is then `name`)."""

    table: str
    udf: str
    keys: tuple[str, ...]
    source: str
    where: str
    # An SQL expression over the lookup table's key columns giving the UDF's result where
    # it is known without the library, NULL where the UDF must run.
    fast: str | None = None

    def distinct_sql(self) -> str:
        return f"SELECT DISTINCT {', '.join(self.keys)} FROM {self.source} WHERE {self.where}"  # noqa: S608


def _lookup(
    name: str, udf: str, keys: list[str], source: str, where: str, fast: str | None = None
) -> Lookup:
    return Lookup(name, udf, tuple(keys), source, where, fast)


# A verbatim international number's verdict from phonenumbers' own metadata, in SQL
# (`sql.phone_valid_macro`); typed as the `_cl_phone` UDF returns it. The macro (a CASE over
# every calling code) appears once: `CASE _cl_phone_valid(number) WHEN true ... WHEN false`
# expanded it once per WHEN, and each expansion costs ~0.1 s to bind and a second evaluation
# per key (10k keys: 0.30 -> 0.13 s; 300k: 0.70 -> 0.29 s).
_PHONE_FAST = """CAST(CASE WHEN region = '' THEN
    -- invalid (false), valid (true); unknown (NULL) indexes nothing: the library decides
    [{'e164': NULL, 'status': 'invalid'}, {'e164': number, 'status': NULL}]
        [1 + CAST(_cl_phone_valid(number) AS INTEGER)] END
    AS STRUCT(e164 VARCHAR, status VARCHAR))"""


def first_lookups() -> list[Lookup]:
    return [
        _lookup("_cl_lk_country", "_cl_country", ["country"], "_cl_t", "country IS NOT NULL"),
        _lookup("_cl_lk_party", "_cl_party", ["party_type"], "_cl_t", "party_type IS NOT NULL"),
        _lookup("_cl_lk_tax", "_cl_tax", ["tax_id"], "_cl_t", "tax_id IS NOT NULL"),
        _lookup("_cl_lk_given", "_cl_given", ["given_name"], "_cl_t", "given_name IS NOT NULL"),
    ]


def party() -> str:
    """Country, party type, tax id, e-mail; decides which names the later lookups need."""
    passthrough = [
        f"t.{f}__{p}" for f in TEXT_FIELDS for p in ("moj", "und", "trunc", "formula")
    ]
    return f"""
CREATE OR REPLACE TEMP TABLE _cl_p AS
WITH j AS (
    SELECT
        t.*,
        c.v AS country_iso,
        pt.v AS party_declared,
        CASE WHEN t.given_name__und THEN NULL ELSE g.v END AS given_std,
        tx.v AS tax,
        CASE WHEN _cl_email_fast(t.email) THEN _cl_email_normal(t.email) END AS email_fast,
        (t.given_name IS NOT NULL AND NOT t.given_name__und)
            OR (t.family_name IS NOT NULL AND NOT t.family_name__und)
            OR (t.full_name IS NOT NULL AND NOT t.full_name__und) AS has_person_name
    FROM _cl_t t
    LEFT JOIN _cl_lk_country c ON c.country = t.country
    LEFT JOIN _cl_lk_party pt ON pt.party_type = t.party_type
    LEFT JOIN _cl_lk_tax tx ON tx.tax_id = t.tax_id
    LEFT JOIN _cl_lk_given g ON g.given_name = t.given_name
), typed AS (
    SELECT *,
        coalesce(party_declared,
                 CASE WHEN (company_name IS NOT NULL OR tax.kind = 'CIF') AND NOT has_person_name
                      THEN 'company' ELSE 'person' END) AS party,
        party_declared = 'company' AND company_name IS NULL AND full_name IS NOT NULL
            AND given_name IS NULL AND family_name IS NULL AS company_from_full
    FROM j
)
SELECT
    _rid, source_record_id, birth_date_format, party_type, party_declared, party,
    given_name, family_name, full_name, company_name, email, phone, postcode, tax_id,
    birth_date, country, address_line1, address_line2, city, region,
    given_std, tax, email_fast, country_iso, company_from_full,
    CASE WHEN company_from_full THEN full_name ELSE company_name END AS company_src,
    CASE WHEN company_from_full THEN NULL ELSE full_name END AS full_src,
    party = 'person' AND given_name IS NULL AND family_name IS NULL AND full_name IS NOT NULL
        AND NOT full_name__und AS need_split,
    coalesce(country_iso, 'ES') AS name_country,
    _cl_phone_key(_cl_compact_phone(phone), pr.pr_region, pr.pr_code, pr.pr_idd_00,
                  pr.pr_no_prefix, pr.pr_shortest, pr.pr_longest) AS phone_key,
    {_csv(passthrough)}
FROM typed t
-- phonenumbers' region: the record's country when it knows it, else the default ES. Two
-- equi-joins: an IN (subquery) inside the join condition ran 3.5x slower at 1M records.
LEFT JOIN _cl_phone_regions known ON known.pr_region = t.country_iso
JOIN _cl_phone_regions pr ON pr.pr_region = coalesce(known.pr_region, 'ES')"""  # noqa: S608


def second_lookups() -> list[Lookup]:
    return [
        _lookup("_cl_lk_email", "_cl_email_slow", ["email"], "_cl_p",
                "email IS NOT NULL AND email_fast IS NULL"),
        _lookup("_cl_lk_split", "_cl_split", ["full_name", "name_country"], "_cl_p",
                "need_split"),
        _lookup("_cl_lk_company", "_cl_company", ["company_src"], "_cl_p",
                "company_src IS NOT NULL AND NOT company_name__und"),
        _lookup("_cl_lk_phone", "_cl_phone",
                ["phone_key.number AS number", "phone_key.region AS region"],
                "_cl_p", "phone_key IS NOT NULL", _PHONE_FAST),
        _lookup("_cl_lk_postcode", "_cl_postcode", ["postcode", "country_iso"], "_cl_p",
                "postcode IS NOT NULL"),
        _lookup("_cl_lk_date", "_cl_birth_date", ["birth_date", "birth_date_format"], "_cl_p",
                "birth_date IS NOT NULL"),
    ]


def _quality_flags() -> str:
    """Conditions are written against the `named p` relation of `standardised()`."""
    conditions: list[tuple[str, str]] = []
    for f in TEXT_FIELDS:
        conditions.append((flag(f, "mojibake_repaired"), f"p.{f}__moj"))
        if f not in NAME_FIELDS:
            conditions.append((flag(f, "undecodable_removed"), f"p.{f}__und"))
        conditions.append((flag(f, "truncated"), f"p.{f}__trunc"))
        conditions.append((flag(f, "formula_like"), f"p.{f}__formula"))
    conditions += [
        ("party_type_derived", "p.party_type IS NULL AND NOT p.party_type__und"),
        ("party_type_unrecognised_derived",
         "p.party_type IS NOT NULL AND p.party_declared IS NULL"),
        ("given_name_title_removed",
         "p.given_std IS DISTINCT FROM p.given_name AND NOT p.given_name__und"),
        ("name_split_from_full_name", "p.need_split"),
        ("full_name_derived", "p.full_src_ok IS NULL AND p.full_name_out IS NOT NULL"),
        ("company_name_from_full_name", "p.company_from_full"),
        ("email_invalid_removed", "p.email IS NOT NULL AND p.email_std IS NULL"),
        ("phone_unparseable_removed", "p.ph.status = 'unparseable'"),
        ("phone_invalid_removed", "p.ph.status = 'invalid'"),
        ("postcode_invalid_removed", "p.pc.status = 'invalid'"),
        ("postcode_leading_zero_restored", "p.pc.status = 'leading_zero_restored'"),
        ("country_unknown_removed", "p.country IS NOT NULL AND p.country_iso IS NULL"),
        ("birth_date_unparseable_removed", "p.bd.status = 'unparseable'"),
        ("birth_date_impossible_removed", "p.bd.status = 'impossible'"),
        ("tax_id_invalid_control_character", "p.tax.valid = false"),
        ("tax_id_too_long_removed", "p.tax_id IS NOT NULL AND p.tax.value IS NULL"),
    ]
    return _flags(conditions)


def standardised() -> str:
    return f"""
CREATE OR REPLACE TEMP TABLE _cl_s AS
WITH j AS (
    SELECT
        p.*,
        CASE WHEN p.need_split THEN sp.v.given ELSE p.given_std END AS given_out,
        CASE WHEN p.need_split THEN sp.v.family
             WHEN p.family_name__und THEN NULL ELSE p.family_name END AS family_out,
        CASE WHEN p.full_name__und THEN NULL ELSE p.full_src END AS full_src_ok,
        CASE WHEN p.company_name__und THEN NULL ELSE co.v END AS company,
        ph.v AS ph, pc.v AS pc, bd.v AS bd,
        coalesce(p.email_fast, em.v) AS email_std
    FROM _cl_p p
    LEFT JOIN _cl_lk_email em ON em.email = p.email AND p.email_fast IS NULL
    LEFT JOIN _cl_lk_split sp
        ON sp.full_name = p.full_name AND sp.name_country = p.name_country AND p.need_split
    LEFT JOIN _cl_lk_company co ON co.company_src = p.company_src
    LEFT JOIN _cl_lk_phone ph
        ON ph.number = p.phone_key.number AND ph.region = p.phone_key.region
    LEFT JOIN _cl_lk_postcode pc
        ON pc.postcode = p.postcode AND pc.country_iso IS NOT DISTINCT FROM p.country_iso
    LEFT JOIN _cl_lk_date bd
        ON bd.birth_date = p.birth_date
        AND bd.birth_date_format IS NOT DISTINCT FROM p.birth_date_format
), named AS (
    SELECT *,
        coalesce(full_src_ok,
                 CASE WHEN party = 'person'
                      THEN nullif(concat_ws(' ', given_out, family_out), '') END) AS full_name_out
    FROM j
)
SELECT
    p._rid,
    p.source_record_id,
    p.party,
    p.given_out AS given_name,
    p.family_out AS family_name,
    p.full_name_out AS full_name,
    p.company.display AS company_name,
    p.email_std AS email,
    p.ph.e164 AS phone,
    p.address_line1, p.address_line2, p.city, p.region,
    p.pc.value AS postcode,
    p.country_iso AS country,
    p.bd.value AS birth_date,
    p.tax.value AS tax_id,
    p.tax.valid AS tax_id_valid,
    _cl_key(p.given_out) AS given_name_key,
    _cl_key(p.family_out) AS family_name_key,
    _cl_key(p.full_name_out) AS full_name_key,
    p.company.key AS company_name_key,
    _cl_key(p.address_line1) AS address_key,
    _cl_key(p.city) AS city_key,
    lower(p.email_std) AS email_key,
    replace(p.pc.value, ' ', '') AS postcode_key,
    {_quality_flags()} AS quality_flags,
    list_filter([{", ".join(
        f"CASE WHEN p.{f}__und THEN {_lit(f)} END" for f in NAME_FIELDS)}],
        lambda x: x IS NOT NULL) AS undecodable_fields,
    list_filter([
        CASE WHEN p.email IS NOT NULL AND p.email_std IS NULL THEN 'email' END,
        CASE WHEN p.phone IS NOT NULL AND p.ph.e164 IS NULL THEN 'phone' END,
        CASE WHEN p.tax_id IS NOT NULL AND p.tax.valid IS NOT DISTINCT FROM false
             THEN 'tax_id' END
    ], lambda x: x IS NOT NULL) AS removed_identifiers
FROM named p"""  # noqa: S608 - constants only


def _reason(code: str, condition: str, *args: str) -> str:
    template = _lit(rules.MESSAGES[code])
    fmt_args = ", ".join(("coalesce(i.source_system, '?')", "i.source_row_number", *args))
    return (f"CASE WHEN {condition} THEN {{'code': {_lit(code)}, "
            f"'message': format({template}, {fmt_args})}} END")


def final() -> str:
    """One row per mapped row with its list of quarantine reasons (empty: staged)."""
    no_ident = (
        "s.given_name IS NULL AND s.family_name IS NULL AND s.full_name IS NULL"
        " AND s.company_name IS NULL AND s.email IS NULL AND s.phone IS NULL"
        " AND (s.tax_id IS NULL OR s.tax_id_valid = false)"
    )
    removed_note = (
        "CASE WHEN len(s.removed_identifiers) > 0 THEN '; removed as unusable: ' "
        "|| array_to_string(s.removed_identifiers, ', ') ELSE '' END"
    )
    reasons = [
        # Connectors keep unparseable lines as all-NULL rows with the text in _malformed_row.
        _reason(rules.MALFORMED_ROW,
                "json_extract_string(i.raw_record, '$._malformed_row') IS NOT NULL"),
        _reason(rules.MISSING_PRIMARY_KEY, "k.record_key IS NULL"),
        _reason(rules.DUPLICATE_PRIMARY_KEY, "k.version > 1", "k.kept_row"),
        _reason(rules.UNDECODABLE_TEXT, "len(s.undecodable_fields) > 0",
                "array_to_string(s.undecodable_fields, ', ')"),
        _reason(rules.NO_IDENTIFYING_FIELDS, no_ident, removed_note),
    ]
    return f"""
CREATE OR REPLACE TEMP TABLE _cl_final AS
WITH keyed AS (
    SELECT i._rid,
        CASE WHEN i.source_system IS NOT NULL AND h.source_record_id IS NOT NULL
             THEN i.source_system || ':' || h.source_record_id END AS record_key,
        i.source_updated_at, i.source_row_number
    FROM _cl_in i JOIN _cl_h h USING (_rid)
), repeated AS (
    SELECT record_key FROM keyed WHERE record_key IS NOT NULL
    GROUP BY record_key HAVING count(*) > 1
), versions AS (
    -- Only keys that occur more than once need ranking: far cheaper than a window over all.
    SELECT _rid,
        row_number() OVER w AS version,
        first_value(source_row_number) OVER w AS kept_row
    FROM keyed SEMI JOIN repeated USING (record_key)
    WINDOW w AS (PARTITION BY record_key
                 ORDER BY source_updated_at DESC NULLS LAST,
                          source_row_number DESC NULLS LAST, _rid DESC)
), k AS (
    SELECT _rid, record_key, coalesce(version, 1) AS version, kept_row
    FROM keyed LEFT JOIN versions USING (_rid)
)
SELECT
    i._rid, k.record_key, i.source_system, i.source_row_number, i.raw_record,
    i.source_updated_at,
    s.* EXCLUDE (_rid),
    list_filter([
        {_csv(reasons)}
    ], lambda x: x IS NOT NULL) AS reasons
FROM _cl_in i
LEFT JOIN k USING (_rid)
LEFT JOIN _cl_s s USING (_rid)"""  # noqa: S608 - constants only


def staged() -> str:
    cols = [
        "record_key", "source_system", "source_record_id", "party AS party_type",
        *STAGED_COLUMNS[4:],
    ]
    return f"""
CREATE OR REPLACE TABLE staged AS
SELECT {_csv(cols)}
FROM _cl_final
WHERE len(reasons) = 0
ORDER BY _rid"""  # noqa: S608 - constants only


def quarantine() -> str:
    return """
CREATE OR REPLACE TABLE quarantine AS
SELECT
    source_system,
    CASE WHEN record_key IS NULL
         THEN '#row' || coalesce(CAST(source_row_number AS VARCHAR), '?')
         ELSE source_record_id END AS source_record_id,
    source_row_number,
    reason.code AS reason_code,
    reason.message AS reason_message,
    raw_record
FROM (SELECT *, unnest(reasons) AS reason FROM _cl_final WHERE len(reasons) > 0)
ORDER BY _rid, reason_code"""
