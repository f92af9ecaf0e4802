"""A user's name or address can add no recipient to kamcrm's e-mails, and one message that
cannot be written or sent never stops the others."""

from __future__ import annotations

import email
import email.policy
import email.utils
import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from kamcrm.activities.models import FollowUp
from kamcrm.extensions import db
from kamcrm.imports.importer import import_file
from kamcrm.jobs.models import Notification
from kamcrm.jobs.runner import run_job
from kamcrm.org.models import User
from kamcrm.periods import BANGKOK
from tests.test_api_support import api, world  # noqa: F401  (fixtures)

NOW = datetime(2021, 3, 1, 7, 30, tzinfo=BANGKOK)
MONDAY_JOB = datetime(2021, 3, 1, 7, 0, tzinfo=BANGKOK)
#: Names that try to be recipients: ASCII, and Thai (which the header encodes).
INJECTED_NAMES = [
    "Name <eve@evil.example>, Name",
    "สมชาย <eve@evil.example>, Name",
    "สมชาย Bcc: eve@evil.example",
    'สมชาย "x" eve@evil.example, \\ (c)',
]


class RecordingSmtp:
    """Stands in for smtplib.SMTP: keeps each message and the recipients smtplib derives."""

    sent: list = []

    def __init__(self, host, port, timeout):
        pass

    def ehlo(self):
        pass

    def has_extn(self, name):
        return False

    def send_message(self, message):
        # The RCPT TO list smtplib.SMTP.send_message derives from the message's headers.
        fields = [value for header in ("To", "Cc", "Bcc") for value in message.get_all(header, [])]
        recipients = [address for _, address in email.utils.getaddresses([str(f) for f in fields])]
        RecordingSmtp.sent.append((recipients, message.as_bytes()))

    def quit(self):
        pass


@pytest.fixture
def smtp(app, monkeypatch):
    RecordingSmtp.sent = []
    monkeypatch.setattr("smtplib.SMTP", RecordingSmtp)
    monkeypatch.setitem(app.config, "SMTP_HOST", "mail.pea.test")
    return RecordingSmtp


@pytest.fixture
def outbox(app, tmp_path, monkeypatch):
    folder = tmp_path / "outbox"
    monkeypatch.setitem(app.config, "OUTBOX_DIR", str(folder))
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    return folder


def _read_outbox(folder) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]


def _store_directly(user: User, **columns) -> None:
    """Write columns as an older version (or another tool) may have left them: no validation."""
    db.session.execute(sa.update(User).where(User.id == user.id).values(**columns))
    db.session.expire(user)


def _follow_up_for(make, user, office, due_on=date(2021, 2, 26)):
    activity = make.activity(
        make.account(office=office), performed_by=user, activity_date=date(2021, 2, 1)
    )
    db.session.add(FollowUp(activity=activity, action="ส่งใบเสนอราคา", due_on=due_on))
    db.session.flush()


@pytest.fixture
def office(make):
    return make.office(code="CBI")


@pytest.mark.parametrize("name", INJECTED_NAMES)
def test_a_name_with_an_address_and_a_comma_adds_no_recipient(make, office, smtp, name):
    user = make.user(office=office, email="somchai@example.test")
    _store_directly(user, full_name=name)
    _follow_up_for(make, user, office)
    db.session.commit()

    result = run_job("follow_up_reminders", NOW)

    assert result.outcome == "done" and "1 e-mailed via smtp" in result.message
    [(recipients, sent)] = smtp.sent
    assert recipients == ["somchai@example.test"]
    # ... and a mail program reading the message sent finds the same one address.
    received = email.message_from_bytes(sent, policy=email.policy.default)
    assert [(a.display_name, a.addr_spec) for a in received["To"].addresses] == [
        (name, "somchai@example.test")
    ]


def test_a_line_break_in_a_stored_name_stops_no_digest(make, office, outbox):
    people = [make.user(office=office, email=f"kamr{n}@example.test") for n in range(3)]
    _store_directly(people[1], full_name="สมชาย\r\nBcc: eve@evil.example")
    for person in people:
        _follow_up_for(make, person, office, due_on=date(2021, 2, 20))
    db.session.commit()

    result = run_job("weekly_digest", MONDAY_JOB, "2021-W09")

    assert result.outcome == "done" and "3 e-mailed via outbox" in result.message
    messages = _read_outbox(outbox)
    assert sorted(a.addr_spec for m in messages for a in m["To"].addresses) == [
        "kamr0@example.test",
        "kamr1@example.test",
        "kamr2@example.test",
    ]
    assert all(m["Bcc"] is None for m in messages)


def test_an_address_that_is_not_one_recipient_fails_alone(make, office, outbox):
    people = [make.user(office=office, email=f"kamr{n}@example.test") for n in range(3)]
    _store_directly(people[0], email="kamr0@example.test,eve@evil.example")
    for person in people:
        _follow_up_for(make, person, office)
    db.session.commit()

    result = run_job("follow_up_reminders", NOW)

    assert result.outcome == "done"
    assert "2 e-mailed via outbox" in result.message and "1 failed to send" in result.message
    addresses = sorted(a.addr_spec for m in _read_outbox(outbox) for a in m["To"].addresses)
    assert addresses == ["kamr1@example.test", "kamr2@example.test"]
    unsent = db.session.execute(
        sa.select(Notification.user_id).where(Notification.sent_at.is_(None))
    ).scalars()
    assert list(unsent) == [people[0].id]  # kept for a later attempt, in-app meanwhile


def test_a_digest_that_cannot_be_written_stops_no_other(make, office, outbox, monkeypatch):
    from kamcrm.jobs import digests

    people = [make.user(office=office, email=f"kamr{n}@example.test") for n in range(3)]
    for person in people:
        _follow_up_for(make, person, office, due_on=date(2021, 2, 20))
    db.session.commit()
    real_render = digests.render_template

    def render_failing_for_one(template, **context):
        if context.get("digest") is not None and context["digest"].user.id == people[2].id:
            raise ValueError("a broken item")
        return real_render(template, **context)

    monkeypatch.setattr(digests, "render_template", render_failing_for_one)
    result = run_job("weekly_digest", MONDAY_JOB, "2021-W09")

    assert result.outcome == "done"
    assert "sent 2 weekly digests" in result.message and "1 could not be written" in result.message
    assert len(_read_outbox(outbox)) == 2


BAD_NAMES = [
    "สมชาย\nใจดี",
    "Name\r\nBcc: eve@evil.example",
    "tab\tname",
    "esc\x1bname",
    "line\u2028sep",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_the_api_refuses_a_name_with_a_line_break_or_control_character(api, world, name):
    created = api(world.admin).post(
        "/users",
        json={"username": "kamr.c", "full_name": name, "role": "kamr", "office_code": "OB"},
    )
    changed = api(world.admin).patch("/users/kamr.a", json={"full_name": name})

    for response in (created, changed):
        assert response.status_code == 422
        assert "control characters" in response.get_json()["errors"]["full_name"][0]


@pytest.mark.parametrize(
    "address",
    [
        "a@b.example,eve@evil.example",
        "Eve<eve@evil.example>",
        "a@b.example\r\nbcc:eve@evil.example",
        "a@b@evil.example",
    ],
)
def test_the_api_refuses_an_address_that_is_not_one_address(api, world, address):
    response = api(world.admin).patch("/users/kamr.a", json={"email": address})

    assert response.status_code == 422 and "email" in response.get_json()["errors"]


@pytest.fixture
def admin(login_as, make):
    return login_as("admin", office=make.region())


def test_the_users_page_refuses_a_name_with_a_line_break(client, admin, office):
    client.set_cookie("lang", "en")
    response = client.post(
        "/admin/users",
        data={
            "username": "somchai",
            "full_name": "สมชาย\r\nใจดี",
            "role": "kamr",
            "office_code": "CBI",
            "password": "correct horse battery",
            "confirm": "correct horse battery",
        },
    )

    assert response.status_code == 422
    assert "must be one line without control characters" in response.get_data(as_text=True)
    assert (
        db.session.execute(sa.select(User).filter_by(username="somchai")).scalar_one_or_none()
        is None
    )


def test_the_thai_users_page_says_so_in_thai(client, admin, office):
    response = client.post(
        "/admin/users",
        data={
            "username": "somchai",
            "full_name": "สมชาย\nใจดี",
            "role": "kamr",
            "office_code": "CBI",
            "password": "correct horse battery",
            "confirm": "correct horse battery",
        },
    )

    assert response.status_code == 422 and "ต้องเป็นข้อความบรรทัดเดียว" in response.get_data(
        as_text=True
    )


def test_a_users_file_with_a_line_break_in_a_name_is_refused(make, office):
    text = 'username,full_name,role,office_code\nsomchai,"สมชาย\nใจดี",kamr,CBI\n'
    result = import_file("users", io.BytesIO(text.encode("utf-8")), "users.csv", now=NOW)

    assert not result.ok
    assert any(error.field == "full_name" for error in result.errors)
