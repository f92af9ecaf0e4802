"""How often signing in may fail: slow a password guesser, never lock out the real user.

Three counts of failed sign-ins, kept in the rate limiter's storage (Redis in production,
see ``RATELIMIT_STORAGE_URI``):

* per client address, ``LOGIN_ADDRESS_RATE_LIMIT``: one address guessing many usernames.
  It is looser than the others because a whole office may sign in from one address;
* per (username, address), ``LOGIN_RATE_LIMIT``: one address guessing one user's password.
  Once it is used up that address waits, even with the right password;
* per username, ``LOGIN_RATE_LIMIT``: many addresses guessing one user's password. It
  holds back only the addresses that have themselves failed for that username, so the
  real user, signing in from anywhere else, still gets in with the right password while an
  attacker's addresses wait.

The client address is ``request.remote_addr``: behind a reverse proxy, set ``PROXY_COUNT``
so that it is the client's and not the proxy's (``kamcrm.security``). Whether a username
exists makes no difference to any of this.
"""

from __future__ import annotations

import hashlib
import logging

from flask import current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter

from kamcrm.extensions import limiter

log = logging.getLogger(__name__)

#: Used while the configured storage cannot be reached (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED).
_fallback = FixedWindowRateLimiter(MemoryStorage())


def enabled() -> bool:
    """Return whether sign-in failures are limited in this app (``RATELIMIT_ENABLED``)."""
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def client_address() -> str:
    """Return the address the sign-in comes from (the client's, given ``PROXY_COUNT``)."""
    return request.remote_addr or "unknown"


def _username_key(username: str | None) -> str:
    # Keys hold a digest: a username typed by anyone, of any length, never reaches a key.
    name = (username or "").strip().lower()
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _limits(key: str) -> list[RateLimitItem]:
    return parse_many(current_app.config[key])


def _keys(
    username: str | None, address: str
) -> dict[str, tuple[list[RateLimitItem], tuple[str, ...]]]:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or "kamcrm"
    user = _username_key(username)
    return {
        "address": (_limits("LOGIN_ADDRESS_RATE_LIMIT"), (prefix, "login-address", address)),
        "pair": (_limits("LOGIN_RATE_LIMIT"), (prefix, "login-pair", user, address)),
        "username": (_limits("LOGIN_RATE_LIMIT"), (prefix, "login-user", user)),
    }


def _strategy() -> RateLimiter:
    return limiter.limiter


def _with_storage(work):
    """Run ``work(strategy)`` on the configured storage, or in memory while it is down."""
    try:
        return work(_strategy())
    except Exception:  # noqa: BLE001 — Redis down must not turn every sign-in into a 500
        if not current_app.config.get("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True):
            raise
        log.warning(
            "rate limit storage unreachable; counting sign-in failures in memory", exc_info=True
        )
        return work(_fallback)


def refused(username: str | None, address: str) -> bool:
    """Return whether a sign-in as ``username`` from ``address`` must wait (429)."""
    if not enabled():
        return False
    keys = _keys(username, address)

    def check(strategy: RateLimiter) -> bool:
        def used_up(name: str) -> bool:
            items, identifiers = keys[name]
            return any(not strategy.test(item, *identifiers) for item in items)

        if used_up("address") or used_up("pair"):
            return True
        if not used_up("username"):
            return False
        # The username is under attack: only addresses that failed for it themselves wait.
        items, identifiers = keys["pair"]
        return any(
            strategy.get_window_stats(item, *identifiers).remaining < item.amount for item in items
        )

    return _with_storage(check)


def failed(username: str | None, address: str) -> None:
    """Count a failed sign-in as ``username`` from ``address`` in every count."""
    if not enabled():
        return
    keys = _keys(username, address)

    def count(strategy: RateLimiter) -> None:
        for items, identifiers in keys.values():
            for item in items:
                strategy.hit(item, *identifiers)

    _with_storage(count)
