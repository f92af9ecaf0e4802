"""Reading activities: as a given person may (on accounts in their scope only), and the
rules that pick activities out, each written once for the pages, the API, the digests and
the reports: a late entry, an overdue plan, an open follow-up that is due.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from kamcrm.accounts.models import Account
from kamcrm.activities.access import require_activity_change
from kamcrm.activities.models import Activity, FollowUp
from kamcrm.errors import Forbidden, Message, NotFound
from kamcrm.extensions import db
from kamcrm.org.access import can, scope_of
from kamcrm.org.models import Office


def is_late_entry() -> sa.ColumnElement[bool]:
    """A late entry: a done activity recorded after its period's deadline (``is_late``).

    Only done activities count: a plan is not an entry of work, so a plan recorded "late"
    is not late work. The monthly summary, the late-entries page and the weekly digest all
    use this one condition.
    """
    return sa.and_(Activity.status == "done", Activity.is_late.is_(True))


def is_overdue_plan(today: date) -> sa.ColumnElement[bool]:
    """An overdue plan: still planned, dated before ``today`` (Bangkok).

    Every such plan counts, however old: a plan nobody marked done or dropped is still
    undone, and the lists that show them (pages, digests) count what they do not spell out.
    """
    return sa.and_(Activity.status == "planned", Activity.activity_date < today)


def open_follow_ups(due_by: date) -> sa.Select:
    """Return a SELECT of the open follow-ups due on or before ``due_by``, with who should act.

    The one to act is the assignee, or the person who performed the activity when nobody
    was assigned. Walks the (done_on, due_on) index.
    """
    recipient = sa.func.coalesce(FollowUp.assignee_id, Activity.performed_by_id)
    return (
        sa.select(
            recipient.label("user_id"),
            FollowUp.id,
            FollowUp.action,
            FollowUp.due_on,
            Activity.type,
            Activity.activity_date,
            Account.account_no,
            Account.name.label("account_name"),
            Account.office_id,
            Office.parent_id.label("office_parent_id"),
        )
        .join(Activity, Activity.id == FollowUp.activity_id)
        .join(Account, Account.id == Activity.account_id)
        .join(Office, Office.id == Account.office_id)
        .where(FollowUp.done_on.is_(None), FollowUp.due_on <= due_by)
        .order_by(FollowUp.due_on, FollowUp.id)
    )


def visible_activities(user) -> sa.Select:
    """Return a SELECT of the activities on accounts ``user`` sees."""
    statement = sa.select(Activity)
    scope = scope_of(user)
    if scope is None or scope.is_region:
        return statement
    return statement.join(Account, Activity.account_id == Account.id).where(
        scope.covers(Account.office_id)
    )


def activity_for(user, activity_id: int, action: str = "activities.view"):
    """Return activity ``activity_id`` if ``user`` sees it; raises like ``account_for``."""
    activity = db.session.execute(
        visible_activities(user).where(Activity.id == activity_id)
    ).scalar_one_or_none()
    if activity is None:
        raise NotFound(Message("No activity has the id %(id)s.", id=activity_id))
    if action.startswith("activities.") and action != "activities.view":
        require_activity_change(user, action.split(".", 1)[1], activity.type, None)
    elif not can(user, action):
        raise Forbidden(Message("Your role may not do this (%(action)s).", action=action))
    return activity
