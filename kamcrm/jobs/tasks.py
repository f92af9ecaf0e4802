"""The work of each scheduled job, for one period and an explicit ``now``.

Each function takes a period key and the moment it runs, calls the domain operation that
does the work (flushing only; the runner commits once), and returns what it did. A
function may instead return a ``JobOutput`` naming notifications to deliver after the
commit. Every one only fills in what is missing for its period, so a forced rerun
repeats nothing.
"""

from __future__ import annotations

from datetime import datetime

from kamcrm.jobs.notify import JobOutput
from kamcrm.periods import parse_month, parse_quarter


def monthly_summaries(period_key: str, now: datetime) -> str:
    """Keep the 'as reported' summaries of month ``period_key`` (``YYYY-MM``)."""
    from kamcrm.reports.monthly import keep_reported_summaries

    year, month = parse_month(period_key)
    return keep_reported_summaries(year, month, now)


def office_complaint_returns(period_key: str, now: datetime) -> str:
    """Keep the 'as reported' complaint returns of every class 1-3 office for month ``period_key``."""
    from kamcrm.reports.complaint_return import keep_reported_returns

    year, month = parse_month(period_key)
    return keep_reported_returns(year, month, now, region=False)


def region_complaint_return(period_key: str, now: datetime) -> str:
    """Keep the 'as reported' complaint return of the region for month ``period_key``."""
    from kamcrm.reports.complaint_return import keep_reported_returns

    year, month = parse_month(period_key)
    return keep_reported_returns(year, month, now, region=True)


def quarter_close(period_key: str, now: datetime) -> str:
    """Close quarter ``period_key`` (``YYYY-Qn``) and keep its CR2 snapshot.

    A quarter that has a close already is left alone, including one an admin reopened:
    reopening is a deliberate decision the schedule must not undo.
    """
    import sqlalchemy as sa

    from kamcrm.extensions import db
    from kamcrm.quarters.models import QuarterClose
    from kamcrm.reports.closing import close_quarter

    year, quarter = parse_quarter(period_key)
    existing = db.session.execute(
        sa.select(QuarterClose).where(QuarterClose.year == year, QuarterClose.quarter == quarter)
    ).scalar_one_or_none()
    if existing is not None:
        state = "reopened" if existing.reopened_at else "closed"
        return f"{period_key} was {state} already ({existing.closed_at.isoformat()}); left as it is"
    close_quarter(year, quarter, None, now)
    return f"closed {period_key}"


def weekly_digests(period_key: str, now: datetime) -> JobOutput:
    """Send every KAMR and office manager the digest of the week ``period_key`` (``YYYY-Www``)."""
    from kamcrm.jobs.digests import send_weekly_digests

    return send_weekly_digests(period_key, now)


def follow_up_reminders(period_key: str, now: datetime) -> JobOutput:
    """Remind assignees of open follow-ups due soon or overdue on day ``period_key``."""
    from kamcrm.jobs.digests import send_follow_up_reminders

    return send_follow_up_reminders(period_key, now)


def session_cleanup(period_key: str, now: datetime) -> str:
    """Delete the page sessions that ran out (idle or absolute lifetime) by ``now``."""
    from kamcrm.org.sessions import purge_sessions

    return f"deleted {purge_sessions(now)} ended page sessions"


def complaint_breaches(period_key: str, now: datetime) -> JobOutput:
    """Notify office managers of open complaints past a limit (once per complaint and limit)."""
    from kamcrm.jobs.digests import send_complaint_breaches

    return send_complaint_breaches(period_key, now)
