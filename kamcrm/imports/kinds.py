"""One importer per file kind: check each row with the domain's validator, then write in chunks.

Every importer works the same way: ``check(line, raw)`` validates one row against lookups
loaded once (no SQL per row) and keeps the good ones; ``flush(write)`` writes the kept rows
with set-based Core statements; ``finish(write)`` writes what is left. ``write`` is False
once any row was bad: the rest of the file is still checked, so that every bad row is
reported, but nothing more is written (the caller rolls back what was).

Existing records are matched by their key (code, username, account number, account and
date, activity ref) and updated; a column the file leaves out stays as it is, a blank cell
clears it. Audit: creates are covered by the one entry the import writes for the whole
file (with its SHA-256); every change to an existing record gets its own entry with the
fields before and after. A tier assignment added to an existing account is such a change (the
account's tier moves), so it gets its own entry too, the one ``set_tier`` writes.

Rights: an import may write only what its actor could write one operation at a time, checked
by the permission layer (``kamcrm.org.access``) row by row. A kind whose every row needs one
action names it in ``permission`` (offices and users: admin; tiers: ``roster.retier``), which
``import_file`` requires before reading the file. Accounts and activities rows are checked one
by one against the actor's scope and role (a new account needs ``accounts.create``, its owner
and dates ``accounts.reassign`` …; an activity the role for its type, and only staff name
another performer); a refused row is a line-numbered error, so nothing is stored. The system
(``actor`` None, the CLI's operator) may do everything, within the quarter lock.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Iterable, NamedTuple

import sqlalchemy as sa

from kamcrm.accounts import operations as account_ops
from kamcrm.accounts.models import Account, TierAssignment
from kamcrm.activities import operations as activity_ops
from kamcrm.quarters.locks import ACCOUNT_DATES, closed_quarter_refusal, closed_quarters
from kamcrm.activities.models import Activity
from kamcrm.complaints import operations as complaint_ops
from kamcrm.complaints.models import Complaint
from kamcrm.audit.operations import Change, record_many
from kamcrm.errors import Forbidden, Message
from kamcrm.extensions import db
from kamcrm.lookups import Lookups, OfficeRef
from kamcrm.org import operations as org_ops
from kamcrm.activities.access import require_activity_change
from kamcrm.org.access import account_change_refusals, can, office_ids_in_scope, performer_refusal
from kamcrm.org.models import Office, User
from kamcrm.periods import bangkok_today, is_late_entry, quarter_of

Errors = dict[str, list[str]]
RowErrors = list[tuple[int, str, str]]

#: Rows written per statement: large enough to amortise round trips, small enough to keep
#: memory flat however long the file is.
CHUNK_SIZE = 5000
#: An SQLite import expecting at least this many more new activities (and more than the
#: table holds) drops the table's secondary indexes and builds them again at the end, in the
#: same transaction: building an index from all rows at once is several times cheaper than
#: a million inserts at random places of it. The unique ``ref`` index stays.
DEFER_INDEXES_ROWS = 200_000


class Upserted(NamedTuple):
    """What an upsert did: the ids of the keys that existed, and the keys inserted or updated."""

    existing: dict[Any, int]
    changed: set[Any]


class Context:
    """What every importer of one run shares: actor, reason, clock, header and counters."""

    def __init__(self, *, header: list[str], actor=None, reason: str | None = None, now: datetime,
                 rows_to_come=lambda: None):
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
            errors.setdefault(field, []).append(Message("%(shown)s appears again (first on line %(first)s)",
                                                        shown=shown, first=first))

    def upsert(self, table: sa.Table, key_columns: tuple[str, ...], rows: list[dict],
               update_columns: list[str], *, entity: str, describe, versioned: bool = False,
               counted: bool = True) -> "Upserted":
        """Insert the rows whose key is new, update the changed ones.

        ``describe(name, value)``
        turns a column value into its file form for the audit log (ids into codes); it
        returns ``(field, value)``. ``counted`` False keeps the rows out of the import's counts
        (the tier rows of an accounts file, which counts accounts).
        """
        if not rows:
            return Upserted({}, set())
        context = self.context
        key_of = (lambda row: row[key_columns[0]]) if len(key_columns) == 1 else (
            lambda row: tuple(row[name] for name in key_columns))
        keys = [key_of(row) for row in rows]
        existing = {}
        wanted = [table.c.id, *(table.c[name] for name in key_columns),
                  *(table.c[name] for name in update_columns if name not in key_columns)]
        # Look rows up by the first key column only: PostgreSQL plans a row-value IN list
        # as a filter over the whole table. The whole key is matched here.
        firsts = sorted({row[key_columns[0]] for row in rows})
        wanted_keys = set(keys)
        for start in range(0, len(firsts), 1000):
            query = sa.select(*wanted).where(table.c[key_columns[0]].in_(firsts[start:start + 1000]))
            for found in db.session.execute(query):
                key = key_of(found._mapping)
                if key in wanted_keys:
                    existing[key] = found._mapping
        inserts, updates, changed_keys = [], [], set()
        unchanged = 0
        for row in rows:
            key = key_of(row)
            old = existing.get(key)
            if old is None:
                changed_keys.add(key)
                inserts.append({**row, "created_at": context.now, "updated_at": context.now,
                                **({"version": 1} if versioned else {})})
                continue
            changed = [name for name in update_columns if old[name] != row[name]]
            if not changed:
                unchanged += 1
                continue
            updates.append({**{"v_" + name: row[name] for name in update_columns},
                            "_id": old["id"], "v_updated_at": context.now})
            changed_keys.add(key)
            before = dict(describe(name, old[name]) for name in changed)
            after = dict(describe(name, row[name]) for name in changed)
            context.audit_update(entity, _key_text(key_of(row), describe, key_columns), before, after)
        if inserts:
            insert_rows(table, inserts)
        if updates:
            # Bound names differ from column names: SQLAlchemy reserves those for itself.
            assignments = {name: sa.bindparam("v_" + name) for name in update_columns}
            assignments["updated_at"] = sa.bindparam("v_updated_at")
            if versioned:
                assignments["version"] = table.c.version + 1
            statement = sa.update(table).where(table.c.id == sa.bindparam("_id")).values(assignments)
            db.session.execute(statement, updates, execution_options={"synchronize_session": False})
        if counted:
            context.created += len(inserts)
            context.updated += len(updates)
            context.unchanged += unchanged
        context.write_audit()
        return Upserted({key: old["id"] for key, old in existing.items()}, changed_keys)

    def present(self, columns: dict[str, str]) -> list[str]:
        """Return the table columns whose source field is in the file (``columns``: column → field)."""
        return [column for column, field in columns.items() if field in self.context.header]


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


def copy_rows(connection: sa.Connection, table_name: str, names: list[str] | tuple[str, ...], tuples: list[tuple]) -> None:
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


def _key_text(key, describe, key_columns) -> str:
    if isinstance(key, tuple):
        return "@".join(str(describe(name, value)[1]) for name, value in zip(key_columns, key))
    return str(describe(key_columns[0], key)[1])


# --- offices ---------------------------------------------------------------------------------

class OfficeImporter(Importer):
    """Offices: a parent may come later in the file, so rows are checked once all are read."""

    kind = "offices"
    columns = ("code", "name", "office_class", "parent_code")
    required = ("code", "name", "office_class")
    permission = "offices.manage"
    _columns = {"name": "name", "office_class": "office_class", "parent_id": "parent_code"}

    def __init__(self, context):
        super().__init__(context)
        self.rows: list[tuple[int, dict]] = []

    def check(self, line, raw):
        self.rows.append((line, raw))
        return None

    def finish(self, write):
        lookups = Lookups.load(users=False)
        in_database = dict(lookups.offices)
        for _, raw in self.rows:
            code = raw.get("code")
            code = code.strip() if isinstance(code, str) else code
            if not code:
                continue
            office_class = raw.get("office_class")
            office_class = office_class.strip().lower() if isinstance(office_class, str) else ""
            known = in_database.get(code)
            lookups.offices[code] = OfficeRef(known.id if known else None, code, office_class,
                                              known.parent_id if known else None)
        errors: RowErrors = []
        good = []
        for line, raw in self.rows:
            values, row_errors = org_ops.validate_office_row(raw, lookups)
            if values["code"] is not None:
                self.duplicate(values["code"], line, "code", f"'{values['code']}'", row_errors)
            if row_errors:
                errors.extend((line, field, message) for field, messages in row_errors.items() for message in messages)
            else:
                good.append(values)
        if errors or not write:
            return errors
        codes = {ref.id: ref.code for ref in in_database.values()}
        levels = {"region": 0, "1": 1, "2": 1, "3": 1, "branch": 2}
        update_columns = self.present(self._columns)
        for level in (0, 1, 2):
            rows = []
            ids = self._ids()
            for values in good:
                if levels[values["office_class"]] != level:
                    continue
                parent = values["parent_code"]
                rows.append({"code": values["code"], "name": values["name"],
                             "office_class": values["office_class"],
                             "parent_id": ids.get(parent) if parent else None})
            codes.update({value: key for key, value in ids.items()})
            self.upsert(Office.__table__, ("code",), rows, update_columns, entity="offices",
                        describe=lambda name, value: ("parent_code", codes.get(value)) if name == "parent_id"
                        else (name, value))
        return []

    @staticmethod
    def _ids() -> dict[str, int]:
        return dict(db.session.execute(sa.select(Office.code, Office.id)).all())


# --- users -----------------------------------------------------------------------------------

class UserImporter(Importer):
    kind = "users"
    columns = ("username", "full_name", "role", "office_code", "exec_role", "email")
    required = ("username", "full_name", "role", "office_code")
    permission = "users.manage"
    _columns = {"full_name": "full_name", "role": "role", "office_id": "office_code",
                "exec_role": "exec_role", "email": "email"}

    def __init__(self, context):
        super().__init__(context)
        self.lookups = Lookups.load(users=False)
        self.codes = {ref.id: ref.code for ref in self.lookups.offices.values()}

    def check(self, line, raw):
        values, errors = org_ops.validate_user_row(raw, self.lookups)
        if values["username"] is not None:
            self.duplicate(values["username"], line, "username", f"'{values['username']}'", errors)
        if errors:
            return errors
        self.pending.append((line, values))
        return None

    def flush(self, write):
        rows, self.pending = [values for _, values in self.pending], []
        if not write or not rows:
            return []
        columns = self.present(self._columns)
        if "role" in columns and "exec_role" not in columns:
            # A new role decides the exec_role (an office manager's is office_manager, a KAMR
            # has none); an executive keeps the one they have.
            columns.append("exec_role")
            executives = [row["username"] for row in rows if row["role"] == "executive"]
            held = dict(db.session.execute(
                sa.select(User.username, User.exec_role).where(User.username.in_(executives))
            ).all()) if executives else {}
            for row in rows:
                if row["role"] == "executive":
                    row["exec_role"] = held.get(row["username"])
        self.upsert(User.__table__, ("username",), [{**row, "active": True} for row in rows],
                    columns, entity="users", describe=self._describe)
        return []

    def _describe(self, name, value):
        return ("office_code", self.codes.get(value)) if name == "office_id" else (name, value)


# --- accounts and tiers ----------------------------------------------------------------------

class AccountImporter(Importer):
    kind = "accounts"
    analyzed_tables = ("accounts",)
    columns = ("account_no", "name", "office_code", "tier", "tier_effective_from", "kamr_username",
               "sector", "industrial_estate", "transformer_kva", "monthly_revenue_thb", "boi",
               "spp_area", "opened_on", "closed_on")
    required = ("account_no", "name", "office_code")
    _columns = {"name": "name", "office_id": "office_code", "kamr_id": "kamr_username",
                "sector": "sector", "industrial_estate": "industrial_estate",
                "transformer_kva": "transformer_kva", "monthly_revenue_thb": "monthly_revenue_thb",
                "boi": "boi", "spp_area": "spp_area", "opened_on": "opened_on", "closed_on": "closed_on"}

    def __init__(self, context):
        super().__init__(context)
        self.lookups = Lookups.load()
        self.codes = {ref.id: ref.code for ref in self.lookups.offices.values()}
        self.usernames = {ref.id: ref.username for ref in self.lookups.users.values()}
        self.closed = closed_quarters()

    def check(self, line, raw):
        values, errors = account_ops.validate_account_row(raw, self.lookups)
        if values["account_no"] is not None:
            self.duplicate(values["account_no"], line, "account_no", f"'{values['account_no']}'", errors)
        if values["office_id"] is not None and not self.sees(values["office_id"]):
            errors.setdefault("office_code", []).append(
                Message("unknown office '%(code)s'", code=self.codes[values["office_id"]]))
        if errors:
            return errors
        self.pending.append((line, values))
        return None

    def flush(self, write):
        chunk, self.pending = self.pending, []
        errors = self._refusals(chunk)
        rows = [values for _, values in chunk]
        if errors or not write or not rows:
            return errors
        assignments = {row["account_no"]: row.pop("tier_assignment") for row in rows}
        accounts = self.upsert(Account.__table__, ("account_no",), rows, self.present(self._columns),
                               entity="accounts", describe=self._describe, versioned=True)
        wanted = [number for number, assignment in assignments.items() if assignment is not None]
        if wanted:
            ids = {}
            for start in range(0, len(wanted), 1000):
                ids.update(db.session.execute(
                    sa.select(Account.account_no, Account.id).where(Account.account_no.in_(wanted[start:start + 1000]))
                ).all())
            tier_rows = [{"account_id": ids[number], "tier": assignments[number][0],
                          "effective_from": assignments[number][1]} for number in wanted]
            numbers = {ids[number]: number for number in wanted}
            created = frozenset(ids[number] for number in accounts.changed - accounts.existing.keys()
                                if number in ids)
            touched = write_tiers(self, tier_rows, numbers, counted=False, new_accounts=created)
            # Accounts just created or updated already have their new version.
            settled = {ids[number] for number in accounts.changed if number in ids}
            bump_versions(touched - settled, self.context.now)
        return []

    def _refusals(self, chunk: list[tuple[int, dict]]) -> RowErrors:
        """Return the rows of ``chunk`` the actor may not write: the account out of their
        scope, a field their role may not change, an opening or closing date locked by a
        closed quarter (the same rules as ``create_account``/``update_account``)."""
        actor, header = self.context.actor, self.context.header
        dates = [name for name in account_ops.COVERAGE_DATES if name in header]
        if not chunk or (actor is None and not (self.closed and dates)):
            return []
        table = Account.__table__
        numbers = [values["account_no"] for _, values in chunk]
        existing = {}
        for start in range(0, len(numbers), 1000):
            query = sa.select(table).where(table.c.account_no.in_(numbers[start:start + 1000]))
            existing.update((row.account_no, dict(row._mapping)) for row in db.session.execute(query))
        errors: RowErrors = []
        for line, values in chunk:
            old = existing.get(values["account_no"])
            if actor is not None:
                if old is not None and not self.sees(old["office_id"]):
                    errors.append((line, "account_no", Message("'%(account_no)s' belongs to an office outside "
                                                               "yours", account_no=values["account_no"])))
                    continue
                given = [name for name in header if name != "account_no"
                         and (values["tier_assignment"] is not None or name not in ("tier", "tier_effective_from"))]
                changed = account_ops.changed_account_fields(old, values, given)
                refusals = account_change_refusals(actor, changed, created=old is None)
                errors.extend((line, name, message) for name, message in refusals.items())
            for name in dates:
                before = old[name] if old is not None else None
                if values[name] == before:
                    continue
                for day in {before, values[name]} - {None}:
                    key = (day.year, quarter_of(day))
                    refusal = closed_quarter_refusal(*key, actor, self.context.reason, subject=ACCOUNT_DATES) \
                        if key in self.closed else None
                    if refusal is not None:
                        errors.append((line, name, refusal.message))
                        break
        return errors

    def _describe(self, name, value):
        if name == "office_id":
            return "office_code", self.codes.get(value)
        if name == "kamr_id":
            return "kamr_username", self.usernames.get(value)
        return name, value


class TierImporter(Importer):
    kind = "tiers"
    analyzed_tables = ("tier_assignments",)
    columns = ("account_no", "tier", "effective_from")
    required = ("account_no", "effective_from")
    permission = "roster.retier"

    def __init__(self, context):
        super().__init__(context)
        self.lookups = Lookups.load(offices=False, users=False, accounts=True)
        self.numbers: dict[int, str] | None = None

    def check(self, line, raw):
        values, errors = account_ops.validate_tier_row(raw, self.lookups)
        if values["account_id"] is not None and self.visible is not None:
            number = str(raw.get("account_no")).strip()
            if not self.sees(self.lookups.accounts[number].office_id):
                # Out of scope is out of sight: the same answer as a number nobody has.
                values["account_id"] = None
                errors.setdefault("account_no", []).append(
                    Message("unknown account '%(account_no)s'", account_no=number))
        if values["account_id"] is not None and values["effective_from"] is not None:
            number = str(raw.get("account_no")).strip()
            self.duplicate((values["account_id"], values["effective_from"]), line, "effective_from",
                           Message("account '%(account_no)s' from %(day)s", account_no=number,
                                   day=values["effective_from"]), errors)
        if errors:
            return errors
        self.pending.append((line, values))
        return None

    def flush(self, write):
        rows, self.pending = [values for _, values in self.pending], []
        if write and rows:
            if self.numbers is None:
                self.numbers = {ref.id: ref.account_no for ref in self.lookups.accounts.values()}
            bump_versions(write_tiers(self, rows, self.numbers), self.context.now)
        return []


def write_tiers(importer: Importer, rows: list[dict], numbers: dict[int, str], *,
                counted: bool = True, new_accounts: frozenset[int] = frozenset()) -> set[int]:
    """Upsert tier assignments keyed by (account, effective_from); return the accounts whose
    tier history changed.

    Every assignment replaced or added gets its own audit entry, as ``set_tier`` writes it,
    except those of ``new_accounts`` (created by this import: its one entry covers them).
    """
    tiers = importer.upsert(
        TierAssignment.__table__, ("account_id", "effective_from"), rows, ["tier"],
        entity="tier_assignments", counted=counted,
        describe=lambda name, value: ("account_no", numbers.get(value)) if name == "account_id" else (name, value),
    )
    added = {}
    for row in rows:
        key = (row["account_id"], row["effective_from"])
        if key in tiers.changed and key not in tiers.existing and row["account_id"] not in new_accounts:
            added[key] = row["tier"]
    if added:
        held = account_ops.tiers_held_before(added)
        context = importer.context
        context.audit.extend(
            account_ops.tier_change(numbers[account_id], day, tier, {"tier": held.get((account_id, day))},
                                    created=True)
            for (account_id, day), tier in added.items()
        )
        context.write_audit()
    return {account_id for account_id, _ in tiers.changed}


def bump_versions(account_ids: Iterable[int], now: datetime) -> None:
    """Give accounts whose tier history changed a new version (the tier is part of the resource)."""
    ids = sorted(account_ids)
    for start in range(0, len(ids), 1000):
        db.session.execute(
            sa.update(Account.__table__)
            .where(Account.__table__.c.id.in_(ids[start:start + 1000]))
            .values(version=Account.__table__.c.version + 1, updated_at=now)
        )


# --- activities ------------------------------------------------------------------------------

class ActivityImporter(Importer):
    """Activities: the high-volume kind. New rows go in as plain tuples through the driver
    (SQLite ``executemany``, PostgreSQL ``COPY``); rows whose ref exists update that activity."""

    kind = "activities"
    analyzed_tables = ("activities",)
    columns = activity_ops.ACTIVITY_FILE_FIELDS
    required = ("account_no", "type", "activity_date", "performed_by")
    #: Columns written for a new activity, in this order.
    insert_columns = ("account_id", "type", "activity_date", "status", "channel", "performed_by_id",
                      "exec_role", "summary", "ref", "recorded_at", "recorded_by_id", "is_late",
                      "version", "created_at", "updated_at")
    _columns = {"account_id": "account_no", "type": "type", "activity_date": "activity_date",
                "status": "status", "channel": "channel", "performed_by_id": "performed_by",
                "exec_role": "exec_role", "summary": "summary", "recorded_at": "recorded_at"}

    def __init__(self, context):
        super().__init__(context)
        self.lookups = Lookups.load(offices=False, users=True, accounts=True)
        self.closed = closed_quarters()
        #: Office of each account by id (for the scope of an activity a row changes), once needed.
        self.offices_of: dict[int, int] | None = None
        # Refs are unique within a file, so only refs already in the table can match.
        self.refs_in_table = db.session.execute(
            sa.select(sa.literal(True)).where(Activity.ref.is_not(None)).limit(1)
        ).first() is not None
        connection = db.session.connection()
        self.dialect = connection.dialect.name
        self.recorded_by_id = getattr(context.actor, "id", None)
        #: (name, CREATE statement) of the indexes dropped for a large SQLite import.
        self.deferred_indexes: list[tuple[str, str]] | None = None if self.dialect == "sqlite" else []
        self.validate = activity_ops.validate_activity_row

    def lock_error(self, day: date) -> str | None:
        """Return why an activity dated ``day`` may not change now, or None: the quarter
        lock's own rule (``closed_quarter_refusal``) against the closed quarters read once."""
        key = (day.year, quarter_of(day))
        if key not in self.closed:
            return None
        refusal = closed_quarter_refusal(*key, self.context.actor, self.context.reason)
        return None if refusal is None else refusal.message

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
                errors.setdefault("ref", []).append(f"'{ref}' appears again (first on line {first})")
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
                Message("unknown account '%(account_no)s'", account_no=str(account_no).strip()))
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
        refused = performer_refusal(actor, values["performed_by_id"], old["performed_by_id"] if old else None)
        if refused is not None:
            errors["performed_by"] = [refused]
        activity_ops._check_recorded_at(values["recorded_at"], actor, errors,
                                        stored=old["recorded_at"] if old else None)
        if old is not None:
            if self.offices_of is None:
                self.offices_of = {ref.id: ref.office_id for ref in self.lookups.accounts.values()}
            if not self.sees(self.offices_of.get(old["account_id"])):
                errors.setdefault("ref", []).append(Message("'%(ref)s' is an activity outside your offices",
                                                            ref=values["ref"]))
            try:
                require_activity_change(actor, "edit", old["type"], None)
            except Forbidden as refused_edit:
                errors.setdefault("type", []).append(refused_edit.message)
        return [(line, name, message) for name, messages in errors.items() for message in messages]

    def flush(self, write):
        chunk, self.pending = self.pending, []
        if not chunk:
            return []
        existing = self._existing([values["ref"] for _, values in chunk if values["ref"] is not None])
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
                errors.append((line, "ref", f"'{values['ref']}' is dated {old['activity_date']}: {message}"))
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
        if not refs or not self.refs_in_table:
            return {}
        table = Activity.__table__
        wanted = [table.c.id, table.c.ref, *(table.c[name] for name in self._columns), table.c.is_late]
        found = {}
        for start in range(0, len(refs), 1000):
            for row in db.session.execute(sa.select(*wanted).where(table.c.ref.in_(refs[start:start + 1000]))):
                found[row.ref] = row._mapping
        return found

    def _insert(self, rows: list[dict]) -> None:
        if not rows:
            return
        now, recorded_by, sqlite = self.context.now, self.recorded_by_id, self.dialect == "sqlite"
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
                append((v["account_id"], v["type"], day.isoformat(), v["status"], v["channel"],
                        v["performed_by_id"], v["exec_role"], v["summary"], v["ref"],
                        recorded_at.astimezone(utc).replace(tzinfo=None).isoformat(" ", "microseconds"),
                        recorded_by, 1 if late else 0, 1, stamp, stamp))
            else:
                append((v["account_id"], v["type"], day, v["status"], v["channel"],
                        v["performed_by_id"], v["exec_role"], v["summary"], v["ref"],
                        recorded_at, recorded_by, late, 1, now, now))
        connection = db.session.connection()
        names = ", ".join(self.insert_columns)
        if sqlite:
            marks = ", ".join("?" * len(self.insert_columns))
            connection.exec_driver_sql(f"INSERT INTO activities ({names}) VALUES ({marks})", tuples)
        elif self.dialect == "postgresql":
            copy_rows(connection, "activities", self.insert_columns, tuples)
        else:  # any other database: the portable way
            db.session.execute(sa.insert(Activity.__table__),
                               [dict(zip(self.insert_columns, row)) for row in tuples])
        self.context.created += len(tuples)

    def _update(self, changed: list[tuple[dict, Any]]) -> None:
        if not changed:
            return
        context = self.context
        columns = self.present(self._columns)
        numbers = usernames = None
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
            if numbers is None:
                numbers = {ref.id: ref.account_no for ref in self.lookups.accounts.values()}
                usernames = {ref.id: ref.username for ref in self.lookups.users.values()}
            describe = _activity_describer(numbers, usernames)
            context.audit_update("activities", old["id"], dict(describe(name, old[name]) for name in differing),
                                 dict(describe(name, row[name]) for name in differing))
            updates.append((old["id"], row))
        table = Activity.__table__
        # Rows differ in which columns they carry (a blank recorded_at keeps the old one).
        for keys in {tuple(sorted(row)) for _, row in updates}:
            batch = [{**{"v_" + name: value for name, value in row.items()}, "_id": key,
                      "v_updated_at": context.now}
                     for key, row in updates if tuple(sorted(row)) == keys]
            statement = sa.update(table).where(table.c.id == sa.bindparam("_id")).values(
                {**{name: sa.bindparam("v_" + name) for name in keys}, "updated_at": sa.bindparam("v_updated_at"),
                 "version": table.c.version + 1}
            )
            db.session.execute(statement, batch, execution_options={"synchronize_session": False})
            context.updated += len(batch)
        context.write_audit()


def _activity_describer(numbers, usernames):
    def describe(name, value):
        if name == "account_id":
            return "account_no", numbers.get(value)
        if name == "performed_by_id":
            return "performed_by", usernames.get(value)
        return name, value
    return describe


# --- complaints ------------------------------------------------------------------------------

class ComplaintImporter(Importer):
    """Complaints (SPEC section 8): rows are checked by the operations' own validator. A row
    whose ref exists updates that complaint; the columns the file leaves out keep their
    stored values, so each chunk reads the complaints its refs name before it validates."""

    kind = "complaints"
    analyzed_tables = ("complaints",)
    columns = complaint_ops.COMPLAINT_FIELDS
    required = ("ref", "category", "received_at")
    #: Columns a row sets, besides ``ref`` (the key).
    update_columns = ["office_id", "account_id", "category", "channel", "urgent", "received_at", "received_on",
                      "closed_at", "days_to_close", "micros_to_close", "excluded", "summary", "resolution",
                      "assigned_to_id"]

    def __init__(self, context):
        super().__init__(context)
        self.lookups = Lookups.load(offices=True, users=True, accounts=True)
        self.targets_of = complaint_ops.targets_memo()

    def check(self, line, raw):
        errors: Errors = {}
        ref = raw.get("ref")
        ref = ref.strip() if isinstance(ref, str) else ref
        if ref:
            self.duplicate(ref, line, "ref", f"'{ref}'", errors)
        if errors:
            return errors
        self.pending.append((line, raw))
        return None

    def _stored(self, refs: list[str]) -> dict[str, dict]:
        """Return the stored complaints of ``refs`` as file rows, with their office id."""
        office, account, user = (sa.orm.aliased(Office), sa.orm.aliased(Account), sa.orm.aliased(User))
        query = (
            sa.select(Complaint.ref, Complaint.office_id, office.code.label("office_code"), account.account_no,
                      Complaint.category, Complaint.channel, Complaint.urgent, Complaint.received_at,
                      Complaint.closed_at, Complaint.excluded, Complaint.summary, Complaint.resolution,
                      user.username.label("assigned_to"))
            .join(office, office.id == Complaint.office_id)
            .outerjoin(account, account.id == Complaint.account_id)
            .outerjoin(user, user.id == Complaint.assigned_to_id)
            .where(Complaint.ref.in_(refs))
        )
        return {row.ref: dict(row._mapping) for row in db.session.execute(query)}

    def flush(self, write):
        pending, self.pending = self.pending, []
        if not pending:
            return []
        context = self.context
        refs = sorted({raw["ref"].strip() for _, raw in pending if isinstance(raw.get("ref"), str)})
        stored = self._stored(refs)
        errors: RowErrors = []
        rows = []
        for line, raw in pending:
            old = stored.get(str(raw.get("ref")).strip())
            merged = dict(raw)
            if old is not None:
                for name in self.columns:
                    if name not in context.header:
                        merged[name] = old[name]
                if not self.sees(old["office_id"]):
                    errors.append((line, "ref", Message("'%(ref)s' is the ref of a complaint outside your scope",
                                                        ref=old["ref"])))
                    continue
            values, row_errors = complaint_ops.validate_complaint_row(
                merged, self.lookups, now=context.now, targets_of=self.targets_of, office_ids=self.visible)
            if context.actor is not None and not row_errors:
                action = "complaints.create" if old is None else "complaints.edit"
                if old is not None and (values["excluded"] != old["excluded"]):
                    action = "complaints.exclude"
                if not can(context.actor, action):
                    row_errors["ref"] = [Message("Your role may not do this (%(action)s).", action=action)]
            if row_errors:
                errors.extend((line, field, message) for field, messages in row_errors.items() for message in messages)
                continue
            rows.append({**values, "recorded_by_id": getattr(context.actor, "id", None)})
        if errors or not write:
            return errors
        codes = {ref.id: ref.code for ref in self.lookups.offices.values()}
        numbers = {ref.id: ref.account_no for ref in self.lookups.accounts.values()}
        usernames = {ref.id: ref.username for ref in self.lookups.users.values()}

        def describe(name, value):
            if name == "office_id":
                return "office_code", codes.get(value)
            if name == "account_id":
                return "account_no", numbers.get(value)
            if name == "assigned_to_id":
                return "assigned_to", usernames.get(value)
            if isinstance(value, datetime):
                return name, value.astimezone(timezone.utc).isoformat()
            if isinstance(value, date):
                return name, value.isoformat()
            return name, value

        self.upsert(Complaint.__table__, ("ref",), rows, self.update_columns, entity="complaints",
                    describe=describe, versioned=True)
        return []


#: The importer of each kind of file, by the KIND the command takes.
IMPORTERS: dict[str, type[Importer]] = {
    importer.kind: importer
    for importer in (OfficeImporter, UserImporter, AccountImporter, TierImporter, ActivityImporter,
                     ComplaintImporter)
}
