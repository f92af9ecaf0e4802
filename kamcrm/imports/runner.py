"""Running background imports: claim a queued run, import it, write its progress and outcome.

The scheduler process (``flask jobs scheduler``; one per deployment) polls for queued runs
(``kamcrm.jobs.scheduler``); ``flask jobs imports`` runs them at once, and a one-process
server may run them in a thread (``IMPORT_RUNNER = "thread"``). Whoever runs them, a run is
claimed by an atomic compare-and-set UPDATE committed on its own, so two claimants never both
win, and imported by the same ``import_file`` as the CLI: all or nothing, every row held to the
uploader's rights. The run's outcome commits with the import's rows.

Progress: on PostgreSQL the runner writes rows done and the estimated total to the run's row
from a connection of its own, while the import's transaction stays open. SQLite has one writer
at a time and the import holds it, so there (one host by definition) the progress is a small
file in the instance folder instead.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, after_this_request, current_app
from sqlalchemy.orm import Session

from kamcrm.db import utcnow
from kamcrm.errors import KamcrmError
from kamcrm.extensions import db
from kamcrm.imports.importer import ImportProgress, import_file
from kamcrm.imports.models import ImportRun
from kamcrm.imports.operations import message_parts, progress_path, result_json
from kamcrm.process import claimant

log = logging.getLogger(__name__)

#: A running import silent for longer than this belongs to a process that died; nothing of
#: it was committed (all or nothing), so another runner may start it again.
STALE_AFTER = timedelta(hours=2)
#: How often a running import writes its progress.
PROGRESS_WRITE_SECONDS = 1.0


def claim_next_run(now: datetime, *, bind=None, claimed_by: str | None = None) -> int | None:
    """Claim the oldest queued run (or one whose runner died) and return its id, or None.

    A runner died when it has been silent for ``STALE_AFTER``, or at once when it was a
    process of this host that no longer exists. The claim commits on its own before any
    work, like a job's (``kamcrm.jobs.claims``).
    """
    bind = db.engine if bind is None else bind
    claimed_by = claimed_by or claimant()
    host = claimed_by.rpartition(":")[0]
    with Session(
        bind=bind, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        candidates = session.execute(
            sa.select(ImportRun.id, ImportRun.status, ImportRun.heartbeat_at, ImportRun.claimed_by)
            .where(
                sa.or_(
                    ImportRun.status == "queued",
                    sa.and_(
                        ImportRun.status == "running",
                        sa.or_(
                            ImportRun.heartbeat_at < now - STALE_AFTER,
                            ImportRun.claimed_by.startswith(f"{host}:", autoescape=True),
                        ),
                    ),
                )
            )
            .order_by(ImportRun.id)
            .limit(10)
        ).all()
        for candidate in candidates:
            if (
                candidate.status == "running"
                and candidate.heartbeat_at >= now - STALE_AFTER
                and (_alive_here(candidate.claimed_by, host))
            ):
                continue  # a live process of this host is on it
            seen = [ImportRun.status == candidate.status]
            if candidate.status == "running":
                seen.append(ImportRun.heartbeat_at == candidate.heartbeat_at)
            taken = session.execute(
                sa.update(ImportRun)
                .where(ImportRun.id == candidate.id, *seen)
                .values(status="running", claimed_by=claimed_by, started_at=now, heartbeat_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            session.commit()
            if taken == 1:
                return candidate.id
    return None


def _alive_here(claimed_by: str | None, host: str) -> bool:
    """Return whether the process ``host:pid`` that claimed a run still lives on this host.

    A scheduler stopped (or killed) in the middle of an import leaves its run ``running``;
    the next one on the same host need not wait ``STALE_AFTER`` to take it over.
    """
    claimed_host, _, pid = (claimed_by or "").rpartition(":")
    if claimed_host != host or not pid.isdigit():
        return True  # another host's process: only its silence tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def run_import(run_id: int) -> ImportRun:
    """Import the claimed run ``run_id`` and commit its outcome with its work.

    A good file commits its rows and ``done`` in one transaction; a refused one (bad rows,
    or an error such as a right the uploader lacks) commits nothing but ``failed`` and why.
    """
    from kamcrm.org.models import User

    run = db.session.get(ImportRun, run_id)
    actor = db.session.get(User, run.actor_id) if run.actor_id is not None else None
    content = run.content
    writer = _ProgressWriter(run_id)
    outcome: dict
    try:
        result = import_file(
            run.kind,
            io.BytesIO(content),
            run.filename,
            actor=actor,
            reason=run.reason,
            progress=writer,
        )
    except KamcrmError as error:
        db.session.rollback()
        outcome = {
            "import": None,
            "error": {
                "code": error.status,
                "message": str(error.message),
                **message_parts(error.message),
            },
        }
        status, rows = "failed", writer.rows
    except Exception as error:  # noqa: BLE001 — any failure must end the run, not leave it running
        db.session.rollback()
        log.exception("import run %s failed", run_id)
        outcome = {
            "import": None,
            "error": {"code": 500, "message": f"{type(error).__name__}: {error}"},
        }
        status, rows = "failed", writer.rows
    else:
        if not result.ok:
            db.session.rollback()  # the import kept nothing; only the run's outcome is written
        outcome = {"import": result_json(result), "error": None}
        status, rows = ("done" if result.ok else "failed"), result.rows
    finally:
        writer.close()
    run = db.session.get(ImportRun, run_id)
    run.status, run.result, run.content = status, outcome, None
    run.rows_done, run.rows_total = rows, rows
    run.finished_at = run.heartbeat_at = utcnow()
    db.session.commit()
    return run


def run_queued_imports(now: datetime | None = None, *, limit: int | None = None) -> list[int]:
    """Claim and run queued imports one after another until none is left (or ``limit``)."""
    ran = []
    while limit is None or len(ran) < limit:
        db.session.commit()  # each run starts from a snapshot that includes its claim
        run_id = claim_next_run(now or utcnow())
        if run_id is None:
            break
        run_import(run_id)
        ran.append(run_id)
    return ran


def start_in_thread(app: Flask) -> None:
    """Run the queued imports in a thread of this process (``IMPORT_RUNNER = "thread"``).

    For a single-process server without a scheduler (a developer's ``flask run``); the
    claims keep two threads or a scheduler from running one file twice.
    """

    def work() -> None:
        with app.app_context():
            try:
                run_queued_imports()
            finally:
                db.session.remove()

    threading.Thread(target=work, name="kamcrm-imports", daemon=True).start()


def start_after_this_request() -> None:
    """In a request that queued an import: start the runner thread once the request's commit
    has made the queued run visible to it, if ``IMPORT_RUNNER = "thread"`` (else the
    scheduler process picks the run up)."""
    app = current_app._get_current_object()
    if app.config.get("IMPORT_RUNNER") != "thread":
        return

    @after_this_request
    def start(response):
        start_in_thread(app)
        return response


class _ProgressWriter:
    """Write a running import's progress where other processes can read it, once a second."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.rows = 0
        self._written_at = 0.0
        self._on_sqlite = db.engine.dialect.name == "sqlite"
        self._path = progress_path(run_id) if self._on_sqlite else None

    def __call__(self, state: ImportProgress) -> None:
        self.rows = state.rows
        if time.monotonic() - self._written_at < PROGRESS_WRITE_SECONDS:
            return
        self._written_at = time.monotonic()
        if self._on_sqlite:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            scratch = self._path.with_suffix(".tmp")
            scratch.write_text(
                json.dumps({"rows_done": state.rows, "rows_total": state.rows_total})
            )
            os.replace(scratch, self._path)  # a reader sees the old file or the new, never half
            return
        # Its own connection, committed at once: the import's transaction stays open.
        with Session(bind=db.engine, join_transaction_mode="create_savepoint") as session:
            session.execute(
                sa.update(ImportRun)
                .where(ImportRun.id == self.run_id)
                .values(rows_done=state.rows, rows_total=state.rows_total, heartbeat_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            session.commit()

    def close(self) -> None:
        if self._path is not None:
            self._path.unlink(missing_ok=True)
