"""The VOC register's marks (SPEC section 9): significance, PEA VOC-system reference and
the complaint a voice became, keyed by (source, source_id); and a partial index on the
activities that carry a voice, which the register reads by date.

Only a new table and indexes, so the revision can be chained after any other.

Revision ID: 0008_voc
Revises: 0007_creturn
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_voc"
down_revision = "0007_creturn"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "voc_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("significant", sa.Boolean(), nullable=False),
        sa.Column("significant_by_id", sa.Integer(), nullable=True),
        sa.Column("significant_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voc_ref", sa.String(length=100), nullable=True),
        sa.Column("voc_ref_on", sa.Date(), nullable=True),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('activity', 'complaint', 'survey')", name=op.f("ck_voc_marks_source")
        ),
        sa.CheckConstraint(
            "(voc_ref IS NULL) = (voc_ref_on IS NULL)", name=op.f("ck_voc_marks_voc_ref_with_day")
        ),
        sa.CheckConstraint(
            "(significant AND significant_at IS NOT NULL) OR (NOT significant AND significant_at IS NULL)",
            name=op.f("ck_voc_marks_significant_at_when_significant"),
        ),
        sa.ForeignKeyConstraint(
            ["significant_by_id"], ["users.id"], name=op.f("fk_voc_marks_significant_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            ondelete="SET NULL",
            name=op.f("fk_voc_marks_complaint_id_complaints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voc_marks")),
        sa.UniqueConstraint("source", "source_id", name=op.f("uq_voc_marks_source_source_id")),
        sa.UniqueConstraint("complaint_id", name=op.f("uq_voc_marks_complaint_id")),
    )
    op.create_index("ix_voc_marks_significant", "voc_marks", ["significant", "source", "source_id"])
    op.create_index("ix_voc_marks_significant_by_id", "voc_marks", ["significant_by_id"])
    op.create_index(
        "ix_activities_voice_date",
        "activities",
        ["activity_date", "id"],
        sqlite_where=sa.text("voc_kind IS NOT NULL"),
        postgresql_where=sa.text("voc_kind IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_activities_voice_date", table_name="activities")
    op.drop_index("ix_voc_marks_significant_by_id", table_name="voc_marks")
    op.drop_index("ix_voc_marks_significant", table_name="voc_marks")
    op.drop_table("voc_marks")
