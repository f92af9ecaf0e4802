"""Activities and follow-ups: the rules every entry point shares (SPEC sections 3 and 5)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from kamcrm.activities import operations
from kamcrm.activities.models import Activity, FollowUp
from kamcrm.audit.models import AuditEntry
from kamcrm.errors import Conflict, PeriodClosed, PreconditionFailed, ValidationFailed
from kamcrm.extensions import db
from kamcrm.quarters.models import QuarterClose

NOW = datetime(2021, 5, 20, 4, 0, tzinfo=timezone.utc)


def entries(entity: str = "activities") -> list[AuditEntry]:
    return (
        db.session.execute(sa.select(AuditEntry).filter_by(entity=entity).order_by(AuditEntry.id))
        .scalars()
        .all()
    )


def close_quarter(year: int, quarter: int) -> None:
    db.session.add(QuarterClose(year=year, quarter=quarter, closed_at=NOW, snapshot={}))
    db.session.flush()


@pytest.fixture
def office(make):
    office = make.office(code="CBI", parent=make.region("R2"))
    make.account(office=office, account_no="020000000001")
    make.account(office=office, account_no="020000000002")
    return office


@pytest.fixture
def kamr(make, office):
    return make.user(role="kamr", office=office, username="kamr1")


@pytest.fixture
def staff(make, office):
    return make.user(role="regional_staff", office=office, username="staff1")


def new(actor, reason=None, **fields):
    data = {
        "account_no": "020000000001",
        "type": "COM",
        "activity_date": "2021-05-10",
        "channel": "phone",
        **fields,
    }
    return operations.create_activity(data, actor, now=NOW, reason=reason)


def test_creating_an_activity_records_who_when_and_whether_it_was_late(kamr):
    activity = new(kamr, summary="โทรนัดตรวจหม้อแปลง")
    assert (
        activity.performed_by,
        activity.recorded_by_id,
        activity.recorded_at,
        activity.status,
        activity.is_late,
    ) == (kamr, kamr.id, NOW, "done", False)
    [entry] = entries()
    assert (entry.action, entry.entity_key, entry.actor_name, entry.after["summary"]) == (
        "create",
        str(activity.id),
        "kamr1",
        "โทรนัดตรวจหม้อแปลง",
    )


@pytest.mark.parametrize(
    "activity_date, recorded_at, late",
    [
        ("2021-04-30", None, True),  # recorded on May 20: after May 5
        ("2021-04-30", "2021-05-05T23:00:00+07:00", False),
        ("2021-05-10", None, False),
    ],
)
def test_lateness_is_decided_by_periods_rule(staff, activity_date, recorded_at, late):
    assert new(staff, activity_date=activity_date, recorded_at=recorded_at).is_late is late


def test_a_kamr_cannot_backdate_when_an_entry_was_recorded_to_hide_that_it_is_late(kamr):
    with pytest.raises(ValidationFailed) as refused:
        new(kamr, activity_date="2021-04-30", recorded_at="2021-05-05T23:00:00+07:00")
    assert (
        "only regional staff may set when an activity was recorded"
        in refused.value.errors["recorded_at"][0]
    )
    assert entries() == []


def test_a_kamr_may_resend_an_activity_unchanged_but_not_move_its_recorded_at(kamr):
    activity = new(kamr, activity_date="2021-04-30")
    assert activity.is_late is True

    operations.update_activity(
        activity,
        {"summary": "called back", "recorded_at": activity.recorded_at.isoformat()},
        kamr,
        now=NOW,
    )
    with pytest.raises(ValidationFailed) as refused:
        operations.update_activity(
            activity, {"recorded_at": "2021-05-01T09:00:00+07:00"}, kamr, now=NOW
        )

    assert "recorded_at" in refused.value.errors
    assert (activity.summary, activity.is_late) == ("called back", True)


@pytest.mark.parametrize(
    "fields, field, words",
    [
        ({"type": "EXV"}, "exec_role", "an executive visit (EXV) needs the role it counts for"),
        (
            {"exec_role": "office_manager"},
            "exec_role",
            "only an executive visit (EXV) has an exec_role, not COM",
        ),
        (
            {"activity_date": "2021-06-01"},
            "activity_date",
            "a done activity cannot lie in the future",
        ),
        ({"account_no": "029999999999"}, "account_no", "unknown account '029999999999'"),
        ({"performed_by": "ghost"}, "performed_by", "unknown user 'ghost'"),
        ({"channel": "telegram"}, "channel", "'telegram' is not a channel"),
        (
            {"voc_category": "voltage dips"},
            "voc_kind",
            "is required when the customer's voice is given",
        ),
        (
            {"recorded_at": "2021-05-10 09:00"},
            "recorded_at",
            "'2021-05-10 09:00' has no UTC offset",
        ),
        ({"colour": "red"}, "colour", "is not a field of an activity"),
    ],
)
def test_a_bad_activity_is_refused_with_the_field_and_reason(kamr, fields, field, words):
    with pytest.raises(ValidationFailed) as caught:
        new(kamr, **fields)
    assert words in " ".join(caught.value.errors[field])
    assert entries() == []


def test_a_planned_activity_may_lie_in_the_future(kamr):
    assert new(kamr, activity_date="2021-07-01", status="planned").status == "planned"


def test_an_executive_visit_counts_for_the_role_given(make, office):
    director = make.user(role="executive", office=office, exec_role="region_director")
    activity = new(
        director,
        type="EXV",
        exec_role="region_director",
        channel="visit",
        voc_kind="request",
        voc_category="capacity",
        voc_text="ขอเพิ่มหม้อแปลง 2,000 kVA",
    )
    assert (activity.exec_role, activity.voc_kind) == ("region_director", "request")


def test_a_ref_already_used_is_a_conflict(kamr):
    new(kamr, ref="CRM-001")
    with pytest.raises(Conflict):
        new(kamr, ref="CRM-001")


def test_a_ref_taken_between_the_check_and_the_write_is_a_conflict_not_a_crash(kamr, monkeypatch):
    new(kamr, ref="CRM-001")
    monkeypatch.setattr(operations, "_ref_taken", lambda ref: False)
    with pytest.raises(Conflict):
        new(kamr, ref="CRM-001")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 1


def test_in_a_closed_quarter_a_kamr_cannot_add(kamr):
    close_quarter(2021, 1)
    with pytest.raises(PeriodClosed):
        new(kamr, activity_date="2021-03-10", reason="late")


def test_in_a_closed_quarter_staff_must_give_a_reason_which_is_audited(staff, kamr):
    close_quarter(2021, 1)
    with pytest.raises(ValidationFailed) as caught:
        new(staff, activity_date="2021-03-10", performed_by="kamr1")
    assert list(caught.value.errors) == ["reason"]
    activity = new(
        staff, activity_date="2021-03-10", performed_by="kamr1", reason="paper form found"
    )
    assert (activity.performed_by, activity.recorded_by_id, entries()[-1].reason) == (
        kamr,
        staff.id,
        "paper form found",
    )


@pytest.mark.parametrize(
    "closed, old_date, new_date",
    [
        ((2021, 1), "2021-03-10", "2021-04-10"),  # moving out of a closed quarter
        ((2021, 1), "2021-04-10", "2021-03-10"),  # moving into one
    ],
)
def test_moving_an_activity_across_a_closed_quarter_is_refused_for_a_kamr(
    kamr, closed, old_date, new_date
):
    activity = new(kamr, activity_date=old_date)
    close_quarter(*closed)
    with pytest.raises(PeriodClosed):
        operations.update_activity(activity, {"activity_date": new_date}, kamr, now=NOW)
    assert activity.activity_date == date.fromisoformat(old_date)


def test_updating_an_activity_bumps_its_version_and_audits_the_change(kamr):
    activity = new(kamr)
    operations.update_activity(
        activity, {"type": "RBA", "summary": "กอล์ฟกระชับความสัมพันธ์"}, kamr, now=NOW
    )
    assert (activity.type, activity.version, activity.recorded_at) == ("RBA", 2, NOW)
    entry = entries()[-1]
    assert (entry.action, entry.before, entry.after) == (
        "update",
        {"type": "COM", "summary": None},
        {"type": "RBA", "summary": "กอล์ฟกระชับความสัมพันธ์"},
    )


def test_moving_an_activity_to_an_earlier_month_can_make_it_late(kamr):
    activity = new(kamr, activity_date="2021-05-10")
    operations.update_activity(activity, {"activity_date": "2021-03-31"}, kamr, now=NOW)
    assert activity.is_late is True


def test_an_update_against_an_old_version_is_refused(kamr):
    activity = new(kamr)
    with pytest.raises(PreconditionFailed):
        operations.update_activity(activity, {"type": "RBA"}, kamr, expected_version=7)


def test_deleting_an_activity_removes_its_follow_ups_and_keeps_it_in_the_audit_log(kamr):
    activity = new(kamr, ref="CRM-9")
    operations.add_follow_up(activity, {"action": "ส่งใบเสนอราคา", "due_on": "2021-05-31"}, kamr)
    activity_id = activity.id
    operations.delete_activity(activity, kamr)
    assert db.session.get(Activity, activity_id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 0
    assert (entries()[-1].action, entries()[-1].before["ref"]) == ("delete", "CRM-9")


def test_deleting_in_a_closed_quarter_needs_staff(kamr):
    activity = new(kamr, activity_date="2021-03-10")
    close_quarter(2021, 1)
    with pytest.raises(PeriodClosed):
        operations.delete_activity(activity, kamr, reason="duplicate")


def test_a_follow_up_goes_to_the_performer_unless_assigned_and_is_completed_once(
    kamr, make, office
):
    other = make.user(role="kamr", office=office, username="kamr2")
    activity = new(kamr)
    mine = operations.add_follow_up(
        activity, {"action": "นัดตรวจ thermoscan", "due_on": "2021-06-15"}, kamr
    )
    theirs = operations.add_follow_up(
        activity, {"action": "โทรแจ้งผล", "due_on": "2021-06-01", "assignee": "kamr2"}, kamr
    )
    assert (mine.assignee, theirs.assignee) == (kamr, other)
    operations.complete_follow_up(mine, kamr, done_on=date(2021, 6, 10))
    operations.complete_follow_up(mine, kamr, done_on=date(2021, 6, 10))
    assert mine.done_on == date(2021, 6, 10)
    assert [(e.action, e.after.get("done_on")) for e in entries("follow_ups")] == [
        ("create", None),
        ("create", None),
        ("update", "2021-06-10"),
    ]
    assert [f.action for f in activity.follow_ups] == ["โทรแจ้งผล", "นัดตรวจ thermoscan"]


def test_a_follow_up_needs_an_action_and_a_due_date(kamr):
    with pytest.raises(ValidationFailed) as caught:
        operations.add_follow_up(new(kamr), {"due_on": "soon", "assignee": "ghost"}, kamr)
    assert set(caught.value.errors) == {"action", "due_on", "assignee"}
