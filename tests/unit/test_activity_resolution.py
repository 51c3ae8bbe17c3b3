"""Which activity rows are kept, and why the others are quarantined (`resolve_activity`)."""

from pipelines.marts.customer_360 import resolve_activity
from pipelines.workarea import connect

# (source_system, activity_name, source_row_number, activity_id, source_record_id)
ACTIVITY = [
    ("billing", "invoices", 1, "A", "r1"),  # superseded by row 2
    ("billing", "invoices", 2, "A", "r1"),  # kept: the last resolvable row of key A
    ("billing", "invoices", 3, "A", "nobody"),  # a later duplicate that points nowhere
    ("billing", "invoices", 4, None, "r1"),  # no key
    ("billing", "invoices", 5, "B", "nobody"),
    ("billing", "invoices", 6, "B", "nobody"),  # unknown twice: no duplicate among them
    ("billing", "invoices", 7, "C", "r2"),
    ("billing", "payments", 1, "A", "r2"),  # same id, another table: another key
    ("crm", "orders", 9, "10", "r3"),
    ("crm", "orders", 10, "9", "r3"),  # rows keep the order they were read in
]


def _no_raw_rows(keys: str) -> str:
    return f"SELECT source_system, source_row_number, NULL::VARCHAR AS raw_record FROM {keys}"  # noqa: S608


def test_last_resolvable_row_of_a_key_is_kept_and_the_others_quarantined_with_a_reason() -> None:
    con = connect()
    values = ", ".join(
        "(" + ", ".join("NULL" if v is None else repr(v) for v in row) + ")" for row in ACTIVITY
    )
    con.execute(
        "CREATE TABLE activity AS SELECT * FROM (VALUES "  # noqa: S608 - test constants
        f"{values}) t(source_system, activity_name, source_row_number, activity_id, "
        "source_record_id)"
    )
    con.execute(
        "CREATE TABLE assignment AS SELECT * FROM (VALUES ('billing:r1', 'C1'), "
        "('billing:r2', 'C2'), ('crm:r3', 'C3')) t(record_key, customer_id)"
    )

    counts = resolve_activity(con, _no_raw_rows)

    kept = con.execute(
        "SELECT source_system, activity_name, source_row_number, customer_id "
        "FROM resolved_activity"
    ).fetchall()
    assert kept == [
        ("billing", "invoices", 2, "C1"),
        ("billing", "invoices", 7, "C2"),
        ("billing", "payments", 1, "C2"),
        ("crm", "orders", 9, "C3"),
        ("crm", "orders", 10, "C3"),
    ]
    quarantined = con.execute(
        "SELECT source_system, source_row_number, source_record_id, reason_code "
        "FROM activity_quarantine ORDER BY source_row_number"
    ).fetchall()
    assert quarantined == [
        ("billing.invoices", 1, "A", "duplicate_primary_key"),
        ("billing.invoices", 3, "A", "activity_customer_unknown"),
        ("billing.invoices", 4, "#row4", "missing_primary_key"),
        ("billing.invoices", 5, "B", "activity_customer_unknown"),
        ("billing.invoices", 6, "B", "activity_customer_unknown"),
    ]
    assert counts == {"activity_resolved": 5, "activity_quarantined": 5}
