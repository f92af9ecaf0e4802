"""The marks kept on entries of the VOC register (SPEC section 9).

The register itself is not a table: it is a read over the places a customer's voice is
recorded (an activity's voice fields, a complaint; later a survey answer's comment), see
``kamcrm.voc.queries``. What the register adds to those rows lives here, keyed by the
entry's (source, source_id): whether it is significant, its reference in PEA's VOC system,
and the complaint it was turned into.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kamcrm.activities.models import Activity
from kamcrm.db import TimestampMixin, UTCDateTime, one_of
from kamcrm.extensions import db

#: Where a VOC entry comes from. ``survey`` (a survey answer's comment) is reserved for the
#: surveys domain, so that adding that source needs no change to this table.
SOURCES = ("activity", "complaint", "survey")
#: The one-letter prefix of an entry's key (``A12``: activity 12, ``C7``: complaint 7).
KEY_PREFIXES = {"activity": "A", "complaint": "C", "survey": "S"}
#: Longest reference of PEA's VOC system.
VOC_REF_LENGTH = 100
#: Kinds of a voice (VOC-CRM-001); a complaint is of kind ``complaint``.
KINDS = ("feedback", "complaint", "request")


class VocMark(TimestampMixin, db.Model):
    """What the register records about one entry: significance, VOC-system reference, complaint."""

    __tablename__ = "voc_marks"
    __table_args__ = (
        sa.CheckConstraint(one_of("source", SOURCES), name="source"),
        #: A VOC-system reference always comes with the day it was entered there.
        sa.CheckConstraint("(voc_ref IS NULL) = (voc_ref_on IS NULL)", name="voc_ref_with_day"),
        #: Who marked it and when exist exactly when it is significant.
        sa.CheckConstraint(
            "(significant AND significant_at IS NOT NULL) OR (NOT significant AND significant_at IS NULL)",
            name="significant_at_when_significant",
        ),
        sa.UniqueConstraint("source", "source_id"),
        # CR1 3.4 and the "significant" filter start from the significant marks.
        sa.Index("ix_voc_marks_significant", "significant", "source", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    #: The id of the activity, complaint (or survey answer) the voice is recorded on.
    source_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    significant: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    significant_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    significant_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The entry's reference in PEA's VOC system, and the day it was entered there.
    voc_ref: Mapped[str | None] = mapped_column(sa.String(VOC_REF_LENGTH))
    voc_ref_on: Mapped[date | None] = mapped_column(sa.Date)
    #: The complaint this voice was turned into (once only).
    complaint_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("complaints.id", ondelete="SET NULL"), unique=True
    )

    significant_by = relationship("User")
    complaint = relationship("Complaint")

    @property
    def key(self) -> str:
        return f"{KEY_PREFIXES[self.source]}{self.source_id}"


#: The register reads an activity's voice by date; only activities with a voice are indexed
#: (most have none). Declared here, beside the read that needs it, on the activities table.
ACTIVITY_VOICE_INDEX = sa.Index(
    "ix_activities_voice_date",
    Activity.activity_date,
    Activity.id,
    sqlite_where=Activity.voc_kind.is_not(None),
    postgresql_where=Activity.voc_kind.is_not(None),
)


@sa.event.listens_for(Activity, "after_delete")
def _forget_marks_of_a_deleted_activity(mapper, connection, target) -> None:
    """A deleted activity's voice leaves the register, and its marks with it: SQLite may give
    a later activity the same id, which must not inherit them."""
    connection.execute(
        sa.delete(VocMark.__table__).where(
            VocMark.source == "activity", VocMark.source_id == target.id
        )
    )
