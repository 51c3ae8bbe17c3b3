"""Field groups, length limits, quality-flag names and quarantine reason messages.

Messages are DuckDB `format()` templates filled with the source name, the row number and
field names only: personal values never reach a message.
"""

from __future__ import annotations

# Mapped text columns that are cleaned, with the display length they are cut to (None: the
# value is validated instead, and an over-long one fails validation).
TEXT_FIELDS: dict[str, int | None] = {
    "party_type": None,
    "given_name": 100,
    "family_name": 100,
    "full_name": 200,
    "company_name": 200,
    "email": None,
    "phone": None,
    "address_line1": 200,
    "address_line2": 200,
    "postcode": None,
    "city": 100,
    "region": 100,
    "country": None,
    "birth_date": None,
    "tax_id": None,
}
NAME_FIELDS = ("given_name", "family_name", "full_name", "company_name")
# Free-text display fields a spreadsheet user could open: worth a formula_like flag.
DISPLAY_FIELDS = (*NAME_FIELDS, "address_line1", "address_line2", "city", "region")

MISSING_PRIMARY_KEY = "missing_primary_key"
DUPLICATE_PRIMARY_KEY = "duplicate_primary_key"
UNDECODABLE_TEXT = "undecodable_text"
NO_IDENTIFYING_FIELDS = "no_identifying_fields"
MALFORMED_ROW = "malformed_row"
REASON_CODES = (MALFORMED_ROW, MISSING_PRIMARY_KEY, DUPLICATE_PRIMARY_KEY, UNDECODABLE_TEXT,
                NO_IDENTIFYING_FIELDS)

# format() arguments: source_system, source_row_number, then the reason's own.
MESSAGES = {
    MALFORMED_ROW: (
        "Source '{}' row {}: the line could not be parsed (wrong number of fields or broken "
        "quoting); its text is kept in raw_record. Fix the export (quote values that contain "
        "the delimiter) or declare the right delimiter/quoting in the source registry."
    ),
    MISSING_PRIMARY_KEY: (
        "Source '{}' row {}: the primary key is empty. Fill the key column in the source "
        "system, or point primary_key in the source registry at a column that is always set."
    ),
    DUPLICATE_PRIMARY_KEY: (
        "Source '{}' row {}: another row of this source has the same primary key; row {} "
        "(the most recent by source_updated_at, then the last read) was kept. Make the key "
        "unique in the source system, or declare a watermark column so versions are ordered."
    ),
    UNDECODABLE_TEXT: (
        "Source '{}' row {}: {} contain(s) text that is not validly decoded (replacement "
        "characters or mis-decoded UTF-8 that could not be repaired). Declare the source's "
        "real encoding in the source registry, or correct the value in the source system."
    ),
    NO_IDENTIFYING_FIELDS: (
        "Source '{}' row {}: no identifying field is left after cleansing (person name, "
        "company name, e-mail, phone or valid tax id){}. Fill at least one of them in the "
        "source system, or check the field mapping in the source registry."
    ),
}


def flag(field: str, problem: str) -> str:
    return f"{field}_{problem}"
