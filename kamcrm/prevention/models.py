"""A class 1-3 office's complaint-prevention plan for a year, and its quarter reports
(SPEC section 8, CR2 plan 2.2)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kamcrm.db import TimestampMixin
from kamcrm.extensions import db

#: A quarter report is on time when submitted at most this many days after the quarter ends.
REPORT_DAYS = 10


class PreventionPlan(TimestampMixin, db.Model):
    """One office's complaint-prevention plan for one year (recording it again replaces it)."""

    __tablename__ = "prevention_plans"
    __table_args__ = (
        sa.UniqueConstraint("office_id", "year"),
        # CR2 plan 2.2 reads a year's plans for the region or one office.
        sa.Index("ix_prevention_plans_year_office", "year", "office_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The class 1-3 office that keeps the plan.
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("offices.id"), nullable=False)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    summary: Mapped[str | None] = mapped_column(sa.Text)
    #: The Bangkok date the office submitted the plan; never in the future.
    submitted_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: Bumped on every change; the API's ETag.
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)

    office = relationship("Office")
    submitted_by = relationship("User")
    reports: Mapped[list[PreventionReport]] = relationship(
        back_populates="plan", order_by="PreventionReport.quarter"
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<PreventionPlan {self.office_id} {self.year}>"


class PreventionReport(TimestampMixin, db.Model):
    """The report on a plan for one quarter, due ``REPORT_DAYS`` days after the quarter ends."""

    __tablename__ = "prevention_reports"
    __table_args__ = (
        sa.CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter_range"),
        # One report per plan and quarter; also the index the CR2 figure joins through.
        sa.UniqueConstraint("plan_id", "quarter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("prevention_plans.id"), nullable=False)
    quarter: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    #: The Bangkok date it was submitted: after the quarter's end, never in the future.
    submitted_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)

    plan: Mapped[PreventionPlan] = relationship(back_populates="reports")
    submitted_by = relationship("User")

    def __repr__(self) -> str:
        return f"<PreventionReport {self.plan_id} Q{self.quarter}>"
