"""The CR2 reads its executive visits and its complaints from covering indexes.

``executive_visit_counts`` (CR2 item 1.2) counts the distinct accounts visited per
executive role, unit and quarter: it needs each done EXV's day, account, role and
performer. Through ``ix_activities_status_type_date`` (the region) or
``ix_activities_account_date_status_type`` (an office) every one of the year's visits cost
a look-up in the table (~70,000 over the region with 2,000,000 activities). These indexes
hold only the done visits, with every column the count reads (status and type too: SQLite
does not take them from the index's WHERE), by day and by account.

Plan 2.1 reads a year of complaints by the day received through
``ix_complaints_received_office``; it now carries every column the figures read (urgent,
excluded, the moments and close measures, the account), so the scan of 100,000 complaints
never visits the table.

Revision ID: 0012_read
Revises: 0011_prospects
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_read"
down_revision = "0011_prospects"
branch_labels = None
depends_on = None

DONE_EXV = "status = 'done' AND type = 'EXV'"
COMPLAINTS_RECEIVED = [
    "received_on",
    "office_id",
    "category",
    "urgent",
    "excluded",
    "received_at",
    "closed_at",
    "days_to_close",
    "micros_to_close",
    "account_id",
]
INDEXES = {
    "ix_activities_done_exv_date": ["activity_date", "account_id"],
    "ix_activities_done_exv_account": ["account_id", "activity_date"],
}


def upgrade():
    for name, leading in INDEXES.items():
        op.create_index(
            name,
            "activities",
            [*leading, "exec_role", "performed_by_id", "status", "type"],
            unique=False,
            sqlite_where=sa.text(DONE_EXV),
            postgresql_where=sa.text(DONE_EXV),
        )
    op.drop_index("ix_complaints_received_office", table_name="complaints")
    op.create_index("ix_complaints_received_office", "complaints", COMPLAINTS_RECEIVED)


def downgrade():
    op.drop_index("ix_complaints_received_office", table_name="complaints")
    op.create_index(
        "ix_complaints_received_office", "complaints", ["received_on", "office_id", "category"]
    )
    for name in INDEXES:
        op.drop_index(name, table_name="activities")
