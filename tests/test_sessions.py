"""Page sessions live on the server: signing out, a new password and the absolute lifetime
end them, whatever copies of the cookie are kept."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from kamcrm.config import from_environment
from kamcrm.extensions import db
from kamcrm.jobs.runner import run_job
from kamcrm.org import operations as org_ops
from kamcrm.org.models import UserSession
from kamcrm.org.passwords import hash_password
from tests.factories import sign_in

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a much better passphrase"


@functools.cache
def stored_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def member(make):
    return make.user(role="kamr", username="somchai", password_hash=stored_hash())


def _sign_in(client, username="somchai", password=PASSWORD):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302 and "/login" not in response.headers["Location"]


def _signed_in(client) -> bool:
    response = client.get("/account/password")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
        return False
    assert response.status_code == 200
    return True


def _rows(user) -> list[UserSession]:
    return list(
        db.session.execute(sa.select(UserSession).where(UserSession.user_id == user.id)).scalars()
    )


def test_a_cookie_saved_before_signing_out_signs_nobody_in(app, member):
    client = app.test_client()
    _sign_in(client)
    saved = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", saved)
    response = replay.get("/account/password")

    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert _rows(member) == []


def test_signing_in_again_ends_the_session_signed_in_before(app, member):
    client = app.test_client()
    _sign_in(client)
    before = client.get_cookie("session").value
    _sign_in(client)

    assert len(_rows(member)) == 1
    replay = app.test_client()
    replay.set_cookie("session", before)
    assert not _signed_in(replay)


def test_a_password_change_signs_out_the_other_sessions_and_keeps_this_one(
    app, member, api_token_for
):
    session_a, session_b = app.test_client(), app.test_client()
    _sign_in(session_a)
    _sign_in(session_b)
    token = api_token_for(member)

    response = session_a.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert _signed_in(session_a)
    assert not _signed_in(session_b)
    # API tokens are not sessions: they stay until revoked.
    assert (
        session_b.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )


def test_a_password_set_by_an_admin_signs_the_user_out_everywhere(app, make, member):
    user_client, admin_client = app.test_client(), app.test_client()
    _sign_in(user_client)
    admin = make.user(role="admin", office=make.region())
    sign_in(admin_client, admin)

    response = admin_client.post(
        f"/admin/users/{member.id}/password",
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert not _signed_in(user_client)
    assert admin_client.get("/admin/users").status_code == 200


def test_a_password_set_at_the_cli_signs_the_user_out(app, runner, member):
    client = app.test_client()
    _sign_in(client)

    result = runner.invoke(
        args=["users", "set-password", "somchai", "--password-stdin"], input=NEW_PASSWORD + "\n"
    )

    assert result.exit_code == 0, result.output
    assert not _signed_in(client)


def _age(user, **delta) -> None:
    """Move the user's session's start back by ``delta`` (it stays active: seen just now)."""
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == user.id)
        .values(created_at=datetime.now(timezone.utc) - timedelta(**delta))
    )


def test_a_session_older_than_the_absolute_lifetime_is_refused_even_while_active(
    app, client, login_as, member
):
    login_as(member)
    hours = app.config["SESSION_ABSOLUTE_HOURS"]
    _age(member, hours=hours, seconds=-60)
    assert _signed_in(client)  # a minute before the end: still in

    _age(member, hours=hours, seconds=1)
    client.set_cookie("lang", "en")
    response = client.get("/account/password", follow_redirects=True)

    assert response.request.path == "/login"
    assert "Your session has ended; please sign in again." in response.get_data(as_text=True)
    assert _rows(member) == []


def test_the_last_seen_time_is_written_at_most_once_a_minute(client, login_as, member):
    login_as(member)
    [row] = _rows(member)
    two_minutes_ago = datetime.now(timezone.utc) - timedelta(minutes=2)
    row.last_seen_at = two_minutes_ago
    db.session.flush()

    assert _signed_in(client)
    db.session.expire_all()
    [row] = _rows(member)
    moved = row.last_seen_at
    assert moved > two_minutes_ago + timedelta(minutes=1)

    assert _signed_in(client)
    db.session.expire_all()
    assert _rows(member)[0].last_seen_at == moved


def test_deactivating_a_user_ends_their_sessions(client, login_as, make, member):
    login_as(member)
    org_ops.update_user(member, {"active": False}, actor=make.user(role="admin"))
    assert _rows(member) == []


def test_the_daily_clean_up_deletes_only_the_sessions_that_ran_out(app, make, member):
    other = make.user(role="kamr")
    sign_in(app.test_client(), member)
    sign_in(app.test_client(), other)
    _age(member, hours=app.config["SESSION_ABSOLUTE_HOURS"] + 1)
    db.session.commit()

    result = run_job("session_cleanup", datetime.now(timezone.utc))

    assert result.outcome == "done" and "deleted 1 ended page sessions" in result.message
    assert _rows(member) == [] and len(_rows(other)) == 1


def test_the_absolute_lifetime_is_configured_from_the_environment():
    assert from_environment({"KAMCRM_SESSION_ABSOLUTE_HOURS": "8"}) == {"SESSION_ABSOLUTE_HOURS": 8}
