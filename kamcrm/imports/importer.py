"""Importing an interchange file (SPEC section 7), all or nothing.

:func:`import_file` is what the CLI command and the API call. It checks the header, then
validates every row and writes good rows in chunks inside one savepoint while it reads, so
memory stays flat however long the file is. If any row is bad, the savepoint is rolled back,
nothing is changed, and the result lists the first ``MAX_REPORTED_ERRORS`` problems as
``(line, field, message)`` and counts the rest (``more_errors``): a file of a million bad rows
once answered 234 MB of errors. The caller commits the session when ``result.ok``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, NamedTuple

import sqlalchemy as sa
from flask import current_app

from kamcrm.activities.operations import clean_reason
from kamcrm.audit.operations import record
from kamcrm.db import utcnow
from kamcrm.errors import Conflict, Message
from kamcrm.extensions import db
from kamcrm.imports.bulk import CHUNK_SIZE, Context
from kamcrm.imports.kinds import IMPORTERS
from kamcrm.imports.readers import TableFile, UnreadableFile, too_large
from kamcrm.org.access import require

#: The kinds of file, in the order a new region loads them.
KINDS = tuple(IMPORTERS)
#: Page cache of an SQLite connection while it imports (KiB); bounded so a million-row
#: import stays well under 1 GiB of memory.
SQLITE_CACHE_KIB = 256 * 1024
#: How often a long import reports progress: every this many rows, at most …
PROGRESS_EVERY = 1000
#: An import that creates or updates at least this many rows refreshes the planner's
#: statistics of its tables (``analyze_tables``): the CR2 and the lists are planned from
#: them, and a table that grew from nothing has none.
ANALYZE_ROWS = 10_000
#: SQLite's ANALYZE reads this many rows of each index (``PRAGMA analysis_limit``) instead
#: of every one: seconds for a million activities become a fraction of one.
SQLITE_ANALYSIS_LIMIT = 2000
#: … and at least this many seconds apart.
PROGRESS_SECONDS = 0.5
#: How many problems a refused file reports; the rest are only counted.
MAX_REPORTED_ERRORS = 1000


class RowError(NamedTuple):
    """One problem with one row: the line an editor shows, the field, and what is wrong."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


class ReportedErrors(list):
    """The problems of one import: the first ``limit`` kept, the others only counted."""

    def __init__(self, limit: int = MAX_REPORTED_ERRORS):
        super().__init__()
        self.limit = limit
        self.more = 0

    @property
    def full(self) -> bool:
        """Return whether further problems are only counted."""
        return len(self) >= self.limit

    def append(self, error: RowError) -> None:
        if len(self) < self.limit:
            super().append(error)
        else:
            self.more += 1

    def extend(self, errors) -> None:
        for error in errors:
            self.append(error)

    def count(self, problems: int) -> None:
        """Count ``problems`` more without keeping them (once ``full``)."""
        self.more += problems


@dataclass(frozen=True)
class ImportProgress:
    """How far a running import is: rows read, the share of the file read, seconds spent."""

    rows: int
    #: 0 to 1, or None when the file's size is unknown.
    fraction: float | None
    seconds: float

    @property
    def rows_total(self) -> int | None:
        """Return the estimated number of rows of the whole file (None: unknown)."""
        if not self.fraction or not self.rows:
            return None
        return max(self.rows, round(self.rows / self.fraction))


@dataclass
class ImportResult:
    """The outcome of one import; nothing was written unless ``ok``."""

    kind: str
    filename: str
    sha256: str | None = None
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    errors: list[RowError] = field(default_factory=ReportedErrors)

    @property
    def more_errors(self) -> int:
        """Return how many problems there were beyond the ``errors`` reported."""
        return getattr(self.errors, "more", 0)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.more_errors

    def as_dict(self) -> dict:
        """Return the result as JSON-ready data (the API's answer)."""
        return {
            "kind": self.kind,
            "filename": self.filename,
            "sha256": self.sha256,
            "ok": self.ok,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [
                {"line": e.line, "field": e.field, "message": e.message} for e in self.errors
            ],
            "more_errors": self.more_errors,
        }


def import_file(
    kind: str,
    stream: BinaryIO,
    filename: str,
    *,
    actor=None,
    reason: str | None = None,
    now: datetime | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
    max_bytes: int | None = None,
) -> ImportResult:
    """Import the file ``stream`` (binary; ``filename`` decides CSV or XLSX) of ``kind``.

    ``actor`` is the User importing (None: the system, e.g. the CLI) and ``reason`` the
    reason required to change activities in a closed quarter (longer than ``limits.REASON``,
    or holding a NUL: ``ValidationFailed``, before anything is read). ``now`` is the import's clock
    (default: the current time; it fills a blank ``recorded_at``). ``progress(ImportProgress)``
    is called every ``PROGRESS_EVERY`` rows, at most every ``PROGRESS_SECONDS``, and once at
    the end of the file. A file larger than ``max_bytes`` (default: the app's
    ``IMPORT_MAX_BYTES``) raises ``FileTooLarge`` as soon as its size is known. Each row is
    held to the actor's own rights, as the single operation it performs would be (see ``kamcrm.imports.bulk``); a kind whose
    every row needs one action (offices, users: admin) raises ``Forbidden`` before the file
    is read, as its direct routes answer.
    """
    if kind not in IMPORTERS:
        raise ValueError(f"unknown kind of file {kind!r}; expected one of {', '.join(KINDS)}")
    reason = clean_reason(reason)  # the audit log keeps it: bounded as every entry point's
    started = time.perf_counter()
    result = ImportResult(kind=kind, filename=filename)
    importer_class = IMPORTERS[kind]
    if importer_class.permission is not None:
        require(actor, importer_class.permission)
    if max_bytes is None:
        max_bytes = current_app.config["IMPORT_MAX_BYTES"]
    total_bytes = stream_size(stream)
    if total_bytes is not None and total_bytes > max_bytes:
        raise too_large(filename, max_bytes)
    try:
        table = TableFile(stream, filename, max_bytes=max_bytes)
    except UnreadableFile as error:
        result.errors.append(RowError(error.line, "file", error.message))
        return result
    try:
        return _import_table(
            table,
            importer_class,
            result,
            total_bytes,
            actor=actor,
            reason=reason,
            now=now,
            progress=progress,
            chunk_size=chunk_size,
            started=started,
        )
    finally:
        table.close()


def _import_table(
    table: TableFile,
    importer_class,
    result: ImportResult,
    total_bytes: int | None,
    *,
    actor,
    reason,
    now,
    progress,
    chunk_size,
    started,
) -> ImportResult:
    """Check the header and every row of an open file, writing the good rows; see ``import_file``."""
    kind, filename = result.kind, result.filename
    header_errors, readable = _check_header(table.header, importer_class)
    result.errors.extend(header_errors)
    if not readable:
        return result  # without its required columns the rows cannot be read
    # An unknown column is reported, and the rows are still checked without it.
    header = [name if name in importer_class.columns else "" for name in _trimmed(table.header)]
    width = len(header)
    rows = 0

    def rows_to_come() -> int | None:
        fraction = table.fraction_read(total_bytes)
        if not fraction or rows == 0:
            return None
        return int(rows * (1 - fraction) / fraction)

    reported_at = started

    def report() -> None:
        nonlocal reported_at
        reported_at = time.perf_counter()
        progress(ImportProgress(rows, table.fraction_read(total_bytes), reported_at - started))

    context = Context(
        header=[name for name in header if name],
        actor=actor,
        reason=reason,
        now=now or utcnow(),
        rows_to_come=rows_to_come,
    )
    savepoint = db.session.begin_nested()
    restore_cache = _widen_sqlite_cache()
    try:
        importer = importer_class(context)
        errors = result.errors
        try:
            for line, cells, problem in table.rows(width):
                rows += 1
                if (
                    progress is not None
                    and rows % PROGRESS_EVERY == 0
                    and (time.perf_counter() - reported_at >= PROGRESS_SECONDS)
                ):
                    report()
                if problem is not None:
                    errors.append(RowError(line, "file", problem))
                    continue
                row_errors = importer.check(line, dict(zip(header, cells)))
                if row_errors:
                    if errors.full:  # a file of bad rows: count them, keep nothing
                        errors.count(sum(map(len, row_errors.values())))
                    else:
                        errors.extend(
                            RowError(line, name, message)
                            for name, messages in row_errors.items()
                            for message in messages
                        )
                if len(importer.pending) >= chunk_size:
                    errors.extend(RowError(*error) for error in importer.flush(not errors))
        except UnreadableFile as error:
            errors.append(RowError(error.line, "file", error.message))
        if progress is not None:
            report()
        errors.extend(RowError(*error) for error in importer.finish(not errors))
        result.rows = rows
        result.sha256 = table.sha256
        if errors:
            errors.sort(key=lambda error: error.line)
            savepoint.rollback()
        else:
            result.created, result.updated, result.unchanged = (
                context.created,
                context.updated,
                context.unchanged,
            )
            record(
                "create",
                "imports",
                f"{kind}:{table.sha256[:16]}",
                actor=actor,
                reason=reason,
                after={
                    "kind": kind,
                    "file": filename,
                    "sha256": table.sha256,
                    "bytes": table.size,
                    "rows": rows,
                    "created": context.created,
                    "updated": context.updated,
                    "unchanged": context.unchanged,
                },
            )
            savepoint.commit()
            if context.created + context.updated >= ANALYZE_ROWS:
                analyze_tables(importer_class.analyzed_tables)
    except sa.exc.IntegrityError as error:
        # Every key was checked against what the import read; only a concurrent writer
        # can get here. Nothing of the file is kept.
        if savepoint.is_active:
            savepoint.rollback()
        raise Conflict(
            Message(
                "Another change to the same records was saved while %(file)s was being "
                "imported; nothing was imported. Import the file again.",
                file=filename,
            )
        ) from error
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    finally:
        restore_cache()
        # Rows were written with Core statements behind the ORM's back.
        db.session.expire_all()
    result.seconds = time.perf_counter() - started
    return result


def stream_size(stream: BinaryIO) -> int | None:
    """Return the size in bytes of a file or an in-memory upload, or None when unknown."""
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        pass
    try:
        position = stream.tell()
        end = stream.seek(0, 2)
        stream.seek(position)
        return end
    except (AttributeError, OSError, ValueError):
        return None


def analyze_tables(tables: tuple[str, ...]) -> None:
    """Refresh the planner statistics of ``tables`` in the current transaction.

    PostgreSQL's autovacuum would get there, later; SQLite never does on its own. On SQLite
    the sample is bounded (``SQLITE_ANALYSIS_LIMIT``) and the setting restored afterwards.
    """
    if not tables:
        return
    connection = db.session.connection()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        limit = connection.exec_driver_sql("PRAGMA analysis_limit").scalar()
        connection.exec_driver_sql(f"PRAGMA analysis_limit = {int(SQLITE_ANALYSIS_LIMIT)}")
    try:
        for name in tables:
            connection.exec_driver_sql(f'ANALYZE "{name}"')
    finally:
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA analysis_limit = {int(limit)}")


def _widen_sqlite_cache() -> Callable[[], None]:
    """Give an SQLite connection a page cache that holds a large import's index pages.

    With the default 2 MiB cache every row inserted at a random place of an index reads
    and spills pages; a wide cache halves the time of a million-row import. Return a
    function that restores the previous size (the connection goes back to the pool).
    """
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return lambda: None
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    return lambda: connection.exec_driver_sql(f"PRAGMA cache_size = {int(previous)}")


def _trimmed(header: list[str]) -> list[str]:
    """Drop the nameless columns a spreadsheet leaves at the right of a header."""
    header = list(header)
    while header and header[-1] == "":
        header.pop()
    return header


def _check_header(header: list[str] | None, importer_class) -> tuple[list[RowError], bool]:
    """Return the header's errors, and whether the rows can still be checked (only unknown
    columns are wrong: they are reported and left out)."""
    expected = ", ".join(importer_class.columns)
    if header is None:
        return [
            RowError(
                1,
                "file",
                Message(
                    "the file is empty; the first line must name the columns (%(expected)s)",
                    expected=expected,
                ),
            )
        ], False
    errors, readable = [], True
    seen = set()
    for position, name in enumerate(_trimmed(header), start=1):
        if name == "":
            errors.append(RowError(1, f"column {position}", Message("the column has no name")))
            readable = False
        elif name not in importer_class.columns:
            errors.append(
                RowError(
                    1,
                    name,
                    Message(
                        "unknown column; a file of %(kind)s has the columns %(expected)s",
                        kind=importer_class.kind,
                        expected=expected,
                    ),
                )
            )
        elif name in seen:
            errors.append(RowError(1, name, Message("the column appears twice")))
            readable = False
        seen.add(name)
    for name in importer_class.required:
        if name not in seen:
            errors.append(RowError(1, name, Message("required column missing")))
            readable = False
    return errors, readable
