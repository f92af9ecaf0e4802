"""Every page form needs a CSRF token; the API (bearer tokens only) does not."""

from __future__ import annotations

import functools
import re

import pytest
from flask import Blueprint, jsonify

from kamcrm.org import access, tokens
from kamcrm.org.passwords import hash_password
from tests.factories import Factories

PASSWORD = "correct horse battery"


@functools.cache
def stored_hash() -> str:
    """The argon2id hash of PASSWORD, made once per module (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


def _probe_routes(app):
    probe = Blueprint("probe_api_post", __name__, url_prefix="/api/v1/_probe")

    @probe.post("/echo")
    @access.requires("accounts.view")
    def echo():
        return jsonify(ok=True)

    app.register_blueprint(probe)


@pytest.fixture
def protected(extra_app):
    """An app with CSRF protection on (the test suite turns it off by default)."""
    application = extra_app({"WTF_CSRF_ENABLED": True}, setup=_probe_routes)
    make = Factories()
    make.user(role="kamr", username="somchai", password_hash=stored_hash())
    return application, make


def _csrf_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_a_page_post_without_a_csrf_token_is_refused(protected):
    application, _ = protected
    response = application.test_client().post(
        "/login", data={"username": "somchai", "password": PASSWORD}
    )
    assert response.status_code == 400
    # The sign-in page is Thai by default, and so is the reason it gives.
    assert "แบบฟอร์มหมดอายุหรือไม่ได้ส่งจากเว็บไซต์นี้" in response.get_data(as_text=True)


def test_a_page_post_with_the_forms_csrf_token_passes(protected):
    application, _ = protected
    client = application.test_client()
    token = _csrf_token(client, "/login")
    response = client.post(
        "/login", data={"username": "somchai", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_signing_out_needs_a_csrf_token_too(protected):
    application, _ = protected
    client = application.test_client()
    client.post(
        "/login",
        data={
            "username": "somchai",
            "password": PASSWORD,
            "csrf_token": _csrf_token(client, "/login"),
        },
    )
    assert client.post("/logout").status_code == 400
    assert (
        client.post("/logout", data={"csrf_token": _csrf_token(client, "/logout")}).status_code
        == 302
    )


def test_the_api_is_exempt_because_it_takes_only_bearer_tokens(protected):
    application, make = protected
    user = make.user()
    raw = tokens.issue_token(user, "script", actor=user)[1]
    client = application.test_client()
    assert (
        client.post("/api/v1/_probe/echo", headers={"Authorization": f"Bearer {raw}"}).status_code
        == 200
    )
    assert client.post("/api/v1/_probe/echo").status_code == 401
