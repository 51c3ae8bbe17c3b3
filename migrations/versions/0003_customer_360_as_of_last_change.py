"""customer_360.as_of: the date of the sync that last changed the row

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Only the column's meaning (its comment) changes: a row keeps its `as_of` while its figures stay
the same, so a nightly sync rewrites only the rows of customers whose figures moved instead of
every row (the date moved for all of them each night). The values already held are publish
dates, which is what the new meaning gives for rows written by that publish.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "Publish date."
AFTER = (
    "Date of the sync that last changed this row; a row whose figures stay the same keeps "
    "its date (every sync since: audit.sync_run)."
)


def _comment(comment: str) -> None:
    # Plain SQL: Alembic's column-comment construct does not compile for DuckDB; this
    # statement means the same on DuckDB and PostgreSQL. The texts are constants.
    op.execute(f"COMMENT ON COLUMN marts.customer_360.as_of IS '{comment}'")


def upgrade() -> None:
    _comment(AFTER)


def downgrade() -> None:
    _comment(BEFORE)
