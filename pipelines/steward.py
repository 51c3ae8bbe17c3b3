"""Data stewards in the loop: must-link / cannot-link decisions and explanations.

Decisions live in the governed store (`core.steward_decision`, who, why, when) and are
applied by clustering on every later run (`pipelines/stages.py: cluster_records`), so a
decision outlives any number of syncs until it is revoked. A new decision on a pair
supersedes the previous active one; revoking keeps the row with `is_active = false`
(the history stays queryable).

Writes go through SQLAlchemy in one transaction under the store's writer lock
(`pipelines.publish.edit.edit_store`): on the embedded DuckDB store a copy is edited and
swapped in, so analysts' readers never see half a decision, and a sync's publish and a
steward's edit never interleave (the later one waits). A decision made while a sync runs
applies from the next sync.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from models.core import StewardDecision

DECISIONS: tuple[str, ...] = ("must_link", "cannot_link")
_TABLE = StewardDecision.__table__
_EMPTY = pa.table(
    {
        "record_key_l": pa.array([], pa.string()),
        "record_key_r": pa.array([], pa.string()),
        "decision": pa.array([], pa.string()),
    }
)


class StewardError(ValueError):
    """A decision that cannot be recorded; the message says what to do."""


@dataclass(frozen=True)
class Decision:
    decision_id: str
    record_key_l: str
    record_key_r: str
    decision: str
    decided_by: str
    reason: str
    decided_at: dt.datetime
    is_active: bool


def load_steward_decisions(url: str) -> pa.Table:
    """Active decisions (record_key_l, record_key_r, decision) from the store.

    An absent store or one without the table (first run, before any migration) has no
    decisions; any other failure (a lock, a bad URL) is raised: silently ignoring a
    steward's cannot-link would publish a merge they forbade. Read as the publish reads
    the store (`read_tables`): SQLAlchemy's reflection of the table cost ~0.2 s a run.
    """
    from pipelines.publish.store import read_tables

    table = read_tables(url, ["core.steward_decision"]).get("core.steward_decision")
    if table is None or table.num_rows == 0:
        return _EMPTY
    active = table.filter(pc.field("is_active")).sort_by(
        [("record_key_l", "ascending"), ("record_key_r", "ascending")]
    )
    return active.select(_EMPTY.column_names).cast(_EMPTY.schema)


def _engine(url: str, *, read_only: bool = False) -> sa.Engine:
    from pipelines.publish.store import is_duckdb

    connect_args: dict[str, Any] = {}
    if is_duckdb(url) and read_only:
        connect_args["read_only"] = True
    return sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=connect_args)


def _check_key(key: str, side: str) -> str:
    key = (key or "").strip()
    source, _, record = key.partition(":")
    if not source or not record:
        raise StewardError(
            f"--{side} {key!r} is not a record key; write it as <source_system>:<source_record_id>"
            " exactly as in core.customer_source_xref (e.g. crm:123)"
        )
    return key


def _ordered(left: str, right: str) -> tuple[str, str]:
    left, right = _check_key(left, "left"), _check_key(right, "right")
    if left == right:
        raise StewardError(f"--left and --right are the same record {left!r}; name two records")
    return (left, right) if left < right else (right, left)


@contextlib.contextmanager
def _edit(url: str) -> Iterator[sa.Connection]:
    """One all-or-nothing edit under the store's writer lock (`pipelines.publish.edit`):
    on DuckDB a copy is edited and swapped in, so readers and a later publish see either
    the old store or the decided one; a running publish is waited for, never interleaved."""
    from pipelines.publish.edit import StoreBusyError, edit_store

    try:
        with edit_store(url, wait=True) as connection:
            yield connection
    except FileNotFoundError as exc:
        raise StewardError(f"{exc}; decisions name records of a published store") from exc
    except StoreBusyError as exc:
        raise StewardError(str(exc)) from exc


def record_decision(
    url: str,
    left: str,
    right: str,
    decision: str,
    *,
    decided_by: str,
    reason: str,
    now: dt.datetime | None = None,
) -> Decision:
    """Store a must-link / cannot-link decision; an earlier active one on the pair ends."""
    if decision not in DECISIONS:
        raise StewardError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
    if not decided_by.strip():
        raise StewardError("--by is required: who decided (a person, not a team alias)")
    if not reason.strip():
        raise StewardError("--reason is required: why the records are (not) the same customer")
    key_l, key_r = _ordered(left, right)
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    digest = hashlib.sha256(f"{key_l}\x1f{key_r}\x1f{decision}\x1f{now.isoformat()}".encode())
    row = Decision(
        decision_id=f"{now:%Y%m%dT%H%M%S}-{digest.hexdigest()[:12]}",
        record_key_l=key_l,
        record_key_r=key_r,
        decision=decision,
        decided_by=decided_by.strip(),
        reason=reason.strip(),
        decided_at=now,
        is_active=True,
    )
    with _edit(url) as connection:
        connection.execute(_deactivate(key_l, key_r))
        connection.execute(_TABLE.insert().values(**row.__dict__))
    return row


def _deactivate(key_l: str, key_r: str) -> sa.Update:
    return (
        _TABLE.update()
        .where(_TABLE.c.record_key_l == key_l, _TABLE.c.record_key_r == key_r, _TABLE.c.is_active)
        .values(is_active=False)
    )


def revoke_decision(url: str, left: str, right: str) -> int:
    """End the active decision(s) on a pair; returns how many were active."""
    key_l, key_r = _ordered(left, right)
    with _edit(url) as connection:
        return int(connection.execute(_deactivate(key_l, key_r)).rowcount or 0)


def list_decisions(url: str, *, include_revoked: bool = False) -> list[Decision]:
    from pipelines.publish.store import duckdb_path, is_duckdb

    if is_duckdb(url) and not duckdb_path(url).exists():
        return []
    engine = _engine(url, read_only=True)
    try:
        if not sa.inspect(engine).has_table("steward_decision", schema="core"):
            return []
        query = sa.select(*(_TABLE.c[f] for f in Decision.__dataclass_fields__))
        if not include_revoked:
            query = query.where(_TABLE.c.is_active)
        with engine.connect() as connection:
            rows = connection.execute(
                query.order_by(_TABLE.c.decided_at, _TABLE.c.decision_id)
            ).fetchall()
    finally:
        engine.dispose()
    return [Decision(*row) for row in rows]


# The explanation of one customer, straight from the published store: its records, the
# scored pairs that link them with every comparison's match weight, and the steward
# decisions that touch them. Documented in the README ("Record linkage").
EXPLAIN_SQL = {
    "customer": """
        SELECT coalesce((SELECT customer_id FROM core.customer_id_redirect
                         WHERE retired_customer_id = :cid), :cid)
    """,
    "customer_of_record": """
        SELECT customer_id FROM core.customer_source_xref
        WHERE source_system || ':' || source_record_id = :record
    """,
    "records": """
        SELECT source_system || ':' || source_record_id AS record_key, is_active,
               match_probability
        FROM core.customer_source_xref WHERE customer_id = :cid ORDER BY 1
    """,
    "pairs": """
        SELECT record_key_l, record_key_r, match_probability, match_weight,
               comparison_weights
        FROM core.linkage_evidence WHERE customer_id = :cid
        ORDER BY match_weight DESC, record_key_l, record_key_r
    """,
    "decisions": """
        SELECT d.record_key_l, d.record_key_r, d.decision, d.decided_by, d.reason,
               d.decided_at
        FROM core.steward_decision d
        WHERE d.is_active AND (
            d.record_key_l IN (SELECT source_system || ':' || source_record_id
                               FROM core.customer_source_xref WHERE customer_id = :cid)
            OR d.record_key_r IN (SELECT source_system || ':' || source_record_id
                                  FROM core.customer_source_xref WHERE customer_id = :cid))
        ORDER BY d.decided_at
    """,
}


def explain(url: str, customer_id: str | None = None, record: str | None = None) -> dict:
    """Why the records of a customer (or of the customer holding `record`) are one."""
    if not customer_id and not record:
        raise StewardError("name a customer (--customer C…) or a record (--record crm:123)")
    engine = _engine(url, read_only=True)
    try:
        with engine.connect() as connection:

            def rows(name: str, **params: Any) -> list[sa.Row]:
                return list(connection.execute(sa.text(EXPLAIN_SQL[name]), params).fetchall())

            if record:
                found = rows("customer_of_record", record=_check_key(record, "record"))
                if not found:
                    raise StewardError(f"record {record!r} is not in core.customer_source_xref")
                customer_id = found[0][0]
            cid = rows("customer", cid=customer_id)[0][0]
            records = rows("records", cid=cid)
            if not records:
                raise StewardError(f"customer {customer_id!r} is not in the store")
            pairs = []
            for key_l, key_r, prob, weight, weights in rows("pairs", cid=cid):
                parsed = json.loads(weights) if isinstance(weights, str) else (weights or {})
                pairs.append(
                    {
                        "record_key_l": key_l,
                        "record_key_r": key_r,
                        "match_probability": prob,
                        "match_weight": weight,
                        "comparison_weights": parsed,
                    }
                )
            decisions = [
                {
                    "record_key_l": r[0],
                    "record_key_r": r[1],
                    "decision": r[2],
                    "decided_by": r[3],
                    "reason": r[4],
                    "decided_at": str(r[5]),
                }
                for r in rows("decisions", cid=cid)
            ]
    finally:
        engine.dispose()
    return {
        "customer_id": cid,
        "requested": customer_id,
        "records": [
            {"record_key": r[0], "is_active": bool(r[1]), "match_probability": r[2]}
            for r in records
        ],
        "pairs": pairs,
        "steward_decisions": decisions,
    }
