"""`core`: the consolidated customers, their identities and their activity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped

from models.base import Base, column

ID = String(40)
SOURCE = String(64)


class Customer(Base):
    """One row per real customer: the golden record."""

    __tablename__ = "customer"
    __table_args__ = (
        CheckConstraint("party_type IN ('person', 'company')", name="party_type"),
        CheckConstraint("record_count >= 1 AND source_count >= 1", name="counts"),
        CheckConstraint("created_at <= updated_at", name="created_before_updated"),
        {"schema": "core", "comment": "One golden record per real customer."},
    )

    customer_id: Mapped[str] = column(
        ID, primary_key=True, comment="Stable customer identifier; never reused."
    )
    party_type: Mapped[str] = column(String(16), comment="person or company.")
    given_name: Mapped[str | None] = column(String(200), pii="direct", comment="Given name(s).")
    family_name: Mapped[str | None] = column(String(200), pii="direct", comment="Family name(s).")
    full_name: Mapped[str | None] = column(
        String(400),
        pii="direct",
        mask="company_only",
        comment="Name as displayed (person) or company name.",
    )
    company_name: Mapped[str | None] = column(
        String(400), comment="Company name with its legal form."
    )
    email: Mapped[str | None] = column(
        String(320), pii="direct", mask="sha256", comment="Normalised e-mail."
    )
    phone: Mapped[str | None] = column(
        String(32), pii="direct", mask="sha256", comment="Phone in E.164."
    )
    address_line1: Mapped[str | None] = column(
        String(400), pii="quasi", comment="Street address, first line."
    )
    address_line2: Mapped[str | None] = column(
        String(400), pii="quasi", comment="Street address, second line."
    )
    postcode: Mapped[str | None] = column(
        String(16), pii="quasi", mask="prefix2", comment="Postcode."
    )
    city: Mapped[str | None] = column(String(200), comment="City.")
    region: Mapped[str | None] = column(String(200), comment="Region, state or province.")
    country: Mapped[str | None] = column(String(2), comment="ISO 3166-1 alpha-2 country.")
    birth_date: Mapped[dt.date | None] = column(
        Date, pii="quasi", mask="year", comment="Date of birth."
    )
    tax_id: Mapped[str | None] = column(
        String(32),
        pii="direct",
        mask="sha256",
        comment="Tax identifier (NIF/NIE/CIF or foreign id).",
    )
    source_count: Mapped[int] = column(
        Integer, comment="Number of source systems that know this customer."
    )
    is_active: Mapped[bool] = column(
        Boolean,
        comment="False when none of its records remains at the sources (kept, not dropped).",
    )
    record_count: Mapped[int] = column(
        Integer, comment="Number of source records linked to this customer."
    )
    created_run_id: Mapped[str] = column(String(64), comment="Run that first created the id.")
    updated_run_id: Mapped[str] = column(String(64), comment="Run that last changed the record.")
    created_at: Mapped[dt.datetime] = column(DateTime, comment="When the id was created (UTC).")
    updated_at: Mapped[dt.datetime] = column(DateTime, comment="When last changed (UTC).")


class CustomerSourceXref(Base):
    """Which source record belongs to which customer."""

    __tablename__ = "customer_source_xref"
    __table_args__ = (
        CheckConstraint("cluster_size >= 1", name="cluster_size"),
        CheckConstraint("match_probability BETWEEN 0 AND 1", name="match_probability"),
        {"schema": "core", "comment": "Source record -> customer_id cross reference."},
    )

    source_system: Mapped[str] = column(
        SOURCE, primary_key=True, comment="Source system (registry name)."
    )
    source_record_id: Mapped[str] = column(
        String(200), primary_key=True, comment="The record's key in its source system."
    )
    customer_id: Mapped[str] = column(ID, nullable=False, comment="Customer the record belongs to.")
    cluster_size: Mapped[int] = column(Integer, comment="Records in the customer's cluster.")
    match_probability: Mapped[float | None] = column(
        Float,
        comment="Highest Splink match probability linking this record to another one "
        "of the same customer; NULL for a customer with a single record.",
    )
    is_active: Mapped[bool] = column(
        Boolean, nullable=False, comment="False when the record was deleted at the source."
    )
    first_linked_run_id: Mapped[str] = column(String(64), comment="Run that first linked it.")
    linked_run_id: Mapped[str] = column(String(64), comment="Run that last (re)linked it.")


class CustomerIdRedirect(Base):
    """Retired customer ids keep resolving to their survivor."""

    __tablename__ = "customer_id_redirect"
    __table_args__ = (
        CheckConstraint("retired_customer_id <> customer_id", name="not_self"),
        {"schema": "core", "comment": "Retired customer_id -> surviving id."},
    )

    retired_customer_id: Mapped[str] = column(ID, primary_key=True, comment="Retired id.")
    customer_id: Mapped[str] = column(ID, nullable=False, comment="Surviving id.")
    run_id: Mapped[str] = column(String(64), comment="Run that retired the id.")
    reason: Mapped[str] = column(String(32), comment="merge.")
    retired_at: Mapped[dt.datetime] = column(DateTime, comment="When (UTC).")


class IdentityEvent(Base):
    """Every creation, merge and split of a customer, with its evidence."""

    __tablename__ = "identity_event"
    __table_args__ = (
        CheckConstraint("event_type IN ('created', 'merged', 'split')", name="event_type"),
        {"schema": "core", "comment": "Identity events: created, merged, split."},
    )

    event_id: Mapped[str] = column(String(120), primary_key=True, comment="run_id:sequence.")
    run_id: Mapped[str] = column(String(64), nullable=False, comment="Run that caused it.")
    event_type: Mapped[str] = column(String(16), comment="created, merged or split.")
    customer_id: Mapped[str] = column(ID, comment="Surviving or new customer id.")
    related_customer_ids: Mapped[list | None] = column(
        JSON, comment="Ids merged into it, or the id it was split from."
    )
    record_count: Mapped[int] = column(Integer, comment="Records in the customer after it.")
    evidence: Mapped[dict | None] = column(JSON, comment="Counts behind the decision.")
    occurred_at: Mapped[dt.datetime] = column(DateTime, comment="When (UTC).")


class AttributeProvenance(Base):
    """Where each golden attribute came from."""

    __tablename__ = "customer_attribute_provenance"
    __table_args__ = ({"schema": "core", "comment": "Source and rule of each golden value."},)

    customer_id: Mapped[str] = column(ID, primary_key=True, comment="Customer.")
    attribute: Mapped[str] = column(String(64), primary_key=True, comment="Golden attribute.")
    source_system: Mapped[str] = column(SOURCE, comment="System the value was taken from.")
    source_record_id: Mapped[str] = column(String(200), comment="Record it was taken from.")
    rule: Mapped[str] = column(String(64), comment="Survivorship rule that chose it.")


class Activity(Base):
    """Orders, invoices, payments, tickets and shipments from every system."""

    __tablename__ = "activity"
    __table_args__ = (
        CheckConstraint(
            "activity_type IN ('order', 'invoice', 'payment', 'ticket', 'shipment', "
            "'campaign_response')",
            name="activity_type",
        ),
        {"schema": "core", "comment": "Customer activity from every source system."},
    )

    source_system: Mapped[str] = column(SOURCE, primary_key=True, comment="Source system.")
    activity_name: Mapped[str] = column(
        String(64), primary_key=True, comment="Activity table in the registry (e.g. orders)."
    )
    activity_id: Mapped[str] = column(
        String(200), primary_key=True, comment="The activity's key in its source."
    )
    activity_type: Mapped[str] = column(
        String(32), comment="order, invoice, payment, ticket, shipment or campaign_response."
    )
    source_record_id: Mapped[str] = column(String(200), comment="The customer's source key.")
    customer_id: Mapped[str] = column(ID, nullable=False, comment="Customer it belongs to.")
    occurred_at: Mapped[dt.datetime | None] = column(DateTime, comment="When it happened.")
    amount: Mapped[Decimal | None] = column(Numeric(18, 2), comment="Amount (EUR).")
    cost: Mapped[Decimal | None] = column(Numeric(18, 2), comment="Cost (EUR), for margin.")
    currency: Mapped[str | None] = column(String(8), comment="Currency code.")
    status: Mapped[str | None] = column(String(32), comment="Canonical status.")
    satisfaction: Mapped[Decimal | None] = column(Numeric(6, 2), comment="Satisfaction 1-5.")
    open_amount: Mapped[Decimal | None] = column(
        Numeric(18, 2), comment="Outstanding amount of an invoice."
    )
    closed_at: Mapped[dt.datetime | None] = column(DateTime, comment="When it was closed.")


class LinkageEvidence(Base):
    """The scored pairs that put records together, for explanations."""

    __tablename__ = "linkage_evidence"
    __table_args__ = (
        CheckConstraint("match_probability BETWEEN 0 AND 1", name="match_probability"),
        CheckConstraint("record_key_l <> record_key_r", name="two_records"),
        {"schema": "core", "comment": "Scored record pairs inside customers."},
    )

    record_key_l: Mapped[str] = column(String(280), primary_key=True, comment="source:id.")
    record_key_r: Mapped[str] = column(String(280), primary_key=True, comment="source:id.")
    customer_id: Mapped[str] = column(ID, comment="Customer both records belong to.")
    match_weight: Mapped[float] = column(Float, comment="Splink match weight.")
    match_probability: Mapped[float] = column(Float, comment="Splink match probability.")
    comparison_weights: Mapped[dict | None] = column(
        JSON, comment="Match weight of each comparison (mw_*)."
    )
    run_id: Mapped[str] = column(String(64), comment="Run that scored it.")


class StewardDecision(Base):
    """Human decisions that override the model."""

    __tablename__ = "steward_decision"
    __table_args__ = (
        CheckConstraint("decision IN ('must_link', 'cannot_link')", name="decision"),
        CheckConstraint("record_key_l <> record_key_r", name="two_records"),
        {"schema": "core", "comment": "Must-link / cannot-link decisions by data stewards."},
    )

    decision_id: Mapped[str] = column(String(64), primary_key=True, comment="Decision id.")
    record_key_l: Mapped[str] = column(String(280), nullable=False, comment="source:id.")
    record_key_r: Mapped[str] = column(String(280), nullable=False, comment="source:id.")
    decision: Mapped[str] = column(String(16), nullable=False, comment="must_link/cannot_link.")
    decided_by: Mapped[str] = column(String(200), nullable=False, comment="Steward.")
    reason: Mapped[str] = column(Text, nullable=False, comment="Why.")
    decided_at: Mapped[dt.datetime] = column(DateTime, comment="When (UTC).")
    is_active: Mapped[bool] = column(Boolean, nullable=False, comment="False once revoked.")


__all__ = [
    "Activity",
    "AttributeProvenance",
    "Customer",
    "CustomerIdRedirect",
    "CustomerSourceXref",
    "IdentityEvent",
    "LinkageEvidence",
    "StewardDecision",
]


class CustomerHistory(Base):
    """Type-2 history of golden records: what a customer looked like on any date."""

    __tablename__ = "customer_history"
    __table_args__ = ({"schema": "core", "comment": "Golden record versions with validity."},)

    customer_id: Mapped[str] = column(ID, primary_key=True, comment="Customer.")
    valid_from: Mapped[dt.datetime] = column(
        DateTime, primary_key=True, comment="Version valid from (UTC, inclusive)."
    )
    valid_to: Mapped[dt.datetime | None] = column(
        DateTime, comment="Valid until (exclusive); NULL for the current version."
    )
    run_id: Mapped[str] = column(String(64), comment="Run that wrote the version.")
    party_type: Mapped[str] = column(String(16), comment="person or company.")
    given_name: Mapped[str | None] = column(String(200), pii="direct", comment="Given name.")
    family_name: Mapped[str | None] = column(String(200), pii="direct", comment="Family name.")
    full_name: Mapped[str | None] = column(
        String(400), pii="direct", mask="company_only", comment="Full name."
    )
    company_name: Mapped[str | None] = column(String(400), comment="Company name.")
    email: Mapped[str | None] = column(String(320), pii="direct", mask="sha256", comment="E-mail.")
    phone: Mapped[str | None] = column(String(32), pii="direct", mask="sha256", comment="Phone.")
    address_line1: Mapped[str | None] = column(String(400), pii="quasi", comment="Address 1.")
    address_line2: Mapped[str | None] = column(String(400), pii="quasi", comment="Address 2.")
    postcode: Mapped[str | None] = column(
        String(16), pii="quasi", mask="prefix2", comment="Postcode."
    )
    city: Mapped[str | None] = column(String(200), comment="City.")
    region: Mapped[str | None] = column(String(200), comment="Region.")
    country: Mapped[str | None] = column(String(2), comment="Country.")
    birth_date: Mapped[dt.date | None] = column(
        Date, pii="quasi", mask="year", comment="Date of birth."
    )
    tax_id: Mapped[str | None] = column(String(32), pii="direct", mask="sha256", comment="Tax id.")
    is_active: Mapped[bool] = column(Boolean, comment="Active in that version.")


class ReviewPair(Base):
    """Uncertain pairs for stewards to decide, refreshed every run."""

    __tablename__ = "review_pair"
    __table_args__ = (
        {"schema": "core", "comment": "Record pairs in the uncertain probability band."},
    )

    record_key_l: Mapped[str] = column(String(280), primary_key=True, comment="source:id.")
    record_key_r: Mapped[str] = column(String(280), primary_key=True, comment="source:id.")
    customer_id_l: Mapped[str | None] = column(ID, comment="Customer of the left record.")
    customer_id_r: Mapped[str | None] = column(ID, comment="Customer of the right record.")
    match_probability: Mapped[float] = column(Float, comment="Splink match probability.")
    match_weight: Mapped[float] = column(Float, comment="Splink match weight.")
    reason: Mapped[str] = column(String(64), comment="probability_band or oversized_cluster.")
    run_id: Mapped[str] = column(String(64), comment="Run that queued it.")
