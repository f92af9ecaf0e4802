"""API tokens: issued once, stored as a SHA-256 digest, named, expiring, revocable.

A token is ``kam_`` followed by 43 URL-safe characters (256 random bits). Only its digest
and its first characters (to tell tokens apart in a list) are kept.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from kamcrm import limits
from kamcrm.audit.operations import record
from kamcrm.db import ShortLivedAnswers, utcnow
from kamcrm.errors import Conflict, Forbidden, Message, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.auth import AuthenticationFailed
from kamcrm.org.models import ApiToken, Office, User

TOKEN_PREFIX = "kam_"
#: Characters of the token shown in lists.
SHOWN_CHARACTERS = 12
#: ``last_used_at`` is written at most this often per token, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_EXPIRY_DAYS = 3650


def digest(raw: str) -> str:
    """Return the hex SHA-256 digest a token is stored as."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_facts(token: ApiToken) -> dict:
    """Return what the audit log and lists say about a token (never the secret)."""
    return {
        "id": token.id,
        "user": token.user.username,
        "name": token.name,
        "prefix": token.prefix,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


def _may_manage(actor, user: User) -> bool:
    from kamcrm.org.access import can

    if actor is None:
        return True
    return (actor.id == user.id and can(actor, "tokens.own")) or can(actor, "tokens.manage")


def issue_token(
    user: User,
    name: str,
    actor,
    now: datetime | None = None,
    expires_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the row and the raw token (shown once). Flushes."""
    if not _may_manage(actor, user):
        raise Forbidden(Message("You may only create API tokens for yourself."))
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [Message("Give the token a name, e.g. the script that uses it.")]
    elif len(name) > limits.TOKEN_NAME:
        errors["name"] = [Message("Use at most 100 characters.")]  # limits.TOKEN_NAME
    elif not name.isprintable():
        errors["name"] = [Message("Use letters, digits, spaces and punctuation only.")]
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        errors["expires_days"] = [
            Message("Give a number of days from 1 to %(most)s.", most=MAX_EXPIRY_DAYS)
        ]
    if errors:
        raise ValidationFailed(errors)
    if not user.active:
        raise Conflict(
            Message(
                "User %(username)s is deactivated; it cannot get API tokens.",
                username=user.username,
            )
        )
    now = now or utcnow()
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name,
        prefix=raw[:SHOWN_CHARACTERS],
        token_hash=digest(raw),
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
    )
    db.session.add(token)
    db.session.flush()
    record("create", "api_tokens", token.id, actor=actor, after=token_facts(token))
    db.session.flush()
    return token, raw


_USER_COLUMNS = {attribute.key: attribute.columns[0] for attribute in sa.inspect(User).column_attrs}
_OFFICE_COLUMNS = {
    attribute.key: attribute.columns[0] for attribute in sa.inspect(Office).column_attrs
}
#: Every API call that misses the cache below runs this, so it is built once: a statement's
#: cache key is worked out on first use and kept with it, where one built per call pays for it
#: every time. The user and their office come along (plain columns, no ORM loading), since the
#: scope of every call is decided from them.
_TOKEN_BY_DIGEST = (
    sa.select(
        ApiToken.id,
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        *(column.label(f"user_{key}") for key, column in _USER_COLUMNS.items()),
        *(column.label(f"office_{key}") for key, column in _OFFICE_COLUMNS.items()),
    )
    .join_from(ApiToken, User, User.id == ApiToken.user_id)
    .join(Office, Office.id == User.office_id)
    .where(ApiToken.token_hash == sa.bindparam("digest"))
)
_TOUCH_TOKEN = (
    sa.update(ApiToken.__table__)
    .where(ApiToken.__table__.c.id == sa.bindparam("token_id"))
    .values(last_used_at=sa.bindparam("now"))
)

#: Seconds a verified token is taken on trust without asking the database again.
#:
#: The bound on revocation: revoking a token, deactivating a user, changing a user (role,
#: office) or an office through the ORM clears this process's cache at once (and again at
#: its commit); every other process (gunicorn's other workers, other hosts) keeps its answer
#: at most this long after it was read, so a revoked token, or a deactivated user's, is
#: refused everywhere at most ``TOKEN_CACHE_SECONDS`` after the revocation commits. Expiry is
#: checked on every call. 0 turns the cache off.
TOKEN_CACHE_SECONDS = 5.0
_verified = ShortLivedAnswers("api_tokens", TOKEN_CACHE_SECONDS, (ApiToken, User, Office))


class _Verified(NamedTuple):
    """What a verified token's cache entry keeps: plain values, never a session's objects."""

    token_id: int
    expires_at: datetime | None
    #: A one-item list: refreshed in place when the use is recorded.
    last_used_at: list
    user: dict
    office: dict


def verify_token(raw: str, now: datetime | None = None) -> User:
    """Return the user a raw bearer token belongs to; raise ``AuthenticationFailed``.

    The message says what is wrong with the token (unknown, revoked, expired, user
    deactivated): someone holding a token learns nothing about other users from it.
    A token verified in the last ``TOKEN_CACHE_SECONDS`` is not looked up again (its expiry
    still is checked); the user comes back as a row of the current session either way.
    Writes ``last_used_at`` at most once a minute (a Core UPDATE: the caller commits when
    :func:`use_recorded` says so).
    """
    now = now or utcnow()
    if not (raw and raw.startswith(TOKEN_PREFIX)):
        raise AuthenticationFailed("The API token is not valid.")
    key = digest(raw)
    known = _verified.get(key)
    if known is None or (known.expires_at is not None and known.expires_at <= now):
        known = _look_up(key, now)
    session = db.session()
    user = _attached(session, User, known.user)
    if "office" not in sa.inspect(user).dict:
        set_committed_value(user, "office", _attached(session, Office, known.office))
    if not user.active:  # deactivated in this very session
        raise AuthenticationFailed("The user of this API token is deactivated.")
    _record_use(session, known.token_id, known.last_used_at, now)
    return user


def _look_up(key: str, now: datetime) -> _Verified:
    """Read the token with this digest and its user; refuse it or keep it for a few seconds."""
    row = db.session.execute(_TOKEN_BY_DIGEST, {"digest": key}).first()
    if row is None:
        raise AuthenticationFailed("The API token is not valid.")
    if row.revoked_at is not None:
        raise AuthenticationFailed("The API token was revoked.")
    if row.expires_at is not None and row.expires_at <= now:
        raise AuthenticationFailed(f"The API token expired on {row.expires_at:%Y-%m-%d %H:%M} UTC.")
    if not row.user_active:
        raise AuthenticationFailed("The user of this API token is deactivated.")
    known = _Verified(
        row.id,
        row.expires_at,
        [row.last_used_at],
        {name: row._mapping[f"user_{name}"] for name in _USER_COLUMNS},
        {name: row._mapping[f"office_{name}"] for name in _OFFICE_COLUMNS},
    )
    _verified.put(db.session(), key, known)
    return known


def _attached(session, model, columns: dict):
    """Return the row of ``model`` with these column values as a persistent object of
    ``session``, without SQL: the one the session already holds, or a copy made from them."""
    identity = session.identity_key(model, columns["id"])
    present = session.identity_map.get(identity)
    if present is not None:
        # Expired by a commit of this session (a session that outlives its requests): its
        # columns from the answer kept, as a fresh session would have them.
        for name in sa.inspect(present).unloaded & columns.keys():
            set_committed_value(present, name, columns[name])
        return present
    # As a query would load it: the values straight into the object's dict, then its identity.
    row = sa.inspect(model).class_manager.new_instance()
    sa.inspect(row).dict.update(columns)
    make_transient_to_detached(row)
    session.add(row)
    return row


_USE_RECORDED = "kamcrm_token_use_recorded"


def _record_use(session, token_id: int, last_used: list, now: datetime) -> None:
    """Write ``last_used_at`` when the last recorded use is a minute old or more."""
    if last_used[0] is not None and now - last_used[0] < LAST_USED_RESOLUTION:
        return
    session.connection().execute(_TOUCH_TOKEN, {"token_id": token_id, "now": now})
    last_used[0] = now
    held = session.identity_map.get(session.identity_key(ApiToken, token_id))
    if held is not None:
        set_committed_value(held, "last_used_at", now)
    session.info[_USE_RECORDED] = True


def use_recorded() -> bool:
    """Return whether the last ``verify_token`` wrote a use, which the caller should commit
    (once: the mark is cleared)."""
    return bool(db.session.info.pop(_USE_RECORDED, False))


def forget_verified_tokens() -> None:
    """Forget every verified token of this process (e.g. after revoking tokens by SQL)."""
    _verified.clear()


def revoke_token(token: ApiToken, actor, now: datetime | None = None) -> ApiToken:
    """Revoke ``token`` (its owner or an admin); revoking twice is refused. Audited, flushes."""
    if not _may_manage(actor, token.user):
        raise Forbidden(Message("You may only revoke your own API tokens."))
    if token.revoked_at is not None:
        raise Conflict(Message("API token %(id)s is already revoked.", id=token.id))
    before = token_facts(token)
    token.revoked_at = now or utcnow()
    record("revoke", "api_tokens", token.id, actor=actor, before=before, after=token_facts(token))
    db.session.flush()
    forget_verified_tokens()  # the flush did too (ShortLivedAnswers); said here for the reader
    return token


def tokens_of(user: User) -> list[ApiToken]:
    """Return ``user``'s tokens, newest first (revoked and expired ones included)."""
    return list(
        db.session.execute(
            sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        ).scalars()
    )


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    """Return ``active``, ``expired`` or ``revoked``."""
    now = now or utcnow()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"
