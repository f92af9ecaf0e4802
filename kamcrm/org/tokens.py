"""API tokens: issued once, stored as a SHA-256 digest, named, expiring, revocable.

A token is ``kam_`` followed by 43 URL-safe characters (256 random bits). Only its digest
and its first characters (to tell tokens apart in a list) are kept.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from kamcrm import limits
from kamcrm.audit.operations import record
from kamcrm.db import utcnow
from kamcrm.errors import Conflict, Forbidden, Message, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.auth import AuthenticationFailed
from kamcrm.org.models import ApiToken, User

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
        errors["expires_days"] = [Message("Give a number of days from 1 to %(most)s.", most=MAX_EXPIRY_DAYS)]
    if errors:
        raise ValidationFailed(errors)
    if not user.active:
        raise Conflict(Message("User %(username)s is deactivated; it cannot get API tokens.",
                               username=user.username))
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


#: Every API call runs this, so it is built once: a statement's cache key is worked out on
#: first use and kept with it, where one built per call pays for it every time. The user's
#: office comes along, since the scope of every call is decided from it.
_TOKEN_BY_DIGEST = (
    sa.select(ApiToken)
    .options(joinedload(ApiToken.user).joinedload(User.office))
    .where(ApiToken.token_hash == sa.bindparam("digest"))
)


def verify_token(raw: str, now: datetime | None = None) -> User:
    """Return the user a raw bearer token belongs to; raise ``AuthenticationFailed``.

    The message says what is wrong with the token (unknown, revoked, expired, user
    deactivated): someone holding a token learns nothing about other users from it.
    Refreshes ``last_used_at`` at most once a minute (the caller flushes and commits when
    the session is dirty).
    """
    now = now or utcnow()
    token = None
    if raw and raw.startswith(TOKEN_PREFIX):
        token = db.session.execute(_TOKEN_BY_DIGEST, {"digest": digest(raw)}).scalar_one_or_none()
    if token is None:
        raise AuthenticationFailed("The API token is not valid.")
    if token.revoked_at is not None:
        raise AuthenticationFailed("The API token was revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise AuthenticationFailed(
            f"The API token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC."
        )
    if not token.user.active:
        raise AuthenticationFailed("The user of this API token is deactivated.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token.user


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
