"""A closed quarter, with the CR2 snapshot taken when it closed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kamcrm.db import JSONDocument, UTCDateTime
from kamcrm.extensions import db


class QuarterClose(db.Model):
    """A closed quarter: activities dated in it change only by staff, with a reason."""

    __tablename__ = "quarter_closes"
    __table_args__ = (
        sa.CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter_range"),
        sa.UniqueConstraint("year", "quarter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    quarter: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: Set when an admin reopened the quarter; the row is kept for the record.
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: The CR2 JSON at closing, keyed by scope code (the region and each office).
    snapshot: Mapped[dict] = mapped_column(JSONDocument, nullable=False)
