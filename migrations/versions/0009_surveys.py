"""Service jobs, survey answers, Smile Box tallies and the yearly survey targets (SPEC
section 9, CR1 3.3).

Only new tables and their indexes, so the revision can be chained after any other.

Revision ID: 0009_surveys
Revises: 0008_voc
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_surveys"
down_revision = "0008_voc"
branch_labels = None
depends_on = None


def _timestamps():
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade():
    op.create_table(
        "service_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("account_no", sa.String(length=30), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("customer_name", sa.String(length=300), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "kind IN ('meter_install', 'extension', 'dedicated_transformer', 'maintenance')",
            name=op.f("ck_service_jobs_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_service_jobs_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_service_jobs_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_jobs")),
        sa.UniqueConstraint("ref", name=op.f("uq_service_jobs_ref")),
    )
    op.create_index(
        "ix_service_jobs_completed_office", "service_jobs", ["completed_on", "office_id", "kind"]
    )
    op.create_index(
        "ix_service_jobs_office_completed", "service_jobs", ["office_id", "completed_on"]
    )
    op.create_index("ix_service_jobs_account", "service_jobs", ["account_id"])

    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("surveyed_by", sa.String(length=200), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("followed_up_on", sa.Date(), nullable=True),
        sa.Column("follow_up_note", sa.Text(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("channel IN ('sms', 'phone')", name=op.f("ck_survey_answers_channel")),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_survey_answers_score_range")),
        sa.ForeignKeyConstraint(
            ["job_id"], ["service_jobs.id"], name=op.f("fk_survey_answers_job_id_service_jobs")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_survey_answers_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint("job_id", "channel", name=op.f("uq_survey_answers_job_id_channel")),
    )
    op.create_index("ix_survey_answers_answered", "survey_answers", ["answered_on"])
    op.create_index("ix_survey_answers_low_open", "survey_answers", ["score", "followed_up_on"])
    op.create_index("ix_survey_answers_recorded_by_id", "survey_answers", ["recorded_by_id"])

    op.create_table(
        "smile_box_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("served", sa.Integer(), nullable=False),
        sa.Column("score_1", sa.Integer(), nullable=False),
        sa.Column("score_2", sa.Integer(), nullable=False),
        sa.Column("score_3", sa.Integer(), nullable=False),
        sa.Column("followed_up", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "served >= 0 AND score_1 >= 0 AND score_2 >= 0 AND score_3 >= 0",
            name=op.f("ck_smile_box_days_not_negative"),
        ),
        sa.CheckConstraint(
            "score_1 + score_2 + score_3 <= served",
            name=op.f("ck_smile_box_days_ratings_within_served"),
        ),
        sa.CheckConstraint(
            "followed_up >= 0 AND followed_up <= score_1 + score_2",
            name=op.f("ck_smile_box_days_followed_up_range"),
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_smile_box_days_office_id_offices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smile_box_days")),
        sa.UniqueConstraint("office_id", "day", name=op.f("uq_smile_box_days_office_id_day")),
    )
    op.create_index("ix_smile_box_days_day_office", "smile_box_days", ["day", "office_id"])

    op.create_table(
        "survey_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quota_meter_install", sa.Integer(), nullable=False),
        sa.Column("quota_extension", sa.Integer(), nullable=False),
        sa.Column("quota_dedicated_transformer", sa.Integer(), nullable=False),
        sa.Column("satisfaction_target", sa.Numeric(6, 4), nullable=False),
        sa.Column("smile_box_share_pct", sa.Numeric(5, 2), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "quota_meter_install >= 0 AND quota_extension >= 0 AND quota_dedicated_transformer >= 0",
            name=op.f("ck_survey_targets_quotas_not_negative"),
        ),
        sa.CheckConstraint(
            "satisfaction_target >= 1 AND satisfaction_target <= 5",
            name=op.f("ck_survey_targets_satisfaction_range"),
        ),
        sa.CheckConstraint(
            "smile_box_share_pct >= 0 AND smile_box_share_pct <= 100",
            name=op.f("ck_survey_targets_share_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_targets")),
        sa.UniqueConstraint("year", name=op.f("uq_survey_targets_year")),
    )


def downgrade():
    op.drop_table("survey_targets")
    op.drop_index("ix_smile_box_days_day_office", table_name="smile_box_days")
    op.drop_table("smile_box_days")
    for name in (
        "ix_survey_answers_recorded_by_id",
        "ix_survey_answers_low_open",
        "ix_survey_answers_answered",
    ):
        op.drop_index(name, table_name="survey_answers")
    op.drop_table("survey_answers")
    for name in (
        "ix_service_jobs_account",
        "ix_service_jobs_office_completed",
        "ix_service_jobs_completed_office",
    ):
        op.drop_index(name, table_name="service_jobs")
    op.drop_table("service_jobs")
