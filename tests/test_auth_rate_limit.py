"""Repeated failed sign-ins are slowed down, then locked, without revealing any username,
and without locking the real user out: the locks hold back the addresses that failed."""

from __future__ import annotations

import functools

import pytest

from kamcrm.org.passwords import hash_password
from tests.factories import Factories

PASSWORD = "correct horse battery"


@functools.cache
def stored_hash() -> str:
    """The argon2id hash of PASSWORD, made once per module (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


@pytest.fixture
def limited(extra_app):
    """An app with rate limits on: 3 failed sign-ins a minute, 5 an hour."""
    application = extra_app(
        {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute;5 per hour"}
    )
    Factories().user(role="kamr", username="somchai", password_hash=stored_hash())
    return application


def _attempt(client, username, password, address="10.0.0.1"):
    return client.post(
        "/login",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_after_the_allowed_failures_even_the_right_password_waits(limited):
    client = limited.test_client()
    assert [_attempt(client, "somchai", "wrong").status_code for _ in range(3)] == [401] * 3
    assert _attempt(client, "somchai", PASSWORD).status_code == 429


def test_the_lock_reads_the_same_for_a_user_that_does_not_exist(limited):
    answers = {}
    for username in ("somchai", "nobody"):
        client = limited.test_client()
        for _ in range(3):
            _attempt(client, username, "wrong", address=f"10.0.1.{len(answers)}")
        locked = _attempt(client, username, "wrong", address=f"10.0.1.{len(answers)}")
        answers[username] = (locked.status_code, locked.get_data(as_text=True))
    assert answers["somchai"] == answers["nobody"]
    assert answers["somchai"][0] == 429


def test_addresses_that_failed_for_a_username_wait_while_others_may_still_try(limited):
    client = limited.test_client()
    for number in range(3):  # one failure each: the username is now under attack
        assert _attempt(client, "somchai", "wrong", address=f"10.0.2.{number}").status_code == 401
    # An address that failed for it waits, even with the right password ...
    assert _attempt(client, "somchai", PASSWORD, address="10.0.2.0").status_code == 429
    # ... the real user elsewhere gets in; an attacker's new address gets one guess.
    assert _attempt(client, "somchai", PASSWORD, address="10.0.2.99").status_code == 302
    other = limited.test_client()
    assert _attempt(other, "somchai", "wrong", address="10.0.2.50").status_code == 401
    assert _attempt(other, "somchai", "wrong", address="10.0.2.50").status_code == 429


def test_an_attacker_on_a_username_does_not_stop_the_real_user_elsewhere(limited):
    attacker, user = limited.test_client(), limited.test_client()
    assert [
        _attempt(attacker, "somchai", "wrong", address="203.0.113.7").status_code for _ in range(4)
    ] == [401, 401, 401, 429]
    assert (
        _attempt(attacker, "somchai", PASSWORD, address="203.0.113.7").status_code == 429
    )  # still slowed

    assert _attempt(user, "somchai", PASSWORD, address="10.0.0.20").status_code == 302


def test_one_address_guessing_many_usernames_waits(extra_app):
    application = extra_app(
        {
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT": "3 per minute",
            "LOGIN_ADDRESS_RATE_LIMIT": "4 per minute",
        }
    )
    Factories().user(role="kamr", username="somchai", password_hash=stored_hash())
    client = application.test_client()
    assert [
        _attempt(client, f"user{n}", "wrong", address="203.0.113.7").status_code for n in range(5)
    ] == [401, 401, 401, 401, 429]
    assert _attempt(client, "somchai", PASSWORD, address="203.0.113.7").status_code == 429
    assert _attempt(client, "somchai", PASSWORD, address="10.0.0.20").status_code == 302


def _behind_proxy(client, username, password, forwarded_for, proxy="10.9.9.9"):
    return client.post(
        "/login",
        data={"username": username, "password": password},
        headers={"X-Forwarded-For": forwarded_for},
        environ_base={"REMOTE_ADDR": proxy},
    )


def test_the_forwarded_address_counts_only_behind_a_configured_proxy(extra_app):
    settings = {
        "RATELIMIT_ENABLED": True,
        "LOGIN_RATE_LIMIT": "3 per minute",
        "LOGIN_ADDRESS_RATE_LIMIT": "3 per minute",
    }
    application = extra_app({**settings, "PROXY_COUNT": 1})
    Factories().user(role="kamr", username="somchai", password_hash=stored_hash())
    client = application.test_client()
    # Behind the proxy: failures from A (any usernames) hold back A, not B.
    assert [
        _behind_proxy(client, f"user{n}", "wrong", "198.51.100.1").status_code for n in range(4)
    ] == [401, 401, 401, 429]
    assert _behind_proxy(client, "somchai", PASSWORD, "198.51.100.2").status_code == 302

    # Without PROXY_COUNT the header is anybody's to write, so it is ignored: changing it
    # does not get an attacker new attempts.
    direct = extra_app(settings).test_client()
    answers = [
        _behind_proxy(
            direct, "somchai", "wrong", f"198.51.100.{n}", proxy="203.0.113.7"
        ).status_code
        for n in range(4)
    ]
    assert answers == [401, 401, 401, 429]


def test_behind_a_configured_proxy_the_forwarded_scheme_is_https(extra_app):
    application = extra_app({"PROXY_COUNT": 1})
    response = application.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert response.headers.get("Strict-Transport-Security") == "max-age=31536000"


def test_the_proxy_count_is_configured_from_the_environment():
    from kamcrm.config import from_environment

    assert from_environment({"KAMCRM_PROXY_COUNT": "1"}) == {"PROXY_COUNT": 1}


def test_successful_sign_ins_are_not_counted(limited):
    client = limited.test_client()
    assert all(_attempt(client, "somchai", PASSWORD).status_code == 302 for _ in range(5))


def test_the_main_test_app_is_not_limited(client, make):
    make.user(username="other", password_hash=stored_hash())
    assert all(_attempt(client, "other", "wrong").status_code == 401 for _ in range(6))


def test_redis_keeps_the_counts_when_configured(extra_app):
    """With KAMCRM_REDIS_URL the counts live in Redis, shared by every worker."""
    import uuid

    import redis

    url = "redis://127.0.0.1:6379/15"
    prefix = "kamcrm-test-" + uuid.uuid4().hex
    application = extra_app(
        {
            "RATELIMIT_ENABLED": True,
            "REDIS_URL": url,
            "RATELIMIT_KEY_PREFIX": prefix,
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False,
            "LOGIN_RATE_LIMIT": "2 per minute",
        }
    )
    assert application.config["RATELIMIT_STORAGE_URI"] == url
    server = redis.Redis.from_url(url)
    try:
        client = application.test_client()
        assert [_attempt(client, "ghost", "wrong").status_code for _ in range(3)] == [401, 401, 429]
        assert list(server.scan_iter(f"*{prefix}*"))  # the counters are in Redis
    finally:
        for key in server.scan_iter(f"*{prefix}*"):
            server.delete(key)
        server.close()
