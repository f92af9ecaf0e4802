"""Repeated failed sign-ins are slowed down, then locked, without revealing any username."""
from __future__ import annotations

import pytest

from kamcrm.org.passwords import hash_password
from tests.factories import Factories

PASSWORD = "correct horse battery"


@pytest.fixture
def limited(extra_app):
    """An app with rate limits on: 3 failed sign-ins a minute, 5 an hour."""
    application = extra_app({"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute;5 per hour"})
    Factories().user(role="kamr", username="somchai", password_hash=hash_password(PASSWORD))
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
    make.user(username="other", password_hash=hash_password(PASSWORD))
    assert all(_attempt(client, "other", "wrong").status_code == 401 for _ in range(6))
