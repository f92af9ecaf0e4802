"""Signing in and out, and passwords: verify, upgrade old hashes, set, change.

Messages never tell whether a username exists: an unknown name and a wrong password get
the same answer, after the same amount of hashing work.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask import session as cookie_session
from werkzeug.security import check_password_hash

from kamcrm.audit.operations import record
from kamcrm.db import utcnow
from kamcrm.errors import Forbidden, KamcrmError, Message, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org import sessions
from kamcrm.org.models import User
from kamcrm.org.passwords import hash_password, needs_rehash, verify_password

#: The one answer to a failed sign-in, whatever failed.
LOGIN_FAILED = Message("Wrong username or password.")
DEACTIVATED = Message("This user is deactivated; ask an administrator.")
#: Werkzeug hash prefixes accepted from older systems and upgraded on the next login.
LEGACY_HASH_PREFIXES = ("scrypt:", "pbkdf2:")

_dummy_hash: str | None = None


class AuthenticationFailed(KamcrmError):
    """The caller could not be identified (wrong password, bad token, deactivated user)."""

    status = 401


# Flask-Login reads these four members. They are attached here, where signing in is
# decided, so that the model stays a plain table description.
User.is_authenticated = property(lambda self: True)
User.is_anonymous = property(lambda self: False)
User.is_active = property(lambda self: bool(self.active))
User.get_id = lambda self: str(self.id)


def find_user(username: str) -> User | None:
    """Return the user named ``username`` (case-insensitive, surrounding spaces ignored)."""
    name = (username or "").strip()
    if not name or "\x00" in name:  # no username holds NUL (PostgreSQL cannot even compare it)
        return None
    return db.session.execute(
        sa.select(User).where(sa.func.lower(User.username) == name.lower())
    ).scalar_one_or_none()


def password_matches(password_hash: str | None, password: str) -> bool:
    """Return whether ``password`` matches an argon2id or a legacy Werkzeug hash."""
    if password_hash and password_hash.startswith(LEGACY_HASH_PREFIXES):
        return check_password_hash(password_hash, password)
    return verify_password(password_hash, password)


def _burn_equal_time(password: str) -> None:
    # An unknown user costs one argon2 verification too, so timing tells nothing.
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("kamcrm-no-such-user")
    verify_password(_dummy_hash, password)


def authenticate(username: str, password: str, now: datetime | None = None) -> User:
    """Return the user whose ``password`` matches; raise ``AuthenticationFailed`` otherwise.

    A hash made with weaker parameters (or by an older system) is replaced by a fresh
    argon2id hash; the last-login time is set and the sign-in is audited. Flushes only.
    """
    user = find_user(username)
    if user is None or not user.password_hash:
        _burn_equal_time(password or "")
        raise AuthenticationFailed(LOGIN_FAILED)
    if not password_matches(user.password_hash, password or ""):
        raise AuthenticationFailed(LOGIN_FAILED)
    if not user.active:
        # Only someone who knows the password learns that the user is deactivated.
        raise AuthenticationFailed(DEACTIVATED)
    if user.password_hash.startswith(LEGACY_HASH_PREFIXES) or needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now or utcnow()
    record("login", "users", user.username, actor=user)
    db.session.flush()
    return user


def password_problems(password: str, user: User | None = None) -> list[str]:
    """Return what is wrong with ``password`` as a new password (empty when it is fine)."""
    minimum = current_app.config.get("PASSWORD_MIN_LENGTH", 10)
    problems = []
    if len(password or "") < minimum:
        problems.append(Message("Use at least %(minimum)s characters.", minimum=minimum))
    if user is not None and password and password.strip().lower() == user.username.lower():
        problems.append("The password must not be the username.")
    if password and not password.strip():
        problems.append("The password must not be only spaces.")
    return problems


def set_password(
    user: User, password: str, actor, now: datetime | None = None, keep_session: str | None = None
) -> None:
    """Give ``user`` a new password (by an admin, the CLI, or the user); audited, flushes.

    ``actor`` None is the operator at the CLI. Only the user or an admin may do this. Every
    page session of ``user`` ends, but the one whose secret is ``keep_session`` (the
    user's own, when they change their password themselves): whoever knew the old password
    is signed out. API tokens are left alone; they are revoked one by one.
    """

    from kamcrm.org.access import can

    if actor is not None and actor.id != user.id and not can(actor, "users.manage"):
        raise Forbidden(Message("Only an administrator may set another user's password."))
    problems = password_problems(password, user)
    if problems:
        raise ValidationFailed({"password": problems})
    when = now or utcnow()
    user.password_hash = hash_password(password)
    user.password_changed_at = when
    sessions.end_sessions_of(user, keep=keep_session)
    # The hash is never written to the log; the fact and the moment are.
    record(
        "update",
        "users",
        user.username,
        actor=actor,
        before={"password": "(previous)"},
        after={"password": "(changed)", "password_changed_at": when.isoformat()},
    )
    db.session.flush()


def change_password(
    user: User,
    current: str,
    new: str,
    confirm: str | None = None,
    now: datetime | None = None,
    keep_session: str | None = None,
) -> None:
    """Change the user's own password after checking the current one; flushes.

    The user's other page sessions end; ``keep_session`` (the secret of the session they
    are using) stays signed in.
    """
    if not password_matches(user.password_hash, current or ""):
        raise ValidationFailed({"current_password": ["The current password is wrong."]})
    if confirm is not None and new != confirm:
        raise ValidationFailed({"confirm": ["The two new passwords differ."]})
    if new == current:
        raise ValidationFailed({"password": ["Choose a password different from the current one."]})
    set_password(user, new, actor=user, now=now, keep_session=keep_session)


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the active user with this id, never on an API path, and
    only while the cookie's session row is live (``kamcrm.org.sessions``)."""
    from kamcrm.org.access import is_api_request

    if is_api_request():
        return None  # the API authenticates by bearer token only, never by cookie
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or not user.active:
        return None
    if sessions.live_session(cookie_session.get(sessions.SESSION_KEY), user.id) is None:
        return None  # signed out, password changed, or past its lifetime
    return user
