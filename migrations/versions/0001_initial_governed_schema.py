"""initial governed schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SCHEMAS = ("core", "audit", "marts")


def upgrade() -> None:
    for schema in SCHEMAS:
        op.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
    op.create_table(
        "check_result",
        sa.Column("run_id", sa.String(length=64), nullable=False, comment="Dagster run id."),
        sa.Column("check_name", sa.String(length=120), nullable=False, comment="Check."),
        sa.Column("asset", sa.String(length=120), nullable=False, comment="Asset checked."),
        sa.Column("passed", sa.Boolean(), nullable=False, comment="Whether it passed."),
        sa.Column(
            "severity", sa.String(length=8), nullable=False, comment="ERROR (blocking) or WARN."
        ),
        sa.Column("detail", sa.JSON(), nullable=True, comment="Figures behind the result."),
        sa.Column("checked_at", sa.DateTime(), nullable=False, comment="When (UTC)."),
        sa.CheckConstraint("severity IN ('ERROR', 'WARN')", name=op.f("ck_check_result_severity")),
        sa.PrimaryKeyConstraint("run_id", "check_name", name=op.f("pk_check_result")),
        schema="audit",
        comment="Data-quality check results per run.",
    )
    op.create_table(
        "data_quality",
        sa.Column("run_id", sa.String(length=64), nullable=False, comment="Dagster run id."),
        sa.Column("source_system", sa.String(length=64), nullable=False, comment="Source."),
        sa.Column("field", sa.String(length=64), nullable=False, comment="Canonical field."),
        sa.Column(
            "completeness",
            sa.Float(),
            nullable=False,
            comment="Share of staged records with a usable (valid) value.",
        ),
        sa.Column(
            "validity",
            sa.Float(),
            nullable=True,
            comment="Share of the values the source supplied that survived cleansing as valid (e.g. a parseable phone, a checkable e-mail, a possible birth date, a tax id with a correct control character); NULL when the source supplied none.",
        ),
        sa.Column(
            "values_supplied",
            sa.Integer(),
            nullable=False,
            comment="Staged records whose source row had a value for the field.",
        ),
        sa.Column("records", sa.Integer(), nullable=False, comment="Staged records of the source."),
        sa.Column("note", sa.Text(), nullable=True, comment="Free text."),
        sa.CheckConstraint(
            "completeness BETWEEN 0 AND 1", name=op.f("ck_data_quality_completeness")
        ),
        sa.CheckConstraint("validity BETWEEN 0 AND 1", name=op.f("ck_data_quality_validity")),
        sa.CheckConstraint(
            "values_supplied <= records", name=op.f("ck_data_quality_supplied_le_records")
        ),
        sa.PrimaryKeyConstraint("run_id", "source_system", "field", name=op.f("pk_data_quality")),
        schema="audit",
        comment="Completeness and validity per field, source and run.",
    )
    op.create_table(
        "erasure",
        sa.Column("erasure_id", sa.String(length=64), nullable=False, comment="Erasure id."),
        sa.Column(
            "customer_id",
            sa.String(length=40),
            nullable=False,
            comment="Erased customer id (pseudonymous).",
        ),
        sa.Column(
            "requested_by", sa.String(length=200), nullable=False, comment="Who asked for it."
        ),
        sa.Column("reason", sa.Text(), nullable=False, comment="Legal basis / ticket reference."),
        sa.Column(
            "records_erased", sa.Integer(), nullable=False, comment="Source records suppressed."
        ),
        sa.Column("erased_at", sa.DateTime(), nullable=False, comment="When (UTC)."),
        sa.PrimaryKeyConstraint("erasure_id", name=op.f("pk_erasure")),
        schema="audit",
        comment="Erasures carried out (no personal data kept).",
    )
    op.create_table(
        "quarantined_record",
        sa.Column("run_id", sa.String(length=64), nullable=False, comment="Dagster run id."),
        sa.Column("source_system", sa.String(length=64), nullable=False, comment="Source."),
        sa.Column(
            "source_row_number",
            sa.BigInteger(),
            nullable=False,
            comment="Row position as read in the source.",
        ),
        sa.Column("reason_code", sa.String(length=64), nullable=False, comment="Problem code."),
        sa.Column(
            "source_record_id", sa.String(length=200), nullable=False, comment="Key at the source."
        ),
        sa.Column(
            "reason_message", sa.Text(), nullable=False, comment="What is wrong and how to fix it."
        ),
        sa.Column("raw_record", sa.Text(), nullable=True, comment="The record as read (JSON)."),
        sa.Column("quarantined_at", sa.DateTime(), nullable=False, comment="When (UTC)."),
        sa.PrimaryKeyConstraint(
            "run_id",
            "source_system",
            "source_row_number",
            "reason_code",
            name=op.f("pk_quarantined_record"),
        ),
        schema="audit",
        comment="Records held back by a run, one row per problem.",
    )
    op.create_table(
        "source_assessment",
        sa.Column("run_id", sa.String(length=64), nullable=False, comment="Dagster run id."),
        sa.Column("source_system", sa.String(length=64), nullable=False, comment="Source."),
        sa.Column(
            "measure",
            sa.String(length=64),
            nullable=False,
            comment="rows, completeness, validity, duplicates_in_source, overlap_with:<source>.",
        ),
        sa.Column("field", sa.String(length=64), nullable=False, comment="Field or '*'."),
        sa.Column("value", sa.Float(), nullable=False, comment="The measure's value."),
        sa.PrimaryKeyConstraint(
            "run_id", "source_system", "measure", "field", name=op.f("pk_source_assessment")
        ),
        schema="audit",
        comment="Per run, source and field: profile measures.",
    )
    op.create_table(
        "source_run",
        sa.Column("run_id", sa.String(length=64), nullable=False, comment="Dagster run id."),
        sa.Column("source_system", sa.String(length=64), nullable=False, comment="Source."),
        sa.Column(
            "records_read", sa.BigInteger(), nullable=False, comment="Customer records read."
        ),
        sa.Column(
            "records_staged",
            sa.BigInteger(),
            nullable=False,
            comment="Records that passed cleansing.",
        ),
        sa.Column(
            "records_quarantined", sa.BigInteger(), nullable=False, comment="Records quarantined."
        ),
        sa.Column("activity_rows", sa.BigInteger(), nullable=False, comment="Activity rows read."),
        sa.Column(
            "unmapped_columns", sa.JSON(), nullable=True, comment="Source columns not mapped."
        ),
        sa.PrimaryKeyConstraint("run_id", "source_system", name=op.f("pk_source_run")),
        schema="audit",
        comment="Per source and run: what was read.",
    )
    op.create_table(
        "source_watermark",
        sa.Column("source_system", sa.String(length=64), nullable=False, comment="Source."),
        sa.Column(
            "watermark_column", sa.String(length=128), nullable=False, comment="Column compared."
        ),
        sa.Column(
            "last_value", sa.String(length=64), nullable=True, comment="Highest value read (text)."
        ),
        sa.Column("run_id", sa.String(length=64), nullable=False, comment="Run that read it."),
        sa.Column("updated_at", sa.DateTime(), nullable=False, comment="When (UTC)."),
        sa.PrimaryKeyConstraint("source_system", name=op.f("pk_source_watermark")),
        schema="audit",
        comment="Last successful watermark per source (incremental reads).",
    )
    op.create_table(
        "suppression",
        sa.Column("identifier_hash", sa.String(length=64), nullable=False, comment="HMAC-SHA256."),
        sa.Column(
            "identifier_kind",
            sa.String(length=32),
            nullable=False,
            comment="record_key, email, phone or tax_id.",
        ),
        sa.Column(
            "erasure_id", sa.String(length=64), nullable=False, comment="Erasure that created it."
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False, comment="When (UTC)."),
        sa.PrimaryKeyConstraint("identifier_hash", name=op.f("pk_suppression")),
        schema="audit",
        comment="Salted hashes of erased identifiers: never re-created.",
    )
    op.create_table(
        "sync_run",
        sa.Column("run_id", sa.String(length=64), nullable=False, comment="Dagster run id."),
        sa.Column("started_at", sa.DateTime(), nullable=False, comment="Extraction start (UTC)."),
        sa.Column("published_at", sa.DateTime(), nullable=False, comment="Publish time (UTC)."),
        sa.Column(
            "records_extracted", sa.BigInteger(), nullable=False, comment="Source records read."
        ),
        sa.Column(
            "records_linked",
            sa.BigInteger(),
            nullable=False,
            comment="Records linked to a customer.",
        ),
        sa.Column(
            "records_quarantined", sa.BigInteger(), nullable=False, comment="Records quarantined."
        ),
        sa.Column("customers", sa.BigInteger(), nullable=False, comment="Customers after the run."),
        sa.Column("customers_created", sa.Integer(), nullable=False, comment="New customer ids."),
        sa.Column(
            "customers_merged", sa.Integer(), nullable=False, comment="Ids retired by merges."
        ),
        sa.Column(
            "customers_split", sa.Integer(), nullable=False, comment="Ids created by splits."
        ),
        sa.Column(
            "duplicate_rate",
            sa.Float(),
            nullable=False,
            comment="1 - customers / records linked: share of records that were duplicates.",
        ),
        sa.Column(
            "summary", sa.JSON(), nullable=True, comment="Run summary (counts only, no PII)."
        ),
        sa.CheckConstraint(
            "duplicate_rate BETWEEN 0 AND 1", name=op.f("ck_sync_run_duplicate_rate")
        ),
        sa.CheckConstraint(
            "records_extracted = records_linked + records_quarantined",
            name=op.f("ck_sync_run_reconciled"),
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_sync_run")),
        schema="audit",
        comment="One row per published sync.",
    )
    op.create_table(
        "activity",
        sa.Column("source_system", sa.String(length=64), nullable=False, comment="Source system."),
        sa.Column(
            "activity_name",
            sa.String(length=64),
            nullable=False,
            comment="Activity table in the registry (e.g. orders).",
        ),
        sa.Column(
            "activity_id",
            sa.String(length=200),
            nullable=False,
            comment="The activity's key in its source.",
        ),
        sa.Column(
            "activity_type",
            sa.String(length=32),
            nullable=False,
            comment="order, invoice, payment, ticket, shipment or campaign_response.",
        ),
        sa.Column(
            "source_record_id",
            sa.String(length=200),
            nullable=False,
            comment="The customer's source key.",
        ),
        sa.Column(
            "customer_id", sa.String(length=40), nullable=False, comment="Customer it belongs to."
        ),
        sa.Column("occurred_at", sa.DateTime(), nullable=True, comment="When it happened."),
        sa.Column(
            "amount", sa.Numeric(precision=18, scale=2), nullable=True, comment="Amount (EUR)."
        ),
        sa.Column(
            "cost",
            sa.Numeric(precision=18, scale=2),
            nullable=True,
            comment="Cost (EUR), for margin.",
        ),
        sa.Column("currency", sa.String(length=8), nullable=True, comment="Currency code."),
        sa.Column("status", sa.String(length=32), nullable=True, comment="Canonical status."),
        sa.Column(
            "satisfaction",
            sa.Numeric(precision=6, scale=2),
            nullable=True,
            comment="Satisfaction 1-5.",
        ),
        sa.Column(
            "open_amount",
            sa.Numeric(precision=18, scale=2),
            nullable=True,
            comment="Outstanding amount of an invoice.",
        ),
        sa.Column("closed_at", sa.DateTime(), nullable=True, comment="When it was closed."),
        sa.CheckConstraint(
            "activity_type IN ('order', 'invoice', 'payment', 'ticket', 'shipment', 'campaign_response')",
            name=op.f("ck_activity_activity_type"),
        ),
        sa.PrimaryKeyConstraint(
            "source_system", "activity_name", "activity_id", name=op.f("pk_activity")
        ),
        schema="core",
        comment="Customer activity from every source system.",
    )
    op.create_table(
        "customer",
        sa.Column(
            "customer_id",
            sa.String(length=40),
            nullable=False,
            comment="Stable customer identifier; never reused.",
        ),
        sa.Column("party_type", sa.String(length=16), nullable=False, comment="person or company."),
        sa.Column("given_name", sa.String(length=200), nullable=True, comment="Given name(s)."),
        sa.Column("family_name", sa.String(length=200), nullable=True, comment="Family name(s)."),
        sa.Column(
            "full_name",
            sa.String(length=400),
            nullable=True,
            comment="Name as displayed (person) or company name.",
        ),
        sa.Column(
            "company_name",
            sa.String(length=400),
            nullable=True,
            comment="Company name with its legal form.",
        ),
        sa.Column("email", sa.String(length=320), nullable=True, comment="Normalised e-mail."),
        sa.Column("phone", sa.String(length=32), nullable=True, comment="Phone in E.164."),
        sa.Column(
            "address_line1",
            sa.String(length=400),
            nullable=True,
            comment="Street address, first line.",
        ),
        sa.Column(
            "address_line2",
            sa.String(length=400),
            nullable=True,
            comment="Street address, second line.",
        ),
        sa.Column("postcode", sa.String(length=16), nullable=True, comment="Postcode."),
        sa.Column("city", sa.String(length=200), nullable=True, comment="City."),
        sa.Column(
            "region", sa.String(length=200), nullable=True, comment="Region, state or province."
        ),
        sa.Column(
            "country", sa.String(length=2), nullable=True, comment="ISO 3166-1 alpha-2 country."
        ),
        sa.Column("birth_date", sa.Date(), nullable=True, comment="Date of birth."),
        sa.Column(
            "tax_id",
            sa.String(length=32),
            nullable=True,
            comment="Tax identifier (NIF/NIE/CIF or foreign id).",
        ),
        sa.Column(
            "source_count",
            sa.Integer(),
            nullable=False,
            comment="Number of source systems that know this customer.",
        ),
        sa.Column(
            "is_active",
            sa.Boolean(),
            nullable=False,
            comment="False when none of its records remains at the sources (kept, not dropped).",
        ),
        sa.Column(
            "record_count",
            sa.Integer(),
            nullable=False,
            comment="Number of source records linked to this customer.",
        ),
        sa.Column(
            "created_run_id",
            sa.String(length=64),
            nullable=False,
            comment="Run that first created the id.",
        ),
        sa.Column(
            "updated_run_id",
            sa.String(length=64),
            nullable=False,
            comment="Run that last changed the record.",
        ),
        sa.Column(
            "created_at", sa.DateTime(), nullable=False, comment="When the id was created (UTC)."
        ),
        sa.Column("updated_at", sa.DateTime(), nullable=False, comment="When last changed (UTC)."),
        sa.CheckConstraint(
            "party_type IN ('person', 'company')", name=op.f("ck_customer_party_type")
        ),
        sa.CheckConstraint(
            "created_at <= updated_at", name=op.f("ck_customer_created_before_updated")
        ),
        sa.CheckConstraint(
            "record_count >= 1 AND source_count >= 1", name=op.f("ck_customer_counts")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer")),
        schema="core",
        comment="One golden record per real customer.",
    )
    op.create_table(
        "customer_attribute_provenance",
        sa.Column("customer_id", sa.String(length=40), nullable=False, comment="Customer."),
        sa.Column("attribute", sa.String(length=64), nullable=False, comment="Golden attribute."),
        sa.Column(
            "source_system",
            sa.String(length=64),
            nullable=False,
            comment="System the value was taken from.",
        ),
        sa.Column(
            "source_record_id",
            sa.String(length=200),
            nullable=False,
            comment="Record it was taken from.",
        ),
        sa.Column(
            "rule", sa.String(length=64), nullable=False, comment="Survivorship rule that chose it."
        ),
        sa.PrimaryKeyConstraint(
            "customer_id", "attribute", name=op.f("pk_customer_attribute_provenance")
        ),
        schema="core",
        comment="Source and rule of each golden value.",
    )
    op.create_table(
        "customer_history",
        sa.Column("customer_id", sa.String(length=40), nullable=False, comment="Customer."),
        sa.Column(
            "valid_from",
            sa.DateTime(),
            nullable=False,
            comment="Version valid from (UTC, inclusive).",
        ),
        sa.Column(
            "valid_to",
            sa.DateTime(),
            nullable=True,
            comment="Valid until (exclusive); NULL for the current version.",
        ),
        sa.Column(
            "run_id", sa.String(length=64), nullable=False, comment="Run that wrote the version."
        ),
        sa.Column("party_type", sa.String(length=16), nullable=False, comment="person or company."),
        sa.Column("given_name", sa.String(length=200), nullable=True, comment="Given name."),
        sa.Column("family_name", sa.String(length=200), nullable=True, comment="Family name."),
        sa.Column("full_name", sa.String(length=400), nullable=True, comment="Full name."),
        sa.Column("company_name", sa.String(length=400), nullable=True, comment="Company name."),
        sa.Column("email", sa.String(length=320), nullable=True, comment="E-mail."),
        sa.Column("phone", sa.String(length=32), nullable=True, comment="Phone."),
        sa.Column("address_line1", sa.String(length=400), nullable=True, comment="Address 1."),
        sa.Column("address_line2", sa.String(length=400), nullable=True, comment="Address 2."),
        sa.Column("postcode", sa.String(length=16), nullable=True, comment="Postcode."),
        sa.Column("city", sa.String(length=200), nullable=True, comment="City."),
        sa.Column("region", sa.String(length=200), nullable=True, comment="Region."),
        sa.Column("country", sa.String(length=2), nullable=True, comment="Country."),
        sa.Column("birth_date", sa.Date(), nullable=True, comment="Date of birth."),
        sa.Column("tax_id", sa.String(length=32), nullable=True, comment="Tax id."),
        sa.Column("is_active", sa.Boolean(), nullable=False, comment="Active in that version."),
        sa.PrimaryKeyConstraint("customer_id", "valid_from", name=op.f("pk_customer_history")),
        schema="core",
        comment="Golden record versions with validity.",
    )
    op.create_table(
        "customer_id_redirect",
        sa.Column(
            "retired_customer_id", sa.String(length=40), nullable=False, comment="Retired id."
        ),
        sa.Column("customer_id", sa.String(length=40), nullable=False, comment="Surviving id."),
        sa.Column(
            "run_id", sa.String(length=64), nullable=False, comment="Run that retired the id."
        ),
        sa.Column("reason", sa.String(length=32), nullable=False, comment="merge."),
        sa.Column("retired_at", sa.DateTime(), nullable=False, comment="When (UTC)."),
        sa.CheckConstraint(
            "retired_customer_id <> customer_id", name=op.f("ck_customer_id_redirect_not_self")
        ),
        sa.PrimaryKeyConstraint("retired_customer_id", name=op.f("pk_customer_id_redirect")),
        schema="core",
        comment="Retired customer_id -> surviving id.",
    )
    op.create_table(
        "customer_source_xref",
        sa.Column(
            "source_system",
            sa.String(length=64),
            nullable=False,
            comment="Source system (registry name).",
        ),
        sa.Column(
            "source_record_id",
            sa.String(length=200),
            nullable=False,
            comment="The record's key in its source system.",
        ),
        sa.Column(
            "customer_id",
            sa.String(length=40),
            nullable=False,
            comment="Customer the record belongs to.",
        ),
        sa.Column(
            "cluster_size",
            sa.Integer(),
            nullable=False,
            comment="Records in the customer's cluster.",
        ),
        sa.Column(
            "match_probability",
            sa.Float(),
            nullable=True,
            comment="Highest Splink match probability linking this record to another one of the same customer; NULL for a customer with a single record.",
        ),
        sa.Column(
            "is_active",
            sa.Boolean(),
            nullable=False,
            comment="False when the record was deleted at the source.",
        ),
        sa.Column(
            "first_linked_run_id",
            sa.String(length=64),
            nullable=False,
            comment="Run that first linked it.",
        ),
        sa.Column(
            "linked_run_id",
            sa.String(length=64),
            nullable=False,
            comment="Run that last (re)linked it.",
        ),
        sa.CheckConstraint("cluster_size >= 1", name=op.f("ck_customer_source_xref_cluster_size")),
        sa.CheckConstraint(
            "match_probability BETWEEN 0 AND 1",
            name=op.f("ck_customer_source_xref_match_probability"),
        ),
        sa.PrimaryKeyConstraint(
            "source_system", "source_record_id", name=op.f("pk_customer_source_xref")
        ),
        schema="core",
        comment="Source record -> customer_id cross reference.",
    )
    op.create_table(
        "identity_event",
        sa.Column("event_id", sa.String(length=120), nullable=False, comment="run_id:sequence."),
        sa.Column("run_id", sa.String(length=64), nullable=False, comment="Run that caused it."),
        sa.Column(
            "event_type", sa.String(length=16), nullable=False, comment="created, merged or split."
        ),
        sa.Column(
            "customer_id",
            sa.String(length=40),
            nullable=False,
            comment="Surviving or new customer id.",
        ),
        sa.Column(
            "related_customer_ids",
            sa.JSON(),
            nullable=True,
            comment="Ids merged into it, or the id it was split from.",
        ),
        sa.Column(
            "record_count",
            sa.Integer(),
            nullable=False,
            comment="Records in the customer after it.",
        ),
        sa.Column("evidence", sa.JSON(), nullable=True, comment="Counts behind the decision."),
        sa.Column("occurred_at", sa.DateTime(), nullable=False, comment="When (UTC)."),
        sa.CheckConstraint(
            "event_type IN ('created', 'merged', 'split')",
            name=op.f("ck_identity_event_event_type"),
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_identity_event")),
        schema="core",
        comment="Identity events: created, merged, split.",
    )
    op.create_table(
        "linkage_evidence",
        sa.Column("record_key_l", sa.String(length=280), nullable=False, comment="source:id."),
        sa.Column("record_key_r", sa.String(length=280), nullable=False, comment="source:id."),
        sa.Column(
            "customer_id",
            sa.String(length=40),
            nullable=False,
            comment="Customer both records belong to.",
        ),
        sa.Column("match_weight", sa.Float(), nullable=False, comment="Splink match weight."),
        sa.Column(
            "match_probability", sa.Float(), nullable=False, comment="Splink match probability."
        ),
        sa.Column(
            "comparison_weights",
            sa.JSON(),
            nullable=True,
            comment="Match weight of each comparison (mw_*).",
        ),
        sa.Column("run_id", sa.String(length=64), nullable=False, comment="Run that scored it."),
        sa.CheckConstraint(
            "match_probability BETWEEN 0 AND 1", name=op.f("ck_linkage_evidence_match_probability")
        ),
        sa.CheckConstraint(
            "record_key_l <> record_key_r", name=op.f("ck_linkage_evidence_two_records")
        ),
        sa.PrimaryKeyConstraint("record_key_l", "record_key_r", name=op.f("pk_linkage_evidence")),
        schema="core",
        comment="Scored record pairs inside customers.",
    )
    op.create_table(
        "review_pair",
        sa.Column("record_key_l", sa.String(length=280), nullable=False, comment="source:id."),
        sa.Column("record_key_r", sa.String(length=280), nullable=False, comment="source:id."),
        sa.Column(
            "customer_id_l",
            sa.String(length=40),
            nullable=True,
            comment="Customer of the left record.",
        ),
        sa.Column(
            "customer_id_r",
            sa.String(length=40),
            nullable=True,
            comment="Customer of the right record.",
        ),
        sa.Column(
            "match_probability", sa.Float(), nullable=False, comment="Splink match probability."
        ),
        sa.Column("match_weight", sa.Float(), nullable=False, comment="Splink match weight."),
        sa.Column(
            "reason",
            sa.String(length=64),
            nullable=False,
            comment="probability_band or oversized_cluster.",
        ),
        sa.Column("run_id", sa.String(length=64), nullable=False, comment="Run that queued it."),
        sa.PrimaryKeyConstraint("record_key_l", "record_key_r", name=op.f("pk_review_pair")),
        schema="core",
        comment="Record pairs in the uncertain probability band.",
    )
    op.create_table(
        "steward_decision",
        sa.Column("decision_id", sa.String(length=64), nullable=False, comment="Decision id."),
        sa.Column("record_key_l", sa.String(length=280), nullable=False, comment="source:id."),
        sa.Column("record_key_r", sa.String(length=280), nullable=False, comment="source:id."),
        sa.Column(
            "decision", sa.String(length=16), nullable=False, comment="must_link/cannot_link."
        ),
        sa.Column("decided_by", sa.String(length=200), nullable=False, comment="Steward."),
        sa.Column("reason", sa.Text(), nullable=False, comment="Why."),
        sa.Column("decided_at", sa.DateTime(), nullable=False, comment="When (UTC)."),
        sa.Column("is_active", sa.Boolean(), nullable=False, comment="False once revoked."),
        sa.CheckConstraint(
            "decision IN ('must_link', 'cannot_link')", name=op.f("ck_steward_decision_decision")
        ),
        sa.CheckConstraint(
            "record_key_l <> record_key_r", name=op.f("ck_steward_decision_two_records")
        ),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_steward_decision")),
        schema="core",
        comment="Must-link / cannot-link decisions by data stewards.",
    )
    op.create_table(
        "customer_360",
        sa.Column("customer_id", sa.String(length=40), nullable=False, comment="Customer."),
        sa.Column("party_type", sa.String(length=16), nullable=False, comment="person or company."),
        sa.Column(
            "display_name", sa.String(length=400), nullable=True, comment="Person or company name."
        ),
        sa.Column("email", sa.String(length=320), nullable=True, comment="Golden e-mail."),
        sa.Column("phone", sa.String(length=32), nullable=True, comment="Golden phone."),
        sa.Column("city", sa.String(length=200), nullable=True, comment="City."),
        sa.Column("country", sa.String(length=2), nullable=True, comment="Country."),
        sa.Column("source_systems", sa.JSON(), nullable=True, comment="Systems that know them."),
        sa.Column("source_count", sa.Integer(), nullable=False, comment="Number of systems."),
        sa.Column(
            "record_count", sa.Integer(), nullable=False, comment="Number of source records."
        ),
        sa.Column(
            "lifetime_revenue",
            sa.Numeric(precision=18, scale=2),
            nullable=False,
            comment="Completed orders.",
        ),
        sa.Column(
            "lifetime_margin",
            sa.Numeric(precision=18, scale=2),
            nullable=False,
            comment="Revenue - cost.",
        ),
        sa.Column("orders", sa.Integer(), nullable=False, comment="Completed orders."),
        sa.Column("invoices", sa.Integer(), nullable=False, comment="Invoices issued."),
        sa.Column(
            "invoices_outstanding",
            sa.Numeric(precision=18, scale=2),
            nullable=False,
            comment="Open amount of unpaid invoices.",
        ),
        sa.Column("tickets", sa.Integer(), nullable=False, comment="Support tickets."),
        sa.Column("open_tickets", sa.Integer(), nullable=False, comment="Tickets still open."),
        sa.Column(
            "avg_satisfaction", sa.Float(), nullable=True, comment="Mean ticket satisfaction."
        ),
        sa.Column("shipments", sa.Integer(), nullable=False, comment="Shipments."),
        sa.Column("first_interaction_at", sa.DateTime(), nullable=True, comment="Earliest."),
        sa.Column("last_interaction_at", sa.DateTime(), nullable=True, comment="Latest."),
        sa.Column("as_of", sa.Date(), nullable=False, comment="Publish date."),
        sa.CheckConstraint(
            "party_type IN ('person', 'company')", name=op.f("ck_customer_360_party_type")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_360")),
        schema="marts",
        comment="Each customer with activity from every system.",
    )
    op.create_table(
        "kpi_monthly",
        sa.Column("month", sa.Date(), nullable=False, comment="First day of the month."),
        sa.Column(
            "active_customers",
            sa.Integer(),
            nullable=False,
            comment="Customers with any activity (order, invoice, ticket...) in the month.",
        ),
        sa.Column(
            "new_customers",
            sa.Integer(),
            nullable=False,
            comment="Active customers whose first activity ever is in this month.",
        ),
        sa.Column(
            "returning_customers",
            sa.Integer(),
            nullable=False,
            comment="Active customers who were also active in an earlier month.",
        ),
        sa.Column("orders", sa.Integer(), nullable=False, comment="Completed orders."),
        sa.Column(
            "revenue",
            sa.Numeric(precision=18, scale=2),
            nullable=False,
            comment="Amount of completed orders.",
        ),
        sa.Column(
            "margin", sa.Numeric(precision=18, scale=2), nullable=False, comment="Revenue - cost."
        ),
        sa.Column(
            "avg_satisfaction",
            sa.Float(),
            nullable=True,
            comment="Mean satisfaction (1-5) of tickets opened in the month.",
        ),
        sa.Column("syncs", sa.Integer(), nullable=False, comment="Syncs published in the month."),
        sa.Column(
            "duplicate_rate",
            sa.Float(),
            nullable=True,
            comment="Duplicate rate found by the last sync published in the month (1 - customers / records linked); NULL for months before the first sync.",
        ),
        sa.Column(
            "data_quality_score",
            sa.Float(),
            nullable=True,
            comment="Data-quality score of the last sync published in the month: mean of completeness and validity over every source and field of audit.data_quality, weighted by records; NULL for months before the first sync.",
        ),
        sa.CheckConstraint(
            "data_quality_score BETWEEN 0 AND 1", name=op.f("ck_kpi_monthly_data_quality_score")
        ),
        sa.CheckConstraint(
            "duplicate_rate BETWEEN 0 AND 1", name=op.f("ck_kpi_monthly_duplicate_rate")
        ),
        sa.CheckConstraint(
            "new_customers + returning_customers = active_customers",
            name=op.f("ck_kpi_monthly_active_split"),
        ),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_kpi_monthly")),
        schema="marts",
        comment="The business's success metrics, month by month.",
    )


def downgrade() -> None:
    op.drop_table("kpi_monthly", schema="marts")
    op.drop_table("customer_360", schema="marts")
    op.drop_table("steward_decision", schema="core")
    op.drop_table("review_pair", schema="core")
    op.drop_table("linkage_evidence", schema="core")
    op.drop_table("identity_event", schema="core")
    op.drop_table("customer_source_xref", schema="core")
    op.drop_table("customer_id_redirect", schema="core")
    op.drop_table("customer_history", schema="core")
    op.drop_table("customer_attribute_provenance", schema="core")
    op.drop_table("customer", schema="core")
    op.drop_table("activity", schema="core")
    op.drop_table("sync_run", schema="audit")
    op.drop_table("suppression", schema="audit")
    op.drop_table("source_watermark", schema="audit")
    op.drop_table("source_run", schema="audit")
    op.drop_table("source_assessment", schema="audit")
    op.drop_table("quarantined_record", schema="audit")
    op.drop_table("erasure", schema="audit")
    op.drop_table("data_quality", schema="audit")
    op.drop_table("check_result", schema="audit")
    for schema in reversed(SCHEMAS):
        op.execute(sa.schema.DropSchema(schema, if_exists=True))
