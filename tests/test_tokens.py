"""API tokens: shown once, stored hashed, named, expiring, revocable; the API never uses cookies."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from flask import Blueprint, jsonify
from flask_login import current_user

from kamcrm.audit.models import AuditEntry
from kamcrm.errors import Conflict, Forbidden, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org import access, tokens
from kamcrm.org.auth import AuthenticationFailed
from kamcrm.org.models import ApiToken
from tests.factories import Factories, sign_in

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


def _probe_routes(app):
    probe = Blueprint("probe_api", __name__, url_prefix="/api/v1/_probe")

    @probe.get("/me")
    @access.requires("accounts.view")
    def me():
        return jsonify(username=current_user.username)

    @probe.get("/staff")
    @access.requires("targets.edit")
    def staff():
        return jsonify(ok=True)

    app.register_blueprint(probe)


@pytest.fixture
def api(extra_app):
    """An app with two probe API endpoints, and a row factory working in it."""
    application = extra_app(setup=_probe_routes)
    return application, Factories()


def _bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def test_a_token_is_stored_only_as_its_digest(make):
    user = make.user()
    token, raw = tokens.issue_token(user, "nightly export", actor=user)
    assert raw.startswith("kam_") and len(raw) > 40
    assert token.token_hash == tokens.digest(raw) and raw not in (token.token_hash, token.prefix)
    assert raw.startswith(token.prefix)


def test_a_token_authenticates_its_user_on_the_api(api):
    application, make = api
    user = make.user(username="napat")
    raw = tokens.issue_token(user, "script", actor=user)[1]
    response = application.test_client().get("/api/v1/_probe/me", headers=_bearer(raw))
    assert response.status_code == 200 and response.get_json() == {"username": "napat"}


def test_a_token_call_never_receives_a_cookie(api):
    application, make = api
    user = make.user()
    raw = tokens.issue_token(user, "script", actor=user)[1]
    response = application.test_client().get("/api/v1/_probe/me", headers=_bearer(raw))
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == []


def test_a_session_cookie_does_not_authenticate_the_api(api):
    application, make = api
    user = make.user(role="admin")
    client = application.test_client()
    sign_in(client, user)
    assert client.get("/account/tokens").status_code == 200  # the cookie signs pages in
    response = client.get("/api/v1/_probe/me")
    assert response.status_code == 401
    assert response.get_json()["code"] == 401 and response.get_json()["errors"] == {}


def _state(make, kind):
    user = make.user()
    token, raw = tokens.issue_token(
        user,
        "script",
        actor=user,
        now=NOW - timedelta(days=10),
        expires_days=5 if kind == "expired" else None,
    )
    if kind == "revoked":
        tokens.revoke_token(token, actor=user)
    if kind == "deactivated":
        user.active = False
    if kind == "unknown":
        raw = raw[:-4] + "AAAA"
    if kind == "malformed":
        raw = "not-a-token"
    db.session.flush()
    return raw


@pytest.mark.parametrize(
    "kind, words",
    [
        ("expired", "expired"),
        ("revoked", "revoked"),
        ("deactivated", "deactivated"),
        ("unknown", "not valid"),
        ("malformed", "not valid"),
    ],
)
def test_a_bad_token_gets_a_clear_401(api, kind, words):
    application, make = api
    response = application.test_client().get(
        "/api/v1/_probe/me", headers=_bearer(_state(make, kind))
    )
    assert response.status_code == 401
    body = response.get_json()
    assert body["code"] == 401 and words in body["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer ", "kam_abc"])
def test_an_api_call_without_a_bearer_token_gets_401(api, header):
    application, _ = api
    headers = {"Authorization": header} if header else {}
    response = application.test_client().get("/api/v1/_probe/me", headers=headers)
    assert response.status_code == 401 and response.is_json


def test_a_token_carries_its_users_role(api):
    application, make = api
    raw = tokens.issue_token(make.user(role="kamr"), "x", actor=None)[1]
    response = application.test_client().get("/api/v1/_probe/staff", headers=_bearer(raw))
    assert response.status_code == 403 and response.get_json()["code"] == 403


def test_use_is_recorded_at_most_once_a_minute(make):
    user = make.user()
    token, raw = tokens.issue_token(user, "script", actor=user, now=NOW)
    tokens.verify_token(raw, now=NOW)
    assert token.last_used_at == NOW
    tokens.verify_token(raw, now=NOW + timedelta(seconds=30))
    assert token.last_used_at == NOW
    tokens.verify_token(raw, now=NOW + timedelta(minutes=2))
    assert token.last_used_at == NOW + timedelta(minutes=2)


def test_a_token_expires_at_its_expiry(make):
    user = make.user()
    raw = tokens.issue_token(user, "script", actor=user, now=NOW, expires_days=1)[1]
    assert tokens.verify_token(raw, now=NOW + timedelta(hours=23)) is user
    with pytest.raises(AuthenticationFailed):
        tokens.verify_token(raw, now=NOW + timedelta(days=1))


@pytest.mark.parametrize(
    "name, days, field", [("", None, "name"), ("x" * 101, None, "name"), ("ok", 0, "expires_days")]
)
def test_a_token_needs_a_name_and_a_sensible_expiry(make, name, days, field):
    user = make.user()
    with pytest.raises(ValidationFailed) as refused:
        tokens.issue_token(user, name, actor=user, expires_days=days)
    assert field in refused.value.errors


@pytest.mark.parametrize(
    "role, allowed", [("kamr", False), ("regional_staff", False), ("admin", True)]
)
def test_only_admins_manage_other_peoples_tokens(make, role, allowed):
    owner, other = make.user(), make.user(role=role)
    if allowed:
        token, _ = tokens.issue_token(owner, "by admin", actor=other)
        tokens.revoke_token(token, actor=other)
    else:
        with pytest.raises(Forbidden):
            tokens.issue_token(owner, "not mine", actor=other)
        token, _ = tokens.issue_token(owner, "mine", actor=owner)
        with pytest.raises(Forbidden):
            tokens.revoke_token(token, actor=other)


def test_revoking_twice_is_a_conflict(make):
    user = make.user()
    token, _ = tokens.issue_token(user, "x", actor=user)
    tokens.revoke_token(token, actor=user)
    with pytest.raises(Conflict):
        tokens.revoke_token(token, actor=user)


def test_issuing_and_revoking_are_audited_without_the_secret(make):
    user = make.user()
    token, raw = tokens.issue_token(user, "x", actor=user)
    tokens.revoke_token(token, actor=user)
    entries = (
        db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.entity == "api_tokens").order_by(AuditEntry.id)
        )
        .scalars()
        .all()
    )
    assert [entry.action for entry in entries] == ["create", "revoke"]
    assert all(
        raw not in str(entry.after) and token.token_hash not in str(entry.after)
        for entry in entries
    )


def test_the_tokens_page_shows_a_new_token_once(client, login_as):
    user = login_as("kamr")
    first = client.post("/account/tokens", data={"name": "laptop"})
    raw = next(word for word in first.get_data(as_text=True).split() if "kam_" in word)
    raw = raw[raw.index("kam_") :].split("<")[0]
    stored = db.session.execute(sa.select(ApiToken).where(ApiToken.user_id == user.id)).scalar_one()
    assert stored.token_hash == tokens.digest(raw)
    assert raw not in client.get("/account/tokens").get_data(as_text=True)


def test_a_refused_token_and_a_revoked_one_are_told_in_thai(client, login_as):
    user = login_as("kamr")
    refused = client.post(
        "/account/tokens", data={"name": "lap\ttop"}
    )  # the operation refuses a tab
    mine, _ = tokens.issue_token(user, "laptop", actor=user)
    revoked = client.post(f"/account/tokens/{mine.id}/revoke", follow_redirects=True)

    assert refused.status_code == 422
    assert "ใช้ได้เฉพาะตัวอักษร ตัวเลข ช่องว่าง และเครื่องหมายวรรคตอน" in refused.get_data(as_text=True)
    assert "เพิกถอนโทเค็น API “laptop” แล้ว" in revoked.get_data(as_text=True)


def test_a_user_revokes_a_token_on_the_page_but_not_someone_elses(client, login_as, make):
    user = login_as("kamr")
    mine, _ = tokens.issue_token(user, "mine", actor=user)
    theirs, _ = tokens.issue_token(make.user(), "theirs", actor=None)
    assert client.post(f"/account/tokens/{mine.id}/revoke").status_code == 302
    assert client.post(f"/account/tokens/{theirs.id}/revoke").status_code == 404
    db.session.expire_all()
    assert mine.revoked_at is not None and theirs.revoked_at is None


@pytest.mark.parametrize(
    "method, path, status",
    [("GET", "/api/v1/_probe/nothing-here", 404), ("POST", "/api/v1/_probe/me", 405)],
)
def test_api_routing_errors_answer_in_the_api_shape(api, method, path, status):
    application, _ = api
    response = application.test_client().open(path, method=method)
    assert response.status_code == status
    body = response.get_json()
    assert body["code"] == status and body["message"] and body["errors"] == {}


def test_a_page_error_is_a_page_not_json(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_a_token_name_with_control_characters_is_refused(make):
    user = make.user()
    with pytest.raises(ValidationFailed):
        tokens.issue_token(user, "etl\x00job", actor=user)
