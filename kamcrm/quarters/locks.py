"""The quarter lock: activities dated in a closed quarter change only by staff, with a reason.

The same lock guards an account's ``opened_on`` and ``closed_on``: they decide which
accounts a quarter's coverage counts, so setting or moving one inside a closed quarter
changes that quarter's figures just as an activity would.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from kamcrm.db import ShortLivedAnswers
from kamcrm.errors import KamcrmError, Message, PeriodClosed, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.access import STAFF
from kamcrm.periods import quarter_label, quarter_of
from kamcrm.quarters.models import QuarterClose

#: Roles that may still change activities of a closed quarter: the staff.
CLOSED_QUARTER_ROLES = STAFF


#: Asked on every change of an activity; built once so its cache key is worked out once.
_CLOSE_OF_QUARTER = sa.select(QuarterClose).where(
    QuarterClose.year == sa.bindparam("year"),
    QuarterClose.quarter == sa.bindparam("quarter"),
    QuarterClose.reopened_at.is_(None),
)

_IS_CLOSED = _CLOSE_OF_QUARTER.with_only_columns(QuarterClose.id)


def closed_quarters() -> set[tuple[int, int]]:
    """Return (year, quarter) of every closed quarter (an import reads them once)."""
    return {
        (year, quarter)
        for year, quarter in db.session.execute(
            sa.select(QuarterClose.year, QuarterClose.quarter).where(
                QuarterClose.reopened_at.is_(None)
            )
        )
    }


def closed_quarter(day: date) -> QuarterClose | None:
    """Return the close of the quarter containing ``day`` if it is closed (not reopened)."""
    return db.session.execute(
        _CLOSE_OF_QUARTER, {"year": day.year, "quarter": quarter_of(day)}
    ).scalar_one_or_none()


#: What a closed quarter locks: its activities, and the accounts' opening and closing dates in it.
ACTIVITIES = "activities"
ACCOUNT_DATES = "account dates"


def ensure_period_open(day: date, actor, reason: str | None, *, subject: str = ACTIVITIES) -> None:
    """Refuse a change to an activity dated ``day`` (or, with ``subject`` ``ACCOUNT_DATES``,
    an account's opening or closing date ``day``) when its quarter is closed.

    ``actor`` None is the system (a CLI command run by an operator), treated like staff.
    Staff must give a reason, which the caller writes to the audit log.
    """
    year, quarter = day.year, quarter_of(day)
    if quarter_is_closed(year, quarter):
        refusal = closed_quarter_refusal(year, quarter, actor, reason, subject=subject)
        if refusal is not None:
            raise refusal


#: Seconds the answer "is this quarter closed?" is kept without asking the database again.
#:
#: Closing or reopening a quarter (or any change to ``quarter_closes`` through the ORM)
#: drops this process's answers at once and again at its commit; another process (the other
#: gunicorn workers, other hosts) may take a change made elsewhere at most this long after it
#: commits to see it. A close is a monthly act by regional staff, announced beforehand. 0
#: turns the cache off.
QUARTER_LOCK_CACHE_SECONDS = 5.0
_closed = ShortLivedAnswers("quarter_closes", QUARTER_LOCK_CACHE_SECONDS, (QuarterClose,))


def quarter_is_closed(year: int, quarter: int) -> bool:
    """Return whether the quarter is closed (and not reopened); asked on every change of an
    activity, so the answer is kept for ``QUARTER_LOCK_CACHE_SECONDS``."""
    known = _closed.get((year, quarter))
    if known is not None:
        return known
    closed = db.session.execute(_IS_CLOSED, {"year": year, "quarter": quarter}).first() is not None
    _closed.put(db.session(), (year, quarter), closed)
    return closed


def forget_closed_quarters() -> None:
    """Forget the kept answers (e.g. after closing quarters by SQL)."""
    _closed.clear()


def closed_quarter_refusal(
    year: int, quarter: int, actor, reason: str | None, *, subject: str = ACTIVITIES
) -> KamcrmError | None:
    """Return the error a change to an activity of the closed quarter meets, or None.

    The rule of the quarter lock, for one change (``ensure_period_open``) or for the rows of
    an import, which knows the closed quarters beforehand: only staff (or the system,
    ``actor`` None) may change, and only with a ``reason``.
    """
    label = quarter_label(year, quarter)
    if actor is not None and actor.role not in CLOSED_QUARTER_ROLES:
        if subject == ACCOUNT_DATES:
            return PeriodClosed(
                Message(
                    "Quarter %(quarter)s is closed; only regional staff can set an account's "
                    "opening or closing date in it.",
                    quarter=label,
                )
            )
        return PeriodClosed(
            Message(
                "Quarter %(quarter)s is closed; only regional staff can change its activities.",
                quarter=label,
            )
        )
    if not (reason and reason.strip()):
        return ValidationFailed(
            {
                "reason": [
                    Message(
                        "Quarter %(quarter)s is closed; give a reason for this change.",
                        quarter=label,
                    )
                ]
            },
            message=Message("Quarter %(quarter)s is closed; a reason is required.", quarter=label),
        )
    return None
