"""`marts`: analyst-facing tables rebuilt by every publish."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, Float, Integer, Numeric, String
from sqlalchemy.orm import Mapped

from models.base import Base, column


class Customer360(Base):
    __tablename__ = "customer_360"
    __table_args__ = (
        CheckConstraint("party_type IN ('person', 'company')", name="party_type"),
        {"schema": "marts", "comment": "Each customer with activity from every system."},
    )

    customer_id: Mapped[str] = column(String(40), primary_key=True, comment="Customer.")
    party_type: Mapped[str] = column(String(16), comment="person or company.")
    display_name: Mapped[str | None] = column(
        String(400), pii="direct", mask="company_only", comment="Person or company name."
    )
    email: Mapped[str | None] = column(
        String(320), pii="direct", mask="sha256", comment="Golden e-mail."
    )
    phone: Mapped[str | None] = column(
        String(32), pii="direct", mask="sha256", comment="Golden phone."
    )
    city: Mapped[str | None] = column(String(200), comment="City.")
    country: Mapped[str | None] = column(String(2), comment="Country.")
    source_systems: Mapped[list | None] = column(JSON, comment="Systems that know them.")
    source_count: Mapped[int] = column(Integer, comment="Number of systems.")
    record_count: Mapped[int] = column(Integer, comment="Number of source records.")
    lifetime_revenue: Mapped[Decimal] = column(Numeric(18, 2), comment="Completed orders.")
    lifetime_margin: Mapped[Decimal] = column(Numeric(18, 2), comment="Revenue - cost.")
    orders: Mapped[int] = column(Integer, comment="Completed orders.")
    invoices: Mapped[int] = column(Integer, comment="Invoices issued.")
    invoices_outstanding: Mapped[Decimal] = column(
        Numeric(18, 2), comment="Open amount of unpaid invoices."
    )
    tickets: Mapped[int] = column(Integer, comment="Support tickets.")
    open_tickets: Mapped[int] = column(Integer, comment="Tickets still open.")
    avg_satisfaction: Mapped[float | None] = column(Float, comment="Mean ticket satisfaction.")
    shipments: Mapped[int] = column(Integer, comment="Shipments.")
    first_interaction_at: Mapped[dt.datetime | None] = column(DateTime, comment="Earliest.")
    last_interaction_at: Mapped[dt.datetime | None] = column(DateTime, comment="Latest.")
    as_of: Mapped[dt.date] = column(
        Date,
        comment=(
            "Date of the sync that last changed this row; a row whose figures stay the same "
            "keeps its date (every sync since: audit.sync_run)."
        ),
    )


class KpiMonthly(Base):
    __tablename__ = "kpi_monthly"
    __table_args__ = (
        CheckConstraint(
            "new_customers + returning_customers = active_customers", name="active_split"
        ),
        CheckConstraint("duplicate_rate BETWEEN 0 AND 1", name="duplicate_rate"),
        CheckConstraint("data_quality_score BETWEEN 0 AND 1", name="data_quality_score"),
        {"schema": "marts", "comment": "The business's success metrics, month by month."},
    )

    month: Mapped[dt.date] = column(Date, primary_key=True, comment="First day of the month.")
    active_customers: Mapped[int] = column(
        Integer, comment="Customers with any activity (order, invoice, ticket...) in the month."
    )
    new_customers: Mapped[int] = column(
        Integer, comment="Active customers whose first activity ever is in this month."
    )
    returning_customers: Mapped[int] = column(
        Integer, comment="Active customers who were also active in an earlier month."
    )
    orders: Mapped[int] = column(Integer, comment="Completed orders.")
    revenue: Mapped[Decimal] = column(Numeric(18, 2), comment="Amount of completed orders.")
    margin: Mapped[Decimal] = column(Numeric(18, 2), comment="Revenue - cost.")
    avg_satisfaction: Mapped[float | None] = column(
        Float, comment="Mean satisfaction (1-5) of tickets opened in the month."
    )
    syncs: Mapped[int] = column(Integer, comment="Syncs published in the month.")
    duplicate_rate: Mapped[float | None] = column(
        Float,
        comment="Duplicate rate found by the last sync published in the month "
        "(1 - customers / records linked); NULL for months before the first sync.",
    )
    data_quality_score: Mapped[float | None] = column(
        Float,
        comment="Data-quality score of the last sync published in the month: mean of "
        "completeness and validity over every source and field of audit.data_quality, "
        "weighted by records; NULL for months before the first sync.",
    )
