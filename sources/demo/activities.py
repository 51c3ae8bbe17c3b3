"""Activity rows (orders, invoices, payments, tickets, shipments, campaign responses).

Each system's activities reference that system's own customer keys, fall in the 24 months
before the anchor date, and scale with the customer's spend so marts show realistic skew.
Amounts are EUR.

The SQL systems' activity rows carry a last-modified stamp, as real ERP/CRM tables do, so
that a nightly sync reads only the rows that changed (the registry's `watermark:`). A stamp
falls on or after the row's own date and never after the anchor date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sources.demo.noise import Arr, choice, fmt_time, join, obj, where, zfill
from sources.demo.people import ANCHOR, Entities
from sources.demo.systems import SystemData

WINDOW_DAYS = 730


def _owners(sd: SystemData, e: Entities, rng: np.random.Generator, rate: float,
            spend_power: float) -> tuple[Arr, Arr]:
    """Row positions in the customer table, repeated once per activity; and their spend."""
    rows = np.flatnonzero(sd.linkable)
    spend = e["spend"][sd.entity[rows]]
    counts = rng.poisson(rate * spend ** spend_power)
    owner = np.repeat(rows, counts)
    return owner, np.repeat(spend, counts)


def _days_ago(rng: np.random.Generator, n: int) -> Arr:
    return ANCHOR - rng.integers(0, WINDOW_DAYS, n).astype("timedelta64[D]")


def _chronological(*arrays: Arr, by: Arr) -> list[Arr]:
    """Sort activity columns by date so sequential ids follow time, as real systems do."""
    order = np.argsort(by, kind="stable")
    return [a[order] for a in arrays] + [by[order]]


def _money(x: Arr) -> Arr:
    return np.round(x, 2)


def _during(day: Arr, rng: np.random.Generator) -> Arr:
    """A moment within ``day`` (a date), to the second.

    The anchor is a date, so a row dated on it may be stamped any time that day. Spreading
    stamps over the day rather than pinning them to midnight matters: an incremental read
    re-reads every row stamped at the last high water (``>=``), and a pile-up of equal
    stamps would be re-read by every sync.
    """
    seconds = (rng.random(len(day)) * 86_400).astype(np.int64)
    return day.astype("datetime64[s]") + seconds.astype("timedelta64[s]")


def _stamp(ts: Arr) -> Arr:
    """The CRM's and the billing ERP's text timestamp format."""
    return fmt_time(ts, "%Y-%m-%d %H:%M:%S")


def orders(sd: SystemData, e: Entities, rng: np.random.Generator) -> pd.DataFrame:
    owner, spend = _owners(sd, e, rng, 2.5, 0.5)
    owner, spend, day = _chronological(owner, spend, by=_days_ago(rng, len(owner)))
    n = len(owner)
    total = _money(rng.lognormal(4.6, 0.8, n) * spend)
    recent = (ANCHOR - day).astype(int) < 30
    u = rng.random(n)
    status = where(recent & (u < 0.5), "Open", where(u < 0.9, "Closed Won", "Cancelled"))
    cost = _money(total * rng.uniform(0.5, 0.85, n))
    # Last touched when entered (open orders), or when won or cancelled up to 30 days later.
    # Drawn last, so that the columns that predate it keep their values for a seed.
    lag = np.where(status == "Open", 0, rng.integers(0, 31, n)).astype("timedelta64[D]")
    updated = _during(np.minimum(day + lag, ANCHOR), rng)
    return pd.DataFrame({
        "order_id": join("SO-", zfill(np.arange(1, n + 1), 7)),
        "contact_id": sd.key[owner],
        "ordered_on": fmt_time(day, "%Y-%m-%d"),
        "total_eur": total,
        "cost_eur": cost,
        "currency": "EUR",
        "status": status,
        "updated_at": _stamp(updated),
    })


def invoices_and_payments(sd: SystemData, e: Entities,
                          rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    owner, spend = _owners(sd, e, rng, 3.0, 0.5)
    owner, spend, issued = _chronological(owner, spend, by=_days_ago(rng, len(owner)))
    n = len(owner)
    is_company = e["is_company"][sd.entity[owner]]
    due = issued + np.where(is_company, 60, 30).astype("timedelta64[D]")
    amount = _money(rng.lognormal(4.8, 0.8, n) * spend * 1.21)  # VAT included
    u = rng.random(n)
    not_due = due > ANCHOR
    status = np.where(not_due, np.where(u < 0.7, "pendiente", "pagada"),
                      np.where(u < 0.88, "pagada", "vencida")).astype(object)
    partly = (status == "vencida") & (rng.random(n) < 0.3)
    open_amount = np.where(status == "pagada", 0.0, amount)
    open_amount = _money(np.where(partly, amount * rng.uniform(0.2, 0.8, n), open_amount))
    numbers = join("FV", zfill(np.arange(1, n + 1), 8))
    invoices = pd.DataFrame({
        "num_factura": numbers,
        "id_cliente": sd.key[owner],
        "fecha_emision": fmt_time(issued, "%d/%m/%Y"),
        "fecha_vencimiento": fmt_time(due, "%d/%m/%Y"),
        "importe": amount,
        "moneda": "EUR",
        "estado": status,
        "importe_pendiente": open_amount,
    })
    # One payment per paid invoice, a part payment for some overdue ones.
    paid = np.flatnonzero((status == "pagada") | partly)
    lag = rng.integers(0, 75, len(paid)).astype("timedelta64[D]")
    pay_day = np.minimum(issued[paid] + lag, ANCHOR)
    pay_amount = _money(amount[paid] - open_amount[paid])
    paid, pay_amount, pay_day = _chronological(paid, pay_amount, by=pay_day)
    m = len(paid)
    payments = pd.DataFrame({
        "id_cobro": join("CB", zfill(np.arange(1, m + 1), 8)),
        "id_cliente": sd.key[owner[paid]],
        "num_factura": numbers[paid],
        "fecha_cobro": fmt_time(pay_day, "%d/%m/%Y"),
        "importe": pay_amount,
        "moneda": "EUR",
        "forma_pago": obj(["transferencia", "domiciliación", "tarjeta"])[
            choice(rng, m, [45, 40, 15])],
    })
    # Last-modified stamps, drawn last so that the columns that predate them keep their
    # values for a seed. A payment is last touched when recorded; an invoice when it was
    # issued (pending), paid (the payment's stamp), or marked overdue on its due date -
    # whichever came last for an overdue invoice that was partly paid.
    pay_stamp = _during(pay_day, rng)
    invoice_stamp = _during(np.where(status == "vencida", due, issued), rng)
    invoice_stamp[paid] = np.maximum(invoice_stamp[paid], pay_stamp)
    payments["ultima_modificacion"] = _stamp(pay_stamp)
    invoices["ultima_modificacion"] = _stamp(invoice_stamp)
    return invoices, payments


_SUBJECTS = ["Factura incorrecta", "Pedido no recibido", "Cambio de dirección",
             "Consulta de precios", "Problema de acceso", "Devolución", "Incidencia técnica",
             "Invoice query", "Delivery delayed", "Password reset", "Product question"]


def tickets(sd: SystemData, e: Entities, rng: np.random.Generator) -> pd.DataFrame:
    owner, _ = _owners(sd, e, rng, 1.3, 0.2)
    n = len(owner)
    seconds = rng.integers(0, WINDOW_DAYS * 86_400, n).astype("timedelta64[s]")
    opened = ANCHOR.astype("datetime64[s]") - seconds
    owner, opened = _chronological(owner, by=opened)
    age_days = (ANCHOR.astype("datetime64[s]") - opened).astype(np.int64) / 86_400
    u = rng.random(n)
    closed = (age_days > 3) & (u < 0.92) | (age_days > 60)
    status = where(closed, where(rng.random(n) < 0.5, "solved", "closed"),
                   where(rng.random(n) < 0.5, "open", where(age_days < 1, "new", "pending")))
    took = (rng.exponential(36 * 3600, n)).astype(np.int64).astype("timedelta64[s]")
    closed_at = np.minimum(opened + took, ANCHOR.astype("datetime64[s]"))
    closed_text = where(closed, fmt_time(closed_at, "%Y-%m-%dT%H:%M:%SZ"), None)
    rated = closed & (rng.random(n) < 0.55)
    score = choice(rng, n, [3, 5, 12, 35, 45]) + 1
    return pd.DataFrame({
        "ticket_id": np.arange(700_001, 700_001 + n, dtype=np.int64),
        "requester_id": sd.key[owner],
        "subject": obj(_SUBJECTS)[rng.integers(0, len(_SUBJECTS), n)],
        "channel": obj(["email", "phone", "web", "chat"])[choice(rng, n, [40, 25, 25, 10])],
        "priority": obj(["low", "normal", "high", "urgent"])[choice(rng, n, [25, 55, 15, 5])],
        "status": status,
        "opened_at": fmt_time(opened, "%Y-%m-%dT%H:%M:%SZ"),
        "closed_at": closed_text,
        "satisfaction": pd.arrays.IntegerArray(np.where(rated, score, 0).astype(np.int64),
                                               ~rated),
    })


def shipments(sd: SystemData, e: Entities, rng: np.random.Generator) -> pd.DataFrame:
    owner, spend = _owners(sd, e, rng, 1.8, 0.3)
    owner, spend, shipped = _chronological(owner, spend, by=_days_ago(rng, len(owner)))
    n = len(owner)
    in_transit = (ANCHOR - shipped).astype(int) < 4
    returned = ~in_transit & (rng.random(n) < 0.04)
    status = where(in_transit, "EN TRANSITO", where(returned, "DEVUELTO", "ENTREGADO"))
    took = np.where(returned, rng.integers(7, 15, n), rng.integers(1, 5, n))
    done = np.minimum(shipped + took.astype("timedelta64[D]"), ANCHOR)
    weight = np.round(rng.lognormal(1.2, 0.9, n), 1)
    return pd.DataFrame({
        "SHIPMENT_NO": join("EXP", zfill(np.arange(1, n + 1), 8)),
        "CONSIGNEE_ID": sd.key[owner],
        "SHIP_DATE": fmt_time(shipped, "%d.%m.%Y"),
        "DELIVERY_DATE": where(in_transit, None, fmt_time(done, "%d.%m.%Y")),
        "STATUS": status,
        "PARCELS": rng.integers(1, 4, n),
        "WEIGHT_KG": weight,
        "DECLARED_VALUE_EUR": _money(rng.lognormal(4.5, 0.9, n) * spend),
        "FREIGHT_EUR": _money(4.5 + weight * 0.85),
        "CURRENCY": "EUR",
    })


def last_delivery(sd: SystemData, ships: pd.DataFrame) -> Arr:
    """Latest delivery date per consignee, as the legacy system denormalises it."""
    day = pd.to_datetime(ships["DELIVERY_DATE"], format="%d.%m.%Y")
    latest = day.groupby(ships["CONSIGNEE_ID"].to_numpy()).max()
    key = pd.Series(sd.key)
    found = key.map(latest)
    text = found.dt.strftime("%d.%m.%Y").to_numpy(dtype=object)
    return where(found.notna().to_numpy(), text, None)


def campaign_responses(sd: SystemData, e: Entities, rng: np.random.Generator) -> pd.DataFrame:
    owner, spend = _owners(sd, e, rng, 2.0, 0.0)
    n = len(owner)
    months = np.arange(np.datetime64("2024-11"), np.datetime64("2026-11"))
    campaign = rng.integers(0, len(months), n)
    sent = (months[campaign].astype("datetime64[D]") + np.timedelta64(9, "D")).astype(
        "datetime64[s]") + (rng.integers(8 * 3600, 18 * 3600, n)).astype("timedelta64[s]")
    owner, spend, campaign, sent = _chronological(owner, spend, campaign, by=sent)
    response = obj(["opened", "clicked", "converted", "unsubscribed", "bounced"])[
        choice(rng, n, [55, 25, 5, 3, 12])]
    revenue = np.where(response == "converted", _money(rng.lognormal(4.0, 0.7, n) * spend),
                       np.nan)
    return pd.DataFrame({
        "response_id": np.arange(1, n + 1, dtype=np.int64),
        "subscriber_id": sd.key[owner],
        "campaign_id": join("CMP-", obj(np.datetime_as_string(months[campaign], unit="M"))),
        "sent_at": sent,
        "response": response,
        "revenue_eur": revenue,
        "currency": "EUR",
    })


__all__ = [
    "campaign_responses", "invoices_and_payments", "last_delivery", "orders", "shipments",
    "tickets",
]
