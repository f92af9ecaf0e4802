"""Claims on job runs and in-app notifications."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kamcrm.db import UTCDateTime, one_of
from kamcrm.extensions import db

RUN_STATES = ("running", "done", "failed")


class JobRun(db.Model):
    """A claim on one run of a job for one period; the unique key stops a second run."""

    __tablename__ = "job_runs"
    __table_args__ = (
        sa.CheckConstraint(one_of("state", RUN_STATES), name="state"),
        sa.UniqueConstraint("job", "period_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    #: The period the run is for, e.g. ``2026-10`` or ``2026-Q3`` or ``2026-W47``.
    period_key: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    state: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    #: ``host:pid`` of the process that claimed the run.
    claimed_by: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message: Mapped[str | None] = mapped_column(sa.Text)


class Notification(db.Model):
    """A message for one user: a digest or a reminder."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When it left by e-mail or was written to the outbox.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
