"""The SQL verdict on phone numbers (`_cl_phone_valid`) agrees with phonenumbers itself."""

from __future__ import annotations

import random
from datetime import date

import duckdb
import phonenumbers
import pyarrow as pa

from pipelines.cleanse import standardise as std
from pipelines.cleanse.contact import PHONE_TYPE_DESCS, phone_validity_rules
from pipelines.cleanse.sql import install_macros
from pipelines.cleanse.stages import _PHONE_FAST
from pipelines.cleanse.udfs import register_udfs


def _numbers() -> list[str]:
    """For every verbatim calling code: each region's example numbers (valid), the same with
    a digit changed, dropped or added, and random digit strings of every plausible length."""
    rng = random.Random(7)
    out = ["+34600123456", "+3460012345", "+340600123456", "+34", "+3", "+", "34600123456",
           "+34 600", "+44(0)20", "+447624123456", "+441481123456", "+441534123456",
           "+1", "+12015550123", "+79123456789", "+8801812345678", "+99912345", "+0123"]
    for code, rules in phone_validity_rules().items():
        for rule in rules:
            meta = phonenumbers.PhoneMetadata.metadata_for_region(rule.region)
            for name in (*PHONE_TYPE_DESCS, "general_desc"):
                desc = getattr(meta, name)
                example = desc.example_number if desc is not None else None
                if not example:
                    continue
                out.append(f"+{code}{example}")
                i = rng.randrange(len(example))
                out.append(f"+{code}{example[:i]}{(int(example[i]) + 1) % 10}{example[i + 1:]}")
                out.append(f"+{code}{example[:-1]}")
                out.append(f"+{code}{example}{rng.randrange(10)}")
        for length in range(1, 19):
            for _ in range(6):
                digits = "".join(rng.choice("0123456789") for _ in range(length))
                out.append(f"+{code}{digits}")
    return out


def test_sql_phone_verdict_agrees_with_phonenumbers() -> None:
    numbers = _numbers()
    con = duckdb.connect()
    register_udfs(con, date(2024, 6, 1))
    install_macros(con)
    samples = pa.table({"x": numbers})  # noqa: F841 - read by DuckDB's replacement scan
    verdicts = con.execute("SELECT x, _cl_phone_valid(x) FROM samples").fetchall()
    handled = 0
    for number, valid in verdicts:
        if valid is None:
            continue
        handled += 1
        expected = std.standardise_phone(number, None)
        assert expected == (std.Phone(number, None) if valid else std.Phone(None, "invalid")), (
            number
        )
    valid_count = sum(1 for _, v in verdicts if v)
    # The fast path must carry most numbers, valid and invalid ones alike.
    assert handled > 0.8 * len(numbers)
    assert valid_count > 500 and handled - valid_count > 500


def test_the_fast_lookup_path_gives_the_udfs_answer_where_it_decides() -> None:
    """`_PHONE_FAST` (the phone lookup's SQL path): the library's own result for a verbatim
    international key the macro decides, NULL for the rest (national keys, undecided)."""
    numbers = _numbers()
    con = duckdb.connect()
    register_udfs(con, date(2024, 6, 1))
    install_macros(con)
    keys = pa.table(  # noqa: F841 - read by DuckDB's replacement scan
        {"number": numbers * 2, "region": [""] * len(numbers) + ["ES"] * len(numbers)}
    )
    rows = con.execute(
        f"SELECT number, region, {_PHONE_FAST} AS v, _cl_phone_valid(number) FROM keys"
    ).fetchall()
    decided = 0
    for number, region, fast, valid in rows:
        if region or valid is None:
            assert fast is None, (number, region)
            continue
        decided += 1
        phone = std.standardise_phone(number, None)
        assert fast == {"e164": phone.e164, "status": phone.status}, number
    assert decided > 0.8 * len(numbers)
