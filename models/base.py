"""Declarative base and the column helper that makes every column say what it holds.

Every governed column carries a comment (shown in the data dictionary and in the database) and
a PII tag in `info["pii"]`: `direct` identifies a person on its own (name, e-mail, phone, tax
id), `quasi` identifies in combination (birth date, postcode, address), `none` otherwise.
Masked views (`models/access.py`), erasure and the data dictionary are driven by these tags.

How a PII column appears in the masked views analysts read is `info["mask"]`; the default is to
leave it out (safest), a column may instead be hashed (a pseudonymous join key), generalised
(birth year, postcode area) or shown for companies only (a company name is not personal data).
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, mapped_column

PiiTag = Literal["direct", "quasi", "none"]
# omit: not in the view; sha256: hex SHA-256 of the value, named <column>_sha256;
# year: the year of a date, named <prefix>_year; prefix2: first two characters (a postcode's
# area or province), named <column>_area; company_only: the value when party_type = 'company'.
MaskKind = Literal["omit", "sha256", "year", "prefix2", "company_only"]
PII_TAGS: tuple[PiiTag, ...] = ("direct", "quasi", "none")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SCHEMAS = ("core", "audit", "marts")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def column(
    *args: Any, comment: str, pii: PiiTag = "none", mask: MaskKind | None = None, **kwargs: Any
) -> Any:
    """`mapped_column` that insists on a comment and a PII tag (and, for PII, its masking)."""
    if pii not in PII_TAGS:
        raise ValueError(f"pii must be one of {PII_TAGS}, not {pii!r}")
    if pii == "none" and mask is not None:
        raise ValueError("only a PII column is masked; drop mask= or tag the column")
    info = dict(kwargs.pop("info", {}))
    info["pii"] = pii
    if pii != "none":
        info["mask"] = mask or "omit"
    return mapped_column(*args, comment=comment, info=info, **kwargs)
