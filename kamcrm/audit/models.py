"""The append-only audit log."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kamcrm.db import JSONDocument, UTCDateTime, one_of, utcnow
from kamcrm.extensions import db

AUDIT_ACTIONS = ("create", "update", "delete", "close", "reopen", "revoke", "login")


class AuditEntry(db.Model):
    """One change: who, when, which record, and the fields before and after.

    Rows are only ever inserted; the application has no operation that updates or
    deletes them.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        sa.CheckConstraint(one_of("action", AUDIT_ACTIONS), name="action"),
        sa.Index("ix_audit_entries_entity", "entity", "entity_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, index=True, nullable=False
    )
    #: Null for changes made by the system (jobs, migrations).
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: The actor's username at the time, kept even if the user is renamed.
    actor_name: Mapped[str | None] = mapped_column(sa.String(80))
    action: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    #: Table of the record, e.g. ``activities``.
    entity: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    #: Natural key or id of the record, as text.
    entity_key: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    before: Mapped[dict | None] = mapped_column(JSONDocument)
    after: Mapped[dict | None] = mapped_column(JSONDocument)
    #: Why, where a reason is required (changes in a closed quarter).
    reason: Mapped[str | None] = mapped_column(sa.Text)
