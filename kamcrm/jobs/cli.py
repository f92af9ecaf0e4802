"""``flask jobs``: list the scheduled jobs, run one for a period, catch up, or run the scheduler."""

from __future__ import annotations

import logging
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from kamcrm.db import utcnow
from kamcrm.jobs.runner import PeriodNotDue, job_statuses, run_due, run_job
from kamcrm.jobs.schedule import UnknownJob
from kamcrm.periods import BANGKOK

jobs = AppGroup("jobs", help="Scheduled jobs: list them, run one, catch up, or run the scheduler.")


def _local(moment) -> str:
    return moment.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M") if moment else "-"


@jobs.command("list")
def list_jobs() -> None:
    """Show every job: its schedule, its latest run and when it runs next."""
    for status in job_statuses(utcnow()):
        last = "never"
        if status.last_period:
            last = f"{status.last_period} {status.last_state} {_local(status.last_finished_at)}"
        click.echo(f"{status.job.name}")
        click.echo(f"  {status.job.description}")
        click.echo(f"  schedule: {status.job.cadence.description}")
        click.echo(f"  last run: {last}")
        click.echo(f"  next run: {_local(status.next_run_at)} Asia/Bangkok")


@jobs.command("run")
@click.argument("name")
@click.option(
    "--period",
    help="Period to run for (YYYY-MM, YYYY-Qn, YYYY-Www or YYYY-MM-DD); default the latest due.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Run a period that is done already. Safe: the job only fills in what is missing "
    "(a reported summary is never replaced, a closed quarter is left, nobody is notified twice).",
)
def run(name: str, period: str | None, force: bool) -> None:
    """Run job NAME for one period, unless it is done or running elsewhere."""
    try:
        result = run_job(name, utcnow(), period, force=force)
    except UnknownJob as error:
        raise click.BadParameter(str(error), param_hint="NAME") from None
    except PeriodNotDue as error:
        raise click.ClickException(str(error)) from None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--period") from None
    click.echo(str(result))
    if result.outcome == "failed":
        sys.exit(1)


@jobs.command("catch-up")
def catch_up() -> None:
    """Run every period due since each job's last done run, then exit."""
    results = run_due(utcnow())
    for result in results:
        click.echo(str(result))
    if not results:
        click.echo("nothing is due")
    if any(result.outcome == "failed" for result in results):
        sys.exit(1)


@jobs.command("imports")
def imports() -> None:
    """Run the imports queued for the background now (the scheduler does so every few seconds)."""
    from kamcrm.extensions import db
    from kamcrm.imports.models import ImportRun
    from kamcrm.imports.runner import run_queued_imports

    ran = run_queued_imports()
    for run_id in ran:
        run = db.session.get(ImportRun, run_id)
        click.echo(
            f"import {run.id} ({run.kind}, {run.filename}): {run.status}, {run.rows_done:,} rows"
        )
    if not ran:
        click.echo("no import is queued")


@jobs.command("scheduler")
def scheduler() -> None:
    """Run the scheduler in the foreground (one process per deployment)."""
    from kamcrm.jobs.scheduler import serve

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve(current_app._get_current_object())
