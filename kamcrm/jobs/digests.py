"""Weekly digests for KAMRs and office managers, and daily follow-up reminders.

Each becomes one in-app notification per person per period (the period is in the
subject, so a rerun adds nothing), e-mailed after the job commits. The figures are
read set-based for everyone at once and then handed out per person.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import render_template
from sqlalchemy.orm import joinedload

from kamcrm.accounts.models import Account
from kamcrm.activities.models import Activity
from kamcrm.activities.queries import is_late_entry, is_overdue_plan, open_follow_ups
from kamcrm.complaints.models import Complaint
from kamcrm.complaints.queries import due_soon_filter, is_overdue, open_years, times_left, with_tier
from kamcrm.complaints.targets import complaint_targets
from kamcrm.extensions import db
from kamcrm.jobs.notify import JobOutput, Message, notify_once
from kamcrm.org.models import Office, User
from kamcrm.org.scope import region_scope
from kamcrm.periods import BANGKOK, bangkok_date, quarter_of, quarter_window, thai_date
from kamcrm.surveys import queries as survey_queries

log = logging.getLogger(__name__)

#: Follow-ups due within this many days are reminded of, besides the overdue ones.
REMINDER_DAYS = 3
#: Items of each list a digest spells out; the rest are counted.
DIGEST_LIST_LIMIT = 20
#: Roles that get a weekly digest.
DIGEST_ROLES = ("kamr", "office_manager")


def _bangkok_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BANGKOK)


# --- follow-up reminders -------------------------------------------------------------------


def send_follow_up_reminders(period_key: str, now: datetime) -> JobOutput:
    """Notify each person of their open follow-ups overdue or due within ``REMINDER_DAYS``."""
    today = date.fromisoformat(period_key)
    active = set(db.session.execute(sa.select(User.id).where(User.active.is_(True))).scalars())
    items = defaultdict(list)
    for row in db.session.execute(open_follow_ups(today + timedelta(days=REMINDER_DAYS))).all():
        if row.user_id in active:
            items[row.user_id].append(_follow_up_item(row, today))
    subject = f"[kamcrm] งานติดตามที่ครบกำหนด {thai_date(today)}"
    messages, failed = _write_each(
        sorted(items.items()),
        lambda entry: Message(
            entry[0],
            subject,
            render_template(
                "email/follow_up_reminder.txt", today=today, items=entry[1], thai_date=thai_date
            ),
        ),
    )
    ids = notify_once("follow_up_reminder", messages, now)
    count = sum(len(found) for found in items.values())
    return JobOutput(
        f"reminded {len(messages)} people of {count} follow-ups{_failures(failed)}", ids
    )


def _write_each(entries, write) -> tuple[list[Message], int]:
    """Return the message ``write`` makes of each entry, and how many it could not make.

    One person's message that fails (bad data in a name or an item) is logged and counted;
    it must not keep everyone else's from being written.
    """
    messages, failed = [], 0
    for entry in entries:
        try:
            messages.append(write(entry))
        except Exception:  # noqa: BLE001 — isolate one message; the run goes on
            log.exception(
                "could not write a notification (%r)",
                entry[0] if isinstance(entry, tuple) else entry,
            )
            failed += 1
    return messages, failed


def _failures(failed: int) -> str:
    return f"; {failed} could not be written (see the log)" if failed else ""


def _follow_up_item(row, today: date) -> dict:
    return {
        "id": row.id,
        "action": row.action,
        "due_on": row.due_on,
        "days_left": (row.due_on - today).days,
        "type": row.type,
        "activity_date": row.activity_date,
        "account_no": row.account_no,
        "account_name": row.account_name,
    }


# --- weekly digests ------------------------------------------------------------------------


@dataclass
class Digest:
    """What one person is told in a week."""

    user: User
    due: list[dict] = field(default_factory=list)
    overdue_follow_ups: list[dict] = field(default_factory=list)
    overdue_plans: list[dict] = field(default_factory=list)
    late_entries: list[dict] = field(default_factory=list)
    #: Open complaints close to (or past) their time limit (SPEC section 8).
    complaints: list[dict] = field(default_factory=list)
    #: An office manager's phone answers still missing this quarter, per job kind (SPEC section 9).
    survey_quota: dict = field(default_factory=dict)
    #: Jobs still to be phoned whose 15-day window shuts this week.
    survey_closing: list[dict] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (
            self.due
            or self.overdue_follow_ups
            or self.overdue_plans
            or self.late_entries
            or self.complaints
            or any(self.survey_quota.values())
            or self.survey_closing
        )


def week_start(period_key: str) -> date:
    """Return the Monday of ISO week ``YYYY-Www``."""
    year_text, week_text = period_key.upper().split("-W")
    return date.fromisocalendar(int(year_text), int(week_text), 1)


def weekly_digests(period_key: str) -> list[Digest]:
    """Return the digest of every active KAMR and office manager for the week ``period_key``.

    KAMRs hear about their own accounts and entries; an office manager about every
    account of the office and its branches.
    """
    monday = week_start(period_key)
    people = (
        db.session.execute(
            sa.select(User)
            .join(Office, Office.id == User.office_id)
            .where(User.active.is_(True), User.role.in_(DIGEST_ROLES))
            .order_by(User.id)
        )
        .scalars()
        .all()
    )
    digests = {person.id: Digest(person) for person in people}
    managers_of = defaultdict(list)
    for person in people:
        if person.role == "office_manager":
            managers_of[person.office_id].append(person.id)

    def readers(row) -> set[int]:
        """The KAMR of the account (or the person it concerns) and the managers above it."""
        found = (
            {row.user_id}
            if row.user_id in digests and digests[row.user_id].user.role == "kamr"
            else set()
        )
        found.update(managers_of.get(row.office_id, ()))
        found.update(managers_of.get(row.office_parent_id, ()))
        return found

    for row in db.session.execute(open_follow_ups(monday - timedelta(days=1))).all():
        for reader in readers(row):
            digests[reader].overdue_follow_ups.append(_follow_up_item(row, monday))
    for row in db.session.execute(_overdue_plans(monday)).all():
        for reader in readers(row):
            digests[reader].overdue_plans.append(_activity_item(row))
    for row in db.session.execute(_late_entries_recorded(monday - timedelta(days=7), monday)).all():
        for reader in readers(row):
            digests[reader].late_entries.append(_activity_item(row))
    for user_id, items in due_items(people, monday).items():
        digests[user_id].due.extend(items)
    for row, item in complaints_due_soon(_bangkok_midnight(monday)):
        for reader in readers(row):
            digests[reader].complaints.append(item)
    _add_survey_calls(digests, managers_of, monday)
    return list(digests.values())


def _add_survey_calls(digests: dict, managers_of: dict, monday: date) -> None:
    """Tell each office manager the call quota still missing this quarter (managers at a
    class 1-3 office with jobs this quarter) and the jobs whose window shuts this week, for
    the whole region at once."""
    if not managers_of:
        return
    region = region_scope()
    quarter = quarter_window(monday.year, quarter_of(monday))
    # An office with no job this quarter is not told of a quota it cannot work on.
    working = survey_queries.units_with_jobs(region, quarter.start, monday)
    for line in survey_queries.quota_progress(region, monday):
        if line.office.id not in working:
            continue
        for reader in managers_of.get(line.office.id, ()):
            digests[reader].survey_quota[line.kind] = line.missing
    parents = dict(db.session.execute(sa.select(Office.id, Office.parent_id)).all())
    for job, office_code in db.session.execute(
        survey_queries.closing_this_week(region, monday)
    ).all():
        item = {
            "ref": job.ref,
            "office_code": office_code,
            "kind": job.kind,
            "customer_name": job.customer_name,
            "phone": job.phone,
            "days_left": survey_queries.window_days_left(job.completed_on, monday),
        }
        for reader in set(managers_of.get(job.office_id, ())) | set(
            managers_of.get(parents.get(job.office_id), ())
        ):
            digests[reader].survey_closing.append(item)


def complaints_due_soon(now: datetime) -> list[tuple]:
    """Return ``(row, item)`` for every open complaint close to or past its limit at ``now``
    (``complaints.queries.is_due_soon``, the due list's rule), least time left first; the
    row names who hears of it (the assigned user, the office)."""
    statement = with_tier(due_soon_filter(sa.select(Complaint), now)).options(
        joinedload(Complaint.office), joinedload(Complaint.account)
    )
    found = []
    for complaint, left in times_left(
        [(row[0], row[1]) for row in db.session.execute(statement)], now
    ):
        row = _Reader(complaint.assigned_to_id, complaint.office_id, complaint.office.parent_id)
        found.append(
            (
                row,
                {
                    "ref": complaint.ref,
                    "category": complaint.category,
                    "urgent": complaint.urgent,
                    "received_at": complaint.received_at.astimezone(BANGKOK),
                    "account_no": complaint.account.account_no if complaint.account else None,
                    "hours_left": None if left is None else int(left.total_seconds() // 3600),
                },
            )
        )
    return sorted(found, key=lambda pair: (pair[1]["hours_left"] is None, pair[1]["hours_left"]))


def send_complaint_breaches(period_key: str, now: datetime) -> JobOutput:
    """Notify the office manager (of the handling office and of its parent) of each open
    complaint past a limit: its 2.1a limit, or the urgent hours of 2.1b. Once per complaint
    and limit: the subject names both, so later runs repeat nothing."""
    today = bangkok_date(now)
    managers_of = defaultdict(list)
    for user_id, office_id in db.session.execute(
        sa.select(User.id, User.office_id).where(
            User.active.is_(True), User.role == "office_manager"
        )
    ):
        managers_of[office_id].append(user_id)
    open_ones = sa.select(Complaint).where(Complaint.closed_at.is_(None))
    years = open_years(open_ones)
    breached = []
    day_limit = open_ones.where(is_overdue(today, years)).options(joinedload(Complaint.office))
    for complaint in db.session.execute(day_limit).scalars():
        breached.append((complaint, "days"))
    for complaint in db.session.execute(
        open_ones.where(Complaint.urgent.is_(True)).options(joinedload(Complaint.office))
    ).scalars():
        urgent = complaint_targets(complaint.received_on.year).item("2.1b")
        if urgent.limit_hours is not None and now - complaint.received_at > timedelta(
            hours=urgent.limit_hours
        ):
            breached.append((complaint, "hours"))
    messages = []
    for complaint, limit in breached:
        what = "เกิน 24 ชั่วโมง (เร่งด่วน)" if limit == "hours" else "เกินกำหนดเวลาแก้ไขของประเภท"
        subject = f"[kamcrm] ข้อร้องเรียน {complaint.ref} {what}"
        body = (
            f"ข้อร้องเรียน {complaint.ref} ({complaint.category}) รับเรื่องเมื่อ "
            f"{thai_date(bangkok_date(complaint.received_at))} ยังไม่ได้แก้ไขแล้วเสร็จ และ{what}\n"
        )
        readers = set(managers_of.get(complaint.office_id, ())) | set(
            managers_of.get(complaint.office.parent_id, ())
        )
        messages.extend(Message(user_id, subject, body) for user_id in sorted(readers))
    ids = notify_once("complaint_breach", messages, now)
    return JobOutput(f"{len(breached)} complaints past a limit; {len(messages)} notifications", ids)


@dataclass(frozen=True)
class _Reader:
    user_id: int | None
    office_id: int
    office_parent_id: int | None


def _activity_columns(user_column):
    return (
        user_column.label("user_id"),
        Activity.id,
        Activity.type,
        Activity.activity_date,
        Activity.recorded_at,
        Account.account_no,
        Account.name.label("account_name"),
        Account.office_id,
        Office.parent_id.label("office_parent_id"),
    )


def _overdue_plans(monday: date) -> sa.Select:
    """Plans overdue on ``monday`` (``activities.queries.is_overdue_plan``)."""
    return (
        sa.select(*_activity_columns(Activity.performed_by_id))
        .join(Account, Account.id == Activity.account_id)
        .join(Office, Office.id == Account.office_id)
        .where(is_overdue_plan(monday))
        .order_by(Activity.activity_date, Activity.id)
    )


def _late_entries_recorded(first_day: date, next_day: date) -> sa.Select:
    """Late entries recorded on ``first_day`` up to (not including) ``next_day``, Bangkok time.

    The (activity_date, is_late) index is bounded by the year before: a late entry for
    anything older is not news to anyone.
    """
    return (
        sa.select(*_activity_columns(Activity.performed_by_id))
        .join(Account, Account.id == Activity.account_id)
        .join(Office, Office.id == Account.office_id)
        .where(
            is_late_entry(),
            Activity.activity_date.between(date(first_day.year - 1, 1, 1), next_day),
            Activity.recorded_at >= _bangkok_midnight(first_day),
            Activity.recorded_at < _bangkok_midnight(next_day),
        )
        .order_by(Activity.recorded_at, Activity.id)
    )


def _activity_item(row) -> dict:
    return {
        "id": row.id,
        "type": row.type,
        "activity_date": row.activity_date,
        "recorded_at": row.recorded_at.astimezone(BANGKOK),
        "account_no": row.account_no,
        "account_name": row.account_name,
    }


def due_items(people: list[User], today: date) -> dict[int, list[dict]]:
    """Return ``{user id: due items}``: what each KAMR's and manager's accounts still need.

    The region's due list is read once (``kamcrm.compliance.due``, most urgent first);
    each item goes to the account's KAMR and to the managers of its office.
    """
    from kamcrm.compliance.due import due_list
    from kamcrm.org.scope import region_scope

    kamrs = {person.username: person.id for person in people if person.role == "kamr"}
    managers_of = defaultdict(set)
    for person in people:
        if person.role == "office_manager":
            managers_of[person.office_id].add(person.id)
    offices = {
        row.code: row
        for row in db.session.execute(sa.select(Office.code, Office.id, Office.parent_id))
    }
    found = defaultdict(list)
    for item in due_list(region_scope(), today):
        office = offices[item.office_code]
        readers = managers_of[office.id] | managers_of[office.parent_id]
        if item.kamr_username in kamrs:
            readers = readers | {kamrs[item.kamr_username]}
        for reader in readers:
            found[reader].append(asdict(item))
    return found


def send_weekly_digests(period_key: str, now: datetime) -> JobOutput:
    """Notify every KAMR and office manager with something to hear of their week's digest."""
    monday = week_start(period_key)
    subject = f"[kamcrm] สรุปงานประจำสัปดาห์ {period_key} ({thai_date(monday)})"
    messages, failed = _write_each(
        [digest for digest in weekly_digests(period_key) if not digest.is_empty],
        lambda digest: Message(
            digest.user.id,
            subject,
            render_template(
                "email/weekly_digest.txt",
                digest=digest,
                monday=monday,
                thai_date=thai_date,
                limit=DIGEST_LIST_LIMIT,
            ),
        ),
    )
    ids = notify_once("weekly_digest", messages, now)
    return JobOutput(
        f"sent {len(messages)} weekly digests for {period_key}{_failures(failed)}", ids
    )
