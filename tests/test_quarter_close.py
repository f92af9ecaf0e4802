"""Quarter close (SPEC section 5): when it may happen, the CR2 snapshot, the lock, reopening."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from flask import Blueprint

from kamcrm.activities import operations as activities
from kamcrm.audit.models import AuditEntry
from kamcrm.compliance.engine import cr2_report
from kamcrm.errors import Conflict, Forbidden, PeriodClosed, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org import access
from kamcrm.org.scope import region_scope, scope_of_office
from kamcrm.periods import BANGKOK
from kamcrm.quarters.locks import ensure_period_open
from kamcrm.quarters.models import QuarterClose
from kamcrm.reports import closing


def bangkok(day: date, hour: int = 9) -> datetime:
    """A moment on a Bangkok date."""
    return datetime.combine(day, time(hour), tzinfo=BANGKOK)


#: 2021-Q1 ends on 31 March; the summary is due by 15 April; it closes on 16 April.
AFTER_CLOSE = bangkok(date(2021, 4, 16))
BEFORE_CLOSE = bangkok(date(2021, 4, 15), 23)


@pytest.fixture
def region(make):
    """The region, a class-1 office with a branch, and one account each with a Q1 visit."""
    office = make.office(code="CBI")
    branch = make.branch(office, code="CBI-B")
    other = make.office(code="RYG", office_class="2")
    accounts = [make.account(office=where) for where in (office, branch, other)]
    for account in accounts:
        make.activity(account, type="COM", activity_date=date(2021, 2, 1))
    staff = make.user(role="regional_staff", office=make.region())
    admin = make.user(role="admin", office=make.region())
    kamr = make.user(role="kamr", office=office)
    return {
        "office": office,
        "branch": branch,
        "other": other,
        "accounts": accounts,
        "staff": staff,
        "admin": admin,
        "kamr": kamr,
    }


@pytest.mark.parametrize(
    "now, role, force, outcome",
    [
        (bangkok(date(2021, 3, 31)), "admin", True, Conflict),  # not ended
        (BEFORE_CLOSE, "regional_staff", False, Conflict),  # offices may still report
        (BEFORE_CLOSE, "regional_staff", True, Forbidden),  # only an admin may force
        (BEFORE_CLOSE, "admin", True, None),
        (BEFORE_CLOSE, None, True, None),  # the CLI operator
        (AFTER_CLOSE, "regional_staff", False, None),
        (AFTER_CLOSE, "admin", False, None),
        (AFTER_CLOSE, None, False, None),
    ],
    ids=[
        "not-ended",
        "not-due",
        "staff-forcing",
        "admin-forcing",
        "operator-forcing",
        "staff-on-time",
        "admin-on-time",
        "job-on-time",
    ],
)
def test_when_a_quarter_may_be_closed(region, now, role, force, outcome):
    actor = {"regional_staff": region["staff"], "admin": region["admin"], None: None}[role]
    if outcome is None:
        row = closing.close_quarter(2021, 1, actor, now, force=force)
        assert (row.year, row.quarter, row.closed_at) == (2021, 1, now)
    else:
        with pytest.raises(outcome):
            closing.close_quarter(2021, 1, actor, now, force=force)


@pytest.mark.parametrize("role", ["kamr", "office_manager", "executive"])
def test_only_staff_close_quarters(make, region, role):
    with pytest.raises(Forbidden):
        closing.close_quarter(2021, 1, make.user(role=role, office=region["office"]), AFTER_CLOSE)


def _json(value):
    return json.loads(json.dumps(value))


def test_closing_keeps_the_cr2_of_the_region_and_of_each_class_1_to_3_office(region):
    row = closing.close_quarter(2021, 1, region["staff"], AFTER_CLOSE)
    region_code = region_scope().code
    assert set(row.snapshot) == {region_code, "CBI", "RYG"}  # branches roll up, not kept apart
    quarter_end = date(2021, 3, 31)
    assert row.snapshot[region_code] == _json(cr2_report(2021, quarter_end, region_scope()))
    assert row.snapshot["CBI"] == _json(
        cr2_report(2021, quarter_end, scope_of_office(region["office"]))
    )
    assert row.snapshot["CBI"]["as_of"] == "2021-03-31"


def test_the_snapshot_stays_as_it_was_at_closing(region):
    closing.close_quarter(2021, 1, region["staff"], AFTER_CLOSE)
    kept = _json(closing.closed_snapshot(region["staff"], 2021, 1, "CBI"))
    activities.create_activity(
        {
            "account_no": region["accounts"][0].account_no,
            "type": "FMS",
            "activity_date": "2021-03-01",
            "performed_by": region["kamr"].username,
        },
        actor=region["staff"],
        reason="late report from CBI",
        now=AFTER_CLOSE,
    )
    db.session.expire_all()
    assert closing.closed_snapshot(region["staff"], 2021, 1, "CBI") == kept
    assert kept != _json(cr2_report(2021, date(2021, 3, 31), scope_of_office(region["office"])))


def test_a_kept_snapshot_is_out_of_sight_outside_ones_scope(region):
    closing.close_quarter(2021, 1, region["staff"], AFTER_CLOSE)
    assert closing.closed_snapshot(region["kamr"], 2021, 1)["scope"] == "CBI"
    with pytest.raises(Exception) as refused:
        closing.closed_snapshot(region["kamr"], 2021, 1, "RYG")
    assert refused.value.status == 404


def test_a_closed_quarter_cannot_be_closed_again(region):
    closing.close_quarter(2021, 1, region["staff"], AFTER_CLOSE)
    with pytest.raises(Conflict, match="already closed"):
        closing.close_quarter(2021, 1, region["admin"], AFTER_CLOSE + timedelta(days=1))


def _log(action):
    return (
        db.session.execute(
            sa.select(AuditEntry).where(
                AuditEntry.entity == "quarter_closes", AuditEntry.action == action
            )
        )
        .scalars()
        .all()
    )


def test_reopening_is_an_audited_admin_action_with_a_reason(region):
    closing.close_quarter(2021, 1, region["staff"], AFTER_CLOSE)
    with pytest.raises(Forbidden):
        closing.reopen_quarter(2021, 1, region["staff"], reason="correction")
    with pytest.raises(ValidationFailed):
        closing.reopen_quarter(2021, 1, region["admin"], reason="  ")
    row = closing.reopen_quarter(
        2021,
        1,
        region["admin"],
        AFTER_CLOSE + timedelta(days=2),
        reason="CBI found 40 unreported visits",
    )
    assert row.reopened_by_id == region["admin"].id
    [entry] = _log("reopen")
    assert (entry.entity_key, entry.reason, entry.actor_id) == (
        "2021-Q1",
        "CBI found 40 unreported visits",
        region["admin"].id,
    )
    assert len(_log("close")) == 1


def test_reopening_an_open_quarter_is_a_conflict(region):
    with pytest.raises(Conflict):
        closing.reopen_quarter(2021, 1, region["admin"], reason="why not")


def test_a_reopened_quarter_closes_again_with_a_fresh_snapshot(region):
    closing.close_quarter(2021, 1, region["staff"], AFTER_CLOSE)
    closing.reopen_quarter(2021, 1, region["admin"], reason="late visits")
    activities.create_activity(
        {
            "account_no": region["accounts"][2].account_no,
            "type": "FMS",
            "activity_date": "2021-03-02",
            "performed_by": region["kamr"].username,
        },
        actor=region["kamr"],
        now=AFTER_CLOSE,
    )
    row = closing.close_quarter(2021, 1, region["staff"], AFTER_CLOSE + timedelta(days=3))
    assert row.reopened_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(QuarterClose)) == 1
    assert row.snapshot["RYG"] == _json(
        cr2_report(2021, date(2021, 3, 31), scope_of_office(region["other"]))
    )


def _new_activity(region, actor, reason=None, day="2021-03-15"):
    # Staff record in the KAMR's name; anyone else only in their own.
    performer = region["kamr"] if actor is None or actor.role in access.STAFF else actor
    return activities.create_activity(
        {
            "account_no": region["accounts"][0].account_no,
            "type": "COM",
            "activity_date": day,
            "performed_by": performer.username,
        },
        actor=actor,
        reason=reason,
        now=AFTER_CLOSE,
    )


@pytest.mark.parametrize("role", ["kamr", "office_manager"])
def test_after_closing_others_are_refused_with_the_quarter_named(make, region, role):
    closing.close_quarter(2021, 1, region["staff"], AFTER_CLOSE)
    actor = make.user(role=role, office=region["office"])
    existing = db.session.execute(sa.select(activities.Activity)).scalars().first()
    attempts = [
        lambda: _new_activity(region, actor),
        lambda: activities.update_activity(
            existing, {"summary": "changed"}, actor=actor, now=AFTER_CLOSE
        ),
        lambda: activities.delete_activity(existing, actor=actor),
    ]
    for attempt in attempts:
        with pytest.raises(PeriodClosed, match="2021-Q1"):
            attempt()


@pytest.mark.parametrize("role", ["regional_staff", "admin"])
def test_after_closing_staff_change_activities_with_a_reason_that_is_audited(region, role):
    closing.close_quarter(2021, 1, region["staff"], AFTER_CLOSE)
    actor = region["staff"] if role == "regional_staff" else region["admin"]
    with pytest.raises(ValidationFailed):
        _new_activity(region, actor)
    activity = _new_activity(region, actor, reason="visit reported late by CBI")
    entry = db.session.execute(
        sa.select(AuditEntry).where(
            AuditEntry.entity == "activities", AuditEntry.entity_key == str(activity.id)
        )
    ).scalar_one()
    assert entry.reason == "visit reported late by CBI"


def test_other_quarters_stay_open(region):
    closing.close_quarter(2021, 1, region["staff"], AFTER_CLOSE)
    assert _new_activity(region, region["kamr"], day="2021-04-01").id is not None


def test_after_reopening_everyone_may_change_the_quarter_again(region):
    closing.close_quarter(2021, 1, region["staff"], AFTER_CLOSE)
    closing.reopen_quarter(2021, 1, region["admin"], reason="late visits")
    assert _new_activity(region, region["kamr"]).id is not None


@pytest.mark.parametrize(
    "today, expected",
    [
        (date(2021, 4, 15), (2020, 4)),
        (date(2021, 4, 16), (2021, 1)),
        (date(2021, 12, 31), (2021, 3)),
        (date(2022, 1, 15), (2021, 3)),
        (date(2022, 1, 16), (2021, 4)),
    ],
)
def test_the_last_due_quarter(today, expected):
    assert closing.last_due_quarter(today) == expected


def test_the_daily_job_closes_a_due_quarter_once_and_leaves_a_reopened_one_open(region):
    assert closing.close_due_quarter(BEFORE_CLOSE).quarter == 4  # 2020-Q4 was due long ago
    row = closing.close_due_quarter(AFTER_CLOSE)
    assert (row.year, row.quarter, row.closed_by_id) == (2021, 1, None)
    assert closing.close_due_quarter(AFTER_CLOSE + timedelta(days=1)) is None
    closing.reopen_quarter(2021, 1, region["admin"], reason="late visits")
    assert closing.close_due_quarter(AFTER_CLOSE + timedelta(days=2)) is None


def _probe_routes(app):
    probe = Blueprint("probe_lock", __name__)

    @probe.post("/api/v1/_probe/lock/<day>")
    @probe.post("/_probe/lock/<day>")
    @access.requires("activities.edit")
    def lock(day):
        from flask_login import current_user

        ensure_period_open(date.fromisoformat(day), current_user, None)
        return {"ok": True}

    app.register_blueprint(probe)


def test_a_closed_quarter_answers_409_with_its_name(extra_app):
    from kamcrm.org.tokens import issue_token
    from tests.factories import Factories

    application = extra_app(setup=_probe_routes)
    make = Factories()
    kamr = make.user(role="kamr")
    closing.close_quarter(2021, 1, None, AFTER_CLOSE)
    raw = issue_token(kamr, "x", actor=None)[1]
    response = application.test_client().post(
        "/api/v1/_probe/lock/2021-02-01", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 409
    assert "2021-Q1" in response.get_json()["message"]


def test_the_periods_commands_close_list_and_reopen(runner, region):
    closed = runner.invoke(args=["periods", "close", "2021-Q1"])
    assert closed.exit_code == 0, closed.output
    assert "2021-Q1" in runner.invoke(args=["periods", "list"]).output
    again = runner.invoke(args=["periods", "close", "2021-Q1"])
    assert again.exit_code == 1 and "already closed" in again.output
    no_reason = runner.invoke(args=["periods", "reopen", "2021-Q1"])
    assert no_reason.exit_code == 2
    by_staff = runner.invoke(
        args=["periods", "reopen", "2021-Q1", "--reason", "late", "--by", region["staff"].username]
    )
    assert by_staff.exit_code == 1
    reopened = runner.invoke(args=["periods", "reopen", "2021-Q1", "--reason", "late visits"])
    assert reopened.exit_code == 0, reopened.output


@pytest.mark.parametrize("text", ["2021-Q5", "2021Q1", "Q1-2021"])
def test_the_periods_commands_refuse_a_malformed_quarter(runner, text):
    result = runner.invoke(args=["periods", "close", text])
    assert result.exit_code == 2 and "YYYY-Qn" in result.output


def test_a_reason_with_a_nul_byte_is_refused(region):
    closing.close_quarter(2021, 1, region["staff"], AFTER_CLOSE)
    with pytest.raises(ValidationFailed):
        closing.reopen_quarter(2021, 1, region["admin"], reason="late\x00visits")
