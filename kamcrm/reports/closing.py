"""Quarter close and reopen (SPEC section 5), with the CR2 snapshot kept at closing.

The regional summary is due 15 days after a quarter ends; from the 16th day the quarter
closes. Closing keeps the CR2 JSON of the region and of every class 1-3 office as of the
quarter's last day; from then on activities dated in it change only by regional staff or
admins, with a reason (``kamcrm.quarters.locks``).

When closing is allowed (decided here, once):

* never before the quarter has ended;
* from the close date (the 16th day) on, by regional staff, admins, the scheduled job
  or the CLI operator;
* between the quarter's end and its close date only with ``force`` and only by an admin
  or the CLI operator, since offices may still be entering that quarter's activities.

A closed quarter is closed once; reopening (admins only, with a reason) keeps the row
with ``reopened_at`` set, and closing it again later takes a fresh snapshot.
"""

from __future__ import annotations

from datetime import date, datetime

import click
import sqlalchemy as sa

from kamcrm.audit.operations import record
from kamcrm.db import utcnow
from kamcrm.errors import Conflict, Forbidden, Message, NotFound, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.models import MANAGED_OFFICE_CLASSES, Office
from kamcrm.org.scope import region_scope, scope_of_office
from kamcrm.periods import (
    bangkok_today,
    quarter_close_date,
    quarter_label,
    quarter_of,
    quarter_window,
)
from kamcrm.quarters.models import QuarterClose
from kamcrm.transactions import CommandGroup


def quarter_close_row(year: int, quarter: int) -> QuarterClose | None:
    """Return the close row of a quarter (closed or reopened), or None if never closed."""
    return db.session.execute(
        sa.select(QuarterClose).where(QuarterClose.year == year, QuarterClose.quarter == quarter)
    ).scalar_one_or_none()


def cr2_snapshot(year: int, quarter: int) -> dict:
    """Return ``{scope code: CR2 JSON}`` for the region and each class 1-3 office, as of the
    quarter's last day."""
    from kamcrm.compliance.engine import cr2_report
    from kamcrm.compliance.targets import year_targets

    as_of = quarter_window(year, quarter).end
    targets = year_targets(year)
    region = region_scope()
    snapshot = {region.code: cr2_report(year, as_of, region, targets)}
    offices = db.session.execute(
        sa.select(Office)
        .where(Office.office_class.in_(MANAGED_OFFICE_CLASSES))
        .order_by(Office.code)
    ).scalars()
    for office in offices:
        snapshot[office.code] = cr2_report(year, as_of, scope_of_office(office), targets)
    return snapshot


def _check_reason(reason: str) -> None:
    if "\x00" in reason or len(reason) > 2000:
        raise ValidationFailed(
            {"reason": ["Write the reason as plain text of at most 2000 characters."]}
        )


def close_quarter(
    year: int,
    quarter: int,
    actor,
    now: datetime | None = None,
    *,
    force: bool = False,
    reason: str | None = None,
) -> QuarterClose:
    """Close a quarter and keep its CR2 snapshot; audited, flushes.

    Raises ``Forbidden`` for a role without ``periods.close`` (or a non-admin forcing),
    ``Conflict`` when the quarter has not ended, is not due and not forced, or is closed.
    """
    from kamcrm.org.access import require

    require(actor, "periods.close")
    if reason is not None:
        _check_reason(reason)
    now = now or utcnow()
    today = bangkok_today(now)
    label = quarter_label(year, quarter)
    window = quarter_window(year, quarter)
    due = quarter_close_date(year, quarter)
    if today <= window.end:
        raise Conflict(
            Message(
                "Quarter %(label)s has not ended yet; it closes on %(due)s.", label=label, due=due
            )
        )
    early = today < due
    if early and not force:
        raise Conflict(
            Message(
                "Quarter %(label)s closes on %(due)s: offices may still report it until then.",
                label=label,
                due=due,
            )
        )
    if early and actor is not None and actor.role != "admin":
        raise Forbidden(
            Message(
                "Only an administrator may close quarter %(label)s before %(due)s.",
                label=label,
                due=due,
            )
        )
    row = quarter_close_row(year, quarter)
    if row is not None and row.reopened_at is None:
        raise Conflict(Message("Quarter %(label)s is already closed.", label=label))
    snapshot = cr2_snapshot(year, quarter)
    actor_id = getattr(actor, "id", None)
    if row is None:
        row = QuarterClose(
            year=year, quarter=quarter, closed_at=now, closed_by_id=actor_id, snapshot=snapshot
        )
        db.session.add(row)
    else:
        row.closed_at, row.closed_by_id, row.snapshot = now, actor_id, snapshot
        row.reopened_at = row.reopened_by_id = None
    record(
        "close",
        "quarter_closes",
        label,
        actor=actor,
        reason=reason,
        after={"closed_at": now.isoformat(), "early": early, "scopes": sorted(snapshot)},
    )
    db.session.flush()
    return row


def reopen_quarter(
    year: int, quarter: int, actor, now: datetime | None = None, *, reason: str | None = None
) -> QuarterClose:
    """Reopen a closed quarter (admins only, with a reason); audited, flushes."""
    from kamcrm.org.access import require

    require(actor, "periods.reopen")
    label = quarter_label(year, quarter)
    if not (reason and reason.strip()):
        raise ValidationFailed(
            {"reason": [Message("Say why quarter %(label)s is reopened.", label=label)]}
        )
    _check_reason(reason)
    row = quarter_close_row(year, quarter)
    if row is None or row.reopened_at is not None:
        raise Conflict(Message("Quarter %(label)s is not closed.", label=label))
    now = now or utcnow()
    row.reopened_at, row.reopened_by_id = now, getattr(actor, "id", None)
    record(
        "reopen",
        "quarter_closes",
        label,
        actor=actor,
        reason=reason.strip(),
        before={"closed_at": row.closed_at.isoformat()},
        after={"reopened_at": now.isoformat()},
    )
    db.session.flush()
    return row


def last_due_quarter(today: date) -> tuple[int, int]:
    """Return the latest quarter whose close date is on or before ``today``."""
    year, quarter = today.year, quarter_of(today)
    while quarter_close_date(year, quarter) > today:
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return year, quarter


def close_due_quarter(now: datetime | None = None, actor=None) -> QuarterClose | None:
    """Close the latest quarter whose close date has come, if it was never closed.

    For the scheduled job: safe to run every day. A quarter an admin reopened stays open
    until someone closes it on purpose.
    """
    now = now or utcnow()
    year, quarter = last_due_quarter(bangkok_today(now))
    if quarter_close_row(year, quarter) is not None:
        return None
    return close_quarter(year, quarter, actor, now)


def closed_snapshot(user, year: int, quarter: int, office_code: str | None = None) -> dict:
    """Return the CR2 JSON kept when the quarter closed, for a scope ``user`` may see.

    ``NotFound`` when the quarter is not closed or the scope was not kept or is out of sight.
    """
    from kamcrm.org.access import require, scope_for

    require(user, "reports.cr2")
    scope = scope_for(user, office_code)
    row = quarter_close_row(year, quarter)
    label = quarter_label(year, quarter)
    if row is None or row.reopened_at is not None:
        raise NotFound(Message("Quarter %(label)s is not closed.", label=label))
    if scope.code not in row.snapshot:
        raise NotFound(
            Message(
                "The close of %(label)s kept no CR2 report for %(scope)s.",
                label=label,
                scope=scope.code,
            )
        )
    return row.snapshot[scope.code]


def quarter_closes() -> list[QuarterClose]:
    """Return every close row, latest quarter first."""
    return list(
        db.session.execute(
            sa.select(QuarterClose).order_by(QuarterClose.year.desc(), QuarterClose.quarter.desc())
        ).scalars()
    )


# --- flask periods … ------------------------------------------------------------------------

periods_cli = CommandGroup("periods", help="Close and reopen quarters.")


def _quarter_argument(ctx, param, value):
    from kamcrm.periods import parse_quarter

    try:
        return parse_quarter(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _actor(username: str | None):
    if username is None:
        return None
    from kamcrm.org.auth import find_user

    user = find_user(username)
    if user is None:
        raise click.ClickException(f"No user is called {username!r}.")
    return user


@periods_cli.command("close")
@click.argument("quarter", metavar="YYYY-Qn", callback=_quarter_argument)
@click.option("--force", is_flag=True, help="Close before the 16th day after the quarter's end.")
@click.option("--reason", help="Why (written to the audit log).")
@click.option("--by", "username", help="Record the change as this user (their role applies).")
def close_command(quarter, force, reason, username):
    """Close a quarter and keep its CR2 snapshot."""
    year, number = quarter
    row = close_quarter(year, number, _actor(username), force=force, reason=reason)
    click.echo(
        f"Quarter {quarter_label(year, number)} is closed; CR2 kept for "
        f"{', '.join(sorted(row.snapshot))}."
    )


@periods_cli.command("reopen")
@click.argument("quarter", metavar="YYYY-Qn", callback=_quarter_argument)
@click.option("--reason", required=True, help="Why the quarter is reopened (audited).")
@click.option("--by", "username", help="Record the change as this user (must be an admin).")
def reopen_command(quarter, reason, username):
    """Reopen a closed quarter."""
    year, number = quarter
    reopen_quarter(year, number, _actor(username), reason=reason)
    click.echo(f"Quarter {quarter_label(year, number)} is reopened.")


@periods_cli.command("list")
def list_command():
    """List closed and reopened quarters."""
    from kamcrm.periods import BANGKOK

    rows = quarter_closes()
    if not rows:
        click.echo("No quarter has been closed.")
    for row in rows:
        state = (
            "reopened " + row.reopened_at.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M")
            if row.reopened_at
            else "closed"
        )
        closed = row.closed_at.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M")
        click.echo(f"{quarter_label(row.year, row.quarter)}  closed {closed}  {state}")
