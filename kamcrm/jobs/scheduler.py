"""The scheduler process: APScheduler firing ``JOBS``, started only by ``flask jobs scheduler``.

Web workers never build a scheduler (``create_app`` does not), so no job runs once per
worker. Jobs live in memory, not in a job store: the list is code, and the database
claims (``kamcrm.jobs.claims``) are what keeps a second scheduler from running a period
twice. On start, and at every fire, each job runs every period due since its last done
run, so downtime is caught up.

Besides the periodic jobs, the scheduler looks for queued imports every
``IMPORT_POLL_SECONDS`` (uploads too large to import inside a web request; see
``kamcrm.imports.operations``) and runs them one after another.
"""

from __future__ import annotations

import logging
import signal

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from kamcrm.db import utcnow
from kamcrm.extensions import db
from kamcrm.jobs.runner import RunResult, run_due
from kamcrm.jobs.schedule import JOBS
from kamcrm.periods import BANGKOK

log = logging.getLogger(__name__)


def fire(app: Flask, names: tuple[str, ...] | None = None) -> list[RunResult]:
    """Run what is due now (of ``names``, or of every job) in a fresh app context."""
    with app.app_context():
        try:
            return run_due(utcnow(), names)
        finally:
            db.session.remove()


#: The APScheduler id of the queued-imports poll.
IMPORTS_JOB_ID = "queued_imports"


def fire_imports(app: Flask) -> list[int]:
    """Run every queued import (the ids run) in a fresh app context."""
    from kamcrm.imports.runner import run_queued_imports

    with app.app_context():
        try:
            return run_queued_imports()
        finally:
            db.session.remove()


def build_scheduler(
    app: Flask, scheduler_class: type[BaseScheduler] = BlockingScheduler
) -> BaseScheduler:
    """Return a scheduler (not started) with one APScheduler job per entry of ``JOBS``."""
    scheduler = scheduler_class(
        timezone=BANGKOK,
        # A fire that comes late (busy machine, clock jump) still runs, once; the claims
        # make any overlap harmless and the catch-up finds anything skipped.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    for job in JOBS:
        scheduler.add_job(
            fire,
            trigger=job.cadence.trigger(),
            args=(app, (job.name,)),
            id=job.name,
            name=job.description,
        )
    scheduler.add_job(
        fire_imports,
        trigger=IntervalTrigger(seconds=app.config["IMPORT_POLL_SECONDS"], timezone=BANGKOK),
        args=(app,),
        id=IMPORTS_JOB_ID,
        name="import the uploads queued for the background",
    )
    return scheduler


def serve(app: Flask) -> None:
    """Catch up on everything due, then fire jobs on schedule until SIGTERM or Ctrl-C."""
    fire(app)
    fire_imports(app)
    scheduler = build_scheduler(app)

    def stop(signum, frame):
        log.info("signal %s: stopping after the running jobs finish", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
