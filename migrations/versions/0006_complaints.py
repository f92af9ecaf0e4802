"""Complaints and their time limits (SPEC section 8, CR2 plan 2): the register and each
year's categories, (category, tier) limits and item targets.

Only new tables and their indexes, so the revision can be chained after any other.

Revision ID: 0006_complaints
Revises: 0005_import_runs
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_complaints"
down_revision = "0005_import_runs"
branch_labels = None
depends_on = None


def _timestamps():
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade():
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("days_to_close", sa.Integer(), nullable=True),
        sa.Column("micros_to_close", sa.BigInteger(), nullable=True),
        sa.Column("excluded", sa.String(length=20), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("assigned_to_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "channel IS NULL OR channel IN ('phone', 'call_centre', 'walk_in', 'letter', 'email', "
            "'line', 'chat', 'web', 'other')",
            name=op.f("ck_complaints_channel"),
        ),
        sa.CheckConstraint(
            "excluded IS NULL OR excluded IN ('misconduct', 'duplicate', 'withdrawn')",
            name=op.f("ck_complaints_excluded"),
        ),
        sa.CheckConstraint(
            "closed_at IS NULL OR closed_at >= received_at",
            name=op.f("ck_complaints_closed_after_received"),
        ),
        sa.CheckConstraint(
            "(closed_at IS NULL AND days_to_close IS NULL AND micros_to_close IS NULL) OR "
            "(closed_at IS NOT NULL AND days_to_close >= 0 AND micros_to_close >= 0)",
            name=op.f("ck_complaints_close_measures"),
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_complaints_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_complaints_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to_id"], ["users.id"], name=op.f("fk_complaints_assigned_to_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_complaints_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("ref", name=op.f("uq_complaints_ref")),
    )
    op.create_index(
        "ix_complaints_received_office", "complaints", ["received_on", "office_id", "category"]
    )
    op.create_index("ix_complaints_office_received", "complaints", ["office_id", "received_on"])
    op.create_index("ix_complaints_assigned_closed", "complaints", ["assigned_to_id", "closed_at"])
    op.create_index("ix_complaints_account", "complaints", ["account_id"])
    op.create_index("ix_complaints_recorded_by_id", "complaints", ["recorded_by_id"])

    op.create_table(
        "complaint_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("limit_days", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "limit_days >= 0", name=op.f("ck_complaint_categories_limit_days_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_categories")),
        sa.UniqueConstraint("year", "code", name=op.f("uq_complaint_categories_year_code")),
    )
    op.create_table(
        "complaint_tier_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("tier", sa.String(length=12), nullable=False),
        sa.Column("limit_days", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "tier IN ('STRATEGIC', 'STAR', 'STATUS', 'STREAMLINE')",
            name=op.f("ck_complaint_tier_limits_tier"),
        ),
        sa.CheckConstraint(
            "limit_days >= 0", name=op.f("ck_complaint_tier_limits_limit_days_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_tier_limits")),
        sa.UniqueConstraint(
            "year", "category", "tier", name=op.f("uq_complaint_tier_limits_year_category_tier")
        ),
    )
    op.create_table(
        "complaint_item_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=10), nullable=False),
        sa.Column("limit_days", sa.Integer(), nullable=True),
        sa.Column("limit_hours", sa.Integer(), nullable=True),
        sa.Column("target_pct", sa.Numeric(precision=5, scale=2), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "item IN ('2.1a', '2.1b', '2.1c', '2.1d')", name=op.f("ck_complaint_item_targets_item")
        ),
        sa.CheckConstraint(
            "target_pct >= 0 AND target_pct <= 100",
            name=op.f("ck_complaint_item_targets_target_pct_range"),
        ),
        sa.CheckConstraint(
            "limit_days IS NULL OR limit_days >= 0",
            name=op.f("ck_complaint_item_targets_limit_days_not_negative"),
        ),
        sa.CheckConstraint(
            "limit_hours IS NULL OR limit_hours >= 0",
            name=op.f("ck_complaint_item_targets_limit_hours_not_negative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_item_targets")),
        sa.UniqueConstraint("year", "item", name=op.f("uq_complaint_item_targets_year_item")),
    )


def downgrade():
    op.drop_table("complaint_item_targets")
    op.drop_table("complaint_tier_limits")
    op.drop_table("complaint_categories")
    for name in (
        "ix_complaints_recorded_by_id",
        "ix_complaints_account",
        "ix_complaints_assigned_closed",
        "ix_complaints_office_received",
        "ix_complaints_received_office",
    ):
        op.drop_index(name, table_name="complaints")
    op.drop_table("complaints")
