"""Claims: one ``job_runs`` row per (job, period), so each period's work happens once.

A claim is inserted and committed in a transaction of its own, before any work: the
unique key (job, period_key) lets exactly one of two racing schedulers (or a scheduler
and an operator) win; the loser's INSERT fails with an IntegrityError and it skips.

A row that already exists can be taken over only by an atomic compare-and-set UPDATE
on the state the taker saw, so two takers of the same row cannot both win either:

* ``failed`` — taken over by any run (a failed period is retried);
* ``running`` for longer than ``STALE_AFTER`` — the process that claimed it died; taken
  over by any run;
* ``running`` and fresh — never taken over, not even with ``force``: someone is on it;
* ``done`` — taken over only with ``force``; every job body only fills in what is
  missing for its period, so a forced rerun repeats no side effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kamcrm.extensions import db
from kamcrm.jobs.models import JobRun
from kamcrm.process import claimant

#: A ``running`` claim older than this belongs to a process that died (every job takes
#: seconds to minutes); a later run may take it over.
STALE_AFTER = timedelta(hours=2)
#: Longest message kept on a run.
MESSAGE_LIMIT = 2000


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to claim a run: ``run_id`` when won, else why not."""

    job: str
    period_key: str
    run_id: int | None
    #: Why the claim was refused, or what was taken over.
    note: str = ""

    @property
    def won(self) -> bool:
        return self.run_id is not None


def _own_session(bind) -> Session:
    # Tests hand over a Connection inside an outer transaction; a savepoint then stands
    # in for the commit. In production ``bind`` is the Engine and this is a real commit.
    return Session(bind=bind, join_transaction_mode="create_savepoint", expire_on_commit=False)


def claim_run(
    job: str,
    period_key: str,
    now: datetime,
    *,
    force: bool = False,
    bind=None,
    claimed_by: str | None = None,
) -> Claim:
    """Claim the run of ``job`` for ``period_key``, committing the claim on its own.

    ``bind`` (an Engine or Connection) defaults to the app's engine; tests pass a
    second one to race two claimants against the real database.
    """
    bind = db.engine if bind is None else bind
    claimed_by = claimed_by or claimant()
    with _own_session(bind) as session:
        run = JobRun(
            job=job, period_key=period_key, state="running", claimed_by=claimed_by, started_at=now
        )
        session.add(run)
        try:
            session.commit()
            return Claim(job, period_key, run.id)
        except sa.exc.IntegrityError:
            session.rollback()
        existing = session.execute(
            sa.select(JobRun).where(JobRun.job == job, JobRun.period_key == period_key)
        ).scalar_one()
        refusal = _refusal(existing, now, force)
        if refusal:
            return Claim(job, period_key, None, refusal)
        note = f"took over a {_state_text(existing, now)} run claimed by {existing.claimed_by}"
        taken = session.execute(
            sa.update(JobRun)
            .where(
                JobRun.id == existing.id,
                JobRun.state == existing.state,
                JobRun.started_at == existing.started_at,
                JobRun.claimed_by == existing.claimed_by,
            )
            .values(
                state="running",
                claimed_by=claimed_by,
                started_at=now,
                finished_at=None,
                message=note,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if taken != 1:
            return Claim(job, period_key, None, "another process claimed it a moment ago")
        return Claim(job, period_key, existing.id, note)


def _is_stale(run: JobRun, now: datetime) -> bool:
    return run.state == "running" and now - run.started_at > STALE_AFTER


def _state_text(run: JobRun, now: datetime) -> str:
    return "stale running" if _is_stale(run, now) else run.state


def _refusal(run: JobRun, now: datetime, force: bool) -> str:
    """Return why ``run`` may not be taken over, or '' if it may."""
    if run.state == "failed" or _is_stale(run, now):
        return ""
    if run.state == "running":
        return f"already running since {run.started_at.isoformat()} ({run.claimed_by})"
    if force:
        return ""
    finished = run.finished_at.isoformat() if run.finished_at else "?"
    return (
        f"already done at {finished} ({run.message or 'no message'}); use --force to run it again"
    )


def finish_run(run_id: int, now: datetime, message: str) -> None:
    """Mark a claimed run done in the current session, so it commits with the job's work."""
    db.session.execute(
        sa.update(JobRun)
        .where(JobRun.id == run_id)
        .values(state="done", finished_at=now, message=message[:MESSAGE_LIMIT])
        .execution_options(synchronize_session=False)
    )


def fail_run(run_id: int, now: datetime, message: str, *, bind=None) -> None:
    """Mark a claimed run failed in a transaction of its own (the job's was rolled back)."""
    bind = db.engine if bind is None else bind
    with _own_session(bind) as session:
        session.execute(
            sa.update(JobRun)
            .where(JobRun.id == run_id)
            .values(state="failed", finished_at=now, message=message[:MESSAGE_LIMIT])
            .execution_options(synchronize_session=False)
        )
        session.commit()
