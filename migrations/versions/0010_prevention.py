"""Complaint prevention plans and their quarter reports (SPEC section 8, CR2 plan 2.2).

Only new tables and their indexes, so the revision can be chained after any other.

Revision ID: 0010_prevention
Revises: 0009_surveys
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_prevention"
down_revision = "0009_surveys"
branch_labels = None
depends_on = None


def _timestamps():
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade():
    op.create_table(
        "prevention_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_prevention_plans_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
            name=op.f("fk_prevention_plans_submitted_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prevention_plans")),
        sa.UniqueConstraint("office_id", "year", name=op.f("uq_prevention_plans_office_id_year")),
    )
    op.create_index("ix_prevention_plans_year_office", "prevention_plans", ["year", "office_id"])
    op.create_index("ix_prevention_plans_submitted_by_id", "prevention_plans", ["submitted_by_id"])
    op.create_table(
        "prevention_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "quarter BETWEEN 1 AND 4", name=op.f("ck_prevention_reports_quarter_range")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["prevention_plans.id"],
            name=op.f("fk_prevention_reports_plan_id_prevention_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
            name=op.f("fk_prevention_reports_submitted_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prevention_reports")),
        sa.UniqueConstraint(
            "plan_id", "quarter", name=op.f("uq_prevention_reports_plan_id_quarter")
        ),
    )
    op.create_index(
        "ix_prevention_reports_submitted_by_id", "prevention_reports", ["submitted_by_id"]
    )


def downgrade():
    op.drop_index("ix_prevention_reports_submitted_by_id", table_name="prevention_reports")
    op.drop_table("prevention_reports")
    op.drop_index("ix_prevention_plans_submitted_by_id", table_name="prevention_plans")
    op.drop_index("ix_prevention_plans_year_office", table_name="prevention_plans")
    op.drop_table("prevention_plans")
