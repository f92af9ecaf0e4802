"""Queued imports: an uploaded file waiting for (or being imported by) the scheduler process."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kamcrm.db import UTCDateTime, one_of
from kamcrm.extensions import db

RUN_STATUSES = ("queued", "running", "done", "failed")


class ImportRun(db.Model):
    """One upload imported in the background, all or nothing, with its progress and result.

    The file is kept in the database, not on a web host's disk: every web host and the one
    scheduler process share only the database. It is dropped when the run ends.
    """

    __tablename__ = "import_runs"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", RUN_STATUSES), name="status"),
        sa.CheckConstraint("rows_done >= 0", name="rows_done"),
        sa.Index("ix_import_runs_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The kind of file (SPEC section 7): ``tiers``, ``activities`` …
    kind: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    filename: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    #: Who uploaded it: the import holds every row to this user's rights.
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    #: The uploaded bytes until the run ends; never loaded unless asked for.
    content: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    size: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    rows_done: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    #: The estimated number of rows of the whole file (None until the first progress).
    rows_total: Mapped[int | None] = mapped_column(sa.Integer)
    #: ``host:pid`` of the process running it.
    claimed_by: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Last sign of life of the running process (a run silent for long is taken over).
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: What the import answered (its counts or its first errors), or the error that stopped it.
    result: Mapped[dict | None] = mapped_column(sa.JSON)
