"""Person names: honorifics, and splitting a full name into given and family names."""

from __future__ import annotations

import re
from typing import NamedTuple

from nameparser import HumanName
from nameparser.config import CONSTANTS

from pipelines.cleanse.text import hygiene

# Countries where people carry two surnames (paternal + maternal) by default, so a bare
# "Given Surname1 Surname2" keeps both surnames as the family name.
DOUBLE_SURNAME_COUNTRIES = frozenset(
    "ES AR BO CL CO CR CU DO EC GT HN MX NI PA PE PR PY SV UY VE PT BR".split()
)

# Spanish "Sr. D.", "Dña." and English honorifics that CRMs put into the first-name column.
# nameparser's title list is deliberately not used here: it holds words such as "Dean" or
# "King" that are also given names.
_HONORIFICS = frozenset(
    "sr sra srta d dª dña dna dn don doña dona dr dra mr mrs ms miss mx prof lic ing".split()
)
_HONORIFIC_TOKEN_RE = re.compile(r"[.,]+$")

# A name made only of these "plain" tokens parses the same with or without nameparser
# (first token, middles, last token); anything else goes to nameparser, which is ~50x slower.
_SPECIAL_TOKENS = frozenset(
    {t.lower() for t in CONSTANTS.titles}
    | {t.lower() for t in CONSTANTS.prefixes}
    | {t.lower() for t in CONSTANTS.conjunctions}
    | {t.lower() for t in CONSTANTS.suffix_acronyms}
    | {t.lower() for t in CONSTANTS.suffix_not_acronyms}
    | _HONORIFICS
)
_SPECIAL_CHARS_RE = re.compile(r"[,.\"()\[\]{}/&]")


class PersonName(NamedTuple):
    given: str | None
    family: str | None


def _honorific(token: str) -> bool:
    return _HONORIFIC_TOKEN_RE.sub("", token).casefold() in _HONORIFICS


def strip_honorifics(given: str | None) -> str | None:
    """Drop leading honorifics ("Sr. D. Juan" -> "Juan") when a name remains after them."""
    text = hygiene(given)
    if text is None:
        return None
    tokens = text.split(" ")
    while len(tokens) > 1 and _honorific(tokens[0]):
        tokens = tokens[1:]
    return " ".join(tokens)


def _plain(tokens: list[str]) -> bool:
    return 2 <= len(tokens) <= 4 and not any(
        len(t) == 1 or t.casefold() in _SPECIAL_TOKENS or _SPECIAL_CHARS_RE.search(t)
        for t in tokens
    )


def _pieces(text: str) -> tuple[list[str], list[str], list[str]]:
    """(first, middles, last) as nameparser would return them; titles/suffixes dropped."""
    tokens = text.split(" ")
    if _plain(tokens):
        return [tokens[0]], tokens[1:-1], [tokens[-1]]
    name = HumanName(text)
    first = [name.first] if name.first else []
    return first, list(name.middle_list), list(name.last_list)


def split_full_name(full_name: str | None, country: str | None = None) -> PersonName:
    """Split a full name into given and family names.

    Particles stay with the family name ("de la Cruz", "van der Berg"), hyphenated and
    apostrophe names stay whole, "Family, Given" is understood. In double-surname countries
    "Juan García López" gives family "García López"; elsewhere middle names join the given
    name. A single word is taken as the given name.
    """
    text = hygiene(full_name)
    if text is None:
        return PersonName(None, None)
    tokens = text.split(" ")
    while len(tokens) > 2 and _honorific(tokens[0]):
        tokens = tokens[1:]
    first, middles, last = _pieces(" ".join(tokens))
    if country in DOUBLE_SURNAME_COUNTRIES and middles and len(last) == 1:
        middles, last = middles[:-1], [middles[-1], *last]
    given = " ".join(first + middles) or None
    family = " ".join(last) or None
    if given is None and family is not None and " " not in family:
        given, family = family, None
    return PersonName(given, family)
