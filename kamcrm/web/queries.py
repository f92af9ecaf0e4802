"""Read models for the pages: lists and tallies the domain modules do not already offer.

Each is one set-based query within the viewer's scope (``kamcrm.org.access``).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from kamcrm.accounts.models import Account
from kamcrm.activities.models import Activity
from kamcrm.activities.queries import (
    is_late_entry,
    is_overdue_plan,
    open_follow_ups,
    visible_activities,
)
from kamcrm.extensions import db
from kamcrm.org.models import Office, User
from kamcrm.org.scope import Scope


def kamrs_in_scope(scope: Scope) -> list[User]:
    """Return the active KAMRs attached to an office in ``scope``, by name."""
    return list(
        db.session.execute(
            sa.select(User)
            .where(User.role == "kamr", User.active.is_(True), scope.covers(User.office_id))
            .order_by(User.full_name)
        ).scalars()
    )


def accounts_per_kamr(scope: Scope, day: date) -> dict[int | None, int]:
    """Return the number of active accounts in ``scope`` per KAMR id (None: unassigned)."""
    from kamcrm.accounts.queries import active_on

    rows = db.session.execute(
        sa.select(Account.kamr_id, sa.func.count())
        .where(scope.covers(Account.office_id), active_on(day))
        .group_by(Account.kamr_id)
    ).all()
    return {kamr_id: count for kamr_id, count in rows}


def late_entries(scope: Scope, start: date, end: date) -> sa.Select:
    """Return a SELECT of the late activities in ``scope`` dated in [start, end], newest first."""
    return (
        sa.select(Activity)
        .join(Account, Account.id == Activity.account_id)
        .where(
            is_late_entry(),
            Activity.activity_date.between(start, end),
            scope.covers(Account.office_id),
        )
        .order_by(Activity.activity_date.desc(), Activity.id.desc())
        .options(
            selectinload(Activity.account),
            selectinload(Activity.performed_by),
            selectinload(Activity.recorded_by),
        )
    )


def late_entries_by_office(scope: Scope, start: date, end: date) -> list[tuple[Office, int, int]]:
    """Return (office, late, all recorded) for each office in ``scope`` with activities in range."""
    late = sa.func.sum(sa.case((is_late_entry(), 1), else_=0))
    rows = db.session.execute(
        sa.select(Account.office_id, late, sa.func.count())
        .join(Account, Account.id == Activity.account_id)
        .where(Activity.activity_date.between(start, end), scope.covers(Account.office_id))
        .group_by(Account.office_id)
    ).all()
    offices = {
        office.id: office
        for office in db.session.execute(
            sa.select(Office).where(Office.id.in_([row[0] for row in rows]))
        ).scalars()
    }
    found = [
        (offices[office_id], int(n_late or 0), int(n_all)) for office_id, n_late, n_all in rows
    ]
    return sorted(found, key=lambda row: (-row[1], row[0].code))


def distinct_values(query: sa.Select, column) -> list[str]:
    """Return the distinct non-blank values of ``column`` among the rows of ``query``."""
    inner = query.with_only_columns(column).where(column.is_not(None), column != "").distinct()
    return sorted(db.session.execute(inner).scalars())


def coverage_by_kamr(scope: Scope, pairs: list) -> dict:
    """Return ``{(pair index, kamr id): (population, met)}`` for each (rule, window) pair.

    The engine's coverage query grouped by KAMR: one pass over the scope's accounts and
    their activities for every pair at once (a UNION ALL of ``accounts_behind`` per pair
    read the accounts and their tier history once per pair). Groups with no population
    are left out.
    """
    from kamcrm.compliance.engine import coverage

    if not pairs:
        return {}
    found = coverage(scope, pairs, by_kamr=True)
    return {
        (index, kamr_id): (figures[pair].population, figures[pair].met)
        for kamr_id, figures in found.items()
        for index, pair in enumerate(pairs)
        if figures[pair].population
    }


def overdue_plans(user, today: date, limit: int = 100) -> list[Activity]:
    """Return planned activities dated before ``today`` still planned: a KAMR's own, or the scope's."""
    query = visible_activities(user).where(is_overdue_plan(today))
    if user.role == "kamr":
        query = query.where(Activity.performed_by_id == user.id)
    query = (
        query.options(selectinload(Activity.account)).order_by(Activity.activity_date).limit(limit)
    )
    return list(db.session.execute(query).scalars())


def overdue_follow_ups(user, today: date, limit: int = 100) -> list:
    """Return the open follow-ups past due that ``user`` should act on (the digest's own list)."""
    from datetime import timedelta

    due = open_follow_ups(today - timedelta(days=1)).subquery()
    return list(
        db.session.execute(sa.select(due).where(due.c.user_id == user.id).limit(limit)).all()
    )
