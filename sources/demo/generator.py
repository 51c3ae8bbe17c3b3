"""Assemble the demo: entities -> per-system records -> activities -> files, atomically.

Output layout (``out_dir``)::

    crm.sqlite                      contacts, orders
    billing.sqlite                  customers, invoices, payments
    servicedesk/requesters.json     JSON array
    servicedesk/tickets.jsonl       JSON lines
    logistics/consignees.csv        ';'-delimited, latin-1
    logistics/shipments.csv         ';'-delimited, latin-1
    marketing/subscribers.parquet
    marketing/campaign_responses.parquet
    ground_truth.csv                tests only: source_system, source_record_id, entity_id,
                                    party_type, defect
    manifest.json                   parameters, counts, file sizes and sha256
    _SUCCESS                        written last; its presence means the demo is complete

Everything is written into a sibling temp directory that is renamed into place at the end, so
a crash never leaves a half-written demo where a complete one is expected.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sources.demo import activities
from sources.demo.noise import choice
from sources.demo.people import ANCHOR, Entities, make_entities
from sources.demo.systems import BUILDERS, SystemData

GENERATOR_VERSION = 2  # 2: last-modified columns on orders, invoices, payments
SYSTEMS = ("crm", "billing", "servicedesk", "logistics", "marketing")
# Share of persons / companies each system knows, and of in-source duplicate records.
COVERAGE = {
    "crm": (0.68, 0.78),
    "billing": (0.55, 0.78),
    "servicedesk": (0.40, 0.40),
    "logistics": (0.42, 0.55),
    "marketing": (0.56, 0.32),
}
DUPLICATE_RATE = {"crm": 0.03, "billing": 0.015, "servicedesk": 0.03, "logistics": 0.04,
                  "marketing": 0.03}


def _membership(e: Entities, rng: np.random.Generator) -> np.ndarray:
    """Which systems know each customer; everyone is known by at least one."""
    n = len(e["entity_id"])
    company = e["is_company"]
    person_p = np.array([COVERAGE[s][0] for s in SYSTEMS])
    company_p = np.array([COVERAGE[s][1] for s in SYSTEMS])
    p = np.where(company[:, None], company_p[None, :], person_p[None, :])
    member = rng.random((n, len(SYSTEMS))) < p
    orphan = ~member.any(axis=1)
    member[np.flatnonzero(orphan), choice(rng, int(orphan.sum()), [3, 2, 1, 1, 2])] = True
    return member


def _records(member: np.ndarray, k: int, system: str, rng: np.random.Generator) -> np.ndarray:
    """Entity positions of one system's records, in the system's (arbitrary) row order."""
    own = np.flatnonzero(member[:, k])
    dups = own[rng.random(len(own)) < DUPLICATE_RATE[system]]
    idx = np.concatenate([own, dups])
    return idx[rng.permutation(len(idx))]


# --------------------------------------------------------------------------- writers

def _sqlite_rows(df: pd.DataFrame) -> list[tuple]:
    cols = []
    for c in df.columns:
        s = df[c]
        values = s.astype(object).where(s.notna(), None).tolist()
        cols.append(values)
    return list(zip(*cols, strict=True))


def _write_sqlite(path: Path, tables: list[tuple[str, pd.DataFrame, dict[str, str]]],
                  indexes: list[tuple[str, str]]) -> None:
    # Watermark columns are indexed: an incremental read is then a range scan, not a pass
    # over the whole table.
    con = sqlite3.connect(path)
    try:
        # A fresh file written once: journaling buys nothing and costs time.
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        for name, df, types in tables:
            cols = ", ".join(f'"{c}" {types.get(c, "TEXT")}' for c in df.columns)
            con.execute(f'CREATE TABLE "{name}" ({cols})')
            marks = ", ".join("?" for _ in df.columns)
            con.executemany(f'INSERT INTO "{name}" VALUES ({marks})', _sqlite_rows(df))  # noqa: S608
        for table, column in indexes:
            con.execute(f'CREATE INDEX "ix_{table}_{column}" ON "{table}" ("{column}")')
        con.commit()
    finally:
        con.close()


def _write_csv(path: Path, df: pd.DataFrame) -> None:
    # Legacy Windows-era export: latin-1, ';' because ',' is the Spanish decimal separator.
    df.to_csv(path, sep=";", index=False, encoding="latin-1", lineterminator="\n",
              float_format="%.2f")


def _write_parquet(path: Path, df: pd.DataFrame, types: dict[str, pa.DataType]) -> None:
    arrays = []
    for c in df.columns:
        t = types.get(c, pa.string())
        values = df[c].to_numpy()
        if pa.types.is_date32(t):
            arrays.append(pa.array(values.astype("datetime64[D]"), pa.date32()))
        elif pa.types.is_string(t):
            arrays.append(pa.array(np.asarray(values, dtype=object), t,
                                   from_pandas=True))
        else:
            arrays.append(pa.array(values, t, from_pandas=True))
    table = pa.Table.from_arrays(arrays, names=list(df.columns))
    pq.write_table(table, path, compression="zstd")


def _write_system(root: Path, sd: SystemData) -> None:
    if sd.name == "crm":
        _write_sqlite(root / "crm.sqlite", [
            ("contacts", sd.customers, {"contact_id": "INTEGER PRIMARY KEY"}),
            ("orders", sd.activities["orders"],
             {"order_id": "TEXT PRIMARY KEY", "contact_id": "INTEGER", "total_eur": "REAL",
              "cost_eur": "REAL"}),
        ], [("orders", "contact_id"), ("orders", "updated_at"), ("contacts", "updated_at")])
    elif sd.name == "billing":
        _write_sqlite(root / "billing.sqlite", [
            ("customers", sd.customers, {"id_cliente": "TEXT PRIMARY KEY"}),
            ("invoices", sd.activities["invoices"],
             {"num_factura": "TEXT PRIMARY KEY", "importe": "REAL",
              "importe_pendiente": "REAL"}),
            ("payments", sd.activities["payments"],
             {"id_cobro": "TEXT PRIMARY KEY", "importe": "REAL"}),
        ], [("invoices", "id_cliente"), ("invoices", "ultima_modificacion"),
            ("payments", "id_cliente"), ("payments", "ultima_modificacion")])
    elif sd.name == "servicedesk":
        d = root / "servicedesk"
        d.mkdir()
        sd.customers.to_json(d / "requesters.json", orient="records", force_ascii=False)
        sd.activities["tickets"].to_json(d / "tickets.jsonl", orient="records", lines=True,
                                         force_ascii=False)
    elif sd.name == "logistics":
        d = root / "logistics"
        d.mkdir()
        _write_csv(d / "consignees.csv", sd.customers)
        _write_csv(d / "shipments.csv", sd.activities["shipments"])
    elif sd.name == "marketing":
        d = root / "marketing"
        d.mkdir()
        _write_parquet(d / "subscribers.parquet", sd.customers, {
            "subscriber_id": pa.int64(), "opt_in_date": pa.date32(),
            "last_modified": pa.timestamp("s"),
        })
        _write_parquet(d / "campaign_responses.parquet", sd.activities["campaign_responses"], {
            "response_id": pa.int64(), "subscriber_id": pa.int64(),
            "sent_at": pa.timestamp("s"), "revenue_eur": pa.float64(),
        })


def _ground_truth(e: Entities, systems: list[SystemData]) -> pd.DataFrame:
    frames = []
    for sd in systems:
        real = sd.entity >= 0
        pos = np.where(real, sd.entity, 0)
        entity_id = np.where(real, e["entity_id"][pos], None)
        party = np.where(real, np.where(e["is_company"][pos], "company", "person"), None)
        frames.append(pd.DataFrame({
            "source_system": sd.name, "source_record_id": sd.record_id,
            "entity_id": entity_id, "party_type": party, "defect": sd.defect,
        }))
    gt = pd.concat(frames, ignore_index=True)
    # A duplicated primary key is one record id, whatever the number of rows.
    return gt.drop_duplicates(["source_system", "source_record_id"], keep="first")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build(customers: int, seed: int) -> tuple[Entities, list[SystemData]]:
    """Everything in memory: the entities and each system with its activities."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(20)]
    e = make_entities(customers, streams[0])
    member = _membership(e, streams[1])
    systems: list[SystemData] = []
    for k, name in enumerate(SYSTEMS):
        idx = _records(member, k, name, streams[2 + k])
        sd = BUILDERS[name](e, idx, streams[8 + k])
        arng = streams[13 + k]
        if name == "crm":
            sd.activities["orders"] = activities.orders(sd, e, arng)
        elif name == "billing":
            inv, pay = activities.invoices_and_payments(sd, e, arng)
            sd.activities["invoices"], sd.activities["payments"] = inv, pay
        elif name == "servicedesk":
            sd.activities["tickets"] = activities.tickets(sd, e, arng)
        elif name == "logistics":
            ships = activities.shipments(sd, e, arng)
            sd.activities["shipments"] = ships
            sd.customers["LAST_DELIVERY"] = activities.last_delivery(sd, ships)
        elif name == "marketing":
            sd.activities["campaign_responses"] = activities.campaign_responses(sd, e, arng)
        systems.append(sd)
    return e, systems


def counts_of(customers: int, systems: list[SystemData]) -> dict[str, int]:
    counts: dict[str, int] = {"entities": customers}
    for sd in systems:
        counts[sd.name] = len(sd.customers)
        for act, df in sd.activities.items():
            counts[f"{sd.name}.{act}"] = len(df)
    counts["records"] = sum(len(sd.customers) for sd in systems)
    return counts


def is_current(out_dir: Path, customers: int, seed: int) -> bool:
    """Whether `out_dir` holds a complete demo this generator would write for these inputs
    (an older generator's demo lacks columns the registry now maps)."""
    manifest = Path(out_dir) / "manifest.json"
    if not (Path(out_dir) / "_SUCCESS").exists() or not manifest.exists():
        return False
    try:
        found = json.loads(manifest.read_text())
    except ValueError:
        return False
    return (
        found.get("generator_version") == GENERATOR_VERSION
        and found.get("customers") == customers
        and found.get("seed") == seed
    )


def generate(out_dir: Path, customers: int = 2000, seed: int = 42) -> dict[str, int]:
    """Write the five demo source systems under ``out_dir`` and return row counts.

    Keys of the result: ``entities`` (real customers), one per system (customer rows as
    written, bad rows included), ``<system>.<activity>`` (activity rows) and ``records``
    (all customer rows). Same ``customers`` and ``seed`` give byte-identical files.
    """
    if customers < 20:
        raise ValueError("customers must be at least 20: the deliberate bad rows need victims")
    out_dir = Path(out_dir)
    e, systems = build(customers, seed)
    counts = counts_of(customers, systems)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        for sd in systems:
            _write_system(tmp, sd)
        _ground_truth(e, systems).to_csv(tmp / "ground_truth.csv", index=False,
                                         lineterminator="\n")
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        manifest = {
            "generator_version": GENERATOR_VERSION,
            "customers": customers,
            "seed": seed,
            "anchor_date": str(ANCHOR),
            "counts": counts,
            "files": {p.relative_to(tmp).as_posix(): {"bytes": p.stat().st_size,
                                                      "sha256": _sha256(p)} for p in files},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        (tmp / "_SUCCESS").write_text("")
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        if out_dir.exists():
            out_dir.rename(old)
        tmp.rename(out_dir)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return counts


__all__ = ["SYSTEMS", "build", "generate"]
