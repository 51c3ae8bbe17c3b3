"""The real customers behind the demo: one row per entity, the truth every system distorts.

An entity holds the customer's correct, current data plus what systems may hold instead
(a nickname, an alternative e-mail, the address before a move). Everything is built from
vocabulary indices and numpy draws, column at a time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sources.demo import pools
from sources.demo.noise import (
    Arr,
    choice,
    digits,
    fold,
    join,
    obj,
    pool,
    slugs,
    substr,
    unique_numbers,
    where,
    zfill,
    zipf_weights,
)

ANCHOR = np.datetime64("2026-10-31")
NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_CIF_LETTER_CONTROL = "JABCDEFGHI"
_GB_INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))

Entities = dict[str, Arr]


def nif_letter(numbers: Arr) -> Arr:
    """NIF/NIE control letter: the number modulo 23 indexes a fixed alphabet."""
    return obj(list(NIF_LETTERS))[np.asarray(numbers, dtype=np.int64) % 23]


def cif_control(body: Arr) -> Arr:
    """CIF control digit of a 7-digit body (int array): the official Luhn-like rule."""
    d = np.stack([(body // 10 ** (6 - k)) % 10 for k in range(7)], axis=1)
    even = d[:, 1] + d[:, 3] + d[:, 5]
    doubled = d[:, [0, 2, 4, 6]] * 2
    odd = (doubled // 10 + doubled % 10).sum(axis=1)
    return (10 - (even + odd) % 10) % 10


def _names(rng: np.random.Generator, vocab: list[tuple[str, str]], n: int) -> tuple[Arr, Arr]:
    idx = choice(rng, n, zipf_weights(len(vocab), 0.6))
    given = pool([g for g, _ in vocab], idx)
    nick = pool([k or None for _, k in vocab], idx)
    return given, nick


def _surnames(rng: np.random.Generator, vocab: list[str], n: int) -> Arr:
    return pool(vocab, choice(rng, n, zipf_weights(len(vocab), 0.5, 8.0)))


def _dedupe(values: Arr, rng: np.random.Generator, key: Arr | None = None) -> Arr:
    """Make values unique by appending a short number to later duplicates.

    ``key`` is the comparison form (e.g. slugs) when it differs from the display value.
    """
    out = values.copy()
    key = (values if key is None else key).copy()
    for _ in range(20):
        dup = pd.Series(key, dtype=object).duplicated(keep="first").to_numpy() & (key != None)  # noqa: E711
        if not dup.any():
            return out
        suffix = digits(rng.integers(2, 100, dup.sum()))
        out[dup] = join(out[dup], suffix, sep=" ")
        key[dup] = join(key[dup], suffix)
    raise RuntimeError("could not make values unique")


def _addresses(rng: np.random.Generator, country: Arr, is_company: Arr) -> dict[str, Arr]:
    """A plausible postal address per row, Spanish or British by ``country``."""
    n = len(country)
    es = country == "ES"
    out: dict[str, Arr] = {}

    es_city = choice(rng, n, [c[4] for c in pools.ES_CITIES])
    gb_city = choice(rng, n, [c[4] for c in pools.GB_CITIES])
    street_type = choice(rng, n, [w for _, w in pools.ES_STREET_TYPES])
    es_street = choice(rng, n, zipf_weights(len(pools.ES_STREETS), 0.5))
    gb_street = choice(rng, n, zipf_weights(len(pools.GB_STREETS), 0.5))
    number = np.minimum(rng.geometric(0.04, n), 250)

    out["street_type"] = np.where(es, street_type, -1)
    out["street"] = where(es, pool(pools.ES_STREETS, es_street), pool(pools.GB_STREETS, gb_street))
    out["number"] = number
    out["city"] = where(es, pool([c[0] for c in pools.ES_CITIES], es_city),
                        pool([c[0] for c in pools.GB_CITIES], gb_city))
    out["region"] = where(es, pool([c[1] for c in pools.ES_CITIES], es_city),
                          pool([c[1] for c in pools.GB_CITIES], gb_city))

    es_pc = join(pool([c[2] for c in pools.ES_CITIES], es_city), zfill(rng.integers(1, 90, n), 3))
    width = max(len(c[2]) for c in pools.GB_CITIES)
    outward_table = obj([list(c[2]) + [c[2][0]] * (width - len(c[2])) for c in pools.GB_CITIES])
    outward_table = np.array([list(r) for r in outward_table], dtype=object)
    n_out = np.array([len(c[2]) for c in pools.GB_CITIES])
    outward = outward_table[gb_city, (rng.random(n) * n_out[gb_city]).astype(int)]
    inward = join(digits(rng.integers(1, 10, n)),
                  obj(_GB_INWARD_LETTERS[rng.integers(0, 20, n)]),
                  obj(_GB_INWARD_LETTERS[rng.integers(0, 20, n)]))
    out["postcode"] = where(es, es_pc, join(obj(outward), inward, sep=" "))
    out["city_index"] = np.where(es, es_city, gb_city)

    # Spanish flats carry floor and door; offices and British flats a unit, sometimes.
    floors = obj(["Bajo", "1º", "2º", "3º", "4º", "5º", "6º", "7º", "8º", "Ático"])
    doors = obj(["A", "B", "C", "D", "Izq.", "Dcha.", "1ª", "2ª"])
    es_line2 = join(floors[choice(rng, n, [3, 6, 6, 5, 4, 3, 2, 1, 1, 1])],
                    doors[rng.integers(0, len(doors), n)], sep=" ")
    es_office = join(obj(["Local", "Nave", "Oficina", "Planta"])[rng.integers(0, 4, n)],
                     digits(rng.integers(1, 20, n)), sep=" ")
    gb_line2 = join(obj(["Flat", "Apartment", "Unit", "Suite"])[rng.integers(0, 4, n)],
                    digits(rng.integers(1, 40, n)), sep=" ")
    has_line2 = np.where(es, np.where(is_company, 0.5, 0.75), 0.25) > rng.random(n)
    line2 = where(es, where(is_company, es_office, es_line2), gb_line2)
    out["line2"] = where(has_line2, line2, None)
    return out


def make_entities(n: int, rng: np.random.Generator) -> Entities:
    """Draw ``n`` real customers (about 75% persons, 25% companies)."""
    e: Entities = {}
    idx = np.arange(n)
    e["entity_id"] = join("E", zfill(idx + 1, 7))
    is_company = rng.random(n) < 0.25
    e["is_company"] = is_company
    person = ~is_company
    # Persons: 80% Spanish residents, of which ~6% British expats (NIE, English names).
    country = where(rng.random(n) < np.where(is_company, 0.85, 0.80), "ES", "GB")
    e["country"] = country
    es = country == "ES"
    english = ~es | (rng.random(n) < 0.06)
    e["english_name"] = english
    female = rng.random(n) < 0.5

    es_m, es_m_nick = _names(rng, pools.ES_MALE, n)
    es_f, es_f_nick = _names(rng, pools.ES_FEMALE, n)
    gb_m, gb_m_nick = _names(rng, pools.GB_MALE, n)
    gb_f, gb_f_nick = _names(rng, pools.GB_FEMALE, n)
    given = where(english, where(female, gb_f, gb_m), where(female, es_f, es_m))
    nick = where(english, where(female, gb_f_nick, gb_m_nick), where(female, es_f_nick, es_m_nick))
    s1 = _surnames(rng, pools.ES_SURNAMES, n)
    s2 = _surnames(rng, pools.ES_SURNAMES, n)
    gb_s = _surnames(rng, pools.GB_SURNAMES, n)
    hyphen = rng.random(n) < 0.04
    es_family = where(hyphen, join(s1, s2, sep="-"), join(s1, s2, sep=" "))
    family = where(english, gb_s, es_family)
    family1 = where(english, gb_s, s1)

    # Companies keep a contact person (used by the CRM), not a personal name.
    e["given"] = where(person, given, None)
    e["nick"] = where(person, nick, None)
    e["family"] = where(person, family, None)
    e["family1"] = where(person, family1, None)
    e["contact_given"] = where(is_company, given, None)
    e["contact_family"] = where(is_company, family1, None)
    e["given_ascii"] = fold(e["given"])
    e["family_ascii"] = fold(e["family"])
    e["family1_ascii"] = fold(e["family1"])

    age = rng.normal(47, 15, n)
    # Redraw out-of-range ages instead of clipping: clipping would pile everyone on one date.
    age = np.where((age < 18) | (age > 92), rng.uniform(18, 70, n), age)
    age_days = (age * 365.25).astype(int)
    birth = ANCHOR - age_days.astype("timedelta64[D]")
    e["birth_date"] = np.where(person, birth, np.datetime64("NaT"))

    # Company names: a few building patterns, then made unique so two real companies never
    # share a name (real registries forbid it; the linker should not be asked to guess).
    sur_es = _surnames(rng, pools.ES_SURNAMES, n)
    sur_gb = _surnames(rng, pools.GB_SURNAMES, n)
    w_es = pool(pools.ES_COMPANY_WORDS, rng.integers(0, len(pools.ES_COMPANY_WORDS), n))
    sec_es = pool(pools.ES_COMPANY_SECTORS, rng.integers(0, len(pools.ES_COMPANY_SECTORS), n))
    tail_es = pool([t or None for t in pools.ES_COMPANY_TAILS],
                   rng.integers(0, len(pools.ES_COMPANY_TAILS), n))
    w_gb = pool(pools.GB_COMPANY_WORDS, rng.integers(0, len(pools.GB_COMPANY_WORDS), n))
    sec_gb = pool(pools.GB_COMPANY_SECTORS, rng.integers(0, len(pools.GB_COMPANY_SECTORS), n))
    tail_gb = pool([t or None for t in pools.GB_COMPANY_TAILS],
                   rng.integers(0, len(pools.GB_COMPANY_TAILS), n))
    pattern = rng.integers(0, 3, n)
    es_name = np.select(
        [pattern == 0, pattern == 1],
        [join(sur_es, sec_es, sep=" "), join(w_es, sec_es, sep=" ")],
        join(sec_es, w_es, sep=" "),
    ).astype(object)
    es_name = join(es_name, tail_es, sep=" ", skip_null=True)
    gb_name = np.select(
        [pattern == 0, pattern == 1],
        [join(sur_gb, "& Sons", sep=" "), join(w_gb, sec_gb, sep=" ")],
        join(sur_gb, sec_gb, sep=" "),
    ).astype(object)
    gb_name = join(gb_name, tail_gb, sep=" ", skip_null=True)
    base = where(is_company, where(es, es_name, gb_name), None)
    base = _dedupe(base, rng, slugs(base))
    e["company"] = base
    e["company_ascii"] = fold(base)
    es_forms = obj(["SL", "SA", "SLU", "COOP"])[choice(rng, n, [60, 15, 18, 7])]
    gb_forms = obj(["LTD", "PLC"])[choice(rng, n, [85, 15])]
    e["legal_form"] = where(is_company, where(es, es_forms, gb_forms), None)

    # E-mail: personal patterns for persons, a role mailbox on the company domain otherwise.
    g = slugs(substr_first_token(e["given_ascii"]))
    f1 = slugs(e["family1_ascii"])
    f2 = slugs(where(english, None, s2))
    yy = zfill(birth.astype("datetime64[Y]").astype(int) % 100, 2)
    nn = digits(rng.integers(1, 100, n))
    g0 = substr_first_char(g)
    patterns = [
        join(g, f1, sep="."), join(g, f1, yy), join(g0, f1), join(g, f1, f2, sep="."),
        join(g, join(f1, nn), sep="_"), join(f1, g, sep="."),
    ]
    table = np.stack(patterns, axis=1)
    p1 = rng.integers(0, len(patterns), n)
    p2 = (p1 + rng.integers(1, len(patterns), n)) % len(patterns)
    local1 = table[idx, p1]
    local1 = where(local1 == None, join(g, f1, sep="."), local1)  # noqa: E711
    local2 = table[idx, p2]
    local2 = where(local2 == None, join(g, f1, nn), local2)  # noqa: E711
    dom_es = obj(pools.PERSON_DOMAINS_ES)
    dom_gb = obj(pools.PERSON_DOMAINS_GB)
    d1 = where(es, dom_es[rng.integers(0, len(dom_es), n)], dom_gb[rng.integers(0, len(dom_gb), n)])
    d2 = where(es, dom_es[rng.integers(0, len(dom_es), n)], dom_gb[rng.integers(0, len(dom_gb), n)])
    company_slug = slugs(e["company_ascii"])
    tld = where(es, where(rng.random(n) < 0.7, ".es", ".com"),
                where(rng.random(n) < 0.7, ".co.uk", ".com"))
    mailbox = where(es, obj(pools.COMPANY_MAILBOXES_ES)[rng.integers(0, 5, n)],
                    obj(pools.COMPANY_MAILBOXES_GB)[rng.integers(0, 5, n)])
    company_domain = join(substr(company_slug, 0, 28), tld)
    email = where(is_company, join(mailbox, company_domain, sep="@"), join(local1, d1, sep="@"))
    alt_mailbox = where(es, "facturacion", "accounts")
    email_alt = where(is_company, join(alt_mailbox, company_domain, sep="@"),
                      join(local2, d2, sep="@"))
    # Only some persons really use a second address; companies always have a billing mailbox.
    email_alt = where(is_company | (rng.random(n) < 0.10), email_alt, None)
    both = np.concatenate([email, email_alt])
    both = _dedupe_emails(both, rng)
    e["email"], e["email_alt"] = both[:n], both[n:]

    # Phones as (country code, area, subscriber) so each system can format them its own way.
    city_land = obj([c[3] for c in pools.ES_CITIES])
    addr = _addresses(rng, country, is_company)
    es_mobile = 600_000_000 + unique_numbers(idx, 200_000_000, 7_177)
    es_mobile_s = digits(es_mobile)
    land_prefix = city_land[np.where(es, addr["city_index"], 0)]
    land_len = np.array([len(x) for x in land_prefix])
    # Province prefixes are 2 or 3 digits; the national number is always 9 digits, and the
    # modulus per row keeps subscriber numbers distinct within each prefix.
    es_land = join(land_prefix, _pad_var(unique_numbers(idx, 10 ** (9 - land_len), 991),
                                         9 - land_len))
    es_nsn = where(is_company, es_land, es_mobile_s)
    gb_area_tbl = obj([c[3] for c in pools.GB_CITIES])
    gb_area = gb_area_tbl[np.where(es, 0, addr["city_index"])]
    gb_mobile_area = join("7", zfill(rng.integers(400, 1000, n), 3))
    gb_mobile_sub = zfill(unique_numbers(idx, 1_000_000, 12_345), 6)
    area_len = np.array([len(x) for x in gb_area])
    gb_land_sub = _pad_var(unique_numbers(idx, 10 ** (10 - area_len), 4_242), 10 - area_len)
    e["phone_cc"] = where(es, "34", "44")
    e["phone_area"] = where(es, substr(es_nsn, 0, 3), where(is_company, gb_area, gb_mobile_area))
    e["phone_sub"] = where(es, substr(es_nsn, 3), where(is_company, gb_land_sub, gb_mobile_sub))

    # Tax ids: NIF (Spaniards), NIE (foreign residents), CIF (Spanish companies),
    # GB VAT number (British companies), none for British persons.
    nif_num = unique_numbers(idx, 100_000_000, 31_337)
    nif = join(zfill(nif_num, 8), nif_letter(nif_num))
    nie_prefix = rng.integers(0, 2, n)  # X or Y
    nie_num = unique_numbers(idx, 10_000_000, 555)
    nie = join(obj(["X", "Y"])[nie_prefix], zfill(nie_num, 7),
               nif_letter(nie_prefix * 10_000_000 + nie_num))
    cif_body = unique_numbers(idx, 10_000_000, 8_080)
    cif_letter = obj([pools.CIF_LETTER.get(str(f), "B") for f in e["legal_form"]])
    cif = join(cif_letter, zfill(cif_body, 7), digits(cif_control(cif_body)))
    vat = join("GB", zfill(unique_numbers(idx, 1_000_000_000, 99), 9))
    person_tax = where(es, where(english, nie, nif), None)
    e["tax_id"] = where(is_company, where(es, cif, vat), person_tax)

    for k, v in addr.items():
        e[f"addr_{k}"] = v
    # About one customer in ten moved; some systems still hold the address before the move.
    e["moved"] = rng.random(n) < 0.10
    old = _addresses(rng, country, is_company)
    # Half of the moves stay in town: only the street part of the address changes.
    same_city = rng.random(n) < 0.5
    for k, v in old.items():
        town_part = k in ("city", "region", "city_index", "postcode")
        e[f"old_{k}"] = np.where(same_city, addr[k], v) if town_part else v
    e["spend"] = rng.lognormal(0.0, 0.7, n) * np.where(is_company, 4.0, 1.0)
    e["since"] = ANCHOR - rng.integers(30, 3650, n).astype("timedelta64[D]")
    return e


def substr_first_token(values: Arr) -> Arr:
    """'José Ángel' -> 'José': compound given names use their first word in e-mails."""
    parts = pc.split_pattern(pa.array(values, pa.string()), " ", max_splits=1)
    return obj(pc.list_element(parts, 0))


def substr_first_char(values: Arr) -> Arr:
    return substr(values, 0, 1)


def _pad_var(numbers: Arr, widths: Arr) -> Arr:
    """Zero-pad each number to its own width (widths take only a few distinct values)."""
    out = np.empty(len(numbers), dtype=object)
    for w in np.unique(widths).tolist():
        m = widths == w
        out[m] = zfill(numbers[m], int(w))
    return out


def _dedupe_emails(values: Arr, rng: np.random.Generator) -> Arr:
    """Unique addresses: a number is added to the local part of later duplicates."""
    out = values.copy()
    for _ in range(20):
        low = pd.Series(out, dtype=object).str.lower()
        dup = low.duplicated(keep="first").to_numpy() & (out != None)  # noqa: E711
        if not dup.any():
            return out
        parts = pd.Series(out[dup], dtype=object).str.split("@", n=1, expand=True)
        suffix = digits(rng.integers(2, 1000, dup.sum()))
        out[dup] = join(join(obj(parts[0].to_numpy()), suffix), obj(parts[1].to_numpy()), sep="@")
    raise RuntimeError("could not make e-mail addresses unique")
