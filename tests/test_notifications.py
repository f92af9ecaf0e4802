"""Notifications: once per person and period, in-app always, e-mailed by SMTP or to the outbox."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from kamcrm.activities.models import FollowUp
from kamcrm.extensions import db
from kamcrm.jobs.digests import send_follow_up_reminders, send_weekly_digests, weekly_digests
from kamcrm.jobs.models import Notification
from kamcrm.jobs.notify import Message, deliver, notify_once
from kamcrm.jobs.runner import run_job
from kamcrm.periods import BANGKOK, is_late_entry

NOW = datetime(2021, 3, 1, 7, 30, tzinfo=BANGKOK)


def notifications(kind=None) -> list[Notification]:
    query = sa.select(Notification).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return db.session.execute(query).scalars().all()


@pytest.fixture
def outbox(app, tmp_path, monkeypatch):
    folder = tmp_path / "outbox"
    monkeypatch.setitem(app.config, "OUTBOX_DIR", str(folder))
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    return folder


def read_outbox(folder: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


# --- notifications and delivery -------------------------------------------------------------


def test_a_message_is_notified_once_per_person_and_subject(make):
    somchai, suda = make.user(), make.user()
    messages = [
        Message(somchai.id, "สรุปประจำสัปดาห์ 2021-W09", "ก"),
        Message(suda.id, "สรุปประจำสัปดาห์ 2021-W09", "ข"),
    ]
    first = notify_once("weekly_digest", messages, NOW)
    again = notify_once("weekly_digest", messages, NOW + timedelta(hours=1))
    assert first == again and len(first) == 2
    assert len(notifications()) == 2


def test_without_smtp_each_message_is_written_to_the_outbox_in_thai(make, outbox):
    user = make.user(full_name="สมชาย ใจดี", email="somchai@example.test")
    [notification_id] = notify_once(
        "weekly_digest", [Message(user.id, "สรุปงานประจำสัปดาห์", "ลูกค้า 3 ราย")], NOW
    )
    delivery = deliver([notification_id], NOW)
    assert (delivery.sent, delivery.channel) == (1, "outbox")
    [message] = read_outbox(outbox)
    assert message["Subject"] == "สรุปงานประจำสัปดาห์"
    assert message["To"] == "สมชาย ใจดี <somchai@example.test>"
    assert message.get_body(("plain",)).get_content().strip() == "ลูกค้า 3 ราย"
    assert "ลูกค้า 3 ราย" in message.get_body(("html",)).get_content()
    assert db.session.get(Notification, notification_id).sent_at == NOW


def test_a_person_without_an_email_address_gets_the_notification_in_app_only(make, outbox):
    user = make.user(email=None)
    ids = notify_once("follow_up_reminder", [Message(user.id, "งานติดตาม", "โทรหาลูกค้า")], NOW)
    delivery = deliver(ids, NOW)
    assert (delivery.sent, delivery.in_app_only) == (0, 1)
    assert not outbox.exists() or read_outbox(outbox) == []


def test_a_sent_notification_is_not_sent_again(make, outbox):
    user = make.user(email="suda@example.test")
    ids = notify_once("follow_up_reminder", [Message(user.id, "งานติดตาม", "โทรหาลูกค้า")], NOW)
    deliver(ids, NOW)
    assert deliver(ids, NOW + timedelta(minutes=5)).sent == 0
    assert len(read_outbox(outbox)) == 1


class FakeSmtp:
    """Stands in for smtplib.SMTP; keeps what it was asked to send."""

    sent: list = []

    def __init__(self, host, port, timeout):
        self.address = (host, port)

    def ehlo(self):
        pass

    def has_extn(self, name):
        return False

    def login(self, user, password):
        self.credentials = (user, password)

    def send_message(self, message):
        FakeSmtp.sent.append((self.address, message))

    def quit(self):
        pass


def test_with_smtp_configured_messages_go_out_by_smtp(app, make, monkeypatch, tmp_path):
    FakeSmtp.sent = []
    monkeypatch.setattr("smtplib.SMTP", FakeSmtp)
    monkeypatch.setitem(app.config, "SMTP_HOST", "mail.pea.test")
    monkeypatch.setitem(app.config, "SMTP_PORT", 2525)
    monkeypatch.setitem(app.config, "OUTBOX_DIR", str(tmp_path / "outbox"))
    user = make.user(email="kamr@example.test")
    ids = notify_once("weekly_digest", [Message(user.id, "สรุปงาน", "เนื้อหา")], NOW)
    assert deliver(ids, NOW).channel == "smtp"
    [(address, message)] = FakeSmtp.sent
    assert address == ("mail.pea.test", 2525) and message["Subject"] == "สรุปงาน"
    assert not (tmp_path / "outbox").exists()


# --- follow-up reminders ---------------------------------------------------------------------


@pytest.fixture
def office_people(make):
    office = make.office(code="CBI")
    return {
        "office": office,
        "branch": make.branch(office, code="CBI-B"),
        "kamr": make.user(office=office, email="kamr@example.test"),
        "other_kamr": make.user(office=office, email="other@example.test"),
        "manager": make.user(role="office_manager", office=office, email="manager@example.test"),
        "elsewhere": make.user(role="office_manager", office=make.office(code="RYG")),
    }


def follow_up(
    make, performer, due_on, done_on=None, assignee=None, office=None, action="ส่งใบเสนอราคา"
):
    activity = make.activity(
        make.account(office=office or performer.office),
        performed_by=performer,
        activity_date=date(2021, 2, 1),
    )
    row = FollowUp(
        activity=activity, action=action, due_on=due_on, done_on=done_on, assignee=assignee
    )
    db.session.add(row)
    db.session.flush()
    return row


@pytest.mark.parametrize(
    "due_on, done_on, reminded",
    [
        (date(2021, 2, 20), None, True),  # overdue
        (date(2021, 3, 1), None, True),  # due today
        (date(2021, 3, 4), None, True),  # due within three days
        (date(2021, 3, 5), None, False),  # not yet
        (date(2021, 2, 20), date(2021, 2, 25), False),  # done
    ],
)
def test_open_follow_ups_due_soon_or_overdue_are_reminded(
    office_people, make, due_on, done_on, reminded
):
    follow_up(make, office_people["kamr"], due_on, done_on)
    output = send_follow_up_reminders("2021-03-01", NOW)
    assert len(notifications("follow_up_reminder")) == int(reminded)
    assert len(output.notification_ids) == int(reminded)


def test_a_reminder_goes_to_the_assignee_or_else_to_who_performed_the_activity(office_people, make):
    follow_up(make, office_people["kamr"], date(2021, 3, 2), action="ติดตั้งมิเตอร์")
    follow_up(
        make,
        office_people["kamr"],
        date(2021, 3, 2),
        assignee=office_people["other_kamr"],
        action="ตรวจหม้อแปลง",
    )
    send_follow_up_reminders("2021-03-01", NOW)
    told = {n.user_id: n.body for n in notifications("follow_up_reminder")}
    assert set(told) == {office_people["kamr"].id, office_people["other_kamr"].id}
    assert "ติดตั้งมิเตอร์" in told[office_people["kamr"].id]
    assert "ตรวจหม้อแปลง" in told[office_people["other_kamr"].id]


def test_the_reminder_job_notifies_and_writes_the_outbox(office_people, make, outbox):
    follow_up(make, office_people["kamr"], date(2021, 2, 26))
    db.session.commit()
    result = run_job("follow_up_reminders", NOW)
    assert result.outcome == "done" and "1 e-mailed via outbox" in result.message
    [message] = read_outbox(outbox)
    assert message["To"].endswith("<kamr@example.test>")
    assert "เลยกำหนด 3 วัน" in message.get_body(("plain",)).get_content()


# --- weekly digests ------------------------------------------------------------------------------

MONDAY = datetime(2021, 3, 1, 7, 0, tzinfo=BANGKOK)


def digest_of(digests, user):
    return next(d for d in digests if d.user.id == user.id)


def test_a_kamr_hears_of_their_own_overdue_follow_ups_and_plans_and_the_manager_of_all(
    office_people, make
):
    kamr, manager = office_people["kamr"], office_people["manager"]
    follow_up(make, kamr, date(2021, 2, 25), action="ส่งเอกสาร")
    follow_up(
        make,
        office_people["other_kamr"],
        date(2021, 2, 26),
        office=office_people["branch"],
        action="นัดประชุม",
    )
    make.activity(
        make.account(office=kamr.office),
        performed_by=kamr,
        status="planned",
        activity_date=date(2021, 2, 22),
    )
    digests = weekly_digests("2021-W09")
    mine, managers = digest_of(digests, kamr), digest_of(digests, manager)
    assert [item["action"] for item in mine.overdue_follow_ups] == ["ส่งเอกสาร"]
    assert len(mine.overdue_plans) == 1
    assert sorted(item["action"] for item in managers.overdue_follow_ups) == ["นัดประชุม", "ส่งเอกสาร"]
    assert digest_of(digests, office_people["elsewhere"]).is_empty


@pytest.mark.parametrize(
    "recorded_at, told",
    [
        (datetime(2021, 2, 22, 0, 0, tzinfo=BANGKOK), True),  # first moment of the past week
        (datetime(2021, 2, 28, 23, 59, tzinfo=BANGKOK), True),  # last moment of it
        (datetime(2021, 2, 21, 23, 59, tzinfo=BANGKOK), False),  # the week before
    ],
)
def test_a_digest_lists_the_late_entries_recorded_in_the_past_week(
    office_people, make, recorded_at, told
):
    kamr = office_people["kamr"]
    day = date(2021, 1, 12)
    make.activity(
        make.account(office=kamr.office),
        type="FMS",
        performed_by=kamr,
        activity_date=day,
        recorded_at=recorded_at,
        is_late=is_late_entry(day, recorded_at),
    )
    digests = weekly_digests("2021-W09")
    assert len(digest_of(digests, kamr).late_entries) == int(told)
    assert len(digest_of(digests, office_people["manager"]).late_entries) == int(told)


def test_people_with_nothing_to_hear_get_no_digest(office_people, make):
    follow_up(make, office_people["kamr"], date(2021, 2, 25))
    output = send_weekly_digests("2021-W09", MONDAY)
    told = {n.user_id for n in notifications("weekly_digest")}
    assert told == {office_people["kamr"].id, office_people["manager"].id}
    assert len(output.notification_ids) == 2


def test_a_digest_is_written_in_thai_with_buddhist_era_dates(office_people, make):
    follow_up(make, office_people["kamr"], date(2021, 2, 25), action="ส่งรายงานผลตรวจ")
    send_weekly_digests("2021-W09", MONDAY)
    body = next(
        n.body for n in notifications("weekly_digest") if n.user_id == office_people["kamr"].id
    )
    assert "ส่งรายงานผลตรวจ" in body and "25 กุมภาพันธ์ 2564" in body


class UnreachableSmtp(FakeSmtp):
    def __init__(self, host, port, timeout):
        raise ConnectionRefusedError(f"{host}:{port} refused the connection")


def test_an_unreachable_mail_server_leaves_the_notifications_in_app_and_unsent(
    app, office_people, make, monkeypatch
):
    monkeypatch.setattr("smtplib.SMTP", UnreachableSmtp)
    monkeypatch.setitem(app.config, "SMTP_HOST", "mail.pea.test")
    follow_up(make, office_people["kamr"], date(2021, 2, 26))
    db.session.commit()
    result = run_job("follow_up_reminders", NOW)
    assert result.outcome == "done" and "not e-mailed" in result.message
    [notification] = notifications("follow_up_reminder")
    assert notification.sent_at is None

    monkeypatch.setattr("smtplib.SMTP", FakeSmtp)
    FakeSmtp.sent = []
    retried = run_job("follow_up_reminders", NOW + timedelta(hours=1), "2021-03-01", force=True)
    assert "1 e-mailed via smtp" in retried.message
    assert len(FakeSmtp.sent) == 1 and len(notifications("follow_up_reminder")) == 1


def test_a_kamr_hears_what_their_accounts_still_need_most_urgent_first(office_people, make):
    kamr = office_people["kamr"]
    account = make.account(office=kamr.office, tier="STAR", kamr=kamr, account_no="020000000101")
    make.activity(account, type="FMS", performed_by=kamr, activity_date=date(2021, 2, 1))
    due = digest_of(weekly_digests("2021-W09"), kamr).due
    assert [(item["type"], item["days_left"]) for item in due] == [("COM", 30), ("RBA", 305)]
    assert due[0]["period_end"] == date(2021, 3, 31) and due[0]["needed"] == 1


def test_the_office_manager_hears_what_the_branch_accounts_still_need(office_people, make):
    branch_account = make.account(
        office=office_people["branch"], tier="STREAMLINE", kamr=office_people["other_kamr"]
    )
    due = digest_of(weekly_digests("2021-W09"), office_people["manager"]).due
    assert {(item["account_no"], item["type"]) for item in due} == {
        (branch_account.account_no, "COM"),
        (branch_account.account_no, "RBA"),
    }
    assert not digest_of(weekly_digests("2021-W09"), office_people["kamr"]).due
