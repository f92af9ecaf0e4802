"""In-app notifications, and their delivery by e-mail (SMTP) or to a file outbox.

A notification is first a row (the in-app message), committed with the job's work;
delivery happens after that commit, because an e-mail cannot be rolled back. When
``SMTP_HOST`` is set messages go out by SMTP; otherwise each is written as one ``.eml``
file into ``OUTBOX_DIR``, where people and tests can read it.
"""

from __future__ import annotations

import logging
import os
import smtplib
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, render_template

from kamcrm.extensions import db
from kamcrm.jobs.models import Notification
from kamcrm.org.models import User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobOutput:
    """What a job did, and the notifications to deliver once its work is committed."""

    message: str
    notification_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Message:
    """One notification to create: who gets it, and what it says."""

    user_id: int
    subject: str
    body: str


def notify_once(kind: str, messages: list[Message], now: datetime) -> list[int]:
    """Add the notifications of ``messages`` that the user has not got yet; return all their ids.

    A user "has" a message when a notification of the same kind and subject exists for
    them, so a job that runs again for the same period repeats nothing. Only flushes.
    """
    if not messages:
        return []
    subjects = {message.subject for message in messages}
    # Filtering by user first keeps this on the (user_id, read_at) index.
    existing = db.session.execute(
        sa.select(Notification.id, Notification.user_id, Notification.subject).where(
            Notification.user_id.in_({message.user_id for message in messages}),
            Notification.kind == kind,
            Notification.subject.in_(subjects),
        )
    ).all()
    held = {(row.user_id, row.subject): row.id for row in existing}
    ids = []
    for message in messages:
        known = held.get((message.user_id, message.subject))
        if known is not None:
            ids.append(known)
            continue
        row = Notification(
            user_id=message.user_id,
            kind=kind,
            subject=message.subject,
            body=message.body,
            created_at=now,
        )
        db.session.add(row)
        db.session.flush()
        held[(message.user_id, message.subject)] = row.id
        ids.append(row.id)
    return ids


@dataclass(frozen=True)
class Delivery:
    """What ``deliver`` did."""

    sent: int
    #: Notifications whose user has no e-mail address: in-app only.
    in_app_only: int
    failed: int
    #: ``smtp`` or ``outbox``.
    channel: str


def deliver(notification_ids: list[int], now: datetime) -> Delivery:
    """E-mail the unsent notifications among ``notification_ids`` and mark them sent.

    Each sent message is marked and committed at once, so a failure part way leaves
    exactly the unsent ones for the next attempt. One message that cannot be written or
    sent (a name or address the mail headers refuse, a recipient the server rejects) is
    logged and counted in ``failed``; the others still go.
    """
    channel = "smtp" if current_app.config.get("SMTP_HOST") else "outbox"
    if not notification_ids:
        return Delivery(0, 0, 0, channel)
    rows = db.session.execute(
        sa.select(Notification, User.email, User.full_name)
        .join(User, User.id == Notification.user_id)
        .where(Notification.id.in_(notification_ids), Notification.sent_at.is_(None))
        .order_by(Notification.id)
    ).all()
    pending = [(row.Notification, row.email, row.full_name) for row in rows if row.email]
    in_app_only = len(rows) - len(pending)
    sent = failed = 0
    with _transport(channel) as transport:
        for notification, email, full_name in pending:
            try:
                transport.send(compose(notification, email, full_name, now))
            except Exception:  # noqa: BLE001 — one bad message must not keep the rest from going
                log.exception(
                    "could not deliver notification %s to user %s",
                    notification.id,
                    notification.user_id,
                )
                failed += 1
                continue
            notification.sent_at = now
            db.session.commit()
            sent += 1
    return Delivery(sent, in_app_only, failed, channel)


def compose(notification: Notification, email: str, full_name: str, now: datetime) -> EmailMessage:
    """Return the e-mail of a notification: its plain text and an HTML alternative."""
    config = current_app.config
    message = EmailMessage()
    message["Subject"] = notification.subject
    message["From"] = config["MAIL_FROM"]
    message["To"] = recipient(full_name, email)
    if [address.addr_spec for address in message["To"].addresses] != [email]:
        # An address stored before addresses were checked (``a@b.example,eve@evil.example``).
        raise ValueError(f"the address of user {notification.user_id} is not one recipient")
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(idstring=f"kamcrm-{notification.kind}-{notification.id}")
    message.set_content(notification.body)
    message.add_alternative(
        render_template(
            "email/notification.html", subject=notification.subject, body=notification.body
        ),
        subtype="html",
    )
    return message


def recipient(full_name: str | None, email: str) -> Address:
    """Return the ``To`` of one person: their name and their one address.

    An ``Address`` object, not text: the header then quotes or encodes the name as a whole,
    so ``Name <eve@evil.example>, Name`` stays a name. (``email.utils.formataddr`` is not
    enough here: it hides a Thai name's ``<…>`` and commas inside an encoded word, which
    ``EmailMessage`` decodes and writes back unquoted, making them recipients again.)
    Line breaks and other control characters, refused in new names but perhaps stored
    earlier, become spaces; an address that is not exactly one address raises ValueError.
    """
    name = "".join(character if character.isprintable() else " " for character in full_name or "")
    return Address(display_name=" ".join(name.split()), addr_spec=email)


class _Outbox:
    """Writes each message as ``<Message-ID>.eml`` into a folder, atomically."""

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def __enter__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc_info):
        return False

    def send(self, message: EmailMessage) -> None:
        name = message["Message-ID"].strip("<>").replace("/", "_") + ".eml"
        # Written beside the target and renamed, so a reader never sees half a file.
        fd, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(message.as_bytes())
        os.replace(temporary, self.folder / name)


class _Smtp:
    """One SMTP connection for a batch of messages."""

    def __init__(self, config):
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def __enter__(self):
        host, port = self.config["SMTP_HOST"], int(self.config.get("SMTP_PORT") or 25)
        if port == 465:
            self.connection = smtplib.SMTP_SSL(host, port, timeout=30)
        else:
            self.connection = smtplib.SMTP(host, port, timeout=30)
            self.connection.ehlo()
            if self.connection.has_extn("starttls"):
                self.connection.starttls()
                self.connection.ehlo()
        if self.config.get("SMTP_USER"):
            self.connection.login(self.config["SMTP_USER"], self.config.get("SMTP_PASSWORD") or "")
        return self

    def __exit__(self, *exc_info):
        try:
            self.connection.quit()
        except (OSError, smtplib.SMTPException):
            pass
        return False

    def send(self, message: EmailMessage) -> None:
        self.connection.send_message(message)


def _transport(channel: str):
    config = current_app.config
    if channel == "smtp":
        return _Smtp(config)
    return _Outbox(config["OUTBOX_DIR"])
