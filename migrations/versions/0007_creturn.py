"""The monthly complaint return kept "as reported" (SPEC section 8): one table of kept returns,
shaped as the monthly summaries' table.

Only a new table and its index, so the revision can be chained after any other.

Revision ID: 0007_creturn
Revises: 0006_complaints
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_creturn"
down_revision = "0006_complaints"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "complaint_returns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("scope_code", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generated_by_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('reported', 'on_demand')", name=op.f("ck_complaint_returns_kind")
        ),
        sa.ForeignKeyConstraint(
            ["generated_by_id"],
            ["users.id"],
            name=op.f("fk_complaint_returns_generated_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_returns")),
    )
    with op.batch_alter_table("complaint_returns", schema=None) as batch_op:
        batch_op.create_index(
            "ix_complaint_returns_month_scope", ["month", "scope_code", "kind"], unique=False
        )


def downgrade():
    with op.batch_alter_table("complaint_returns", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_returns_month_scope")
    op.drop_table("complaint_returns")
