"""The complaint register: recording, working and closing complaints, one operation per
action, with a clear error and nothing stored for bad input (SPEC section 8)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from kamcrm.audit.models import AuditEntry
from kamcrm.complaints.models import Complaint
from kamcrm.complaints.operations import (
    close_complaint,
    create_complaint,
    exclude_complaint,
    reassign_complaint,
    reopen_complaint,
    set_category_limit,
    set_item_target,
    set_tier_limit,
    update_complaint,
)
from kamcrm.complaints.queries import complaint_for, time_left
from kamcrm.complaints.targets import complaint_targets
from kamcrm.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kamcrm.extensions import db

NOW = datetime(2021, 3, 1, 5, 0, tzinfo=timezone.utc)


def _count() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Complaint)).scalar()


def _audit(ref):
    return (
        db.session.execute(
            sa.select(AuditEntry.action)
            .where(AuditEntry.entity == "complaints", AuditEntry.entity_key == ref)
            .order_by(AuditEntry.id)
        )
        .scalars()
        .all()
    )


def test_a_kamr_records_a_complaint_on_an_account_of_their_office(make):
    account = make.account()
    kamr = make.user(office=account.office)
    complaint = create_complaint(
        {
            "ref": "C-1",
            "account_no": account.account_no,
            "category": "meter_billing",
            "received_at": "2021-02-10T23:30:00+07:00",
            "channel": "chat",
            "urgent": "yes",
        },
        kamr,
        now=NOW,
    )
    assert complaint.office_id == account.office_id  # the account's office when none is given
    assert complaint.category == "METER_BILLING"
    assert complaint.received_on == date(2021, 2, 10)  # the Bangkok date, not UTC's
    assert complaint.assigned_to_id == kamr.id
    assert complaint.urgent is True and complaint.closed_at is None
    assert _audit("C-1") == ["create"]


def test_close_reopen_and_close_again_keep_every_close_in_the_audit_log(make):
    office = make.office()
    manager = make.user(role="office_manager", office=office)
    complaint = make.complaint(office, received_at="2021-02-01T09:00:00+07:00")
    close_complaint(
        complaint,
        "meter replaced",
        manager,
        closed_at=datetime(2021, 2, 5, 3, tzinfo=timezone.utc),
        now=NOW,
    )
    assert complaint.days_to_close == 4
    reopen_complaint(complaint, manager, now=NOW)
    assert complaint.closed_at is None and complaint.days_to_close is None
    close_complaint(
        complaint,
        "meter replaced again",
        manager,
        closed_at=datetime(2021, 2, 20, 3, tzinfo=timezone.utc),
        now=NOW,
    )
    assert complaint.days_to_close == 19  # the figures use the last close
    assert _audit(complaint.ref) == ["create", "close", "reopen", "close"]


def test_reassign_and_exclude(make):
    office = make.office()
    manager = make.user(role="office_manager", office=office)
    other = make.user(office=office)
    complaint = make.complaint(office)
    reassign_complaint(complaint, other.username, manager, now=NOW)
    assert complaint.assigned_to_id == other.id
    exclude_complaint(complaint, "misconduct", manager, now=NOW)
    assert complaint.excluded == "misconduct"
    assert _audit(complaint.ref) == ["create", "update", "update"]


def test_a_kamr_may_not_exclude_or_reassign(make):
    office = make.office()
    kamr = make.user(office=office)
    complaint = make.complaint(office)
    with pytest.raises(Forbidden):
        exclude_complaint(complaint, "duplicate", kamr, now=NOW)
    with pytest.raises(Forbidden):
        reassign_complaint(complaint, kamr.username, kamr, now=NOW)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"category": "WEATHER"}, "category"),
        ({"office_code": "NOPE"}, "office_code"),
        ({"account_no": "000"}, "account_no"),
        ({"assigned_to": "ghost"}, "assigned_to"),
        ({"closed_at": "2021-01-31T09:00:00+07:00", "resolution": "x"}, "closed_at"),
        ({"closed_at": "2021-03-02T09:00:00+07:00", "resolution": "x"}, "closed_at"),
        ({"closed_at": "2021-02-02T09:00:00+07:00"}, "resolution"),
        ({"excluded": "bored"}, "excluded"),
        ({"received_at": "2021-02-01"}, "received_at"),
        ({"channel": "pigeon"}, "channel"),
        ({"office_code": None}, "office_code"),
    ],
    ids=[
        "category",
        "office",
        "account",
        "user",
        "closed-before-received",
        "closed-in-future",
        "close-without-resolution",
        "exclusion-reason",
        "received-no-time",
        "channel",
        "no-office",
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(make, changes, field):
    office = make.office()
    before = _count()
    row = {
        "ref": "BAD-1",
        "office_code": office.code,
        "category": "OTHER",
        "received_at": "2021-02-01T09:00:00+07:00",
        **changes,
    }
    with pytest.raises(ValidationFailed) as raised:
        create_complaint(row, None, now=NOW)
    assert field in raised.value.errors
    assert _count() == before


def test_an_account_or_office_outside_the_callers_scope_is_unknown(make):
    mine, theirs = make.office(), make.office()
    kamr = make.user(office=mine)
    account = make.account(office=theirs)
    with pytest.raises(ValidationFailed) as raised:
        create_complaint(
            {"ref": "X-1", "account_no": account.account_no, "category": "OTHER"}, kamr, now=NOW
        )
    assert "account_no" in raised.value.errors
    with pytest.raises(ValidationFailed) as raised:
        create_complaint(
            {"ref": "X-2", "office_code": theirs.code, "category": "OTHER"}, kamr, now=NOW
        )
    assert "office_code" in raised.value.errors
    assert _count() == 0


def test_a_complaint_outside_the_callers_scope_is_not_found(make):
    mine, theirs = make.office(), make.office()
    kamr = make.user(office=mine)
    complaint = make.complaint(theirs)
    with pytest.raises(NotFound):
        complaint_for(kamr, complaint.ref)
    branch = make.branch(mine)
    own = make.complaint(branch)
    assert complaint_for(kamr, own.ref) is own  # branches are in the office's scope


def test_closing_needs_a_resolution_and_a_ref_is_unique(make):
    office = make.office()
    complaint = make.complaint(office, ref="DUP")
    with pytest.raises(ValidationFailed):
        close_complaint(complaint, "  ", None, now=NOW)
    assert complaint.closed_at is None
    with pytest.raises(Conflict):
        make.complaint(office, ref="DUP")


def test_reopening_an_open_complaint_is_a_conflict(make):
    complaint = make.complaint()
    with pytest.raises(Conflict):
        reopen_complaint(complaint, None, now=NOW)


def test_update_with_a_stale_version_is_refused(make):
    from kamcrm.errors import PreconditionFailed

    complaint = make.complaint()
    with pytest.raises(PreconditionFailed):
        update_complaint(
            complaint, {"summary": "x"}, None, now=NOW, expected_version=complaint.version + 1
        )


def test_defaults_hold_for_any_year_and_a_change_is_stored_for_that_year_only(make):
    defaults = complaint_targets(2030)
    assert defaults.categories[2] == ("METER_BILLING", 15)
    assert [(t.item, t.limit_days, t.limit_hours, float(t.target_pct)) for t in defaults.items] == [
        ("2.1a", None, None, 85.0),
        ("2.1b", None, 24, 100.0),
        ("2.1c", 30, None, 100.0),
        ("2.1d", 15, None, 70.0),
    ]
    set_category_limit(2021, "METER_BILLING", 10)
    set_tier_limit(2021, "METER_BILLING", "STRATEGIC", 5)
    set_item_target(2021, "2.1d", target_pct=75)
    changed = complaint_targets(2021)
    assert changed.limit_days("METER_BILLING", None) == 10
    assert changed.limit_days("METER_BILLING", "STRATEGIC") == 5
    assert changed.limit_days("POWER_QUALITY", "STRATEGIC") == 25
    assert float(changed.item("2.1d").target_pct) == 75.0
    assert complaint_targets(2022) == complaint_targets(2030).__class__(
        **{**complaint_targets(2022).__dict__}
    )
    assert complaint_targets(2022).limit_days("METER_BILLING", None) == 15
    with pytest.raises(ValidationFailed):
        set_tier_limit(2021, "METER_BILLING", "GOLD", 3)
    with pytest.raises(ValidationFailed):
        set_item_target(2021, "2.1c", target_pct=101)


def test_time_left_counts_to_the_end_of_the_limits_last_bangkok_day(make):
    complaint = make.complaint(category="METER_BILLING", received_at="2021-02-01T23:30:00+07:00")
    # 15 days from Feb 1 (Bangkok): within until the end of Feb 16, Bangkok time.
    now = datetime(2021, 2, 16, 12, 0, tzinfo=timezone.utc)  # 19:00 Bangkok
    left = time_left(complaint, now)
    assert left.total_seconds() == pytest.approx(5 * 3600, abs=1)
