"""Birth dates: the registry's declared format first, then the formats found in the wild."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import NamedTuple

from pipelines.cleanse.text import hygiene

MIN_YEAR = 1900
_EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (it counts a 29/02/1900 that never was)

_MONTHS = {
    **{m: i for i, m in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)},
    **{m: i for i, m in enumerate(
        "january february march april may june july august september october november"
        " december".split(), 1)},
    **{m: i for i, m in enumerate(
        "ene feb mar abr may jun jul ago sep oct nov dic".split(), 1)},
    **{m: i for i, m in enumerate(
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre"
        " diciembre".split(), 1)},
    "sept": 9, "setiembre": 9, "set": 9,
}


class BirthDate(NamedTuple):
    value: date | None
    status: str | None  # None (ok), "unparseable", "impossible"


# Each reader returns (year, month, day) candidates in order of preference, or None.
_Reader = Callable[[re.Match[str]], list[tuple[int, int, int]]]


def _ymd(m: re.Match[str]) -> list[tuple[int, int, int]]:
    return [(int(m["y"]), int(m["m"]), int(m["d"]))]


def _dmy_or_mdy(m: re.Match[str]) -> list[tuple[int, int, int]]:
    # Day first, as in Europe and Latin America; month first only when day-first cannot be
    # a date (03/15/1980), never guessed for ambiguous values such as 03/04/1980.
    y, a, b = int(m["y"]), int(m["a"]), int(m["b"])
    if a <= 12 < b:
        return [(y, a, b)]
    return [(y, b, a)]


def _named_month(m: re.Match[str]) -> list[tuple[int, int, int]]:
    month = _MONTHS.get(m["mon"].casefold().rstrip("."))
    return [(int(m["y"]), month, int(m["d"]))] if month else []


_MIDNIGHT = r"(?:[T ]00:00(?::00(?:\.0+)?)?(?:Z|[+-]00:?00)?)?"
_PATTERNS: list[tuple[re.Pattern[str], _Reader]] = [
    (re.compile(rf"^(?P<y>\d{{4}})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}}){_MIDNIGHT}$"), _ymd),
    (re.compile(r"^(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})$"), _ymd),
    (re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"), _ymd),
    (re.compile(r"^(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})$"), _dmy_or_mdy),
    (re.compile(r"^(?P<d>\d{1,2})-(?P<m>\d{1,2})-(?P<y>\d{4})$"), _ymd),
    (re.compile(r"^(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})$"), _ymd),
    (re.compile(r"^(?P<d>\d{1,2})[ \-](?:de )?(?P<mon>[^\W\d_]+\.?)[ \-](?:de )?(?P<y>\d{4})$"),
     _named_month),
    (re.compile(r"^(?P<mon>[^\W\d_]+\.?) (?P<d>\d{1,2}),? (?P<y>\d{4})$"), _named_month),
]
_EXCEL_SERIAL = re.compile(r"^\d{5}$")


def _check(candidate: date, today: date) -> BirthDate:
    if candidate.year < MIN_YEAR or candidate > today:
        return BirthDate(None, "impossible")
    return BirthDate(candidate, None)


def parse_birth_date(
    value: str | None, declared_format: str | None = None, today: date | None = None
) -> BirthDate:
    """Parse a birth date; impossible ones (31/02, before 1900, in the future) are rejected.

    Tried in order: the declared strptime format, ISO 8601 (a midnight time part is allowed),
    %Y/%m/%d, %Y%m%d, %d/%m/%Y (%m/%d/%Y only when unambiguous), %d-%m-%Y, %d.%m.%Y,
    "12 Mar 1980" / "12 de marzo de 1980" / "March 12, 1980", then Excel serial day numbers.
    """
    text = hygiene(value)
    if text is None:
        return BirthDate(None, None)
    today = today or date.today()
    if declared_format:
        try:
            return _check(datetime.strptime(text, declared_format).date(), today)
        except ValueError:
            pass  # fall back to the common formats: sources drift from what they declare
    matched = False
    for pattern, reader in _PATTERNS:
        match = pattern.match(text)
        if match is None:
            continue
        for y, m, d in reader(match):
            matched = True
            try:
                return _check(date(y, m, d), today)
            except ValueError:
                continue
    if matched:
        return BirthDate(None, "impossible")
    if _EXCEL_SERIAL.match(text):
        return _check(_EXCEL_EPOCH + timedelta(days=int(text)), today)
    return BirthDate(None, "unparseable")
