"""One contact with one account, and the follow-up actions it produced (SPEC section 3)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kamcrm.db import TimestampMixin, UTCDateTime, one_of
from kamcrm.extensions import db
from kamcrm.org.models import EXEC_ROLES

#: Activity types in the order of the report form.
ACTIVITY_TYPES = ("FMS", "RBA", "COM", "EXV", "SEM", "PLN", "BOI", "BIZ")
STATUSES = ("done", "planned", "cancelled")
#: The condition of the partial index ``ix_activities_done_exv`` (migration 0007_read).
DONE_EXV = "status = 'done' AND type = 'EXV'"
CHANNELS = ("visit", "phone", "email", "line", "letter", "meeting", "online", "other")
#: Kinds of the customer's voice (VOC-CRM-001).
VOC_KINDS = ("feedback", "complaint", "request")
#: What came of a business visit (BIZ, SPEC section 10).
BIZ_OUTCOMES = ("interested", "quoted", "won", "declined")


class Activity(TimestampMixin, db.Model):
    """A contact with an account. Only ``done`` activities count toward a target."""

    __tablename__ = "activities"
    __table_args__ = (
        sa.CheckConstraint(one_of("type", ACTIVITY_TYPES), name="type"),
        sa.CheckConstraint(one_of("status", STATUSES), name="status"),
        sa.CheckConstraint(one_of("channel", CHANNELS, nullable=True), name="channel"),
        sa.CheckConstraint(one_of("exec_role", EXEC_ROLES, nullable=True), name="exec_role"),
        sa.CheckConstraint(one_of("voc_kind", VOC_KINDS, nullable=True), name="voc_kind"),
        #: An executive visit names the role it counts for; no other type has one.
        sa.CheckConstraint(
            "(type = 'EXV' AND exec_role IS NOT NULL) OR (type <> 'EXV' AND exec_role IS NULL)",
            name="exec_role_only_for_exv",
        ),
        sa.CheckConstraint(one_of("outcome", BIZ_OUTCOMES, nullable=True), name="outcome"),
        #: Only a business visit has an outcome and a quoted value.
        sa.CheckConstraint(
            "type = 'BIZ' OR (outcome IS NULL AND quoted_value_thb IS NULL)",
            name="outcome_only_for_biz",
        ),
        sa.CheckConstraint(
            "quoted_value_thb IS NULL OR quoted_value_thb >= 0", name="quoted_value_not_negative"
        ),
        # The compliance engine scans done activities of a type by date; account_id makes
        # the index covering, so the scan never touches the table.
        sa.Index("ix_activities_status_type_date", "status", "type", "activity_date", "account_id"),
        # An account's activities by date; status and type ride along so that an office's
        # CR2 and due list, which read its accounts' year by status and type, never touch
        # the table for rows they do not count (migration 0002 replaced ix_activities_account_date).
        sa.Index(
            "ix_activities_account_date_status_type",
            "account_id",
            "activity_date",
            "status",
            "type",
        ),
        sa.Index("ix_activities_performer_date", "performed_by_id", "activity_date"),
        sa.Index("ix_activities_date_late", "activity_date", "is_late"),
        # Done executive visits (CR2 item 1.2) with every column their count reads, so that
        # the report never visits the table for them: partial indexes of about 7% of the
        # rows, by day for the region and by account for an office. Their WHERE must appear
        # literally in a query (``executive_visit_counts``) for a planner to use them.
        *(
            sa.Index(
                f"ix_activities_done_exv_{name}",
                *columns,
                "exec_role",
                "performed_by_id",
                "status",
                "type",
                sqlite_where=sa.text(DONE_EXV),
                postgresql_where=sa.text(DONE_EXV),
            )
            for name, columns in (
                ("date", ("activity_date", "account_id")),
                ("account", ("account_id", "activity_date")),
            )
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), nullable=False)
    type: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    #: The business date of the contact (Asia/Bangkok).
    activity_date: Mapped[date] = mapped_column(sa.Date, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="done")
    channel: Mapped[str | None] = mapped_column(sa.String(10))
    performed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), nullable=False)
    #: For an EXV: the executive role the visit counts for.
    exec_role: Mapped[str | None] = mapped_column(sa.String(30))
    summary: Mapped[str | None] = mapped_column(sa.Text)
    voc_kind: Mapped[str | None] = mapped_column(sa.String(10))
    voc_category: Mapped[str | None] = mapped_column(sa.String(100))
    voc_text: Mapped[str | None] = mapped_column(sa.Text)
    #: For a BIZ visit: what came of it, and the value quoted (THB).
    outcome: Mapped[str | None] = mapped_column(sa.String(12))
    quoted_value_thb: Mapped[Decimal | None] = mapped_column(sa.Numeric(16, 2))
    #: External id from an import; re-importing the same ref updates, never duplicates.
    ref: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    #: When the activity was entered (UTC); decides whether it was late.
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: Recorded after the 5th day of the month following ``activity_date`` (Bangkok time).
    #: Kept with the row because it is fixed by ``activity_date`` and ``recorded_at``,
    #: which only the activity operations change, and reports filter on it.
    is_late: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    #: Bumped on every change; the API's ETag.
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)

    account = relationship("Account")
    performed_by = relationship("User", foreign_keys=[performed_by_id])
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])
    follow_ups: Mapped[list[FollowUp]] = relationship(
        back_populates="activity", cascade="all, delete-orphan", order_by="FollowUp.due_on"
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Activity {self.id} {self.type} {self.activity_date}>"


class FollowUp(TimestampMixin, db.Model):
    """An action promised during an activity, with its due date."""

    __tablename__ = "follow_ups"
    __table_args__ = (sa.Index("ix_follow_ups_open_due", "done_on", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        sa.ForeignKey("activities.id", ondelete="CASCADE"), index=True, nullable=False
    )
    action: Mapped[str] = mapped_column(sa.Text, nullable=False)
    due_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    #: Blank while open.
    done_on: Mapped[date | None] = mapped_column(sa.Date)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)

    activity: Mapped[Activity] = relationship(back_populates="follow_ups")
    assignee = relationship("User")
