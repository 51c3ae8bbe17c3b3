"""Nickname groups: "Pepe" is José, "Bill" is William, "Maite" is María Teresa.

`nicknames.csv` (beside this module) lists a formal given name and one of its diminutives
per line; a deployment extends it without code. Names connected through any line form a
group (union-find), because a nickname can belong to several names (Alex: Alexander,
Alexandra, Alejandro) and grouping is what the comparison needs: "do these two given names
denote the same name?". Every key is the cleansing matching key (`match_key`), so accents
and case never matter. A group is named by its smallest member, so the key is stable.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import pyarrow as pa

from pipelines.cleanse.text import match_key

NICKNAMES_CSV = Path(__file__).with_name("nicknames.csv")


def _rows(path: Path) -> list[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        lines = (line for line in handle if line.strip() and not line.startswith("#"))
        out = []
        for row in csv.DictReader(lines):
            name, nick = match_key(row.get("name")), match_key(row.get("nickname"))
            if name and nick:
                out.append((name, nick))
        return out


@cache
def nickname_groups(path: Path = NICKNAMES_CSV) -> dict[str, str]:
    """Matching key of every listed name or nickname -> its group key."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for name, nick in _rows(path):
        a, b = find(name), find(nick)
        if a != b:
            # The smaller key becomes the root, so group names do not depend on file order.
            parent[max(a, b)] = min(a, b)
    return {key: find(key) for key in sorted(parent)}


def nickname_table(path: Path = NICKNAMES_CSV) -> pa.Table:
    """The groups as an Arrow table (name_key, group_key), for a SQL join."""
    groups = nickname_groups(path)
    return pa.table({"name_key": list(groups), "group_key": list(groups.values())})
