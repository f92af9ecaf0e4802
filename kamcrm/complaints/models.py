"""A customer's complaint, and the yearly categories, limits and targets it is measured
against (SPEC section 8)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kamcrm.accounts.models import TIERS
from kamcrm.db import TimestampMixin, UTCDateTime, one_of
from kamcrm.extensions import db

#: How a complaint came in.
CHANNELS = ("phone", "call_centre", "walk_in", "letter", "email", "line", "chat", "web", "other")
#: Why a complaint takes no part in the figures.
EXCLUSION_REASONS = ("misconduct", "duplicate", "withdrawn")
#: The CR2 plan 2 items, in the report's order.
ITEMS = ("2.1a", "2.1b", "2.1c", "2.1d")


#: ``ix_complaints_received_office``: the day received, then every column plan 2.1 reads.
RECEIVED_INDEX_COLUMNS = (
    "received_on",
    "office_id",
    "category",
    "urgent",
    "excluded",
    "received_at",
    "closed_at",
    "days_to_close",
    "micros_to_close",
    "account_id",
)


class Complaint(TimestampMixin, db.Model):
    """A complaint handled by an office, with the moments it came in and was (last) closed."""

    __tablename__ = "complaints"
    __table_args__ = (
        sa.CheckConstraint(one_of("channel", CHANNELS, nullable=True), name="channel"),
        sa.CheckConstraint(one_of("excluded", EXCLUSION_REASONS, nullable=True), name="excluded"),
        sa.CheckConstraint(
            "closed_at IS NULL OR closed_at >= received_at", name="closed_after_received"
        ),
        #: The close's measures exist exactly when the complaint is closed.
        sa.CheckConstraint(
            "(closed_at IS NULL AND days_to_close IS NULL AND micros_to_close IS NULL) OR "
            "(closed_at IS NOT NULL AND days_to_close >= 0 AND micros_to_close >= 0)",
            name="close_measures",
        ),
        # The CR2 figures read a year of complaints by received day, for the region or a
        # few offices; everything plan 2.1 reads rides along, so the scan never visits the
        # table (migration 0007_read: region plan 2 rows 0.44 → 0.27 s of CPU on SQLite).
        sa.Index("ix_complaints_received_office", *RECEIVED_INDEX_COLUMNS),
        sa.Index("ix_complaints_office_received", "office_id", "received_on"),
        # "My open complaints" and the office's open list.
        sa.Index("ix_complaints_assigned_closed", "assigned_to_id", "closed_at"),
        sa.Index("ix_complaints_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The complaint's number in the source system.
    ref: Mapped[str] = mapped_column(sa.String(100), unique=True, nullable=False)
    #: The office that handles it (a branch's roll up to its parent office in reports).
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("offices.id"), nullable=False)
    #: The key account that complained, if it is one.
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    #: One of the categories of the year it was received.
    category: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    channel: Mapped[str | None] = mapped_column(sa.String(20))
    urgent: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: The Bangkok date of ``received_at``: the day the limits count from.
    received_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    #: The last close; blank while open.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Bangkok calendar days from ``received_on`` to the date of ``closed_at`` (c − r).
    #: Kept with the row, like an activity's ``is_late``: only the operations change the
    #: moments it comes from, and the figures compare it with limits in plain SQL on
    #: both databases.
    days_to_close: Mapped[int | None] = mapped_column(sa.Integer)
    #: ``closed_at`` − ``received_at`` in microseconds (for the limits in hours).
    micros_to_close: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: An exclusion reason: the complaint then takes no part in the figures.
    excluded: Mapped[str | None] = mapped_column(sa.String(20))
    summary: Mapped[str | None] = mapped_column(sa.Text)
    #: What was done; required to close.
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    assigned_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: Bumped on every change; the API's ETag.
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)

    office = relationship("Office")
    account = relationship("Account")
    assigned_to = relationship("User", foreign_keys=[assigned_to_id])
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def __repr__(self) -> str:
        return f"<Complaint {self.ref} {self.category}>"


class ComplaintCategory(TimestampMixin, db.Model):
    """A category of a year, with the days a complaint of it must be closed within."""

    __tablename__ = "complaint_categories"
    __table_args__ = (
        sa.CheckConstraint("limit_days >= 0", name="limit_days_not_negative"),
        sa.UniqueConstraint("year", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    code: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    limit_days: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    #: Order of the category's row in the report.
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


class ComplaintTierLimit(TimestampMixin, db.Model):
    """A year's limit for a (category, tier) pair: "by customer group"."""

    __tablename__ = "complaint_tier_limits"
    __table_args__ = (
        sa.CheckConstraint(one_of("tier", TIERS), name="tier"),
        sa.CheckConstraint("limit_days >= 0", name="limit_days_not_negative"),
        sa.UniqueConstraint("year", "category", "tier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    category: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    tier: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    limit_days: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class ComplaintItemTarget(TimestampMixin, db.Model):
    """A year's limit and target % of a plan 2 item (2.1a's limit is each category's)."""

    __tablename__ = "complaint_item_targets"
    __table_args__ = (
        sa.CheckConstraint(one_of("item", ITEMS), name="item"),
        sa.CheckConstraint("target_pct >= 0 AND target_pct <= 100", name="target_pct_range"),
        sa.CheckConstraint("limit_days IS NULL OR limit_days >= 0", name="limit_days_not_negative"),
        sa.CheckConstraint(
            "limit_hours IS NULL OR limit_hours >= 0", name="limit_hours_not_negative"
        ),
        sa.UniqueConstraint("year", "item"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    item: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    limit_days: Mapped[int | None] = mapped_column(sa.Integer)
    limit_hours: Mapped[int | None] = mapped_column(sa.Integer)
    target_pct: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), nullable=False)
