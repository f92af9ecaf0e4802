"""Offices of the region, the people who use kamcrm, and their API tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kamcrm.db import TimestampMixin, UTCDateTime, one_of
from kamcrm.extensions import db

#: Office classes: the regional office, class 1-3 offices (กฟฟ. ชั้น 1-3), branch offices (กฟส.).
OFFICE_CLASSES = ("region", "1", "2", "3", "branch")
#: Classes that make an office a unit of the office-manager visit quota.
MANAGED_OFFICE_CLASSES = ("1", "2", "3")

#: Roles in the order of SPEC section 1.
ROLES = ("kamr", "office_manager", "executive", "regional_staff", "admin")
#: Roles that see the whole region; the others see their office and its branches.
REGION_ROLES = ("executive", "regional_staff", "admin")
#: The roles an executive visit (EXV) is counted for.
EXEC_ROLES = ("region_director", "assistant_director", "office_manager")


class Office(TimestampMixin, db.Model):
    """The regional office, a class 1-3 office, or a branch office under one."""

    __tablename__ = "offices"
    __table_args__ = (
        sa.CheckConstraint(one_of("office_class", OFFICE_CLASSES), name="office_class"),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short code used in files and URLs, e.g. ``R2`` or ``CBI``.
    code: Mapped[str] = mapped_column(sa.String(20), unique=True, nullable=False)
    #: Name as it appears on the report form (Thai).
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    #: English name for English pages; falls back to ``name``.
    name_en: Mapped[str | None] = mapped_column(sa.String(200))
    office_class: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    #: The office above: a branch's class 1-3 office, an office's region.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("offices.id"), index=True)

    parent: Mapped[Office | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Office]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<Office {self.code}>"


class User(TimestampMixin, db.Model):
    """A person who signs in: account manager, office manager, executive, staff or admin."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(one_of("role", ROLES), name="role"),
        sa.CheckConstraint(one_of("exec_role", EXEC_ROLES, nullable=True), name="exec_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("offices.id"), index=True, nullable=False)
    #: The executive role this person's visits count for (SPEC section 4, item 1.2).
    exec_role: Mapped[str | None] = mapped_column(sa.String(30))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    #: Deactivated users cannot sign in or use tokens; their records stay.
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True, nullable=False)
    #: argon2id hash; null until a password is set.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Preferred page language (``th`` or ``en``).
    locale: Mapped[str | None] = mapped_column(sa.String(5))

    office: Mapped[Office] = relationship()

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class ApiToken(db.Model):
    """A named bearer token; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    #: First characters of the token, shown in lists so a user can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """A signed-in page session; the cookie carries its secret, this row only the digest.

    A session is live while its row exists and it is younger than ``SESSION_ABSOLUTE_HOURS``
    and was seen within ``SESSION_IDLE_MINUTES``. Signing out, a password change and the
    daily clean-up delete rows: a cookie whose row is gone signs nobody in.
    """

    __tablename__ = "user_sessions"

    #: SHA-256 digest (hex) of the random secret in the session cookie.
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True, nullable=False)
    #: When the user signed in; the absolute lifetime counts from here.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, nullable=False)
    #: The last page request, written at most once a minute.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
