"""Reading the audit log back (regional staff and admins).

The log is read through ``audit_entries``, used by the API, the audit page and
``flask audit list``. Reading needs the reader's permission and user names, so this package
sits above ``org``; writing an entry (``kamcrm.audit``) sits below it, because every domain's
operation records its changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from kamcrm import limits
from kamcrm.audit.models import AuditEntry
from kamcrm.extensions import db
from kamcrm.periods import BANGKOK, FIRST_ACCOUNT_YEAR, LAST_YEAR

MAX_PER_PAGE = 200
#: The widest dates a filter means; anything beyond is cut to them.
_EARLIEST, _LATEST = date(FIRST_ACCOUNT_YEAR, 1, 1), date(LAST_YEAR, 12, 31)
#: ``actor`` filter value that selects changes made by the system (CLI, jobs).
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class AuditFilter:
    """What to look for; every field is optional and they combine with AND."""

    #: Table of the record, e.g. ``activities``.
    entity: str | None = None
    #: Natural key or id of the record, exactly.
    key: str | None = None
    #: Username of whoever made the change (``system`` for the system).
    actor: str | None = None
    action: str | None = None
    #: First and last Bangkok date of the change, inclusive.
    date_from: date | None = None
    date_to: date | None = None
    #: Words anywhere in the key, actor, reason or the values before/after.
    text: str | None = None


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first."""

    items: list[AuditEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _bangkok_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BANGKOK)


def _text_condition(text: str) -> sa.ColumnElement[bool]:
    needle = text.strip().lower()
    # SQLite keeps JSON with non-ASCII characters escaped (\u0e01…); search that form too.
    escaped = json.dumps(needle)[1:-1]
    columns = [
        AuditEntry.entity_key,
        AuditEntry.actor_name,
        AuditEntry.reason,
        sa.cast(AuditEntry.before, sa.Text),
        sa.cast(AuditEntry.after, sa.Text),
    ]
    conditions = []
    for column in columns:
        lowered = sa.func.lower(column)
        conditions.append(lowered.contains(needle, autoescape=True))
        if escaped != needle:
            conditions.append(lowered.contains(escaped, autoescape=True))
    return sa.or_(*conditions)


def audit_conditions(criteria: AuditFilter) -> list[sa.ColumnElement[bool]]:
    """Return the WHERE conditions of ``criteria``."""
    from kamcrm.org.models import User

    conditions = []
    searched = (criteria.entity, criteria.key, criteria.actor, criteria.action, criteria.text)
    if any(value and "\x00" in value for value in searched):
        return [sa.false()]  # nothing holds NUL (and PostgreSQL refuses to compare it)
    if criteria.entity:
        conditions.append(AuditEntry.entity == criteria.entity)
    if criteria.key:
        conditions.append(AuditEntry.entity_key == criteria.key)
    if criteria.action:
        conditions.append(AuditEntry.action == criteria.action)
    if criteria.actor:
        if criteria.actor == SYSTEM_ACTOR:
            conditions.append(AuditEntry.actor_id.is_(None))
        else:
            # By id (indexed), so a renamed user's earlier changes are still found.
            conditions.append(
                AuditEntry.actor_id.in_(sa.select(User.id).where(User.username == criteria.actor))
            )
    # Dates far outside any entry's (9999-12-31, 0001-01-01) are cut to the business years:
    # the day after 9999-12-31 does not exist, and year 1 is beyond what databases compare.
    if criteria.date_from:
        first = max(criteria.date_from, _EARLIEST)
        conditions.append(AuditEntry.occurred_at >= _bangkok_midnight_utc(first))
    if criteria.date_to:
        last = min(max(criteria.date_to, _EARLIEST), _LATEST)
        conditions.append(AuditEntry.occurred_at < _bangkok_midnight_utc(last + timedelta(days=1)))
    if criteria.text and criteria.text.strip():
        conditions.append(_text_condition(criteria.text))
    return conditions


def audit_entries(
    user, criteria: AuditFilter | None = None, page: int = 1, per_page: int = 50
) -> AuditPage:
    """Return one page of audit entries matching ``criteria``, newest first.

    Only ``audit.view`` holders (regional staff, admins; ``user`` None = the system) may
    read the log; others get ``Forbidden``. ``per_page`` is capped at 200.
    """
    from kamcrm.org.access import require

    require(user, "audit.view")
    criteria = criteria or AuditFilter()
    page = min(max(1, int(page)), limits.MAX_PAGE)
    per_page = min(MAX_PER_PAGE, max(1, int(per_page)))
    conditions = audit_conditions(criteria)
    total = db.session.execute(
        sa.select(sa.func.count()).select_from(AuditEntry).where(*conditions)
    ).scalar_one()
    items = list(
        db.session.execute(
            sa.select(AuditEntry)
            .where(*conditions)
            .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).scalars()
    )
    return AuditPage(items=items, total=total, page=page, per_page=per_page)
