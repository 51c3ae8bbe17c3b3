"""Text hygiene, mojibake repair and matching keys shared by every field.

The character classes are built once from `unicodedata` and rendered both as Python regexes
and as RE2 patterns (see `sql.py`), so the set-based DuckDB path and these per-value
functions strip exactly the same characters.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

from unidecode import unidecode

# Control characters that stand for a line or field break become a space; every other
# control character (NUL, BEL, ESC...) carries no text and is dropped.
_WHITESPACE_CONTROLS = frozenset(map(ord, "\t\n\x0b\x0c\r\x85"))


def _codepoints(predicate) -> list[int]:
    return [cp for cp in range(sys.maxunicode + 1) if predicate(cp)]


def _ranges(codepoints: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in sorted(codepoints):
        if out and cp == out[-1][1] + 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def _category(cp: int) -> str:
    return unicodedata.category(chr(cp))


# Format characters (Cf) are the zero-width and bidirectional controls: ZWSP, ZWJ, LRM/RLM,
# LRE..RLO, isolates, BOM, soft hyphen. They are invisible and break equality tests.
DROP_RANGES = _ranges(
    _codepoints(
        lambda cp: (_category(cp) == "Cf")
        or (_category(cp) == "Cc" and cp not in _WHITESPACE_CONTROLS)
    )
)
SPACE_RANGES = _ranges(
    _codepoints(lambda cp: cp in _WHITESPACE_CONTROLS or _category(cp) in ("Zs", "Zl", "Zp"))
)


def python_class(ranges: list[tuple[int, int]]) -> str:
    parts = []
    for lo, hi in ranges:
        first, last = re.escape(chr(lo)), re.escape(chr(hi))
        parts.append(first if lo == hi else f"{first}-{last}")
    return "[" + "".join(parts) + "]"


def re2_class(ranges: list[tuple[int, int]]) -> str:
    parts = []
    for lo, hi in ranges:
        parts.append(f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}")
    return "[" + "".join(parts) + "]"


_DROP_RE = re.compile(python_class(DROP_RANGES))
_SPACE_RE = re.compile(python_class(SPACE_RANGES) + "+")

# Mojibake: UTF-8 bytes decoded as Windows-1252/Latin-1 turn "é" into "Ã©". A UTF-8 lead byte
# (U+00C2-U+00F4 once mis-decoded) followed by the right number of continuation bytes
# (U+0080-U+00BF, or the cp1252 glyphs for 0x80-0x9F) is practically never real text.
_CP1252_HIGH = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_CONT_RANGES = _ranges([*range(0x80, 0xC0), *map(ord, _CP1252_HIGH)])
_LEAD2, _LEAD3, _LEAD4 = (0xC2, 0xDF), (0xE0, 0xEF), (0xF0, 0xF4)


def _mojibake_pattern(cls) -> str:
    cont = cls(_CONT_RANGES)
    l2, l3, l4 = (cls([r]) for r in (_LEAD2, _LEAD3, _LEAD4))
    return f"{l2}{cont}|{l3}{cont}{{2}}|{l4}{cont}{{3}}"


MOJIBAKE_RE = re.compile(_mojibake_pattern(python_class))
MOJIBAKE_RE2 = _mojibake_pattern(re2_class)
REPLACEMENT_CHAR = "\ufffd"
# What marks a value as not validly decoded, before and after repair.
SUSPECT_RE = re.compile(f"{REPLACEMENT_CHAR}|{MOJIBAKE_RE.pattern}")
SUSPECT_RE2 = f"\\x{{FFFD}}|{MOJIBAKE_RE2}"

FORMULA_RE = re.compile(r"(?:[=@]|[+\-][^0-9 ])")
FORMULA_RE2 = r"^(?:[=@]|[+\-][^0-9 ])"

_KEY_DROP_RE = re.compile(r"['`.]")
_KEY_SPACE_RE = re.compile(r"[^a-z0-9]+")


class CleanText(NamedTuple):
    value: str | None
    flags: tuple[str, ...]


def hygiene(value: str | None) -> str | None:
    """NFC, invisible/control characters removed, whitespace collapsed and trimmed."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", _DROP_RE.sub("", value))
    text = _SPACE_RE.sub(" ", text).strip(" ")
    return text or None


def truncate(value: str, max_length: int) -> str:
    """Cut to max_length characters, at the last word boundary when one is in the second half."""
    if len(value) <= max_length:
        return value
    cut = value[:max_length]
    if value[max_length] == " ":
        return cut.rstrip(" ")
    space = cut.rfind(" ")
    if space >= 0 and space >= max_length // 2:
        return cut[:space].rstrip(" ")
    return cut


def is_formula_like(value: str | None) -> bool:
    """True when a spreadsheet would evaluate the value (CSV/formula injection)."""
    return value is not None and FORMULA_RE.match(value) is not None


def _byte(char: str) -> int:
    if char in _CP1252_HIGH:
        return char.encode("cp1252")[0]
    return ord(char)


def _decode_sequence(match: re.Match[str]) -> str:
    try:
        return bytes(_byte(c) for c in match.group(0)).decode("utf-8")
    except UnicodeDecodeError:
        return match.group(0)


def repair_mojibake(value: str | None) -> str | None:
    """Undo UTF-8-read-as-cp1252 sequence by sequence (mixed and double-encoded text too)."""
    if value is None:
        return None
    for _ in range(3):
        repaired = MOJIBAKE_RE.sub(_decode_sequence, value)
        if repaired == value:
            break
        value = repaired
    return value


def is_undecodable(value: str | None) -> bool:
    return value is not None and SUSPECT_RE.search(value) is not None


def clean_text(value: str | None, max_length: int | None = None) -> CleanText:
    """Repair, clean and (optionally) truncate one display value, reporting what was done.

    Flags: mojibake_repaired, undecodable (replacement characters or mojibake left),
    truncated, formula_like (kept as text, but a spreadsheet would evaluate it).
    """
    if value is None:
        return CleanText(None, ())
    flags: list[str] = []
    repaired = repair_mojibake(value) if SUSPECT_RE.search(value) else value
    if repaired != value:
        flags.append("mojibake_repaired")
    text = hygiene(repaired)
    if text is None:
        return CleanText(None, tuple(flags))
    if is_undecodable(text):
        flags.append("undecodable")
    if max_length is not None and len(text) > max_length:
        text = truncate(text, max_length)
        flags.append("truncated")
    if is_formula_like(text):
        flags.append("formula_like")
    return CleanText(text, tuple(flags))


def transliterate(value: str | None) -> str | None:
    return None if value is None else unidecode(value)


def match_key(value: str | None) -> str | None:
    """Matching key: transliterated, casefolded, apostrophes/dots dropped, other punctuation
    turned into spaces, whitespace collapsed. Never for display."""
    text = hygiene(value)
    if text is None:
        return None
    text = unidecode(text).casefold()
    text = _KEY_SPACE_RE.sub(" ", _KEY_DROP_RE.sub("", text)).strip()
    return text or None
