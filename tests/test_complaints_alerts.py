"""Open complaints close to their limit reach the weekly digest of the assigned KAMR and the
office manager (SPEC section 8, alerts)."""

from __future__ import annotations

from datetime import date

from kamcrm.jobs.digests import send_weekly_digests, weekly_digests

MONDAY = date(2021, 3, 1)  # week 2021-W09


def _digest(user):
    return next(d for d in weekly_digests("2021-W09") if d.user.id == user.id)


def test_complaints_close_to_their_limit_are_in_the_digest(make):
    office = make.office(code="CBI")
    branch = make.branch(office, code="CBI-B")
    kamr = make.user(office=office, email="kamr@example.test")
    other = make.user(office=office)
    manager = make.user(role="office_manager", office=office, email="manager@example.test")
    # OTHER: 20 days. On Monday Mar 1 (00:00): received Feb 9 leaves 0 days; Feb 14 leaves 5.
    make.complaint(
        branch,
        ref="SOON",
        category="OTHER",
        assigned_to=kamr.username,
        received_at="2021-02-09T10:00:00+07:00",
    )
    make.complaint(
        office,
        ref="LATER",
        category="OTHER",
        assigned_to=kamr.username,
        received_at="2021-02-14T10:00:00+07:00",
    )
    make.complaint(
        office,
        ref="OTHERS",
        category="OTHER",
        assigned_to=other.username,
        received_at="2021-02-01T10:00:00+07:00",
    )
    make.complaint(
        office,
        ref="CLOSED",
        category="OTHER",
        assigned_to=kamr.username,
        received_at="2021-02-01T10:00:00+07:00",
        closed_at="2021-02-02T10:00:00+07:00",
    )
    assert [item["ref"] for item in _digest(kamr).complaints] == ["SOON"]
    assert [item["ref"] for item in _digest(manager).complaints] == ["OTHERS", "SOON"]


def test_the_digest_text_lists_the_complaint(make, app_ctx):
    from datetime import datetime, timezone

    import sqlalchemy as sa

    from kamcrm.extensions import db
    from kamcrm.jobs.models import Notification

    office = make.office(code="CBI")
    kamr = make.user(office=office, email="kamr@example.test")
    make.complaint(
        office,
        ref="SOON",
        category="OTHER",
        urgent="yes",
        assigned_to=kamr.username,
        received_at="2021-02-09T10:00:00+07:00",
    )
    send_weekly_digests("2021-W09", datetime(2021, 3, 1, 1, tzinfo=timezone.utc))
    body = db.session.execute(
        sa.select(Notification.body).where(Notification.user_id == kamr.id)
    ).scalar_one()
    assert "ข้อร้องเรียนที่ใกล้ครบกำหนดหรือเกินกำหนดเวลาแก้ไข (1 เรื่อง)" in body
    assert "- SOON (เร่งด่วน): รับเรื่อง" in body and "เกินกำหนด" in body


def test_a_breach_notifies_the_office_manager_once_per_complaint_and_limit(make, app_ctx):
    from datetime import datetime, timezone

    import sqlalchemy as sa

    from kamcrm.extensions import db
    from kamcrm.jobs.digests import send_complaint_breaches
    from kamcrm.jobs.models import Notification

    office = make.office(code="CBI")
    branch = make.branch(office, code="CBI-B")
    manager = make.user(role="office_manager", office=office)
    # Urgent, received Feb 9: past its 24 hours; past its category's 20 days from Mar 2.
    make.complaint(
        branch, ref="BOTH", category="OTHER", urgent="yes", received_at="2021-02-09T09:00:00+07:00"
    )
    make.complaint(
        office, ref="HOURS", category="OTHER", urgent="yes", received_at="2021-02-26T09:00:00+07:00"
    )
    make.complaint(office, ref="FINE", category="OTHER", received_at="2021-02-26T09:00:00+07:00")
    now = datetime(2021, 3, 1, 0, 30, tzinfo=timezone.utc)

    def subjects():
        return sorted(
            db.session.execute(
                sa.select(Notification.subject).where(
                    Notification.user_id == manager.id, Notification.kind == "complaint_breach"
                )
            ).scalars()
        )

    send_complaint_breaches("2021-03-01", now)
    first = subjects()
    assert first == [
        "[kamcrm] ข้อร้องเรียน BOTH เกิน 24 ชั่วโมง (เร่งด่วน)",
        "[kamcrm] ข้อร้องเรียน HOURS เกิน 24 ชั่วโมง (เร่งด่วน)",
    ]
    later = datetime(2021, 3, 2, 0, 30, tzinfo=timezone.utc)  # 07:30 on Mar 2 in Bangkok
    send_complaint_breaches("2021-03-02", later)
    send_complaint_breaches("2021-03-02", later)
    assert subjects() == sorted(first + ["[kamcrm] ข้อร้องเรียน BOTH เกินกำหนดเวลาแก้ไขของประเภท"])
