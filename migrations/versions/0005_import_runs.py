"""Imports in the background: a table of queued runs, their file, progress and result.

An upload too large to import inside one web request is kept here until the scheduler
process imports it; web hosts and the scheduler share only the database.

Revision ID: 0005_import_runs
Revises: 0004_user_sessions
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_import_runs"
down_revision = "0004_user_sessions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_import_runs_status")
        ),
        sa.CheckConstraint("rows_done >= 0", name=op.f("ck_import_runs_rows_done")),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_import_runs_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    op.create_index("ix_import_runs_actor_id", "import_runs", ["actor_id"], unique=False)
    op.create_index("ix_import_runs_status_id", "import_runs", ["status", "id"], unique=False)


def downgrade():
    op.drop_index("ix_import_runs_status_id", table_name="import_runs")
    op.drop_index("ix_import_runs_actor_id", table_name="import_runs")
    op.drop_table("import_runs")
