"""Service jobs, the survey answers to them, Smile Box tallies and the yearly survey targets
(SPEC section 9, CR1 3.3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kamcrm.db import TimestampMixin, one_of
from kamcrm.extensions import db

#: Kinds of service job; the first three have a phone-answer quota per office and quarter.
JOB_KINDS = ("meter_install", "extension", "dedicated_transformer", "maintenance")
QUOTA_KINDS = ("meter_install", "extension", "dedicated_transformer")
#: How a survey answer was given.
SURVEY_CHANNELS = ("sms", "phone")


class ServiceJob(TimestampMixin, db.Model):
    """A job done for a customer (a meter installed, a line extended …) that is surveyed."""

    __tablename__ = "service_jobs"
    __table_args__ = (
        sa.CheckConstraint(one_of("kind", JOB_KINDS), name="kind"),
        # The call list and the quota read an office's jobs by completion day.
        sa.Index("ix_service_jobs_completed_office", "completed_on", "office_id", "kind"),
        sa.Index("ix_service_jobs_office_completed", "office_id", "completed_on"),
        sa.Index("ix_service_jobs_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The job's number in the source system.
    ref: Mapped[str] = mapped_column(sa.String(100), unique=True, nullable=False)
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("offices.id"), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    #: The customer's account number as the file gives it (most customers are not key accounts).
    account_no: Mapped[str | None] = mapped_column(sa.String(30))
    #: The key account of that number, when it is one.
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    customer_name: Mapped[str | None] = mapped_column(sa.String(300))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    #: Bangkok date the job was completed: the 15-day calling window counts from it.
    completed_on: Mapped[date] = mapped_column(sa.Date, nullable=False)

    office = relationship("Office")
    account = relationship("Account")

    def __repr__(self) -> str:
        return f"<ServiceJob {self.ref} {self.kind}>"


class SurveyAnswer(TimestampMixin, db.Model):
    """A customer's answer to the survey of a job: at most one per job and channel.

    A score of 1 or 2 is a follow-up for the job's office until ``followed_up_on`` is set.
    """

    __tablename__ = "survey_answers"
    __table_args__ = (
        sa.CheckConstraint(one_of("channel", SURVEY_CHANNELS), name="channel"),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        sa.UniqueConstraint("job_id", "channel"),
        sa.Index("ix_survey_answers_answered", "answered_on"),
        sa.Index("ix_survey_answers_low_open", "score", "followed_up_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("service_jobs.id"), nullable=False)
    channel: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    answered_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    score: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    #: Who phoned (a name as the file gives it, or the user who recorded the answer).
    surveyed_by: Mapped[str | None] = mapped_column(sa.String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: The day a low score was followed up (blank: not yet, or not needed).
    followed_up_on: Mapped[date | None] = mapped_column(sa.Date)
    follow_up_note: Mapped[str | None] = mapped_column(sa.Text)

    job = relationship("ServiceJob")


class SmileBoxDay(TimestampMixin, db.Model):
    """One office's Smile Box tally of one day: customers served and the ratings given.

    ``followed_up`` is how many of the day's low ratings (1 and 2) the office followed up
    by phone within 10 days, as the office records it.
    """

    __tablename__ = "smile_box_days"
    __table_args__ = (
        sa.UniqueConstraint("office_id", "day"),
        sa.CheckConstraint(
            "served >= 0 AND score_1 >= 0 AND score_2 >= 0 AND score_3 >= 0", name="not_negative"
        ),
        sa.CheckConstraint("score_1 + score_2 + score_3 <= served", name="ratings_within_served"),
        sa.CheckConstraint(
            "followed_up >= 0 AND followed_up <= score_1 + score_2", name="followed_up_range"
        ),
        sa.Index("ix_smile_box_days_day_office", "day", "office_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("offices.id"), nullable=False)
    day: Mapped[date] = mapped_column(sa.Date, nullable=False)
    served: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    score_1: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    score_2: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    #: 3 is the best rating.
    score_3: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    followed_up: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    office = relationship("Office")


class SurveyTarget(TimestampMixin, db.Model):
    """A year's phone-answer quotas and satisfaction targets (absent: the SPEC defaults)."""

    __tablename__ = "survey_targets"
    __table_args__ = (
        sa.CheckConstraint(
            "quota_meter_install >= 0 AND quota_extension >= 0 "
            "AND quota_dedicated_transformer >= 0",
            name="quotas_not_negative",
        ),
        sa.CheckConstraint(
            "satisfaction_target >= 1 AND satisfaction_target <= 5", name="satisfaction_range"
        ),
        sa.CheckConstraint(
            "smile_box_share_pct >= 0 AND smile_box_share_pct <= 100", name="share_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, unique=True, nullable=False)
    quota_meter_install: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    quota_extension: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    quota_dedicated_transformer: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    satisfaction_target: Mapped[Decimal] = mapped_column(sa.Numeric(6, 4), nullable=False)
    smile_box_share_pct: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), nullable=False)
