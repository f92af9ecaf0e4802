"""Signing in and out of pages, passwords, idle timeout, cookies and security headers."""

from __future__ import annotations

import functools
import re
import time

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from werkzeug.security import generate_password_hash

from kamcrm.audit.models import AuditEntry
from kamcrm.errors import Forbidden, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org import auth
from kamcrm.org.passwords import hash_password, verify_password
from kamcrm.org.sessions import LAST_SEEN_KEY

PASSWORD = "correct horse battery"


@functools.cache
def stored_hash() -> str:
    """The argon2id hash of PASSWORD, made once per module (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


@pytest.fixture
def member(make):
    """An active KAMR with a known password."""
    return make.user(role="kamr", username="somchai", password_hash=stored_hash())


def _login(client, username, password, **extra):
    return client.post("/login", data={"username": username, "password": password, **extra})


def test_the_right_password_signs_in_and_lands_on_the_next_page(client, member):
    response = _login(client, "somchai", PASSWORD, next="/account/tokens")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/tokens"
    assert client.get("/account/tokens").status_code == 200


@pytest.mark.parametrize(
    "username, password",
    [("somchai", "wrong password"), ("nobody", PASSWORD), ("nobody", "wrong password")],
    ids=["wrong-password", "unknown-user", "both-wrong"],
)
def test_a_failed_sign_in_says_the_same_whatever_was_wrong(client, member, username, password):
    client.set_cookie("lang", "en")
    response = _login(client, username, password)
    assert response.status_code == 401
    assert auth.LOGIN_FAILED in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_a_failed_sign_in_on_the_thai_page_says_so_in_thai(client, member):
    response = _login(client, "somchai", "wrong password")
    assert response.status_code == 401
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in response.get_data(as_text=True)


def test_a_deactivated_user_cannot_sign_in(client, member):
    member.active = False
    db.session.flush()
    client.set_cookie("lang", "en")
    response = _login(client, "somchai", PASSWORD)
    assert response.status_code == 401
    assert "deactivated" in response.get_data(as_text=True)


def test_a_signed_in_user_who_is_deactivated_loses_the_session(client, login_as, member):
    login_as(member)
    assert client.get("/account/password").status_code == 200
    member.active = False
    db.session.flush()
    response = client.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_the_next_page_must_be_on_this_site(client, member, target):
    response = _login(client, "somchai", PASSWORD, next=target)
    assert response.status_code == 302
    assert (
        "evil" not in response.headers["Location"]
        and "javascript" not in response.headers["Location"]
    )


def test_a_sign_in_is_audited_and_remembered(client, member):
    _login(client, "somchai", PASSWORD)
    db.session.expire_all()
    assert member.last_login_at is not None
    entry = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.action == "login")
    ).scalar_one()
    assert (entry.entity, entry.entity_key, entry.actor_id) == ("users", "somchai", member.id)


@pytest.mark.parametrize(
    "old_hash",
    [
        lambda: PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD),
        lambda: generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"),
        lambda: generate_password_hash(PASSWORD, method="scrypt"),
    ],
    ids=["weak-argon2", "legacy-pbkdf2", "legacy-scrypt"],
)
def test_an_old_hash_is_upgraded_on_the_next_sign_in(make, app_ctx, old_hash):
    stored = old_hash()
    user = make.user(username="legacy", password_hash=stored)
    auth.authenticate("legacy", PASSWORD)
    assert user.password_hash != stored
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, PASSWORD)


def test_a_current_hash_is_kept(member):
    stored = member.password_hash
    auth.authenticate("somchai", PASSWORD)
    assert member.password_hash == stored


def test_usernames_are_matched_without_case_or_spaces(member):
    assert auth.authenticate("  SomChai ", PASSWORD) is member


def test_sign_out_ends_the_session(client, login_as):
    login_as("kamr")
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/account/password").status_code == 302


def test_the_session_ends_after_idle_time(app, client, login_as):
    login_as("kamr")
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as session:
        session[LAST_SEEN_KEY] = int(time.time()) - idle - 1
    response = client.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_activity_keeps_the_session_alive(app, client, login_as):
    login_as("kamr")
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as session:
        session[LAST_SEEN_KEY] = int(time.time()) - idle + 60
    assert client.get("/account/password").status_code == 200
    with client.session_transaction() as session:
        assert int(time.time()) - session[LAST_SEEN_KEY] < 60


def _cookie_flags(response, name="session") -> str:
    cookie = next(
        value for value in response.headers.getlist("Set-Cookie") if value.startswith(name + "=")
    )
    return cookie.lower()


def test_the_session_cookie_is_httponly_and_samesite_lax(client, member):
    flags = _cookie_flags(_login(client, "somchai", PASSWORD))
    assert "httponly" in flags and "samesite=lax" in flags and "secure" not in flags


def test_the_session_cookie_is_secure_when_configured(extra_app):
    application = extra_app({"SESSION_COOKIE_SECURE": True})
    from tests.factories import Factories

    Factories().user(username="somchai", password_hash=stored_hash())
    response = application.test_client().post(
        "/login", data={"username": "somchai", "password": PASSWORD}, base_url="https://localhost"
    )
    assert "secure" in _cookie_flags(response)


@pytest.mark.parametrize("path", ["/login", "/account/password"])
def test_pages_send_the_security_headers(client, login_as, path):
    login_as("kamr")
    headers = client.get(path).headers
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert re.search(r"script-src 'self'(;|$)", policy)
    assert "unsafe-inline" not in policy and "http" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_a_user_changes_their_own_password(client, login_as, member):
    login_as(member)
    new = "a much better passphrase"
    response = client.post(
        "/account/password", data={"current_password": PASSWORD, "password": new, "confirm": new}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert verify_password(member.password_hash, new)
    entry = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.action == "update")
    ).scalar_one()
    assert entry.entity_key == "somchai" and "argon2" not in str(entry.after)


@pytest.mark.parametrize(
    "current, new, confirm, field",
    [
        (
            "wrong password",
            "a much better passphrase",
            "a much better passphrase",
            "current_password",
        ),
        (PASSWORD, "short", "short", "password"),
        (PASSWORD, "somchai", "somchai", "password"),
        (PASSWORD, "a much better passphrase", "a different passphrase", "confirm"),
        (PASSWORD, PASSWORD, PASSWORD, "password"),
    ],
    ids=["wrong-current", "too-short", "username", "mismatch", "unchanged"],
)
def test_a_bad_password_change_is_refused(member, current, new, confirm, field):
    with pytest.raises(ValidationFailed) as refused:
        auth.change_password(member, current, new, confirm)
    assert field in refused.value.errors
    assert verify_password(member.password_hash, PASSWORD)


def test_only_an_admin_sets_another_users_password(make, member):
    with pytest.raises(Forbidden):
        auth.set_password(
            member, "a much better passphrase", actor=make.user(role="regional_staff")
        )
    auth.set_password(member, "a much better passphrase", actor=make.user(role="admin"))
    assert verify_password(member.password_hash, "a much better passphrase")


@pytest.mark.parametrize("username", ["som\x00chai", "\x00"])
def test_a_username_with_a_nul_byte_is_just_wrong(client, member, username):
    response = _login(client, username, PASSWORD)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "current, new, confirm, field",
    [
        (
            "wrong password",
            "a much better passphrase",
            "a much better passphrase",
            "current_password",
        ),
        (PASSWORD, PASSWORD, PASSWORD, "password"),
    ],
    ids=["wrong-current", "unchanged"],
)
def test_the_password_page_refuses_a_bad_change_beside_its_field(
    client, member, current, new, confirm, field
):
    _login(client, "somchai", PASSWORD)
    response = client.post(
        "/account/password", data={"current_password": current, "password": new, "confirm": confirm}
    )
    assert response.status_code == 422
    assert f'id="{field}-errors"' in response.get_data(as_text=True)
    assert verify_password(member.password_hash, PASSWORD)
