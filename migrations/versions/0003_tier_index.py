"""Accounts by tier: an index of tier assignments by tier and date.

``GET /api/v1/accounts?tier=STAR`` over the region counts the accounts whose assignment in
force is of that tier; without an index on the tier PostgreSQL read all assignments (one per
account and change, 114,000 rows for 100,000 accounts, about 15 ms) to keep a few thousand.

Revision ID: 0003_tier_index
Revises: 0002_api_search
"""

from alembic import op

revision = "0003_tier_index"
down_revision = "0002_api_search"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_tier_assignments_tier_effective",
        "tier_assignments",
        ["tier", "effective_from", "account_id"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_tier_assignments_tier_effective", table_name="tier_assignments")
