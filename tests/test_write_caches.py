"""The answers the write path keeps for a few seconds: a verified API token, a quarter's lock.

Each is dropped at once by a change made through this process (revoking, deactivating,
changing a role; closing, reopening), and a change made elsewhere (another worker or host,
here a Core statement the ORM never sees) is seen at most ``*_CACHE_SECONDS`` later.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from kamcrm.activities import operations as activities
from kamcrm.activities.models import Activity
from kamcrm.audit.models import AuditEntry
from kamcrm.db import ShortLivedAnswers
from kamcrm.errors import PeriodClosed
from kamcrm.extensions import db
from kamcrm.org import tokens
from kamcrm.org.auth import AuthenticationFailed
from kamcrm.org.models import ApiToken
from kamcrm.org.operations import update_user
from kamcrm.quarters import locks
from kamcrm.quarters.models import QuarterClose
from kamcrm.reports import closing
from tests.test_api_support import api, world  # noqa: F401  (fixtures)

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock(monkeypatch):
    """The caches' clock, moved by hand: ``clock.advance(seconds)``."""

    class Clock:
        now = 1000.0

        def advance(self, seconds: float) -> None:
            self.now += seconds

    moved = Clock()
    monkeypatch.setattr(ShortLivedAnswers, "clock", staticmethod(lambda: moved.now))
    return moved


def _token(make, role="kamr"):
    user = make.user(role=role)
    token, raw = tokens.issue_token(user, "script", actor=None, now=NOW)
    db.session.commit()  # a transaction that changed tokens keeps no answer: start afresh
    return user, token, raw


def _statements(action) -> list[str]:
    seen = []

    def remember(conn, cursor, statement, *args):
        seen.append(statement.split()[0].upper())

    sa.event.listen(db.engine, "before_cursor_execute", remember)
    try:
        action()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", remember)
    return [kind for kind in seen if kind not in ("SAVEPOINT", "RELEASE", "ROLLBACK")]


# --- the verified token ----------------------------------------------------------------------


def test_a_verified_token_is_taken_on_trust_for_a_few_seconds(make, clock):
    user, _token_row, raw = _token(make)
    assert tokens.verify_token(raw, now=NOW) is user
    assert _statements(lambda: tokens.verify_token(raw, now=NOW + timedelta(seconds=10))) == []
    clock.advance(tokens.TOKEN_CACHE_SECONDS)
    assert _statements(lambda: tokens.verify_token(raw, now=NOW + timedelta(seconds=20))) == [
        "SELECT"
    ]


def test_a_revoked_token_is_refused_at_once_though_it_was_just_verified(make, clock):
    user, token, raw = _token(make)
    tokens.verify_token(raw, now=NOW)
    tokens.revoke_token(token, actor=user, now=NOW)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        tokens.verify_token(raw, now=NOW)
    db.session.commit()
    with pytest.raises(AuthenticationFailed, match="revoked"):
        tokens.verify_token(raw, now=NOW)


def test_a_revoked_token_is_refused_over_the_api_on_the_next_call(api, world, make):
    raw = tokens.issue_token(world.kamr_a, "script", actor=None)[1]
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    assert api(None).client.get("/api/v1/offices", headers=headers).status_code == 200
    token = db.session.execute(
        sa.select(ApiToken).where(ApiToken.token_hash == tokens.digest(raw))
    ).scalar_one()
    tokens.revoke_token(token, actor=world.kamr_a)
    db.session.commit()

    response = api(None).client.get("/api/v1/offices", headers=headers)

    assert response.status_code == 401
    assert "revoked" in response.get_json()["message"]


def test_deactivating_the_user_refuses_their_token_at_once(make, clock):
    user, _token_row, raw = _token(make)
    tokens.verify_token(raw, now=NOW)
    update_user(user, {"active": False}, actor=None)
    db.session.commit()
    db.session.expunge_all()  # as the next request's session: nothing held from this one
    with pytest.raises(AuthenticationFailed, match="deactivated"):
        tokens.verify_token(raw, now=NOW)


def test_a_role_change_is_seen_at_once(make, clock):
    user, _token_row, raw = _token(make, role="kamr")
    tokens.verify_token(raw, now=NOW)
    update_user(user, {"role": "executive"}, actor=None)
    db.session.commit()
    db.session.expunge_all()
    assert tokens.verify_token(raw, now=NOW).role == "executive"


def test_a_revocation_made_elsewhere_is_seen_within_the_bound(make, clock):
    # Another worker or host revokes it: this process's ORM never sees the change.
    _user, token, raw = _token(make)
    tokens.verify_token(raw, now=NOW)
    db.session.execute(
        sa.update(ApiToken.__table__)
        .where(ApiToken.__table__.c.id == token.id)
        .values(revoked_at=NOW)
    )
    clock.advance(tokens.TOKEN_CACHE_SECONDS - 0.5)
    tokens.verify_token(raw, now=NOW)  # still trusted: the documented bound
    clock.advance(0.5)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        tokens.verify_token(raw, now=NOW)


def test_a_kept_token_still_expires_on_time(make, clock):
    user = make.user()
    _token_row, raw = tokens.issue_token(user, "script", actor=None, now=NOW, expires_days=1)
    db.session.commit()
    tokens.verify_token(raw, now=NOW)
    with pytest.raises(AuthenticationFailed, match="expired"):
        tokens.verify_token(raw, now=NOW + timedelta(days=1))


# --- the quarter lock ------------------------------------------------------------------------


@pytest.fixture
def region(make):
    office = make.office(code="CBI")
    account = make.account(office=office)
    kamr = make.user(role="kamr", office=office)
    staff = make.user(role="regional_staff", office=make.region())
    admin = make.user(role="admin", office=make.region())
    db.session.commit()
    return {"account": account, "kamr": kamr, "staff": staff, "admin": admin}


AFTER_Q1 = datetime(2021, 4, 16, 2, 0, tzinfo=timezone.utc)


def _record(region, day="2021-03-10"):
    return activities.create_activity(
        {"account_no": region["account"].account_no, "type": "COM", "activity_date": day},
        region["kamr"],
        now=AFTER_Q1,
    )


def test_closing_a_quarter_takes_effect_at_once(region, clock):
    _record(region)  # the lock of 2021-Q1 asked, and kept: open
    closing.close_quarter(2021, 1, region["staff"], AFTER_Q1)
    with pytest.raises(PeriodClosed):
        _record(region)
    db.session.commit()
    with pytest.raises(PeriodClosed):
        _record(region)
    closing.reopen_quarter(2021, 1, region["admin"], AFTER_Q1, reason="late visits")
    db.session.commit()
    assert _record(region).activity_date == date(2021, 3, 10)


def test_a_close_rolled_back_leaves_the_quarter_open(region, clock):
    _record(region)
    with pytest.raises(RuntimeError):
        with db.session.begin_nested():
            closing.close_quarter(2021, 1, region["staff"], AFTER_Q1)
            with pytest.raises(PeriodClosed):
                _record(region)  # its own transaction sees it closed, and keeps no answer
            raise RuntimeError("the close fails")
    assert _record(region).id is not None


def test_a_close_made_elsewhere_is_seen_within_the_bound(region, clock):
    _record(region)
    db.session.execute(
        sa.insert(QuarterClose.__table__).values(
            year=2021, quarter=1, closed_at=AFTER_Q1, snapshot={}
        )
    )
    clock.advance(locks.QUARTER_LOCK_CACHE_SECONDS - 0.5)
    _record(region)  # still taken as open: the documented bound
    clock.advance(0.5)
    with pytest.raises(PeriodClosed):
        _record(region)


def test_the_lock_is_asked_once_per_quarter_while_kept(region, clock):
    _record(region, "2021-03-10")
    # The account's lookup (no account given); the lock only for a quarter not yet asked.
    assert _statements(lambda: _record(region, "2021-02-10")) == ["SELECT", "INSERT", "INSERT"]
    assert _statements(lambda: _record(region, "2020-11-10")) == [
        "SELECT",
        "SELECT",
        "INSERT",
        "INSERT",
    ]


# --- the lean create_activity ------------------------------------------------------------------


def test_a_new_activity_is_the_row_stored_and_its_audit_entry_the_same_as_before(region, clock):
    activity = _record(region)
    db.session.flush()
    stored = db.session.execute(
        sa.select(Activity.__table__).where(Activity.__table__.c.id == activity.id)
    ).one()
    entry = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.entity == "activities")
    ).scalar_one()
    assert (stored.version, stored.is_late, stored.status, stored.recorded_by_id) == (
        1,
        True,
        "done",
        region["kamr"].id,
    )  # after 5 April: late
    assert (
        activity.version == 1
        and activity.account is region["account"]
        and activity.performed_by is region["kamr"]
    )
    assert (entry.action, entry.entity_key, entry.actor_name, entry.before) == (
        "create",
        str(activity.id),
        region["kamr"].username,
        None,
    )
    assert entry.after == activities.activity_record(activity)
    # It is a row of the session like any loaded one: it can be changed and deleted.
    activities.update_activity(activity, {"summary": "called back"}, region["kamr"], now=AFTER_Q1)
    assert activity.version == 2
    activities.delete_activity(activity, region["kamr"])
    assert db.session.get(Activity, activity.id) is None
