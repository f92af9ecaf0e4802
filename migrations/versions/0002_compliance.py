"""Compliance: the index of an account's activities by date also holds status and type.

An office's CR2 report and due list read a year of its accounts' activities by status and
type; with both in the index, rows they do not count are never fetched from the table. The
new index serves every query the old (account_id, activity_date) one did, which it replaces.

Revision ID: 0002_compliance
Revises: 0001
"""

from alembic import op

revision = "0002_compliance"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activities_account_date_status_type",
            ["account_id", "activity_date", "status", "type"],
            unique=False,
        )
        batch_op.drop_index("ix_activities_account_date")


def downgrade():
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activities_account_date", ["account_id", "activity_date"], unique=False
        )
        batch_op.drop_index("ix_activities_account_date_status_type")
