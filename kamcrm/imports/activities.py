"""The importer of activities, the high-volume kind (a million rows a file).

Rows are checked by ``kamcrm.activities.operations``' own validator. New rows go in as plain
tuples through the driver (SQLite ``executemany``, PostgreSQL ``COPY``); a row whose ``ref``
exists updates that activity. A large SQLite import sets the table's secondary indexes aside
and builds them again at the end (``DEFER_INDEXES_ROWS``).

Rights: each row is checked against the actor's scope (an account outside it is unknown) and
role (the role for its type; only staff name another performer or say when it was recorded),
and against the quarter lock, for the new date and, for a change, the stored one.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa

from kamcrm.activities import operations as activity_ops
from kamcrm.activities.access import require_activity_change
from kamcrm.activities.models import Activity
from kamcrm.errors import Forbidden, Message
from kamcrm.extensions import db
from kamcrm.imports.bulk import (
    LOOKUP_BATCH,
    Errors,
    Importer,
    RowErrors,
    codes_by_id,
    copy_rows,
    describer,
)
from kamcrm.lookups import Lookups
from kamcrm.org.access import performer_refusal
from kamcrm.periods import is_late_entry, quarter_of
from kamcrm.quarters.locks import closed_quarter_refusal, closed_quarters

#: An SQLite import expecting at least this many more new activities (and more than the
#: table holds) drops the table's secondary indexes and builds them again at the end, in the
#: same transaction: building an index from all rows at once is several times cheaper than
#: a million inserts at random places of it. The unique ``ref`` index stays.
DEFER_INDEXES_ROWS = 200_000


class ActivityImporter(Importer):
    """Activities: the high-volume kind. New rows go in as plain tuples through the driver
    (SQLite ``executemany``, PostgreSQL ``COPY``); rows whose ref exists update that activity."""

    kind = "activities"
    analyzed_tables = ("activities",)
    columns = activity_ops.ACTIVITY_FILE_FIELDS
    required = ("account_no", "type", "activity_date", "performed_by")
    #: Columns written for a new activity, in this order.
    insert_columns = (
        "account_id",
        "type",
        "activity_date",
        "status",
        "channel",
        "performed_by_id",
        "exec_role",
        "summary",
        "ref",
        "recorded_at",
        "recorded_by_id",
        "is_late",
        "version",
        "created_at",
        "updated_at",
    )
    _columns = {
        "account_id": "account_no",
        "type": "type",
        "activity_date": "activity_date",
        "status": "status",
        "channel": "channel",
        "performed_by_id": "performed_by",
        "exec_role": "exec_role",
        "summary": "summary",
        "recorded_at": "recorded_at",
    }

    def __init__(self, context):
        super().__init__(context)
        self.lookups = Lookups.load(offices=False, users=True, accounts=True)
        self.closed = closed_quarters()
        #: Office of each account by id (for the scope of an activity a row changes), once needed.
        self.offices_of: dict[int, int] | None = None
        #: The audit's ``describe`` (account numbers and usernames), once a row changes one.
        self._describe = None
        # Refs are unique within a file, so only refs already in the table can match.
        self.refs_in_table = (
            db.session.execute(
                sa.select(sa.literal(True)).where(Activity.ref.is_not(None)).limit(1)
            ).first()
            is not None
        )
        connection = db.session.connection()
        self.dialect = connection.dialect.name
        self.recorded_by_id = getattr(context.actor, "id", None)
        #: (name, CREATE statement) of the indexes dropped for a large SQLite import.
        self.deferred_indexes: list[tuple[str, str]] | None = (
            None if self.dialect == "sqlite" else []
        )
        self.validate = activity_ops.validate_activity_row

    def lock_error(self, day: date) -> str | None:
        """Return why an activity dated ``day`` may not change now, or None: the quarter
        lock's own rule (``closed_quarter_refusal``) against the closed quarters read once."""
        key = (day.year, quarter_of(day))
        if key not in self.closed:
            return None
        refusal = closed_quarter_refusal(*key, self.context.actor, self.context.reason)
        return None if refusal is None else refusal.message

    # --- checking ------------------------------------------------------------------------------

    def check(self, line, raw):
        values, errors = self.validate(raw, self.lookups, today=self.context.today)
        if self.context.actor is not None:
            self._check_rights(values, errors, raw.get("account_no"))
        day = values["activity_date"]
        if day is not None and self.closed:
            message = self.lock_error(day)
            if message:
                errors.setdefault("activity_date", []).append(message)
        ref = values["ref"]
        if ref is not None:
            first = self.seen.get(ref)
            if first is None:
                self.seen[ref] = line
            else:
                errors.setdefault("ref", []).append(
                    f"'{ref}' appears again (first on line {first})"
                )
        if errors:
            return errors
        self.pending.append((line, values))
        return None

    def _check_rights(self, values: dict, errors: Errors, account_no) -> None:
        """Add to ``errors`` what the actor may not do with this row: an account outside
        their scope is unknown to them, and their role must allow the activity's type."""
        actor = self.context.actor
        if values["account_id"] is not None and not self.sees(values["office_id"]):
            errors.setdefault("account_no", []).append(
                Message("unknown account '%(account_no)s'", account_no=str(account_no).strip())
            )
        if values["type"] is not None:
            try:
                require_activity_change(actor, "create", values["type"], None)
            except Forbidden as refused:
                errors.setdefault("type", []).append(refused.message)

    def _refusals(self, line: int, values: dict, old) -> RowErrors:
        """Return what the actor may not do in a row that records (``old`` None) or changes
        the activity ``old``: name another performer, say when it was recorded, or (for a
        change) edit an activity of an account outside their scope or of a type their role
        may not edit. (The row's own account and type were checked by ``check``.)"""
        actor = self.context.actor
        if actor is None:
            return []
        errors: Errors = {}
        refused = performer_refusal(
            actor, values["performed_by_id"], old["performed_by_id"] if old else None
        )
        if refused is not None:
            errors["performed_by"] = [refused]
        activity_ops._check_recorded_at(
            values["recorded_at"], actor, errors, stored=old["recorded_at"] if old else None
        )
        if old is not None:
            if self.offices_of is None:
                self.offices_of = {ref.id: ref.office_id for ref in self.lookups.accounts.values()}
            if not self.sees(self.offices_of.get(old["account_id"])):
                errors.setdefault("ref", []).append(
                    Message("'%(ref)s' is an activity outside your offices", ref=values["ref"])
                )
            try:
                require_activity_change(actor, "edit", old["type"], None)
            except Forbidden as refused_edit:
                errors.setdefault("type", []).append(refused_edit.message)
        return [(line, name, message) for name, messages in errors.items() for message in messages]

    # --- writing -------------------------------------------------------------------------------

    def flush(self, write):
        chunk, self.pending = self.pending, []
        if not chunk:
            return []
        existing = self._existing(
            [values["ref"] for _, values in chunk if values["ref"] is not None]
        )
        errors: RowErrors = []
        new_rows, changed = [], []
        for line, values in chunk:
            old = existing.get(values["ref"]) if existing else None
            refusals = self._refusals(line, values, old)
            if refusals:
                errors.extend(refusals)
                continue
            if old is None:
                new_rows.append(values)
                continue
            message = self.lock_error(old["activity_date"]) if self.closed else None
            if message:
                errors.append(
                    (line, "ref", f"'{values['ref']}' is dated {old['activity_date']}: {message}")
                )
                continue
            changed.append((values, old))
        if write and not errors:
            self._defer_indexes()
            self._insert(new_rows)
            self._update(changed)
        return errors

    def finish(self, write):
        errors = self.flush(write)
        if write and not errors and self.deferred_indexes:
            connection = db.session.connection()
            for _, create in self.deferred_indexes:
                connection.exec_driver_sql(create)
        return errors

    def _defer_indexes(self) -> None:
        """On SQLite, drop the secondary indexes once the file shows it is large (see
        ``DEFER_INDEXES_ROWS``); ``finish`` creates them again, a rollback restores them."""
        if self.deferred_indexes is not None or self.context.created == 0:
            return  # decided once, after the first chunk shows how fast the file goes
        to_come = self.context.rows_to_come()
        if to_come is None or to_come < DEFER_INDEXES_ROWS:
            self.deferred_indexes = [] if to_come is not None else None
            return
        connection = db.session.connection()
        held = connection.exec_driver_sql("SELECT count(*) FROM activities").scalar()
        self.deferred_indexes = []
        if held - self.context.created > to_come:
            return
        self.deferred_indexes = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'activities' "
            "AND sql IS NOT NULL ORDER BY name"
        ).all()
        for name, _ in self.deferred_indexes:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')

    def _existing(self, refs: list[str]) -> dict[str, Any]:
        """Return the stored activities of ``refs`` (the columns a row may change), by ref."""
        if not refs or not self.refs_in_table:
            return {}
        table = Activity.__table__
        wanted = [
            table.c.id,
            table.c.ref,
            *(table.c[name] for name in self._columns),
            table.c.is_late,
        ]
        found = {}
        for start in range(0, len(refs), LOOKUP_BATCH):
            for row in db.session.execute(
                sa.select(*wanted).where(table.c.ref.in_(refs[start : start + LOOKUP_BATCH]))
            ):
                found[row.ref] = row._mapping
        return found

    def _insert(self, rows: list[dict]) -> None:
        """Insert new activities as tuples of ``insert_columns``, the fastest way the database has."""
        if not rows:
            return
        sqlite = self.dialect == "sqlite"
        tuples = _insert_tuples(rows, self.context.now, self.recorded_by_id, sqlite=sqlite)
        connection = db.session.connection()
        names = ", ".join(self.insert_columns)
        if sqlite:
            marks = ", ".join("?" * len(self.insert_columns))
            connection.exec_driver_sql(f"INSERT INTO activities ({names}) VALUES ({marks})", tuples)
        elif self.dialect == "postgresql":
            copy_rows(connection, "activities", self.insert_columns, tuples)
        else:  # any other database: the portable way
            db.session.execute(
                sa.insert(Activity.__table__),
                [dict(zip(self.insert_columns, row)) for row in tuples],
            )
        self.context.created += len(tuples)

    def _update(self, changed: list[tuple[dict, Any]]) -> None:
        """Update the activities whose ref a row names, auditing each changed field."""
        if not changed:
            return
        context = self.context
        columns = self.present(self._columns)
        updates = []
        for values, old in changed:
            row = {name: values[name] for name in columns}
            if values["recorded_at"] is None:  # an update keeps when the activity was first entered
                row.pop("recorded_at", None)
            day = row.get("activity_date", old["activity_date"])
            row["is_late"] = is_late_entry(day, row.get("recorded_at") or old["recorded_at"])
            differing = [name for name in row if old[name] != row[name]]
            if not differing:
                context.unchanged += 1
                continue
            describe = self._describer()
            context.audit_update(
                "activities",
                old["id"],
                dict(describe(name, old[name]) for name in differing),
                dict(describe(name, row[name]) for name in differing),
            )
            updates.append((old["id"], row))
        _update_activities(updates, context.now)
        context.updated += len(updates)
        context.write_audit()

    def _describer(self):
        """Return the audit's ``describe`` for activities, building the code maps once."""
        if self._describe is None:
            self._describe = describer(
                {
                    "account_id": (
                        "account_no",
                        codes_by_id(self.lookups.accounts.values(), "account_no"),
                    ),
                    "performed_by_id": (
                        "performed_by",
                        codes_by_id(self.lookups.users.values(), "username"),
                    ),
                }
            )
        return self._describe


def _insert_tuples(
    rows: list[dict], now: datetime, recorded_by: int | None, *, sqlite: bool
) -> list[tuple]:
    """Return the new activities of ``rows`` as tuples in ``ActivityImporter.insert_columns``'
    order: on SQLite, dates and naive-UTC timestamps already in the text SQLAlchemy stores."""
    utc = timezone.utc
    if sqlite:
        stamp = now.astimezone(utc).replace(tzinfo=None).isoformat(" ", "microseconds")
    tuples = []
    append = tuples.append
    for v in rows:
        recorded_at = v["recorded_at"] or now
        day = v["activity_date"]
        late = is_late_entry(day, recorded_at)
        if sqlite:
            append(
                (
                    v["account_id"],
                    v["type"],
                    day.isoformat(),
                    v["status"],
                    v["channel"],
                    v["performed_by_id"],
                    v["exec_role"],
                    v["summary"],
                    v["ref"],
                    recorded_at.astimezone(utc).replace(tzinfo=None).isoformat(" ", "microseconds"),
                    recorded_by,
                    1 if late else 0,
                    1,
                    stamp,
                    stamp,
                )
            )
        else:
            append(
                (
                    v["account_id"],
                    v["type"],
                    day,
                    v["status"],
                    v["channel"],
                    v["performed_by_id"],
                    v["exec_role"],
                    v["summary"],
                    v["ref"],
                    recorded_at,
                    recorded_by,
                    late,
                    1,
                    now,
                    now,
                )
            )
    return tuples


def _update_activities(updates: list[tuple[int, dict]], now: datetime) -> None:
    """Write ``(id, changed columns)`` pairs, one executemany per set of columns."""
    table = Activity.__table__
    # Rows differ in which columns they carry (a blank recorded_at keeps the old one).
    for keys in {tuple(sorted(row)) for _, row in updates}:
        batch = [
            {**{"v_" + name: value for name, value in row.items()}, "_id": key, "v_updated_at": now}
            for key, row in updates
            if tuple(sorted(row)) == keys
        ]
        statement = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("_id"))
            .values(
                {
                    **{name: sa.bindparam("v_" + name) for name in keys},
                    "updated_at": sa.bindparam("v_updated_at"),
                    "version": table.c.version + 1,
                }
            )
        )
        db.session.execute(statement, batch, execution_options={"synchronize_session": False})
