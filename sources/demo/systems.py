"""The five departmental systems: each renders its customers its own way.

A system receives the entity positions of its records (one per customer it knows, two for
in-source duplicates) and builds its customer table column by column. Each system has its own
column names, formats and habits (nicknames, legacy upper case, stale addresses), and each
gets a few deliberately bad rows so quarantine has something to catch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sources.demo import pools
from sources.demo.noise import (
    Arr,
    blank,
    chance,
    choice,
    digits,
    email_typo,
    fmt_time,
    fold,
    join,
    lower,
    obj,
    substr,
    title,
    typo,
    upper,
    where,
    zfill,
)
from sources.demo.people import ANCHOR, NIF_LETTERS, Entities

# Defect codes written to ground truth for the deliberately bad rows.
NO_IDENTIFYING_FIELDS = "no_identifying_fields"
DUPLICATE_PRIMARY_KEY = "duplicate_primary_key"
MISSING_PRIMARY_KEY = "missing_primary_key"
IMPOSSIBLE_BIRTH_DATE = "impossible_birth_date"


@dataclass
class SystemData:
    """One system's customer table plus what ground truth and activities need."""

    name: str
    customers: pd.DataFrame
    record_id: Arr  # primary key as text per row ("#row<n>" when the row has none)
    entity: Arr  # entity position per row, -1 for rows that are nobody
    defect: Arr  # None, or one of the defect codes above
    key: Arr  # primary key value per row in the system's own type (for activity rows)
    activities: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def linkable(self) -> Arr:
        """Rows that activities may reference: real customers with a usable key."""
        return (self.entity >= 0) & (self.defect != MISSING_PRIMARY_KEY)


class View:
    """Entity columns seen through a system's record -> entity index."""

    def __init__(self, e: Entities, idx: Arr) -> None:
        self.e, self.idx, self.n = e, idx, len(idx)

    def __getitem__(self, key: str) -> Arr:
        return self.e[key][self.idx]


# --------------------------------------------------------------------------- rendering

def given_names(v: View, rng: np.random.Generator, nick_rate: float) -> Arr:
    nick = v["nick"]
    use = chance(rng, v.n, nick_rate) & (nick != None)  # noqa: E711
    return where(use, nick, v["given"])


def family_names(v: View, rng: np.random.Generator, first_only_rate: float) -> Arr:
    """Spanish customers have two surnames; many forms only keep the first."""
    first_only = chance(rng, v.n, first_only_rate) & ~v["english_name"]
    return where(first_only, v["family1"], v["family"])


def swap(a: Arr, b: Arr, rng: np.random.Generator, rate: float) -> tuple[Arr, Arr, Arr]:
    """Given and family name typed into each other's field."""
    m = chance(rng, len(a), rate) & (a != None) & (b != None)  # noqa: E711
    return where(m, b, a), where(m, a, b), m


def legacy(values: Arr) -> Arr:
    """What a 1990s system stores: upper case, no accents."""
    return upper(fold(values))


def company_names(v: View, rng: np.random.Generator, style_weights: list[float]) -> Arr:
    """Company name with its legal form in one of five spellings (style 4: none)."""
    forms = list(pools.LEGAL_FORMS)
    table = np.array([list(pools.LEGAL_FORMS[f]) + [""] for f in forms], dtype=object)
    code = v["legal_form"]
    is_co = code != None  # noqa: E711
    form_idx = np.zeros(v.n, dtype=int)
    for i, f in enumerate(forms):
        form_idx[code == f] = i
    style = choice(rng, v.n, style_weights)
    suffix = table[form_idx, style]
    name = join(v["company"], obj(suffix))
    return where(is_co, name, None)


def phones(v: View, rng: np.random.Generator, style_weights: dict[str, float]) -> Arr:
    """Render (country code, area, subscriber) in a mix of the system's habitual styles."""
    cc, area, sub = v["phone_cc"], v["phone_area"], v["phone_sub"]
    es = cc == "34"
    sub_len = np.array([len(s) for s in sub])
    # Group British subscriber numbers as people write them: 7946 0958, 946 0958, 123456.
    gb_head = where(sub_len == 8, substr(sub, 0, 4), where(sub_len == 7, substr(sub, 0, 3), sub))
    gb_tail = where(sub_len == 8, substr(sub, 4), where(sub_len == 7, substr(sub, 3), None))
    gb_grouped = join(gb_head, gb_tail, sep=" ", skip_null=True)
    gb_dashed = join(gb_head, gb_tail, sep="-", skip_null=True)
    es_3_3 = join(substr(sub, 0, 3), substr(sub, 3), sep=" ")
    es_3_3_dashed = join(substr(sub, 0, 3), substr(sub, 3), sep="-")
    es_2_2_2 = join(substr(sub, 0, 2), substr(sub, 2, 4), substr(sub, 4), sep=" ")
    mobile_gb = substr(area, 0, 1) == "7"
    styles = {
        "intl_spaced": join("+", join(cc, area, where(es, es_3_3, gb_grouped), sep=" ")),
        "e164": join("+", cc, area, sub),
        "national_digits": where(es, join(area, sub), join("0", area, sub)),
        "intl_00_dashed": join("00", join(cc, area, where(es, es_3_3_dashed, gb_dashed),
                                         sep="-")),
        "national_spaced": where(
            es, join(area, es_2_2_2, sep=" "),
            where(mobile_gb, join(join("0", area), sub, sep=" "),
                  join("(0", area, ") ", gb_grouped))),
    }
    names = list(style_weights)
    pick = choice(rng, v.n, list(style_weights.values()))
    out = np.empty(v.n, dtype=object)
    for i, s in enumerate(names):
        m = pick == i
        out[m] = styles[s][m]
    # A slipped digit now and then: the number no longer matches, as in real exports.
    slip = np.flatnonzero(chance(rng, v.n, 0.01))
    for i, d in zip(slip.tolist(), rng.integers(0, 10, len(slip)).tolist(), strict=True):
        out[i] = out[i][:-1] + str(d)
    return out


def emails(v: View, rng: np.random.Generator, *, alt: float, missing: float, upper_rate: float,
           title_rate: float, typo_rate: float) -> Arr:
    base = v["email"]
    other = v["email_alt"]
    use_alt = chance(rng, v.n, alt) & (other != None)  # noqa: E711
    out = where(use_alt, other, base)
    case = rng.random(v.n)
    out = where(case < upper_rate, upper(out), out)
    out = where((case >= upper_rate) & (case < upper_rate + title_rate), title(out), out)
    out = email_typo(out, typo_rate, rng, pools.DOMAIN_TYPOS)
    return blank(out, missing, rng)


def addresses(v: View, rng: np.random.Generator, stale: float) -> dict[str, Arr]:
    """Current address, or the one before the move for customers this system lost track of."""
    old = v["moved"] & chance(rng, v.n, stale)
    keys = ("street_type", "street", "number", "line2", "postcode", "city", "region")
    return {k: np.where(old, v[f"old_{k}"], v[f"addr_{k}"]) for k in keys} | {"stale": old}


def street_label(a: dict[str, Arr], style: int) -> Arr:
    """'Calle de Alcalá' (0), 'C/ de Alcalá' (1) or 'CL DE ALCALA' (2); British unchanged."""
    types = np.array([t[style] for t, _ in pools.ES_STREET_TYPES] + [""], dtype=object)
    st = a["street_type"].astype(int)
    label = join(types[st], a["street"], sep=" ")
    es = st >= 0
    label = where(es, label, a["street"])
    return legacy(label) if style == 2 else label


def line1(a: dict[str, Arr], style: int) -> Arr:
    """Street and number in the order and punctuation each country uses."""
    es = a["street_type"].astype(int) >= 0
    number = digits(a["number"].astype(np.int64))
    label = street_label(a, style)
    es_form = join(label, number, sep=", " if style == 0 else " ")
    return where(es, es_form, join(number, a["street"], sep=" "))


def country_names(v: View, rng: np.random.Generator, es: dict[str, float],
                  gb: dict[str, float]) -> Arr:
    is_es = v["country"] == "ES"
    es_pick = obj(list(es))[choice(rng, v.n, list(es.values()))]
    gb_pick = obj(list(gb))[choice(rng, v.n, list(gb.values()))]
    return where(is_es, es_pick, gb_pick)


def tax_ids(v: View, rng: np.random.Generator, *, missing: float, invalid: float,
            formatted: float) -> Arr:
    """Tax ids as clerks type them: dashes, dots, spaces, VAT prefix, a wrong control char."""
    t = v["tax_id"]
    has = t != None  # noqa: E711
    t = where(has, t, "")
    n = v.n
    # A wrong control character: what a clerk's slip does to an otherwise valid id.
    bad = np.flatnonzero(chance(rng, n, invalid) & has)
    shift = rng.integers(1, 9, len(bad))
    for i, k in zip(bad.tolist(), shift.tolist(), strict=True):
        c = t[i][-1]
        if c.isdigit():
            c = str((int(c) + k) % 10)
        else:
            c = NIF_LETTERS[(NIF_LETTERS.find(c) + k) % 23]
        t[i] = t[i][:-1] + c
    style = choice(rng, n, [1 - formatted, formatted * 0.4, formatted * 0.3,
                            formatted * 0.2, formatted * 0.1])
    head, body, tail = substr(t, 0, 1), substr(t, 1, -1), substr(t, -1)
    numeric_head = np.array([h.isdigit() if h else False for h in head])
    gb = substr(t, 0, 2) == "GB"
    # NIF: 12345678-Z / 12.345.678 Z ; CIF: B-12345678 / B 1234567 8 ; VAT: ESB12345678
    dashed = where(numeric_head, join(substr(t, 0, -1), tail, sep="-"), join(head, substr(t, 1),
                                                                             sep="-"))
    dotted = where(numeric_head,
                   join(join(substr(t, 0, 2), substr(t, 2, 5), substr(t, 5, 8), sep="."), tail,
                        sep=" "),
                   join(head, body, tail, sep=" "))
    spaced = join(substr(t, 0, -1), tail, sep=" ")
    prefixed = join("ES", t)
    out = t.copy()
    for i, variant in enumerate((None, dashed, dotted, spaced, prefixed), start=0):
        if variant is not None:
            m = (style == i) & ~gb
            out[m] = variant[m]
    out = where(chance(rng, n, 0.05), lower(out), out)
    out = where(has, out, None)
    return blank(out, missing, rng)


def timestamps_between(start: Arr, rng: np.random.Generator) -> Arr:
    """A moment between ``start`` (a date) and the anchor, to the second."""
    span = (ANCHOR - start).astype("timedelta64[s]").astype(np.int64)
    offset = (rng.random(len(start)) * span).astype(np.int64)
    return start.astype("datetime64[s]") + offset.astype("timedelta64[s]")


def _defects(n: int) -> Arr:
    return np.full(n, None, dtype=object)


def _first(mask: Arr, start: int = 0) -> int:
    """Position of the first True at or after ``start`` (deterministic pick of a victim row)."""
    hits = np.flatnonzero(mask[start:])
    if not len(hits):
        hits = np.flatnonzero(mask)
        return int(hits[0])
    return int(hits[0]) + start


def _append(df: pd.DataFrame, row: dict) -> pd.DataFrame:
    extra = pd.DataFrame([{c: row.get(c) for c in df.columns}], columns=df.columns)
    extra = extra.astype({c: df[c].dtype for c in df.columns if df[c].dtype != object},
                         errors="ignore")
    return pd.concat([df, extra], ignore_index=True)


def _insert_copy(df: pd.DataFrame, pos: int, changes: dict) -> pd.DataFrame:
    """Duplicate row ``pos`` right after itself, with some values changed."""
    row = df.iloc[[pos]].copy()
    for k, val in changes.items():
        row[k] = val
    return pd.concat([df.iloc[: pos + 1], row, df.iloc[pos + 1:]], ignore_index=True)


def _insert_arr(a: Arr, pos: int, value: object) -> Arr:
    out = np.empty(len(a) + 1, dtype=a.dtype)
    out[: pos + 1] = a[: pos + 1]
    out[pos + 1] = value
    out[pos + 2:] = a[pos + 1:]
    return out


# --------------------------------------------------------------------------- the systems

def build_crm(e: Entities, idx: Arr, rng: np.random.Generator) -> SystemData:
    """Sales CRM: tidy, current, English column names, a few nicknames."""
    v = View(e, idx)
    person = ~v["is_company"]
    first = typo(given_names(v, rng, 0.10), 0.02, rng)
    last = typo(family_names(v, rng, 0.12), 0.02, rng)
    first, last, _ = swap(first, last, rng, 0.005)
    company = typo(company_names(v, rng, [70, 5, 15, 0, 10]), 0.02, rng)
    a = addresses(v, rng, stale=0.10)
    has_addr = ~chance(rng, v.n, 0.08)
    created = timestamps_between(v["since"], rng)
    updated = created + ((ANCHOR.astype("datetime64[s]") - created).astype(np.int64)
                         * rng.random(v.n)).astype("timedelta64[s]")
    contact_id = np.arange(1001, 1001 + v.n, dtype=np.int64)
    df = pd.DataFrame({
        "contact_id": contact_id,
        "contact_type": where(person, "individual", "organisation"),
        "first_name": where(person, first, None),
        "last_name": where(person, last, None),
        "company": company,
        "contact_person": where(person, None, join(v["contact_given"], v["contact_family"],
                                                   sep=" ")),
        "email": emails(v, rng, alt=0.12, missing=0.05, upper_rate=0.01, title_rate=0.04,
                        typo_rate=0.01),
        "phone": blank(phones(v, rng, {"intl_spaced": 80, "national_digits": 20}), 0.10, rng),
        "street": where(has_addr, line1(a, 0), None),
        "street2": where(has_addr, a["line2"], None),
        "postal_code": where(has_addr, a["postcode"], None),
        "city": where(has_addr, a["city"], None),
        "state": where(has_addr, a["region"], None),
        "country": country_names(v, rng, {"ES": 95, "Spain": 5}, {"GB": 95, "United Kingdom": 5}),
        "birth_date": blank(where(person, fmt_time(v["birth_date"], "%Y-%m-%d"), None), 0.35,
                            rng),
        "vat_number": tax_ids(v, rng, missing=0.6, invalid=0.005, formatted=0.0),
        "lead_source": obj(["web", "referral", "trade fair", "cold call", "partner"])[
            choice(rng, v.n, [40, 20, 15, 15, 10])],
        "created_at": fmt_time(created, "%Y-%m-%d %H:%M:%S"),
        "updated_at": fmt_time(updated, "%Y-%m-%d %H:%M:%S"),
    })
    entity = idx.copy()
    defect = _defects(v.n)
    # An impossible birth date typed into a real customer's record.
    victim = _first(df["birth_date"].notna().to_numpy(), v.n // 3)
    df.loc[victim, "birth_date"] = "1980-02-31"
    defect[victim] = IMPOSSIBLE_BIRTH_DATE
    # A placeholder contact somebody saved empty: nothing to identify anyone by.
    junk_id = int(contact_id[-1]) + 1
    df = _append(df, {"contact_id": junk_id, "contact_type": "individual",
                      "lead_source": "web", "created_at": "2026-03-02 09:15:00",
                      "updated_at": "2026-03-02 09:15:00"})
    entity = np.append(entity, -1)
    defect = np.append(defect, NO_IDENTIFYING_FIELDS)
    key = df["contact_id"].to_numpy()
    return SystemData("crm", df, digits(key), entity, defect, key)


def build_billing(e: Entities, idx: Arr, rng: np.random.Generator) -> SystemData:
    """Finance ERP: Spanish column names, legal names, tax ids, dd/mm/yyyy dates."""
    v = View(e, idx)
    person = ~v["is_company"]
    nombre = typo(v["given"], 0.015, rng)
    apellidos = typo(family_names(v, rng, 0.03), 0.015, rng)
    razon = typo(company_names(v, rng, [45, 45, 5, 5, 0]), 0.015, rng)
    razon = where(chance(rng, v.n, 0.5), upper(razon), razon)
    a = addresses(v, rng, stale=0.5)
    domicilio = join(line1(a, 1), a["line2"], sep=", ", skip_null=True)
    birth = fmt_time(v["birth_date"], "%d/%m/%Y")
    # Day and month swapped now and then (a US-format import), only where still a valid date.
    bd = v["birth_date"]
    day = (bd - bd.astype("datetime64[M]")).astype(int) + 1
    us = chance(rng, v.n, 0.005) & (day <= 12) & person
    birth = where(us, fmt_time(bd, "%m/%d/%Y"), birth)
    alta = timestamps_between(v["since"], rng)
    modif = timestamps_between(alta.astype("datetime64[D]"), rng)
    df = pd.DataFrame({
        "id_cliente": join("CLI", zfill(np.arange(1, v.n + 1), 7)),
        "tipo_persona": where(person, "F", "J"),
        "nombre": where(person, nombre, None),
        "apellidos": where(person, apellidos, None),
        "razon_social": razon,
        "nif": tax_ids(v, rng, missing=0.02, invalid=0.01, formatted=0.4),
        "fecha_nacimiento": where(person, blank(birth, 0.25, rng), None),
        "domicilio": domicilio,
        "cp": a["postcode"],
        "poblacion": a["city"],
        "provincia": a["region"],
        "pais": country_names(v, rng, {"España": 70, "ESPAÑA": 10, "ES": 20},
                              {"Reino Unido": 80, "GB": 20}),
        "telefono": blank(phones(v, rng, {"national_digits": 90, "intl_spaced": 10}), 0.15, rng),
        "email": emails(v, rng, alt=0.15, missing=0.30, upper_rate=0.10, title_rate=0.0,
                        typo_rate=0.01),
        "forma_pago": obj(["transferencia", "domiciliación", "tarjeta", "confirming"])[
            choice(rng, v.n, [40, 40, 15, 5])],
        "fecha_alta": fmt_time(alta, "%d/%m/%Y"),
        "ultima_modificacion": fmt_time(modif, "%Y-%m-%d %H:%M:%S"),
    })
    # Companies invoice to the billing mailbox when they have one.
    co_mail = (~person) & chance(rng, v.n, 0.6) & (v["email_alt"] != None)  # noqa: E711
    df.loc[co_mail, "email"] = v["email_alt"][co_mail]
    entity = idx.copy()
    defect = _defects(v.n)
    victim = _first(df["fecha_nacimiento"].notna().to_numpy(), v.n // 2)
    df.loc[victim, "fecha_nacimiento"] = "31/02/1980"
    defect[victim] = IMPOSSIBLE_BIRTH_DATE
    ids = df["id_cliente"].to_numpy()
    return SystemData("billing", df, ids.copy(), entity, defect, ids)


def build_servicedesk(e: Entities, idx: Arr, rng: np.random.Generator) -> SystemData:
    """Service desk export: one free-text name, nicknames, e-mail first, locale not country."""
    v = View(e, idx)
    person = ~v["is_company"]
    given = given_names(v, rng, 0.15)
    family = family_names(v, rng, 0.20)
    name = join(given, family, sep=" ")
    # "Family, Given" order typed by agents now and then.
    reversed_ = chance(rng, v.n, 0.01)
    name = where(reversed_, join(family, given, sep=", "), name)
    name = where(chance(rng, v.n, 0.04), lower(name), name)
    name = typo(name, 0.02, rng)
    org = company_names(v, rng, [25, 0, 10, 0, 65])
    locale_es = obj(["es-ES", "ca-ES", "eu-ES"])[choice(rng, v.n, [88, 9, 3])]
    locale = where(v["english_name"], "en-GB", locale_es)
    created = timestamps_between(v["since"], rng)
    updated = timestamps_between(created.astype("datetime64[D]"), rng)
    requester_id = np.arange(50_001, 50_001 + v.n, dtype=np.int64)
    df = pd.DataFrame({
        "id": requester_id,
        "requester_type": where(person, "person", "organization"),
        "name": where(person, name, None),
        "organization": org,
        "email": emails(v, rng, alt=0.15, missing=0.03, upper_rate=0.03, title_rate=0.07,
                        typo_rate=0.015),
        "phone": blank(phones(v, rng, {"intl_00_dashed": 75, "intl_spaced": 15, "e164": 10}),
                       0.20, rng),
        "locale": locale,
        "created_at": fmt_time(created, "%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": fmt_time(updated, "%Y-%m-%dT%H:%M:%SZ"),
    })
    entity = idx.copy()
    defect = _defects(v.n)
    key = df["id"].to_numpy()
    record_id = digits(key)
    # The export emitted one requester twice: an older copy with the same id.
    pos = _first(person & (df["email"].notna().to_numpy()), v.n // 2)
    df = _insert_copy(df, pos, {"phone": None, "updated_at": "2025-01-15T08:00:00Z"})
    entity = _insert_arr(entity, pos, entity[pos])
    defect[pos] = DUPLICATE_PRIMARY_KEY
    defect = _insert_arr(defect, pos, DUPLICATE_PRIMARY_KEY)
    record_id = _insert_arr(record_id, pos, record_id[pos])
    key = _insert_arr(key, pos, key[pos])
    # A requester created from a bounced auto-reply: no name, no e-mail, no phone.
    junk = int(requester_id[-1]) + 1
    df = _append(df, {"id": junk, "requester_type": "person", "locale": "es-ES",
                      "created_at": "2026-06-01T03:12:44Z", "updated_at": "2026-06-01T03:12:44Z"})
    entity = np.append(entity, -1)
    defect = np.append(defect, NO_IDENTIFYING_FIELDS)
    record_id = np.append(record_id, str(junk))
    key = np.append(key, junk)
    return SystemData("servicedesk", df, record_id, entity, defect, key)


def build_logistics(e: Entities, idx: Arr, rng: np.random.Generator) -> SystemData:
    """Legacy logistics: upper case without accents for old rows, split street/number."""
    v = View(e, idx)
    person = ~v["is_company"]
    first = given_names(v, rng, 0.05)
    last = family_names(v, rng, 0.15)
    first, last, _ = swap(first, last, rng, 0.015)
    company = company_names(v, rng, [20, 30, 40, 0, 10])
    a = addresses(v, rng, stale=0.6)
    old_row = chance(rng, v.n, 0.6)
    street = street_label(a, 2)
    street = where(old_row, street, street_label(a, 0))
    town = where(old_row, legacy(a["city"]), a["city"])
    province = where(old_row, legacy(a["region"]), a["region"])
    floor = where(old_row, legacy(a["line2"]), a["line2"])
    first = where(old_row, legacy(first), first)
    last = where(old_row, legacy(last), last)
    company = where(old_row, legacy(company), company)
    # Spreadsheet round-trips ate the leading zero of some Spanish postcodes (08012 -> 8012).
    zip_ = a["postcode"]
    eaten = (substr(zip_, 0, 1) == "0") & chance(rng, v.n, 0.4) & (v["country"] == "ES")
    zip_ = where(eaten, substr(zip_, 1), zip_)
    number = digits(a["number"].astype(np.int64))
    es = v["country"] == "ES"
    number = where(es & chance(rng, v.n, 0.02), "S/N", number)
    df = pd.DataFrame({
        "CONSIGNEE_ID": join("K", zfill(np.arange(1, v.n + 1), 6)),
        "TYPE": where(person, "PRIV", "COMP"),
        "NAME": where(person, typo(first, 0.025, rng), None),
        "SURNAME": where(person, typo(last, 0.025, rng), None),
        "COMPANY": typo(company, 0.02, rng),
        "STREET": street,
        "STREET_NO": number,
        "FLOOR_DOOR": floor,
        "ZIP": zip_,
        "TOWN": town,
        "PROVINCE": province,
        "COUNTRY": country_names(v, rng, {"ES": 50, "SPAIN": 30, "ESPAÑA": 20},
                                 {"GB": 50, "UNITED KINGDOM": 30, "UK": 20}),
        "PHONE": blank(phones(v, rng, {"national_spaced": 85, "national_digits": 15}), 0.05,
                       rng),
        "EMAIL": emails(v, rng, alt=0.10, missing=0.55, upper_rate=0.3, title_rate=0.0,
                        typo_rate=0.015),
        "LAST_DELIVERY": None,  # filled from shipments by the generator
    })
    entity = idx.copy()
    defect = _defects(v.n)
    record_id = df["CONSIGNEE_ID"].to_numpy().copy()
    # A consignee keyed twice: re-imported from the old depot system with its stale data.
    pos = _first(person, v.n // 2)
    df = _insert_copy(df, pos, {"PHONE": None})
    entity = _insert_arr(entity, pos, entity[pos])
    defect[pos] = DUPLICATE_PRIMARY_KEY
    defect = _insert_arr(defect, pos, DUPLICATE_PRIMARY_KEY)
    record_id = _insert_arr(record_id, pos, record_id[pos])
    # A consignee whose code was never filled in; quarantine names it by row number.
    miss = _first((entity >= 0) & (defect == None), 2 * v.n // 3)  # noqa: E711
    df.loc[miss, "CONSIGNEE_ID"] = None
    defect[miss] = MISSING_PRIMARY_KEY
    record_id[miss] = f"#row{miss + 1}"
    key = df["CONSIGNEE_ID"].to_numpy()
    return SystemData("logistics", df, record_id, entity, defect, key)


def build_marketing(e: Entities, idx: Arr, rng: np.random.Generator) -> SystemData:
    """Marketing list: e-mail first, names as typed into web forms, postcode only."""
    v = View(e, idx)
    person = ~v["is_company"]
    first = given_names(v, rng, 0.15)
    last = family_names(v, rng, 0.5)
    first, last, _ = swap(first, last, rng, 0.01)
    web_case = chance(rng, v.n, 0.10)
    first = typo(where(web_case, lower(first), first), 0.02, rng)
    last = typo(where(web_case, lower(last), last), 0.02, rng)
    a = addresses(v, rng, stale=0.5)
    mobile = where(chance(rng, v.n, 0.35), phones(v, rng, {"e164": 1}), None)
    opt_in = v["since"] + (rng.random(v.n) * 365).astype("timedelta64[D]")
    opt_in = np.minimum(opt_in, ANCHOR)
    modified = timestamps_between(opt_in, rng)
    df = pd.DataFrame({
        "subscriber_id": np.arange(900_001, 900_001 + v.n, dtype=np.int64),
        "email": emails(v, rng, alt=0.2, missing=0.0, upper_rate=0.02, title_rate=0.08,
                        typo_rate=0.01),
        "first_name": where(person, first, None),
        "last_name": where(person, last, None),
        "company": company_names(v, rng, [20, 5, 5, 0, 70]),
        "segment": where(person, "B2C", "B2B"),
        "country": blank(country_names(v, rng, {"Spain": 60, "España": 30, "ES": 10},
                                       {"United Kingdom": 70, "UK": 30}), 0.15, rng),
        "postcode": blank(a["postcode"], 0.2, rng),
        "mobile": mobile,
        "opt_in_date": opt_in.astype("datetime64[D]"),
        "source": obj(["newsletter", "webinar", "checkout", "event", "whitepaper"])[
            choice(rng, v.n, [45, 15, 25, 10, 5])],
        "last_modified": modified,
    })
    entity = idx.copy()
    defect = _defects(v.n)
    junk = int(df["subscriber_id"].iloc[-1]) + 1
    # A sign-up whose e-mail bounced and was blanked by the list hygiene job.
    df = _append(df, {"subscriber_id": junk, "segment": "B2C", "source": "event",
                      "opt_in_date": np.datetime64("2026-05-05"),
                      "last_modified": np.datetime64("2026-05-06T10:00:00")})
    entity = np.append(entity, -1)
    defect = np.append(defect, NO_IDENTIFYING_FIELDS)
    key = df["subscriber_id"].to_numpy()
    return SystemData("marketing", df, digits(key), entity, defect, key)


BUILDERS = {
    "crm": build_crm,
    "billing": build_billing,
    "servicedesk": build_servicedesk,
    "logistics": build_logistics,
    "marketing": build_marketing,
}
