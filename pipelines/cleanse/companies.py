"""Company names: the legal form is recognised, written one way, and kept out of the key."""

from __future__ import annotations

import re
from typing import NamedTuple

from pipelines.cleanse.text import hygiene, match_key


def _abbrev(letters: str) -> str:
    """'SLU' -> pattern for S.L.U. / SLU / S. L. U / S.L.U"""
    return r"\.?\s?".join(re.escape(c) for c in letters) + r"\.?"


# (code, display form, pattern). Longer forms first so "S.L.U." is not read as "S.L." + "U".
_LEGAL_FORMS: list[tuple[str, str, str]] = [
    ("GMBH_CO_KG", "GmbH & Co. KG", r"gmbh\s?(?:&|und)\s?co\.?\s?kg"),
    ("SLNE", "S.L.N.E.", _abbrev("SLNE")),
    ("SLU", "S.L.U.", _abbrev("SLU") + r"|sociedad\s+limitada\s+unipersonal"),
    ("SLL", "S.L.L.", _abbrev("SLL") + r"|sociedad\s+limitada\s+laboral"),
    ("SAU", "S.A.U.", _abbrev("SAU") + r"|sociedad\s+an[oó]nima\s+unipersonal"),
    ("SCOOP", "S.Coop.", r"s\.?\s?coop\.?(?:\s?and\.?)?|sociedad\s+cooperativa"),
    ("SCP", "S.C.P.", _abbrev("SCP")),
    ("SARL", "SARL", _abbrev("SARL")),
    ("SAS", "S.A.S.", _abbrev("SAS")),
    ("SRL", "S.R.L.", _abbrev("SRL")),
    ("SPA", "S.p.A.", _abbrev("SPA")),
    ("SL", "S.L.", _abbrev("SL") + r"|sociedad\s+limitada"),
    ("SA", "S.A.", _abbrev("SA") + r"|sociedad\s+an[oó]nima"),
    ("SC", "S.C.", _abbrev("SC") + r"|sociedad\s+civil"),
    ("CB", "C.B.", _abbrev("CB") + r"|comunidad\s+de\s+bienes"),
    ("PLC", "PLC", _abbrev("PLC") + r"|public\s+limited\s+company"),
    ("LLP", "LLP", _abbrev("LLP")),
    ("LLC", "LLC", _abbrev("LLC")),
    ("LTD", "Ltd", r"ltd\.?|limited"),
    ("INC", "Inc.", r"inc\.?|incorporated"),
    ("CORP", "Corp.", r"corp\.?|corporation"),
    ("GMBH", "GmbH", r"gmbh"),
    ("AG", "AG", _abbrev("AG")),
    ("KG", "KG", _abbrev("KG")),
    ("BV", "B.V.", _abbrev("BV")),
    ("NV", "N.V.", _abbrev("NV")),
    ("SRO", "s.r.o.", _abbrev("SRO")),
    ("SPZOO", "sp. z o.o.", r"sp\.?\s?z\s?o\.?\s?o\.?"),
    ("LDA", "Lda.", r"lda\.?"),
    ("OY", "Oy", r"oy"),
    ("AB", "AB", _abbrev("AB")),
    ("AS", "A/S", r"a/s"),
    ("APS", "ApS", r"aps"),
]
_DISPLAY = {code: display for code, display, _ in _LEGAL_FORMS}
# The legal form must be the last words, after a space or comma (optionally in parentheses).
_LEGAL_RE = re.compile(
    r"(?:^|[\s,]+)\(?(?:"
    + "|".join(f"(?P<{code}>{pattern})" for code, _, pattern in _LEGAL_FORMS)
    + r")\)?$",
    re.IGNORECASE,
)

LEGAL_FORM_CODES = tuple(_DISPLAY)


class CompanyName(NamedTuple):
    display: str | None
    key: str | None
    legal_form: str | None


def standardise_company(name: str | None) -> CompanyName:
    """Display value with the legal form in one spelling, key without it, legal-form code.

    "ACME, s.l." -> ("ACME S.L.", "acme", "SL"). A name that is only a legal form is kept as is.
    """
    text = hygiene(name)
    if text is None:
        return CompanyName(None, None, None)
    match = _LEGAL_RE.search(text)
    if match is None or match.start() == 0:
        return CompanyName(text, match_key(text), None)
    code = match.lastgroup
    assert code is not None
    base = text[: match.start()].rstrip(" ,-")
    base_key = match_key(base)
    if base_key is None:
        return CompanyName(text, match_key(text), None)
    return CompanyName(f"{base} {_DISPLAY[code]}", base_key, code)
