"""Running a job for a period: claim, work, commit once, and catch-up after downtime."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from kamcrm.extensions import db
from kamcrm.jobs.claims import STALE_AFTER, claim_run, fail_run, finish_run
from kamcrm.jobs.models import JobRun
from kamcrm.jobs.notify import JobOutput, deliver
from kamcrm.jobs.schedule import JOBS, Job, job_named

log = logging.getLogger(__name__)

#: Outcomes of a run: the work was done, someone else has (or had) it, or it failed.
OUTCOMES = ("done", "skipped", "failed")


@dataclass(frozen=True)
class RunResult:
    """What became of one (job, period)."""

    job: str
    period_key: str
    outcome: str
    message: str

    def __str__(self) -> str:
        return f"{self.job} {self.period_key}: {self.outcome} — {self.message}"


class PeriodNotDue(ValueError):
    """The period asked for has not fallen due yet."""


def resolve_period(job: Job, now: datetime, period_key: str | None = None) -> str:
    """Return the canonical key of ``period_key`` (default: the latest due period).

    Raise ValueError for a malformed key and ``PeriodNotDue`` for a period still ahead.
    """
    if period_key is None:
        return job.cadence.key(job.cadence.latest_due(now))
    start = job.cadence.parse(period_key)
    due = job.cadence.due_at(start)
    if due > now:
        raise PeriodNotDue(
            f"{job.name} for {job.cadence.key(start)} is not due until {due.isoformat()}"
        )
    return job.cadence.key(start)


def run_job(
    name: str, now: datetime, period_key: str | None = None, *, force: bool = False
) -> RunResult:
    """Claim and run job ``name`` for one period, committing its work and the claim's end.

    Errors in the work are caught: the work is rolled back, the run is marked failed
    (a later run retries it) and the result says why.
    """
    job = job_named(name)
    period = resolve_period(job, now, period_key)
    # A run is a transaction boundary. The caller's session (a scheduler or a command:
    # reads only) is ended first, so the work starts from a snapshot that includes the
    # claim: SQLite refuses to turn a read snapshot older than the claim into a write.
    db.session.commit()
    claim = claim_run(job.name, period, now, force=force)
    if not claim.won:
        log.info("%s %s skipped: %s", job.name, period, claim.note)
        return RunResult(job.name, period, "skipped", claim.note)
    try:
        output = job.function(period, now)
        if not isinstance(output, JobOutput):
            output = JobOutput(output)
        message = output.message
        finish_run(claim.run_id, now, message)
        db.session.commit()
    except Exception as error:  # noqa: BLE001 — any failure must end the claim, not leave it running
        db.session.rollback()
        log.exception("%s %s failed", job.name, period)
        reason = f"{type(error).__name__}: {error}"
        fail_run(claim.run_id, now, reason)
        return RunResult(job.name, period, "failed", reason)
    if output.notification_ids:
        message = f"{message}; {_deliver(output.notification_ids, now)}"
    if claim.note:
        message = f"{message} ({claim.note})"
    log.info("%s %s done: %s", job.name, period, message)
    return RunResult(job.name, period, "done", message)


def _deliver(notification_ids: list[int], now: datetime) -> str:
    """Send the run's notifications; a failure to send leaves them in-app, unsent."""
    try:
        delivery = deliver(notification_ids, now)
    except (OSError, smtplib.SMTPException) as error:
        db.session.rollback()
        log.exception("delivery failed")
        return f"not e-mailed: {type(error).__name__}: {error}"
    text = f"{delivery.sent} e-mailed via {delivery.channel}, {delivery.in_app_only} in-app only"
    return text + (f", {delivery.failed} failed to send" if delivery.failed else "")


def due_periods(job: Job, now: datetime) -> list[str]:
    """Return the periods of ``job`` to run now, oldest first.

    These are the periods due by ``now`` after the last one done, looking back at most
    ``job.catch_up`` periods; a period someone is running right now is left to them.
    """
    latest = job.cadence.latest_due(now)
    candidates = [
        job.cadence.key(job.cadence.shift(latest, -back)) for back in range(job.catch_up)
    ][::-1]
    runs = db.session.execute(
        sa.select(JobRun.period_key, JobRun.state, JobRun.started_at).where(
            JobRun.job == job.name, JobRun.period_key.in_(candidates)
        )
    ).all()
    done = [run.period_key for run in runs if run.state == "done"]
    busy = {
        run.period_key
        for run in runs
        if run.state == "running" and now - run.started_at <= STALE_AFTER
    }
    last_done = max(done, default="")
    # Keys of one job sort in time order, so "after the last done" is a string comparison.
    return [key for key in candidates if key > last_done and key not in busy]


def run_due(now: datetime, names: tuple[str, ...] | None = None) -> list[RunResult]:
    """Run every due period of every job (or of ``names``): the scheduler's tick and catch-up."""
    results = []
    for job in JOBS:
        if names is not None and job.name not in names:
            continue
        for period in due_periods(job, now):
            results.append(run_job(job.name, now, period))
    return results


@dataclass(frozen=True)
class JobStatus:
    """A line of ``jobs list``."""

    job: Job
    last_period: str | None
    last_state: str | None
    last_finished_at: datetime | None
    next_run_at: datetime


def job_statuses(now: datetime) -> list[JobStatus]:
    """Return every job with its latest run and its next due moment."""
    latest = (
        sa.select(JobRun.job, sa.func.max(JobRun.period_key).label("period_key"))
        .group_by(JobRun.job)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(JobRun.job, JobRun.period_key, JobRun.state, JobRun.finished_at).join(
            latest, sa.and_(JobRun.job == latest.c.job, JobRun.period_key == latest.c.period_key)
        )
    ).all()
    last = {row.job: row for row in rows}
    statuses = []
    for job in JOBS:
        row = last.get(job.name)
        statuses.append(
            JobStatus(
                job=job,
                last_period=row.period_key if row else None,
                last_state=row.state if row else None,
                last_finished_at=row.finished_at if row else None,
                next_run_at=job.cadence.next_due_at(now),
            )
        )
    return statuses
