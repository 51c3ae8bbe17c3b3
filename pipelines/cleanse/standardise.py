"""Pure per-value standardisation functions: the one import for tests and other stages.

Each function takes plain Python values and never touches a database; `cleanse.py` applies
them to DuckDB tables (once per distinct value, or as Arrow UDFs) and does the rest in SQL.
"""

from __future__ import annotations

from pipelines.cleanse.companies import LEGAL_FORM_CODES, CompanyName, standardise_company
from pipelines.cleanse.contact import (
    DEFAULT_REGION,
    Email,
    Phone,
    compact_phone,
    email_fast_path,
    phone_lookup_key,
    phone_region,
    standardise_email,
    standardise_phone,
)
from pipelines.cleanse.dates import BirthDate, parse_birth_date
from pipelines.cleanse.geo import Postcode, standardise_country, standardise_postcode
from pipelines.cleanse.persons import PersonName, split_full_name, strip_honorifics
from pipelines.cleanse.taxid import TaxId, normalise_tax_id, standardise_tax_id
from pipelines.cleanse.text import (
    CleanText,
    clean_text,
    hygiene,
    is_formula_like,
    is_undecodable,
    match_key,
    repair_mojibake,
    transliterate,
    truncate,
)

PERSON, COMPANY = "person", "company"

# Values seen in departmental systems for the party type column.
_PARTY_TYPES = {
    **dict.fromkeys(
        "person persona individual natural private consumer b2c particular p f i "
        "fisica física persona_fisica persona_física".split(),
        PERSON,
    ),
    **dict.fromkeys(
        "company empresa organisation organization org business b2b corporate sociedad "
        "c j juridica jurídica persona_juridica persona_jurídica".split(),
        COMPANY,
    ),
}


def canonical_party_type(value: str | None) -> str | None:
    """'person' / 'company' from the usual spellings, None when unknown or missing."""
    text = hygiene(value)
    if text is None:
        return None
    return _PARTY_TYPES.get(text.casefold().replace(" ", "_")) or _PARTY_TYPES.get(
        text.casefold()
    )


def infer_party_type(
    has_person_name: bool, has_company_name: bool, tax_id_kind: str | None
) -> str:
    """Company when there is a company name or a CIF and no person name; person otherwise."""
    if (has_company_name or tax_id_kind == "CIF") and not has_person_name:
        return COMPANY
    return PERSON


__all__ = [
    "COMPANY",
    "DEFAULT_REGION",
    "LEGAL_FORM_CODES",
    "PERSON",
    "BirthDate",
    "CleanText",
    "CompanyName",
    "Email",
    "PersonName",
    "Phone",
    "Postcode",
    "TaxId",
    "canonical_party_type",
    "clean_text",
    "compact_phone",
    "email_fast_path",
    "hygiene",
    "infer_party_type",
    "is_formula_like",
    "is_undecodable",
    "match_key",
    "normalise_tax_id",
    "parse_birth_date",
    "phone_lookup_key",
    "phone_region",
    "repair_mojibake",
    "split_full_name",
    "standardise_company",
    "standardise_country",
    "standardise_email",
    "standardise_phone",
    "standardise_postcode",
    "standardise_tax_id",
    "strip_honorifics",
    "transliterate",
    "truncate",
]
