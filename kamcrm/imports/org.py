"""The importers of the organisation's files: ``offices`` and ``users`` (admin only).

Both kinds need one action for every row (``offices.manage``, ``users.manage``), required
before the file is read; rows are checked by ``kamcrm.org.operations``' own validators and
written by ``Importer.upsert`` (see ``kamcrm.imports.bulk``).
"""

from __future__ import annotations

import sqlalchemy as sa

from kamcrm.extensions import db
from kamcrm.imports.bulk import Importer, RowErrors, codes_by_id, describer
from kamcrm.lookups import Lookups, OfficeRef
from kamcrm.org import operations as org_ops
from kamcrm.org.models import Office, User

#: How deep an office class sits: the region, its offices (classes 1 to 3), their branches.
#: Offices are written level by level, so that a parent always exists before its children.
OFFICE_LEVELS = {"region": 0, "1": 1, "2": 1, "3": 1, "branch": 2}


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
        self._add_file_offices(lookups, in_database)
        errors: RowErrors = []
        good = []
        for line, raw in self.rows:
            values, row_errors = org_ops.validate_office_row(raw, lookups)
            if values["code"] is not None:
                self.duplicate(values["code"], line, "code", f"'{values['code']}'", row_errors)
            if row_errors:
                errors.extend(
                    (line, field, message)
                    for field, messages in row_errors.items()
                    for message in messages
                )
            else:
                good.append(values)
        if errors or not write:
            return errors
        self._write(good, codes_by_id(in_database.values(), "code"))
        return []

    def _add_file_offices(self, lookups: Lookups, in_database: dict[str, OfficeRef]) -> None:
        """Make the file's offices known to ``lookups``, so that a row may name as its parent
        an office that only the file holds (its id is None until written)."""
        for _, raw in self.rows:
            code = raw.get("code")
            code = code.strip() if isinstance(code, str) else code
            if not code:
                continue
            office_class = raw.get("office_class")
            office_class = office_class.strip().lower() if isinstance(office_class, str) else ""
            known = in_database.get(code)
            lookups.offices[code] = OfficeRef(
                known.id if known else None, code, office_class, known.parent_id if known else None
            )

    def _write(self, good: list[dict], codes: dict[int, str]) -> None:
        """Upsert the checked rows level by level (``OFFICE_LEVELS``); ``codes`` (office code
        by id) grows with each level, for the audit of a moved parent."""
        update_columns = self.present(self._columns)
        describe = describer({"parent_id": ("parent_code", codes)})
        for level in (0, 1, 2):
            rows = []
            ids = self._ids()
            for values in good:
                if OFFICE_LEVELS[values["office_class"]] != level:
                    continue
                parent = values["parent_code"]
                rows.append(
                    {
                        "code": values["code"],
                        "name": values["name"],
                        "office_class": values["office_class"],
                        "parent_id": ids.get(parent) if parent else None,
                    }
                )
            codes.update({value: key for key, value in ids.items()})
            self.upsert(
                Office.__table__,
                ("code",),
                rows,
                update_columns,
                entity="offices",
                describe=describe,
            )

    @staticmethod
    def _ids() -> dict[str, int]:
        return dict(db.session.execute(sa.select(Office.code, Office.id)).all())


class UserImporter(Importer):
    """Users: a new role sets the executive role that goes with it (see ``flush``)."""

    kind = "users"
    columns = ("username", "full_name", "role", "office_code", "exec_role", "email")
    required = ("username", "full_name", "role", "office_code")
    permission = "users.manage"
    _columns = {
        "full_name": "full_name",
        "role": "role",
        "office_id": "office_code",
        "exec_role": "exec_role",
        "email": "email",
    }

    def __init__(self, context):
        super().__init__(context)
        self.lookups = Lookups.load(users=False)
        self.codes = codes_by_id(self.lookups.offices.values(), "code")
        self._describe = describer({"office_id": ("office_code", self.codes)})

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
            held = (
                dict(
                    db.session.execute(
                        sa.select(User.username, User.exec_role).where(
                            User.username.in_(executives)
                        )
                    ).all()
                )
                if executives
                else {}
            )
            for row in rows:
                if row["role"] == "executive":
                    row["exec_role"] = held.get(row["username"])
        self.upsert(
            User.__table__,
            ("username",),
            [{**row, "active": True} for row in rows],
            columns,
            entity="users",
            describe=self._describe,
        )
        return []
