"""The quarter lock: activities dated in a closed quarter change only by staff, with a reason.

The same lock guards an account's ``opened_on`` and ``closed_on``: they decide which
accounts a quarter's coverage counts, so setting or moving one inside a closed quarter
changes that quarter's figures just as an activity would.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

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


def closed_quarters() -> set[tuple[int, int]]:
    """Return (year, quarter) of every closed quarter (an import reads them once)."""
    return {
        (year, quarter) for year, quarter in db.session.execute(
            sa.select(QuarterClose.year, QuarterClose.quarter).where(QuarterClose.reopened_at.is_(None))
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
    closed = closed_quarter(day)
    if closed is not None:
        refusal = closed_quarter_refusal(closed.year, closed.quarter, actor, reason, subject=subject)
        if refusal is not None:
            raise refusal


def closed_quarter_refusal(year: int, quarter: int, actor, reason: str | None, *,
                           subject: str = ACTIVITIES) -> KamcrmError | None:
    """Return the error a change to an activity of the closed quarter meets, or None.

    The rule of the quarter lock, for one change (``ensure_period_open``) or for the rows of
    an import, which knows the closed quarters beforehand: only staff (or the system,
    ``actor`` None) may change, and only with a ``reason``.
    """
    label = quarter_label(year, quarter)
    if actor is not None and actor.role not in CLOSED_QUARTER_ROLES:
        if subject == ACCOUNT_DATES:
            return PeriodClosed(
                Message("Quarter %(quarter)s is closed; only regional staff can set an account's "
                        "opening or closing date in it.", quarter=label)
            )
        return PeriodClosed(
            Message("Quarter %(quarter)s is closed; only regional staff can change its activities.",
                    quarter=label)
        )
    if not (reason and reason.strip()):
        return ValidationFailed(
            {"reason": [Message("Quarter %(quarter)s is closed; give a reason for this change.",
                                quarter=label)]},
            message=Message("Quarter %(quarter)s is closed; a reason is required.", quarter=label),
        )
    return None
