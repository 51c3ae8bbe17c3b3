"""Right to erasure: remove one customer's personal data everywhere and keep them out.

The erasure deletes the customer's rows from every store table that holds personal values
(golden record, history, links, provenance, activity, evidence, marts, quarantined raw
records), wipes the work area (intermediate Parquet layers hold personal values too; the next
sync rebuilds them) and records:
- `audit.erasure`: who asked, why, how many records; the pseudonymous customer_id only;
- `audit.suppression`: salted SHA-256 hashes of the record keys, e-mail, phone and tax id, so
  the sync quarantines those source records (`suppressed_by_erasure`) instead of re-creating
  the person. The salt (ERASURE_SALT) comes from the environment and never enters the store.
"""

import datetime as dt
import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlalchemy as sa

import models
from pipelines.cleanse.incremental import remove_staged
from pipelines.publish.edit import edit_store
from pipelines.synclock import sync_lock

SUPPRESSED_KINDS = ("record_key", "email", "phone", "tax_id")
SUPPRESSION_MESSAGE = (
    "{source}: this record belongs to a person erased on request (audit.erasure); it is kept "
    "out of the store. Delete it at the source, or ask the data protection officer"
)


class ErasureError(ValueError):
    """The erasure cannot be carried out; the message says why and what to do."""


@dataclass
class ErasureResult:
    erasure_id: str
    customer_id: str
    records: int
    identifiers: int


def salt_from_env() -> str:
    salt = os.environ.get("ERASURE_SALT", "")
    if len(salt) < 16:
        raise ErasureError(
            "ERASURE_SALT is not set (or shorter than 16 characters): set it in the environment "
            "of every sync and erasure to the same secret; it salts the suppression hashes"
        )
    return salt


def identifier_hash(salt: str, kind: str, value: str) -> str:
    """The suppression hash; `suppression_sql` computes the same thing inside DuckDB."""
    return hashlib.sha256(f"{salt}:{kind}:{value}".encode()).hexdigest()


def _table(name: str) -> sa.Table:
    return models.metadata.tables[name]


def erase_customer(
    url: str, customer_id: str, *, requested_by: str, reason: str, work_dir: Path
) -> ErasureResult:
    salt = salt_from_env()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    erasure_id = uuid.uuid4().hex
    customer = _table("core.customer")
    xref = _table("core.customer_source_xref")
    history = _table("core.customer_history")
    redirect = _table("core.customer_id_redirect")
    # The sync lock keeps a running sync from re-creating the person from its work area.
    with sync_lock(work_dir), edit_store(url) as conn:
        survivor = conn.execute(
            sa.select(redirect.c.customer_id).where(redirect.c.retired_customer_id == customer_id)
        ).scalar()
        target = survivor or customer_id
        exists = conn.execute(
            sa.select(sa.func.count()).where(customer.c.customer_id == target)
        ).scalar()
        if not exists:
            raise ErasureError(
                f"customer {customer_id} is not in the store; check the id "
                "(core.customer.customer_id) — nothing was changed"
            )
        records = conn.execute(
            sa.select(xref.c.source_system, xref.c.source_record_id).where(
                xref.c.customer_id == target
            )
        ).all()
        values: set[tuple[str, str]] = {("record_key", f"{s}:{r}") for s, r in records}
        for table in (customer, history):
            rows = conn.execute(
                sa.select(table.c.email, table.c.phone, table.c.tax_id).where(
                    table.c.customer_id == target
                )
            ).all()
            for email, phone, tax_id in rows:
                if email:
                    values.add(("email", email.lower()))
                if phone:
                    values.add(("phone", phone))
                if tax_id:
                    values.add(("tax_id", tax_id.upper()))
        suppression = _table("audit.suppression")
        known = set(conn.execute(sa.select(suppression.c.identifier_hash)).scalars())
        new_rows = []
        for kind, value in sorted(values):
            digest = identifier_hash(salt, kind, value)
            if digest not in known:
                known.add(digest)
                new_rows.append(
                    {
                        "identifier_hash": digest,
                        "identifier_kind": kind,
                        "erasure_id": erasure_id,
                        "created_at": now,
                    }
                )
        if new_rows:
            conn.execute(suppression.insert(), new_rows)
        _delete_personal_rows(conn, target, [f"{s}:{r}" for s, r in records])
        conn.execute(
            _table("audit.erasure").insert(),
            {
                "erasure_id": erasure_id,
                "customer_id": target,
                "requested_by": requested_by,
                "reason": reason,
                "records_erased": len(records),
                "erased_at": now,
            },
        )
    # Intermediate layers (raw, staged, pairs, snapshots…) hold the person's values as well.
    if work_dir.exists():
        shutil.rmtree(work_dir)
    return ErasureResult(erasure_id, target, len(records), len(values))


def _delete_personal_rows(conn: sa.Connection, customer_id: str, record_keys: list[str]) -> None:
    by_customer = (
        "core.customer",
        "core.customer_history",
        "core.customer_source_xref",
        "core.customer_attribute_provenance",
        "core.activity",
        "core.linkage_evidence",
        "marts.customer_360",
    )
    for name in by_customer:
        table = _table(name)
        conn.execute(table.delete().where(table.c.customer_id == customer_id))
    redirect = _table("core.customer_id_redirect")
    conn.execute(redirect.delete().where(redirect.c.customer_id == customer_id))
    review = _table("core.review_pair")
    conn.execute(
        review.delete().where(
            sa.or_(review.c.customer_id_l == customer_id, review.c.customer_id_r == customer_id)
        )
    )
    decisions = _table("core.steward_decision")
    if record_keys:
        conn.execute(
            decisions.delete().where(
                sa.or_(
                    decisions.c.record_key_l.in_(record_keys),
                    decisions.c.record_key_r.in_(record_keys),
                )
            )
        )
    quarantined = _table("audit.quarantined_record")
    if record_keys:
        # One statement for all of the person's records, on both store dialects.
        conn.execute(
            quarantined.update()
            .where(
                (quarantined.c.source_system + ":" + quarantined.c.source_record_id).in_(
                    record_keys
                )
            )
            .values(raw_record=None)
        )


def apply_suppression(con: duckdb.DuckDBPyConnection, suppression: pa.Table | None) -> int:
    """Move staged records matching a suppression hash into quarantine (without their raw
    values; after its other rows, by source and row number, whatever the order of `staged`).
    Returns how many records were suppressed."""
    if suppression is None or suppression.num_rows == 0:
        return 0
    salt = salt_from_env()
    con.register("suppression_rows", suppression.select(["identifier_hash"]))
    checks = {
        "record_key": "record_key",
        "email": "lower(email)",
        "phone": "phone",
        "tax_id": "upper(tax_id)",
    }
    matches = " OR ".join(
        f"({expr} IS NOT NULL AND sha256($salt || ':{kind}:' || {expr}) IN "  # noqa: S608
        f"(SELECT identifier_hash FROM suppression_rows))"
        for kind, expr in checks.items()
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE suppressed AS SELECT record_key, source_system, "  # noqa: S608 - fixed expressions; salt bound
        f"source_record_id, source_row_number FROM staged WHERE {matches}",
        {"salt": salt},
    )
    con.execute(
        """
        INSERT INTO quarantine BY NAME
        SELECT source_system, source_record_id, source_row_number,
               'suppressed_by_erasure' AS reason_code,
               replace($message, '{source}', source_system) AS reason_message,
               NULL AS raw_record
        FROM suppressed ORDER BY source_system, source_row_number
        """,
        {"message": SUPPRESSION_MESSAGE},
    )
    remove_staged(con, "suppressed")
    con.unregister("suppression_rows")
    return int(con.execute("SELECT count(*) FROM suppressed").fetchall()[0][0])
