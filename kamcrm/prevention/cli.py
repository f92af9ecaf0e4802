"""``flask prevention``: record a complaint-prevention plan, submit a quarter report, list
a year's plans (CR2 plan 2.2). The commands call the prevention operations; each commits
once or, refused, changes nothing."""

from __future__ import annotations

from datetime import date

import click
import sqlalchemy as sa

from kamcrm.extensions import db
from kamcrm.org.models import User
from kamcrm.periods import bangkok_today
from kamcrm.prevention import operations
from kamcrm.prevention.queries import office_years, plan_offices
from kamcrm.transactions import CommandGroup

prevention_cli = CommandGroup(
    "prevention", help="Complaint-prevention plans and their quarter reports (CR2 plan 2.2)."
)


def _actor(username: str | None) -> User | None:
    if username is None:
        return None
    user = db.session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise click.BadParameter(f"no user is called {username!r}", param_hint="--actor")
    return user


_YEAR = click.option("--year", type=int, required=True, help="The plan's year (CE).")
_ACTOR = click.option(
    "--actor", "actor_name", help="Username recorded as the submitter and in the audit log."
)
_ON = click.option("--submitted-on", "submitted_on", help="YYYY-MM-DD (Bangkok); default today.")


@prevention_cli.command("plan")
@click.argument("office")
@_YEAR
@click.option("--title", required=True)
@click.option("--summary")
@_ON
@_ACTOR
def plan_command(office, year, title, summary, submitted_on, actor_name):
    """Record OFFICE's plan for the year, or replace it."""
    data = {"title": title, "summary": summary}
    if submitted_on:
        data["submitted_on"] = submitted_on
    plan = operations.record_plan(office, year, data, _actor(actor_name))
    click.echo(f"{office} {year}: plan submitted on {plan.submitted_on.isoformat()}")


@prevention_cli.command("report")
@click.argument("office")
@_YEAR
@click.option("--quarter", type=click.IntRange(1, 4), required=True)
@click.option("--text", required=True)
@_ON
@_ACTOR
def report_command(office, year, quarter, text, submitted_on, actor_name):
    """Submit (or replace) OFFICE's report on a quarter that has ended."""
    data = {"text": text}
    if submitted_on:
        data["submitted_on"] = submitted_on
    report = operations.submit_quarter_report(office, year, quarter, data, _actor(actor_name))
    record = operations.report_record(report)
    click.echo(
        f"{office} {year} Q{quarter}: submitted on {record['submitted_on']}, due by {record['due_on']}, "
        + ("on time" if record["on_time"] else "late")
    )


@prevention_cli.command("list")
@_YEAR
@click.option(
    "--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="Default today (Bangkok)."
)
def list_command(year, as_of):
    """List every class 1-3 office with its plan and the state of each quarter report."""
    day: date = as_of.date() if as_of else bangkok_today()
    offices = list(db.session.execute(plan_offices(None)).scalars())
    click.echo("office\tplan\tQ1\tQ2\tQ3\tQ4")
    for row in office_years(offices, year, day):
        plan = row.plan.submitted_on.isoformat() if row.plan else "none"
        click.echo("\t".join([row.office.code, plan, *(q.state for q in row.quarters)]))
