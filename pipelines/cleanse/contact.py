"""Phone numbers (phonenumbers -> E.164) and e-mail addresses (email-validator, offline)."""

from __future__ import annotations

import re
from typing import NamedTuple

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from pipelines.cleanse.text import hygiene

DEFAULT_REGION = "ES"

# A value made only of digits and layout characters means the same to phonenumbers once the
# layout is removed; compacting it first lets "+34 600 123 456" and "0034-600-123-456" share
# one library call. Anything else (letters, "ext.", "/") is passed through untouched.
PHONE_LAYOUT_ONLY_RE = r"^\+?[0-9 ().\-]+$"
PHONE_LAYOUT_CHARS_RE = r"[ ().\-]"
_PHONE_LAYOUT_ONLY = re.compile(PHONE_LAYOUT_ONLY_RE)
_PHONE_LAYOUT_CHARS = re.compile(PHONE_LAYOUT_CHARS_RE)


class Phone(NamedTuple):
    e164: str | None
    status: str | None  # None (ok), "unparseable", "invalid"


class Email(NamedTuple):
    normalized: str | None
    status: str | None  # None (ok), "invalid"


def compact_phone(value: str | None) -> str | None:
    text = hygiene(value)
    if text is None or not _PHONE_LAYOUT_ONLY.match(text):
        return text
    return _PHONE_LAYOUT_CHARS.sub("", text)


def phone_region(country: str | None) -> str:
    return country if country in phonenumbers.SUPPORTED_REGIONS else DEFAULT_REGION


def _region_metadata() -> dict[str, tuple[int, bool, bool, int, int]]:
    """region -> (calling code, IDD is exactly "00", no national prefix, min, max length)."""
    out = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if meta is None:
            continue
        lengths = [n for n in meta.general_desc.possible_length if n > 0] or [0]
        out[region] = (
            meta.country_code,
            meta.international_prefix == "00",
            meta.national_prefix is None and meta.national_prefix_for_parsing is None,
            min(lengths),
            max(lengths),
        )
    return out


PHONE_REGIONS = _region_metadata()
_DIGITS_AFTER_PLUS = re.compile(r"^\+[1-9][0-9]*$")
_IDD_00 = re.compile(r"^00[1-9][0-9]*$")
_NATIONAL = re.compile(r"^[1-9][0-9]*$")


def phone_lookup_key(value: str | None, country: str | None = None) -> tuple[str | None, str]:
    """(number, region) such that standardise_phone(number, region or None) gives the same
    result as standardise_phone(value, country), with as many spellings of one number as
    possible sharing a key: "+34 600 123 456", "0034-600-123-456" and, for regions without
    a national prefix, "600123456" all become ("+34600123456", ""). An empty region means
    the number is international and the region does not matter. Mirrored in SQL (sql.py).
    """
    number = compact_phone(value)
    region = phone_region(country)
    if number is None:
        return None, region
    if _DIGITS_AFTER_PLUS.match(number):
        return number, ""
    code, idd_00, no_prefix, shortest, longest = PHONE_REGIONS[region]
    if idd_00 and _IDD_00.match(number):
        return "+" + number[2:], ""
    if (
        no_prefix
        and _NATIONAL.match(number)
        and shortest <= len(number) <= longest
        and not number.startswith(str(code))
    ):
        return f"+{code}{number}", ""
    return number, region


# Calling codes whose numbers phonenumbers.parse takes as written after "+<code>" (no
# national prefix to strip): for these a "+<digits>" string can skip parse(), which costs
# 3x the validity check. Equivalence with parse() is tested for every region.
_VERBATIM_CODES = frozenset(
    code
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
    if regions[0] in PHONE_REGIONS and PHONE_REGIONS[regions[0]][2]
)


def _parse_international(text: str) -> phonenumbers.PhoneNumber | None:
    if not _DIGITS_AFTER_PLUS.match(text):
        return None
    for size in (1, 2, 3):  # calling codes are a prefix code: at most one size matches
        code = int(text[1 : 1 + size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = text[1 + size :]
            if code in _VERBATIM_CODES and 2 <= len(national) <= 17 and national[0] != "0":
                return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
            return None
    return None


# What phonenumbers.is_valid_number checks for a number of a verbatim calling code, as data
# (`sql.py` turns it into one SQL expression, so most numbers skip the library): the regions
# sharing the code, in the order the library tries them, each with its leading digits (if
# the library picks the region by them) and its number descriptions. Valid means: matches
# the general description and at least one type (length and pattern each). Equivalence with
# the library is tested for every verbatim code.
PHONE_TYPE_DESCS = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line", "mobile",
)


class PhoneDesc(NamedTuple):
    lengths: tuple[int, ...]  # empty: any length
    pattern: str


class PhoneRegionRule(NamedTuple):
    region: str
    leading_digits: str | None
    general: PhoneDesc | None
    types: tuple[PhoneDesc, ...]


def _phone_desc(desc: phonenumbers.PhoneNumberDesc | None) -> PhoneDesc | None:
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = tuple(desc.possible_length or ())
    if lengths == (-1,):  # the region has no numbers of this type
        return None
    return PhoneDesc(lengths, desc.national_number_pattern)


def phone_validity_rules() -> dict[int, list[PhoneRegionRule]]:
    """calling code -> its regions' rules, for every verbatim calling code."""
    rules: dict[int, list[PhoneRegionRule]] = {}
    for code in sorted(_VERBATIM_CODES):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]
        for region in regions:
            meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
            if meta is None:
                continue
            # A code of one region is that region's whatever its leading digits.
            leading = meta.leading_digits if len(regions) > 1 else None
            types = tuple(
                d for d in (_phone_desc(getattr(meta, name)) for name in PHONE_TYPE_DESCS) if d
            )
            rules.setdefault(code, []).append(
                PhoneRegionRule(region, leading, _phone_desc(meta.general_desc), types)
            )
    return rules


def standardise_phone(value: str | None, country: str | None = None) -> Phone:
    """E.164 for a number valid in the record's country (default ES); extensions are dropped."""
    text = hygiene(value)
    if text is None:
        return Phone(None, None)
    number = _parse_international(text)
    try:
        number = number or phonenumbers.parse(text, phone_region(country))
    except phonenumbers.NumberParseException:
        return Phone(None, "unparseable")
    if not phonenumbers.is_valid_number(number):
        return Phone(None, "invalid")
    return Phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None)


# The subset of addresses that email-validator accepts unchanged except for a lower-cased
# domain: plain ASCII dot-atom local part, LDH labels, alphabetic TLD. `sql.py` applies it in
# DuckDB so only the remainder (IDN, odd syntax, invalid) goes through the library; a test
# checks both paths agree.
_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-"
EMAIL_FAST_RE = (
    rf"^[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
EMAIL_SPECIAL_TLDS = tuple(SPECIAL_USE_DOMAIN_NAMES)
_EMAIL_FAST = re.compile(EMAIL_FAST_RE)


def email_fast_path(value: str) -> bool:
    """True when `value` is in the subset handled without the library (see EMAIL_FAST_RE)."""
    if len(value) > 254 or not _EMAIL_FAST.match(value):
        return False
    local, domain = value.rsplit("@", 1)
    tld = domain.rsplit(".", 1)[-1].lower()
    return len(local) <= 64 and "--" not in domain and tld not in EMAIL_SPECIAL_TLDS


def standardise_email(value: str | None) -> Email:
    """Syntax check and normalisation (IDNA, NFC, lower-cased domain); no DNS lookups."""
    text = hygiene(value)
    if text is None:
        return Email(None, None)
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return Email(None, "invalid")
    return Email(result.normalized, None)
