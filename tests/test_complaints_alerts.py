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
    make.complaint(branch, ref="SOON", category="OTHER", assigned_to=kamr.username,
                   received_at="2021-02-09T10:00:00+07:00")
    make.complaint(office, ref="LATER", category="OTHER", assigned_to=kamr.username,
                   received_at="2021-02-14T10:00:00+07:00")
    make.complaint(office, ref="OTHERS", category="OTHER", assigned_to=other.username,
                   received_at="2021-02-01T10:00:00+07:00")
    make.complaint(office, ref="CLOSED", category="OTHER", assigned_to=kamr.username,
                   received_at="2021-02-01T10:00:00+07:00", closed_at="2021-02-02T10:00:00+07:00")
    assert [item["ref"] for item in _digest(kamr).complaints] == ["SOON"]
    assert [item["ref"] for item in _digest(manager).complaints] == ["OTHERS", "SOON"]


def test_the_digest_text_lists_the_complaint(make, app_ctx):
    from kamcrm.jobs.models import Notification
    from kamcrm.extensions import db
    from datetime import datetime, timezone
    import sqlalchemy as sa

    office = make.office(code="CBI")
    kamr = make.user(office=office, email="kamr@example.test")
    make.complaint(office, ref="SOON", category="OTHER", urgent="yes", assigned_to=kamr.username,
                   received_at="2021-02-09T10:00:00+07:00")
    send_weekly_digests("2021-W09", datetime(2021, 3, 1, 1, tzinfo=timezone.utc))
    body = db.session.execute(sa.select(Notification.body).where(Notification.user_id == kamr.id)).scalar_one()
    assert "ข้อร้องเรียนที่ใกล้ครบกำหนดหรือเกินกำหนดเวลาแก้ไข (1 เรื่อง)" in body
    assert "- SOON (เร่งด่วน): รับเรื่อง" in body and "เกินกำหนด" in body
