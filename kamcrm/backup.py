"""``flask --app kamcrm backup``: a consistent copy of the SQLite database while kamcrm runs.

SQLite's online backup API copies the database page by page from one read snapshot, so
writes that commit during the copy are simply not in it, and a writer is never blocked for
longer than one step. The copy is written beside its target and renamed into place only when
it is complete and passes ``PRAGMA quick_check``, so a failed backup never leaves a file that
looks like a good one. PostgreSQL is backed up with ``pg_dump`` (README, "Backups").
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from kamcrm.errors import KamcrmError, Message

#: Pages copied per step of the online backup; between steps other connections may write.
PAGES_PER_STEP = 4096


class BackupError(KamcrmError):
    """The backup could not be made (wrong database kind, target exists, disk trouble)."""

    status = 409


def backup_sqlite(database: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Copy the SQLite database file ``database`` to ``target`` (which must not exist).

    Return the target's path. Raises ``BackupError`` when the target exists or the copy fails
    its integrity check.
    """
    target = Path(target)
    if target.exists():
        raise BackupError(
            Message(
                "The backup file %(path)s already exists; choose another name.", path=str(target)
            )
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{Path(database)}?mode=ro", uri=True)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy, pages=PAGES_PER_STEP)
        # The copy is a plain rollback-journal file, whatever the source's journal mode, so
        # it is complete in itself (no -wal file to carry along).
        copy.execute("PRAGMA journal_mode=DELETE")
        verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        copy.close()
        source.close()
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(
            Message(
                "The copy failed its integrity check (%(verdict)s); nothing was kept.",
                verdict=verdict,
            )
        )
    partial.replace(target)
    return target


def default_target(instance_path: str, now: datetime | None = None) -> Path:
    """``<instance>/backups/kamcrm-YYYYMMDDTHHMMSSZ.sqlite`` (UTC, so names sort by time)."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return Path(instance_path) / "backups" / f"kamcrm-{stamp}.sqlite"


@click.command("backup")
@click.option(
    "--to",
    "target",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: instance/backups/kamcrm-<UTC time>.sqlite).",
)
@with_appcontext
def backup_command(target: Path | None):
    """Write a consistent copy of the SQLite database while kamcrm keeps running."""
    from kamcrm.extensions import db

    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        libpq = url.set(drivername="postgresql").render_as_string(hide_password=True)
        raise click.ClickException(
            "This database is PostgreSQL: back it up with pg_dump, for example "
            f"pg_dump --format=custom --file=kamcrm.dump '{libpq}' (README, Backups)."
        )
    if not url.database or url.database == ":memory:":
        raise click.ClickException("An in-memory SQLite database has nothing to back up.")
    target = target or default_target(current_app.instance_path)
    try:
        written = backup_sqlite(url.database, target)
    except BackupError as error:
        raise click.ClickException(error.message) from None
    except (sqlite3.Error, OSError) as error:
        raise click.ClickException(f"The backup failed: {error}") from None
    size = written.stat().st_size
    click.echo(f"Backed up {url.database} to {written} ({size / 1_048_576:.1f} MB).")
