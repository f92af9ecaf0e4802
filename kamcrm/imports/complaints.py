"""The importer of complaints (SPEC section 8), keyed by the complaint's ``ref``.

Rows are checked by ``kamcrm.complaints.operations``' own validator, after the columns the
file leaves out are filled from the stored complaint. Rights: a row's office and a stored
complaint must lie in the actor's scope, and the role must allow ``complaints.create``,
``complaints.edit`` or, when the row changes ``excluded``, ``complaints.exclude``.
"""

from __future__ import annotations

import sqlalchemy as sa

from kamcrm.accounts.models import Account
from kamcrm.complaints import operations as complaint_ops
from kamcrm.complaints.models import Complaint
from kamcrm.errors import Message
from kamcrm.extensions import db
from kamcrm.imports.bulk import Errors, Importer, RowErrors, codes_by_id, describer
from kamcrm.lookups import Lookups
from kamcrm.org.access import can
from kamcrm.org.models import Office, User


class ComplaintImporter(Importer):
    """Complaints (SPEC section 8): rows are checked by the operations' own validator. A row
    whose ref exists updates that complaint; the columns the file leaves out keep their
    stored values, so each chunk reads the complaints its refs name before it validates."""

    kind = "complaints"
    analyzed_tables = ("complaints",)
    columns = complaint_ops.COMPLAINT_FIELDS
    required = ("ref", "category", "received_at")
    #: Columns a row sets, besides ``ref`` (the key).
    update_columns = [
        "office_id",
        "account_id",
        "category",
        "channel",
        "urgent",
        "received_at",
        "received_on",
        "closed_at",
        "days_to_close",
        "micros_to_close",
        "excluded",
        "summary",
        "resolution",
        "assigned_to_id",
    ]

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
        office, account, user = (
            sa.orm.aliased(Office),
            sa.orm.aliased(Account),
            sa.orm.aliased(User),
        )
        query = (
            sa.select(
                Complaint.ref,
                Complaint.office_id,
                office.code.label("office_code"),
                account.account_no,
                Complaint.category,
                Complaint.channel,
                Complaint.urgent,
                Complaint.received_at,
                Complaint.closed_at,
                Complaint.excluded,
                Complaint.summary,
                Complaint.resolution,
                user.username.label("assigned_to"),
            )
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
        refs = sorted({raw["ref"].strip() for _, raw in pending if isinstance(raw.get("ref"), str)})
        stored = self._stored(refs)
        errors: RowErrors = []
        rows = []
        for line, raw in pending:
            values, row_errors = self._checked(line, raw, stored.get(str(raw.get("ref")).strip()))
            if row_errors:
                errors.extend(row_errors)
                continue
            rows.append({**values, "recorded_by_id": getattr(self.context.actor, "id", None)})
        if errors or not write:
            return errors
        describe = describer(
            {
                "office_id": ("office_code", codes_by_id(self.lookups.offices.values(), "code")),
                "account_id": (
                    "account_no",
                    codes_by_id(self.lookups.accounts.values(), "account_no"),
                ),
                "assigned_to_id": (
                    "assigned_to",
                    codes_by_id(self.lookups.users.values(), "username"),
                ),
            },
            iso_times=True,
        )
        self.upsert(
            Complaint.__table__,
            ("ref",),
            rows,
            self.update_columns,
            entity="complaints",
            describe=describe,
            versioned=True,
        )
        return []

    def _checked(self, line: int, raw: dict, old: dict | None) -> tuple[dict | None, RowErrors]:
        """Return a row's values, its stored complaint ``old`` (if any) filling the columns the
        file leaves out, or the row's errors: out of scope, invalid, or refused to the role."""
        context = self.context
        merged = dict(raw)
        if old is not None:
            for name in self.columns:
                if name not in context.header:
                    merged[name] = old[name]
            if not self.sees(old["office_id"]):
                return None, [
                    (
                        line,
                        "ref",
                        Message(
                            "'%(ref)s' is the ref of a complaint outside your scope", ref=old["ref"]
                        ),
                    )
                ]
        values, row_errors = complaint_ops.validate_complaint_row(
            merged,
            self.lookups,
            now=context.now,
            targets_of=self.targets_of,
            office_ids=self.visible,
        )
        if context.actor is not None and not row_errors:
            action = "complaints.create" if old is None else "complaints.edit"
            if old is not None and (values["excluded"] != old["excluded"]):
                action = "complaints.exclude"
            if not can(context.actor, action):
                row_errors["ref"] = [
                    Message("Your role may not do this (%(action)s).", action=action)
                ]
        return values, [
            (line, field, message) for field, messages in row_errors.items() for message in messages
        ]
