"""The bulk writer every import kind builds on: check rows, then write them set-based in chunks.

Every importer (a subclass of ``Importer``, one per kind of file, listed in
``kamcrm.imports.kinds.IMPORTERS``) works the same way: ``check(line, raw)`` validates one row
against lookups loaded once (no SQL per row) and keeps the good ones; ``flush(write)`` writes
the kept rows with set-based Core statements; ``finish(write)`` writes what is left. ``write``
is False once any row was bad: the rest of the file is still checked, so that every bad row is
reported, but nothing more is written (the caller rolls back what was).

Existing records are matched by their key (code, username, account number, account and
date, activity ref) and updated (``Importer.upsert``); a column the file leaves out stays as it
is, a blank cell clears it. Audit: creates are covered by the one entry the import writes for
the whole file (with its SHA-256); every change to an existing record gets its own entry with
the fields before and after, in the file's terms (``describer`` turns ids back into codes).

Rights: an import may write only what its actor could write one operation at a time, checked
by the permission layer (``kamcrm.org.access``) row by row. A kind whose every row needs one
action names it in ``Importer.permission``, which ``import_file`` requires before reading the
file; the other kinds check each row against the actor's scope (``Importer.sees``) and role,
and a refused row is a line-numbered error, so nothing is stored. The system (``actor`` None,
the CLI's operator) may do everything, within the quarter lock.

New rows go in with ``insert_rows`` (COPY on PostgreSQL, ``executemany`` elsewhere), or, for a
kind that builds its own tuples, ``copy_rows``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timezone
from operator import attrgetter
from typing import Any, NamedTuple

import sqlalchemy as sa

from kamcrm.audit.operations import Change, record_many
from kamcrm.errors import Message
from kamcrm.extensions import db
from kamcrm.org.access import office_ids_in_scope
from kamcrm.periods import bangkok_today

#: A row's problems by field, as the domain validators return them.
Errors = dict[str, list[str]]
#: Problems found while writing: (line, field, message).
RowErrors = list[tuple[int, str, str]]
#: ``describe(column, value)`` → ``(field, value)``: a column value in its file form.
Describe = Callable[[str, Any], tuple[str, Any]]

#: Rows written per statement: large enough to amortise round trips, small enough to keep
#: memory flat however long the file is.
CHUNK_SIZE = 5000
#: Keys per ``IN (...)`` list when rows are looked up by key.
LOOKUP_BATCH = 1000


class Upserted(NamedTuple):
    """What an upsert did: the ids of the keys that existed, and the keys inserted or updated."""

    existing: dict[Any, int]
    changed: set[Any]


class Context:
    """What every importer of one run shares: actor, reason, clock, header and counters."""

    def __init__(
        self,
        *,
        header: list[str],
        actor=None,
        reason: str | None = None,
        now: datetime,
        rows_to_come=lambda: None,
    ):
        self.header = set(header)
        #: Estimate of the rows of the file not read yet (None: unknown).
        self.rows_to_come = rows_to_come
        self.actor = actor
        self.reason = reason
        self.now = now
        self.today = bangkok_today(now)
        self.created = 0
        self.updated = 0
        self.unchanged = 0
        self.audit: list[Change] = []

    def audit_update(self, entity: str, key: str, before: dict, after: dict) -> None:
        """Queue an audit entry for a change to an existing record."""
        self.audit.append(Change("update", entity, str(key)[:100], before, after))

    def write_audit(self) -> None:
        """Write the queued audit entries (by the import's actor, with its reason and clock)."""
        if self.audit:
            record_many(self.audit, actor=self.actor, reason=self.reason, occurred_at=self.now)
            self.audit = []


class Importer:
    """Base of the importers of one kind of file."""

    kind: str = ""
    #: The file's columns (SPEC section 7) and those of them that are required.
    columns: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    #: The action every row of the kind needs (None: decided row by row).
    permission: str | None = None
    #: Tables whose planner statistics a large import of the kind refreshes (``ANALYZE``).
    analyzed_tables: tuple[str, ...] = ()

    def __init__(self, context: Context):
        self.context = context
        self.pending: list[tuple[int, dict]] = []
        self.seen: dict[Any, int] = {}
        #: Ids of the offices the actor sees (None: every office).
        self.visible = office_ids_in_scope(context.actor)

    def sees(self, office_id: int | None) -> bool:
        """Return whether the office ``office_id`` is in the actor's scope."""
        return self.visible is None or office_id in self.visible

    def check(self, line: int, raw: dict) -> Errors | None:
        """Validate one row; keep it for writing when good, else return its errors."""
        raise NotImplementedError

    def flush(self, write: bool) -> RowErrors:
        """Write (or, when ``write`` is False, only finish checking) the rows kept so far."""
        self.pending = []
        return []

    def finish(self, write: bool) -> RowErrors:
        """Flush what is left; return errors found only now."""
        return self.flush(write)

    def duplicate(self, key: Any, line: int, field: str, shown: str, errors: Errors) -> None:
        """Report a key seen earlier in the same file."""
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = line
        else:
            errors.setdefault(field, []).append(
                Message(
                    "%(shown)s appears again (first on line %(first)s)", shown=shown, first=first
                )
            )

    def upsert(
        self,
        table: sa.Table,
        key_columns: tuple[str, ...],
        rows: list[dict],
        update_columns: list[str],
        *,
        entity: str,
        describe: Describe,
        versioned: bool = False,
        counted: bool = True,
    ) -> Upserted:
        """Insert the rows whose key is new, update the changed ones.

        ``describe(name, value)`` turns a column value into its file form for the audit log
        (ids into codes, see ``describer``); it returns ``(field, value)``. ``counted`` False
        keeps the rows out of the import's counts (the tier rows of an accounts file, which
        counts accounts).
        """
        if not rows:
            return Upserted({}, set())
        context = self.context
        key_of = (
            (lambda row: row[key_columns[0]])
            if len(key_columns) == 1
            else (lambda row: tuple(row[name] for name in key_columns))
        )
        existing = _stored_by_key(table, key_columns, update_columns, rows, key_of)
        inserts, updates, changed_keys = [], [], set()
        unchanged = 0
        for row in rows:
            key = key_of(row)
            old = existing.get(key)
            if old is None:
                changed_keys.add(key)
                inserts.append(
                    {
                        **row,
                        "created_at": context.now,
                        "updated_at": context.now,
                        **({"version": 1} if versioned else {}),
                    }
                )
                continue
            changed = [name for name in update_columns if old[name] != row[name]]
            if not changed:
                unchanged += 1
                continue
            updates.append(
                {
                    **{"v_" + name: row[name] for name in update_columns},
                    "_id": old["id"],
                    "v_updated_at": context.now,
                }
            )
            changed_keys.add(key)
            before = dict(describe(name, old[name]) for name in changed)
            after = dict(describe(name, row[name]) for name in changed)
            context.audit_update(entity, _key_text(key, describe, key_columns), before, after)
        if inserts:
            insert_rows(table, inserts)
        if updates:
            _update_rows(table, update_columns, updates, versioned=versioned)
        if counted:
            context.created += len(inserts)
            context.updated += len(updates)
            context.unchanged += unchanged
        context.write_audit()
        return Upserted({key: old["id"] for key, old in existing.items()}, changed_keys)

    def present(self, columns: dict[str, str]) -> list[str]:
        """Return the table columns whose source field is in the file (``columns``: column → field)."""
        return [column for column, field in columns.items() if field in self.context.header]


def _stored_by_key(
    table: sa.Table,
    key_columns: tuple[str, ...],
    update_columns: list[str],
    rows: list[dict],
    key_of: Callable[[Any], Any],
) -> dict[Any, Any]:
    """Return the stored rows (id, key and ``update_columns``) whose key one of ``rows`` has."""
    existing = {}
    wanted = [
        table.c.id,
        *(table.c[name] for name in key_columns),
        *(table.c[name] for name in update_columns if name not in key_columns),
    ]
    # Look rows up by the first key column only: PostgreSQL plans a row-value IN list
    # as a filter over the whole table. The whole key is matched here.
    firsts = sorted({row[key_columns[0]] for row in rows})
    wanted_keys = {key_of(row) for row in rows}
    for start in range(0, len(firsts), LOOKUP_BATCH):
        query = sa.select(*wanted).where(
            table.c[key_columns[0]].in_(firsts[start : start + LOOKUP_BATCH])
        )
        for found in db.session.execute(query):
            key = key_of(found._mapping)
            if key in wanted_keys:
                existing[key] = found._mapping
    return existing


def _update_rows(
    table: sa.Table, update_columns: list[str], updates: list[dict], *, versioned: bool
) -> None:
    """Set ``update_columns`` (bound as ``v_<name>``) on the rows ``_id`` of ``updates``."""
    # Bound names differ from column names: SQLAlchemy reserves those for itself.
    assignments = {name: sa.bindparam("v_" + name) for name in update_columns}
    assignments["updated_at"] = sa.bindparam("v_updated_at")
    if versioned:
        assignments["version"] = table.c.version + 1
    statement = sa.update(table).where(table.c.id == sa.bindparam("_id")).values(assignments)
    db.session.execute(statement, updates, execution_options={"synchronize_session": False})


def insert_rows(table: sa.Table, rows: list[dict]) -> None:
    """Insert many rows (all with the same keys): COPY on PostgreSQL, executemany elsewhere.

    psycopg's executemany still waits for the server row by row; COPY streams the rows.
    """
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        db.session.execute(sa.insert(table), rows)
        return
    names = list(rows[0])
    copy_rows(connection, table.name, names, [tuple(row[name] for name in names) for row in rows])


def copy_rows(
    connection: sa.Connection,
    table_name: str,
    names: list[str] | tuple[str, ...],
    tuples: list[tuple],
) -> None:
    """Stream ``tuples`` into ``table_name`` with PostgreSQL's COPY, on the session's connection."""
    driver = connection.connection.driver_connection
    columns = ", ".join(f'"{name}"' for name in names)
    statement = f'COPY "{table_name}" ({columns}) FROM STDIN'
    try:
        with driver.cursor() as cursor:
            with cursor.copy(statement) as copy:
                for row in tuples:
                    copy.write_row(row)
    except connection.dialect.dbapi.IntegrityError as error:
        # The driver's own error, since COPY bypasses SQLAlchemy: give callers the usual one.
        raise sa.exc.IntegrityError(statement, None, error) from error


def _key_text(key, describe: Describe, key_columns: tuple[str, ...]) -> str:
    """Return a record's key as the audit log names it (its parts in file form, joined by @)."""
    if isinstance(key, tuple):
        return "@".join(str(describe(name, value)[1]) for name, value in zip(key_columns, key))
    return str(describe(key_columns[0], key)[1])


# --- ids back into codes, for the audit log ------------------------------------------------------


def codes_by_id(refs: Iterable, attribute: str) -> dict[int, Any]:
    """Return ``{ref.id: ref.<attribute>}`` for lookup refs: the natural key of each id
    (``lookups.offices.values()`` with ``"code"``, accounts with ``"account_no"``, users
    with ``"username"``)."""
    natural_key = attrgetter(attribute)
    return {ref.id: natural_key(ref) for ref in refs}


def describer(
    renamed: Mapping[str, tuple[str, Mapping[int, Any]]], *, iso_times: bool = False
) -> Describe:
    """Return a ``describe`` for ``Importer.upsert``: each column of ``renamed`` (``column:
    (field, codes by id)``) becomes its file field holding the code of its id; other columns
    keep their name and value, or with ``iso_times`` their timestamps in UTC ISO form and their
    dates ISO. The code maps are read when called, so a map filled later (offices written
    level by level) is seen."""

    def describe(name: str, value: Any) -> tuple[str, Any]:
        found = renamed.get(name)
        if found is not None:
            field, codes = found
            return field, codes.get(value)
        if iso_times:
            if isinstance(value, datetime):
                return name, value.astimezone(timezone.utc).isoformat()
            if isinstance(value, date):
                return name, value.isoformat()
        return name, value

    return describe
