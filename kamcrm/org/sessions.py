"""Page sessions kept on the server, so that signing out and a new password really end them.

The signed cookie says who the user is and holds a random secret (``SESSION_KEY``); the
``user_sessions`` row with the secret's digest says the session is still live. A cookie
copied before its user signed out, changed their password, or before the absolute
lifetime (``SESSION_ABSOLUTE_HOURS``) ran out finds no live row and signs nobody in.
API calls never use these: they authenticate by bearer token only.

Operations only flush or mark rows; the request, command or job commits.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from kamcrm.db import utcnow
from kamcrm.extensions import db
from kamcrm.org.models import User, UserSession

#: Key of the Flask session that holds the secret of the user's session row.
SESSION_KEY = "_sid"
#: Session key holding the time (epoch seconds) of the last page request (the idle timeout).
LAST_SEEN_KEY = "_seen"
#: ``last_seen_at`` is written at most this often per session, so a page view stays a read.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def absolute_lifetime() -> timedelta:
    """Return how long a session lasts however active it is (``SESSION_ABSOLUTE_HOURS``)."""
    return timedelta(hours=float(current_app.config["SESSION_ABSOLUTE_HOURS"]))


def idle_lifetime() -> timedelta:
    """Return how long a session lasts without a request (``SESSION_IDLE_MINUTES``)."""
    return timedelta(minutes=float(current_app.config["SESSION_IDLE_MINUTES"]))


def _expired(row: UserSession, now: datetime) -> bool:
    # last_seen_at lags by up to LAST_SEEN_RESOLUTION; the cookie's own stamp is exact.
    return (
        now - row.created_at >= absolute_lifetime()
        or now - row.last_seen_at > idle_lifetime() + LAST_SEEN_RESOLUTION
    )


def start_session(user: User, now: datetime | None = None) -> str:
    """Open a session for ``user`` and return its secret (for the cookie only); flushes.

    The user's sessions that ran out are deleted on the way, so the table holds little
    more than the live ones even between clean-ups.
    """
    now = now or utcnow()
    for row in db.session.execute(
        sa.select(UserSession).where(UserSession.user_id == user.id)
    ).scalars():
        if _expired(row, now):
            db.session.delete(row)
    secret = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(id=_digest(secret), user_id=user.id, created_at=now, last_seen_at=now)
    )
    db.session.flush()
    return secret


def live_session(secret: object, user_id: int, now: datetime | None = None) -> UserSession | None:
    """Return the live session of ``user_id`` whose secret is ``secret``, or None.

    A session found expired is deleted; a live one has its ``last_seen_at`` moved on when it
    is older than ``LAST_SEEN_RESOLUTION``. Neither is flushed: the caller commits.
    """
    if not isinstance(secret, str) or not secret:
        return None
    now = now or utcnow()
    row = db.session.get(UserSession, _digest(secret))
    if row is None or row.user_id != user_id:
        return None
    if _expired(row, now):
        db.session.delete(row)
        return None
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
    return row


def end_session(secret: object) -> None:
    """End the session whose secret is ``secret`` (signing out); flushes."""
    if isinstance(secret, str) and secret:
        db.session.execute(sa.delete(UserSession).where(UserSession.id == _digest(secret)))


def end_sessions_of(user: User, keep: object = None) -> int:
    """End every session of ``user`` but the one whose secret is ``keep``; return how many."""
    statement = sa.delete(UserSession).where(UserSession.user_id == user.id)
    if isinstance(keep, str) and keep:
        statement = statement.where(UserSession.id != _digest(keep))
    return db.session.execute(statement).rowcount or 0


def purge_sessions(now: datetime) -> int:
    """Delete every session that ran out (absolute or idle lifetime); return how many."""
    result = db.session.execute(
        sa.delete(UserSession).where(
            sa.or_(
                UserSession.created_at <= now - absolute_lifetime(),
                UserSession.last_seen_at < now - idle_lifetime() - LAST_SEEN_RESOLUTION,
            )
        )
    )
    return result.rowcount or 0


def now_seconds() -> float:
    """The current time in epoch seconds, as the idle timeout counts it (tests move it)."""
    return time.time()
