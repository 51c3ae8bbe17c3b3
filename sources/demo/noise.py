"""Vectorised string helpers and the noise that makes departmental copies disagree.

Arrays are numpy object arrays of ``str`` with ``None`` for missing values. Whole-column work
goes through pyarrow.compute or numpy; only the few rows that receive an edit (typos, a few
percent) are touched by per-row Python, which keeps 1M records within seconds.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Arr = np.ndarray

_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))
# Neighbouring keys on a Spanish/UK QWERTY layout: typos are mostly adjacent-key slips.
_NEIGHBOURS = {
    "a": "qswz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wrsd", "f": "drtgvc",
    "g": "ftyhbv", "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kopñ",
    "m": "njk", "n": "bhjm", "o": "iklp", "p": "olñ", "q": "wa", "r": "edft", "s": "awedxz",
    "t": "rfgy", "u": "yhji", "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}


def ascii_fold(text: str) -> str:
    """Strip accents (José -> Jose, ñ -> n); used on small vocabularies only."""
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).replace("º", "o").replace("ª", "a")


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits only, for e-mail local parts and domains."""
    return "".join(c for c in ascii_fold(text).lower() if c.isalnum())


def fold(values: Arr) -> Arr:
    """ASCII-fold a column through its distinct values (names repeat a lot)."""
    return _per_distinct(values, ascii_fold)


def slugs(values: Arr) -> Arr:
    return _per_distinct(values, slug)


def _per_distinct(values: Arr, fn: Callable[[str], str]) -> Arr:
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    mapped = obj([fn(u) for u in uniques])
    out = np.empty(len(values), dtype=object)
    ok = codes >= 0
    out[ok] = mapped[codes[ok]]
    return out


def obj(values: Sequence | Arr | pa.Array | pa.ChunkedArray) -> Arr:
    """Any sequence or arrow array -> numpy object array with None for nulls."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    out = np.empty(len(values), dtype=object)
    out[:] = list(values) if not isinstance(values, np.ndarray) else values
    return out


def pool(values: Sequence[str], idx: Arr) -> Arr:
    """Vocabulary lookup: vocabulary entries at integer positions ``idx``."""
    return obj(values)[idx]


def join(*parts: Arr | str, sep: str = "", skip_null: bool = False) -> Arr:
    """Element-wise concatenation; null if any part is null unless ``skip_null``."""
    n = next(len(p) for p in parts if not isinstance(p, str))
    arrays = [pa.array([p] * n, pa.string()) if isinstance(p, str) else pa.array(p, pa.string())
              for p in parts]
    behaviour = "skip" if skip_null else "emit_null"
    return obj(pc.binary_join_element_wise(*arrays, sep, null_handling=behaviour))


def where(mask: Arr, a: Arr | str | None, b: Arr | str | None) -> Arr:
    """np.where that keeps object dtype (and None) intact."""
    out = np.empty(len(mask), dtype=object)
    out[:] = b if not isinstance(b, np.ndarray) else b
    if isinstance(a, np.ndarray):
        out[mask] = a[mask]
    else:
        out[mask] = a
    return out


def upper(values: Arr) -> Arr:
    return obj(pc.utf8_upper(pa.array(values, pa.string())))


def lower(values: Arr) -> Arr:
    return obj(pc.utf8_lower(pa.array(values, pa.string())))


def title(values: Arr) -> Arr:
    return obj(pc.utf8_title(pa.array(values, pa.string())))


def substr(values: Arr, start: int, stop: int | None = None) -> Arr:
    return obj(pc.utf8_slice_codeunits(pa.array(values, pa.string()), start, stop))


def zfill(numbers: Arr, width: int) -> Arr:
    """Integers -> zero-padded decimal strings."""
    text = pc.cast(pa.array(numbers, pa.int64()), pa.string())
    return obj(pc.utf8_lpad(text, width, padding="0"))


def digits(numbers: Arr) -> Arr:
    return obj(pc.cast(pa.array(numbers, pa.int64()), pa.string()))


def fmt_time(values: Arr, fmt: str) -> Arr:
    """datetime64 -> strings with strftime ``fmt`` (NaT -> None), in C via arrow."""
    seconds = np.asarray(values).astype("datetime64[s]")
    return obj(pc.strftime(pa.array(seconds, pa.timestamp("s")), format=fmt))


def blank(values: Arr, rate: float, rng: np.random.Generator) -> Arr:
    """Drop a share of values: the field was never captured in this system."""
    out = values.copy()
    out[rng.random(len(values)) < rate] = None
    return out


def chance(rng: np.random.Generator, n: int, rate: float) -> Arr:
    return rng.random(n) < rate


def _edit(text: str, op: int, pos_u: float, letter_u: float) -> str:
    """One keyboard-plausible edit: substitute, delete, insert or transpose."""
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 3:
        return text
    # Never touch the first letter: people rarely get it wrong and it keeps blocking usable.
    i = letters[1 + int(pos_u * (len(letters) - 1))] if len(letters) > 1 else letters[0]
    c = text[i]
    if op == 0:
        near = _NEIGHBOURS.get(c.lower(), "e")
        r = near[int(letter_u * len(near))]
        return text[:i] + (r.upper() if c.isupper() else r) + text[i + 1:]
    if op == 1:
        return text[:i] + text[i + 1:]
    if op == 2:
        return text[:i] + c + text[i:]
    if i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + c + text[i + 2:]
    return text[:i] + text[i + 1:]


def typo(values: Arr, rate: float, rng: np.random.Generator) -> Arr:
    """A one-character edit in about ``rate`` of the non-null values."""
    n = len(values)
    hit = np.flatnonzero((rng.random(n) < rate) & (values != None))  # noqa: E711
    ops = rng.integers(0, 4, len(hit))
    pos = rng.random(len(hit))
    let = rng.random(len(hit))
    out = values.copy()
    for k, i in enumerate(hit.tolist()):
        out[i] = _edit(out[i], int(ops[k]), float(pos[k]), float(let[k]))
    return out


def email_typo(values: Arr, rate: float, rng: np.random.Generator,
               domain_typos: dict[str, tuple[str, ...]]) -> Arr:
    """Mistyped domain when a common one exists, else a slip in the local part."""
    n = len(values)
    hit = np.flatnonzero((rng.random(n) < rate) & (values != None))  # noqa: E711
    pick = rng.random(len(hit))
    ops = rng.integers(0, 4, len(hit))
    pos = rng.random(len(hit))
    out = values.copy()
    for k, i in enumerate(hit.tolist()):
        local, _, domain = out[i].partition("@")
        options = domain_typos.get(domain.lower())
        if options and pick[k] < 0.6:
            out[i] = local + "@" + options[int(pick[k] / 0.6 * len(options))]
        else:
            out[i] = _edit(local, int(ops[k]), float(pos[k]), float(pick[k])) + "@" + domain
    return out


def zipf_weights(n: int, s: float = 0.9, offset: float = 3.0) -> Arr:
    """Frequencies that make the head of a vocabulary common and the tail rare."""
    w = 1.0 / (np.arange(n) + offset) ** s
    return w / w.sum()


def choice(rng: np.random.Generator, n: int, weights: Sequence[float] | Arr) -> Arr:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def unique_numbers(idx: Arr, modulus: int | Arr, salt: int) -> Arr:
    """A bijection of entity positions onto [0, modulus): distinct, random-looking numbers.

    An affine map with a multiplier coprime to 10**k (odd, not a multiple of 5) never
    collides, so identifiers stay unique without a dedup pass.
    """
    a = 2_654_435_761
    return (np.asarray(idx, dtype=np.int64) * a + salt) % modulus
