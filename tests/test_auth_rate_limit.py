"""Repeated failed sign-ins are slowed down, then locked, without revealing any username."""
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
    application = extra_app({"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute;5 per hour"})
    Factories().user(role="kamr", username="somchai", password_hash=stored_hash())
    return application


def _attempt(client, username, password, address="10.0.0.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


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


def test_one_username_is_locked_from_every_address(limited):
    client = limited.test_client()
    for number in range(3):
        _attempt(client, "somchai", "wrong", address=f"10.0.2.{number}")
    assert _attempt(client, "somchai", PASSWORD, address="10.0.2.99").status_code == 429


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
    application = extra_app({"RATELIMIT_ENABLED": True, "REDIS_URL": url, "RATELIMIT_KEY_PREFIX": prefix,
                             "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False,
                             "LOGIN_RATE_LIMIT": "2 per minute"})
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
