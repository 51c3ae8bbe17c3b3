"""Declarative base and the column helper that makes every column say what it holds.

Every governed column carries a comment (shown in the data dictionary and in the database) and
a PII tag in `info["pii"]`: `direct` identifies a person on its own (name, e-mail, phone, tax
id), `quasi` identifies in combination (birth date, postcode, address), `none` otherwise.
Masked views and erasure are driven by these tags.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, mapped_column

PiiTag = Literal["direct", "quasi", "none"]

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


def column(*args: Any, comment: str, pii: PiiTag = "none", **kwargs: Any) -> Any:
    """`mapped_column` that insists on a comment and a PII tag."""
    info = dict(kwargs.pop("info", {}))
    info["pii"] = pii
    return mapped_column(*args, comment=comment, info=info, **kwargs)
