"""Tax identifiers: Spanish NIF / NIE / CIF checked by their control character."""

from __future__ import annotations

import re
from typing import NamedTuple

from pipelines.cleanse.text import hygiene

MAX_LENGTH = 32
_SEPARATORS = re.compile(r"[\s.\-/_,]")
_NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_CIF_LETTERS = "JABCDEFGHI"
_NIF = re.compile(r"^(\d{8})([A-Z])$")
_NIF_KLM = re.compile(r"^([KLM])(\d{7})([A-Z])$")  # minors, foreigners without NIE
_NIE = re.compile(r"^([XYZ])(\d{7})([A-Z])$")
_CIF = re.compile(r"^([ABCDEFGHJNPQRSUVW])(\d{7})([0-9A-J])$")
_CIF_LETTER_ONLY = frozenset("NPQRSW")
_CIF_DIGIT_ONLY = frozenset("ABEH")


class TaxId(NamedTuple):
    value: str | None
    kind: str | None  # "NIF", "NIE", "CIF" or None (not a Spanish id)
    valid: bool | None  # None when there is no control character to check


def normalise_tax_id(value: str | None) -> str | None:
    text = hygiene(value)
    if text is None:
        return None
    return _SEPARATORS.sub("", text).upper() or None


def _cif_control(digits: str) -> int:
    odd = sum(sum(divmod(2 * int(d), 10)) for d in digits[0::2])
    even = sum(int(d) for d in digits[1::2])
    return (10 - (odd + even) % 10) % 10


def _cif_valid(letter: str, digits: str, control: str) -> bool:
    expected = _cif_control(digits)
    if letter in _CIF_LETTER_ONLY:
        return control == _CIF_LETTERS[expected]
    if letter in _CIF_DIGIT_ONLY:
        return control == str(expected)
    return control in (str(expected), _CIF_LETTERS[expected])


def _check(value: str) -> TaxId | None:
    if m := _NIF.match(value):
        return TaxId(value, "NIF", _NIF_LETTERS[int(m[1]) % 23] == m[2])
    if m := _NIE.match(value):
        number = int(str("XYZ".index(m[1])) + m[2])
        return TaxId(value, "NIE", _NIF_LETTERS[number % 23] == m[3])
    if m := _NIF_KLM.match(value):
        return TaxId(value, "NIF", _NIF_LETTERS[int(m[2]) % 23] == m[3])
    if m := _CIF.match(value):
        return TaxId(value, "CIF", _cif_valid(m[1], m[2], m[3]))
    return None


def standardise_tax_id(value: str | None) -> TaxId:
    """Upper case without separators; Spanish ids get their control character checked.

    An "ES" VAT prefix in front of a Spanish id is dropped so VAT and tax ids compare equal.
    Anything else is kept as given (normalised) with validity None; over-long values are
    not identifiers and come back as None.
    """
    text = normalise_tax_id(value)
    if text is None or len(text) > MAX_LENGTH:
        return TaxId(None, None, None)
    if text.startswith("ES") and (checked := _check(text[2:])) is not None:
        return checked
    return _check(text) or TaxId(text, None, None)
