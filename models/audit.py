"""`audit`: what each run read, quarantined, checked and published."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped

from models.base import Base, column


class SyncRun(Base):
    __tablename__ = "sync_run"
    __table_args__ = (
        # The reconciliation the pipeline proves on every run, held by the database as well.
        CheckConstraint(
            "records_extracted = records_linked + records_quarantined", name="reconciled"
        ),
        CheckConstraint("duplicate_rate BETWEEN 0 AND 1", name="duplicate_rate"),
        {"schema": "audit", "comment": "One row per published sync."},
    )

    run_id: Mapped[str] = column(String(64), primary_key=True, comment="Dagster run id.")
    started_at: Mapped[dt.datetime] = column(DateTime, comment="Extraction start (UTC).")
    published_at: Mapped[dt.datetime] = column(DateTime, comment="Publish time (UTC).")
    records_extracted: Mapped[int] = column(BigInteger, comment="Source records read.")
    records_linked: Mapped[int] = column(BigInteger, comment="Records linked to a customer.")
    records_quarantined: Mapped[int] = column(BigInteger, comment="Records quarantined.")
    customers: Mapped[int] = column(BigInteger, comment="Customers after the run.")
    customers_created: Mapped[int] = column(Integer, comment="New customer ids.")
    customers_merged: Mapped[int] = column(Integer, comment="Ids retired by merges.")
    customers_split: Mapped[int] = column(Integer, comment="Ids created by splits.")
    duplicate_rate: Mapped[float] = column(
        Float, comment="1 - customers / records linked: share of records that were duplicates."
    )
    summary: Mapped[dict | None] = column(JSON, comment="Run summary (counts only, no PII).")


class SourceRun(Base):
    __tablename__ = "source_run"
    __table_args__ = ({"schema": "audit", "comment": "Per source and run: what was read."},)

    run_id: Mapped[str] = column(String(64), primary_key=True, comment="Dagster run id.")
    source_system: Mapped[str] = column(String(64), primary_key=True, comment="Source.")
    records_read: Mapped[int] = column(BigInteger, comment="Customer records read.")
    records_staged: Mapped[int] = column(BigInteger, comment="Records that passed cleansing.")
    records_quarantined: Mapped[int] = column(BigInteger, comment="Records quarantined.")
    activity_rows: Mapped[int] = column(BigInteger, comment="Activity rows read.")
    unmapped_columns: Mapped[list | None] = column(JSON, comment="Source columns not mapped.")


class QuarantinedRecord(Base):
    __tablename__ = "quarantined_record"
    __table_args__ = (
        {"schema": "audit", "comment": "Records held back by a run, one row per problem."},
    )

    run_id: Mapped[str] = column(String(64), primary_key=True, comment="Dagster run id.")
    source_system: Mapped[str] = column(String(64), primary_key=True, comment="Source.")
    source_row_number: Mapped[int] = column(
        BigInteger, primary_key=True, comment="Row position as read in the source."
    )
    reason_code: Mapped[str] = column(String(64), primary_key=True, comment="Problem code.")
    source_record_id: Mapped[str] = column(String(200), comment="Key at the source.")
    reason_message: Mapped[str] = column(Text, comment="What is wrong and how to fix it.")
    raw_record: Mapped[str | None] = column(
        Text, pii="direct", comment="The record as read (JSON)."
    )
    quarantined_at: Mapped[dt.datetime] = column(DateTime, comment="When (UTC).")


class CheckResult(Base):
    __tablename__ = "check_result"
    __table_args__ = (
        CheckConstraint("severity IN ('ERROR', 'WARN')", name="severity"),
        {"schema": "audit", "comment": "Data-quality check results per run."},
    )

    run_id: Mapped[str] = column(String(64), primary_key=True, comment="Dagster run id.")
    check_name: Mapped[str] = column(String(120), primary_key=True, comment="Check.")
    asset: Mapped[str] = column(String(120), comment="Asset checked.")
    passed: Mapped[bool] = column(Boolean, comment="Whether it passed.")
    severity: Mapped[str] = column(String(8), comment="ERROR (blocking) or WARN.")
    detail: Mapped[dict | None] = column(JSON, comment="Figures behind the result.")
    checked_at: Mapped[dt.datetime] = column(DateTime, comment="When (UTC).")


class DataQuality(Base):
    __tablename__ = "data_quality"
    __table_args__ = (
        CheckConstraint("completeness BETWEEN 0 AND 1", name="completeness"),
        CheckConstraint("validity BETWEEN 0 AND 1", name="validity"),
        CheckConstraint("values_supplied <= records", name="supplied_le_records"),
        {"schema": "audit", "comment": "Completeness and validity per field, source and run."},
    )

    run_id: Mapped[str] = column(String(64), primary_key=True, comment="Dagster run id.")
    source_system: Mapped[str] = column(String(64), primary_key=True, comment="Source.")
    field: Mapped[str] = column(String(64), primary_key=True, comment="Canonical field.")
    completeness: Mapped[float] = column(
        Float, comment="Share of staged records with a usable (valid) value."
    )
    validity: Mapped[float | None] = column(
        Float,
        comment="Share of the values the source supplied that survived cleansing as valid "
        "(e.g. a parseable phone, a checkable e-mail, a possible birth date, a tax id with a "
        "correct control character); NULL when the source supplied none.",
    )
    values_supplied: Mapped[int] = column(
        Integer, comment="Staged records whose source row had a value for the field."
    )
    records: Mapped[int] = column(Integer, comment="Staged records of the source.")
    note: Mapped[str | None] = column(Text, comment="Free text.")


class SourceWatermark(Base):
    __tablename__ = "source_watermark"
    __table_args__ = (
        {"schema": "audit", "comment": "Last successful watermark per source (incremental reads)."},
    )

    source_system: Mapped[str] = column(String(64), primary_key=True, comment="Source.")
    watermark_column: Mapped[str] = column(String(128), comment="Column compared.")
    last_value: Mapped[str | None] = column(String(64), comment="Highest value read (text).")
    run_id: Mapped[str] = column(String(64), comment="Run that read it.")
    updated_at: Mapped[dt.datetime] = column(DateTime, comment="When (UTC).")


class SourceAssessment(Base):
    __tablename__ = "source_assessment"
    __table_args__ = (
        {"schema": "audit", "comment": "Per run, source and field: profile measures."},
    )

    run_id: Mapped[str] = column(String(64), primary_key=True, comment="Dagster run id.")
    source_system: Mapped[str] = column(String(64), primary_key=True, comment="Source.")
    measure: Mapped[str] = column(
        String(64),
        primary_key=True,
        comment="rows, completeness, validity, duplicates_in_source, overlap_with:<source>.",
    )
    field: Mapped[str] = column(String(64), primary_key=True, comment="Field or '*'.")
    value: Mapped[float] = column(Float, comment="The measure's value.")


class Erasure(Base):
    __tablename__ = "erasure"
    __table_args__ = (
        {"schema": "audit", "comment": "Erasures carried out (no personal data kept)."},
    )

    erasure_id: Mapped[str] = column(String(64), primary_key=True, comment="Erasure id.")
    customer_id: Mapped[str] = column(String(40), comment="Erased customer id (pseudonymous).")
    requested_by: Mapped[str] = column(String(200), comment="Who asked for it.")
    reason: Mapped[str] = column(Text, comment="Legal basis / ticket reference.")
    records_erased: Mapped[int] = column(Integer, comment="Source records suppressed.")
    erased_at: Mapped[dt.datetime] = column(DateTime, comment="When (UTC).")


class Suppression(Base):
    __tablename__ = "suppression"
    __table_args__ = (
        {"schema": "audit", "comment": "Salted hashes of erased identifiers: never re-created."},
    )

    identifier_hash: Mapped[str] = column(String(64), primary_key=True, comment="HMAC-SHA256.")
    identifier_kind: Mapped[str] = column(String(32), comment="record_key, email, phone or tax_id.")
    erasure_id: Mapped[str] = column(String(64), comment="Erasure that created it.")
    created_at: Mapped[dt.datetime] = column(DateTime, comment="When (UTC).")
