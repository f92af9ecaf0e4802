"""Imports in the background: queue an upload, and read how far its run is and what it did.

A web request never imports a large file itself: :func:`queue_import` keeps the upload in
``import_runs``, and the scheduler process runs it (``kamcrm.imports.runner``) with the very
``import_file`` the CLI and the small uploads use. Several web hosts share one database and
one scheduler, so the file is kept in the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from flask import current_app

from kamcrm.activities.operations import clean_reason
from kamcrm.db import utcnow
from kamcrm.errors import Message, NotFound
from kamcrm.extensions import db
from kamcrm.imports.importer import IMPORTERS, ImportResult, RowError
from kamcrm.imports.models import ImportRun
from kamcrm.imports.readers import too_large
from kamcrm.org.access import require


def queue_import(
    kind: str,
    stream: BinaryIO,
    filename: str,
    *,
    actor,
    reason: str | None = None,
    now: datetime | None = None,
    max_bytes: int | None = None,
) -> ImportRun:
    """Keep an upload of ``kind`` to be imported in the background by ``actor``; flush.

    What can be refused before reading a row is refused now, as ``import_file`` would: an
    unknown kind, a bad reason, a kind the actor may not import at all, a file over
    ``IMPORT_MAX_BYTES`` (``FileTooLarge``).
    """
    if kind not in IMPORTERS:
        raise ValueError(f"unknown kind of file {kind!r}")
    reason = clean_reason(reason)
    if IMPORTERS[kind].permission is not None:
        require(actor, IMPORTERS[kind].permission)
    if max_bytes is None:
        max_bytes = current_app.config["IMPORT_MAX_BYTES"]
    content = stream.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise too_large(filename, max_bytes)
    run = ImportRun(
        kind=kind,
        filename=(filename or kind)[:255],
        actor_id=actor.id if actor is not None else None,
        reason=reason,
        status="queued",
        content=content,
        size=len(content),
        rows_done=0,
        created_at=now or utcnow(),
    )
    db.session.add(run)
    db.session.flush()
    return run


def import_run_for(actor, run_id: int) -> ImportRun:
    """Return the run ``run_id`` as its uploader sees it; anyone else gets ``NotFound``."""
    run = db.session.get(ImportRun, run_id)
    if run is None or actor is None or run.actor_id != actor.id:
        raise NotFound(Message("no such import"))
    return run


@dataclass(frozen=True)
class RunProgress:
    """How far a run is: rows done, the estimated total, and the percentage (None: unknown)."""

    rows_done: int
    rows_total: int | None

    @property
    def percent(self) -> float | None:
        if not self.rows_total:
            return None
        return round(min(100.0, 100.0 * self.rows_done / self.rows_total), 1)


def progress_of(run: ImportRun) -> RunProgress:
    """Return the run's progress: 100 % once done, else what its runner last wrote."""
    if run.status == "done":
        rows = (run.result or {}).get("import", {}).get("rows", run.rows_done)
        return RunProgress(rows, rows)
    done, total = run.rows_done, run.rows_total
    if run.status == "running":
        written = read_progress_file(run.id)
        if written and written[0] > done:
            done, total = written
    return RunProgress(done, total)


def result_json(result: ImportResult) -> dict:
    """Return an import's result as JSON, each message with its id and values for pages."""
    data = result.as_dict()
    data["errors"] = [
        {
            "line": error.line,
            "field": error.field,
            "message": str(error.message),
            **message_parts(error.message),
        }
        for error in result.errors
    ]
    return data


def reported_errors(data: dict) -> list[RowError]:
    """Return a stored result's errors with their messages translatable again."""
    return [
        RowError(error["line"], error["field"], message_from(error))
        for error in data.get("errors", [])
    ]


def message_parts(message) -> dict:
    """Return a ``Message``'s id and values, JSON-ready (nothing for a plain string)."""
    if not isinstance(message, Message):
        return {}
    return {
        "msgid": message.msgid,
        "params": {
            name: value if isinstance(value, (int, float)) else str(value)
            for name, value in message.params.items()
        },
    }


def message_from(data: dict):
    """Return a stored message (``message``, ``msgid``, ``params``) as a translatable ``Message``."""
    if "msgid" not in data:
        return data["message"]
    try:
        return Message(data["msgid"], **data.get("params", {}))
    except (KeyError, TypeError, ValueError):
        return data["message"]


def progress_path(run_id: int) -> Path:
    """Return the file where a run's progress is kept on SQLite (see ``kamcrm.imports.runner``)."""
    return Path(current_app.instance_path) / "import_runs" / f"{run_id}.json"


def read_progress_file(run_id: int) -> tuple[int, int | None] | None:
    """Return (rows done, estimated total) from a run's progress file, or None."""
    try:
        data = json.loads(progress_path(run_id).read_text())
        return int(data["rows_done"]), data.get("rows_total")
    except (OSError, ValueError, KeyError, TypeError):
        return None
