"""The consumption file (SPEC section 10): one account's billed month a row.

Sized for a region's whole billing history (100,000 accounts × 36 months): each row is
checked against the account numbers loaded once, a duplicate (account, month) in the file is
caught with one bit per month in a bitmask per account (a dict of 3.6 million keys would
hold hundreds of MB), and the good rows are upserted in chunks by the domain's
``ConsumptionWriter``. A month already stored for an account is replaced. Only regional
staff and admins import consumption (``consumption.import``), so rows need no scope check.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from kamcrm.errors import Message
from kamcrm.extensions import db
from kamcrm.imports.bulk import Importer
from kamcrm.periods import FIRST_YEAR
from kamcrm.prospects import operations as prospect_ops


class ConsumptionImporter(Importer):
    """Monthly consumption per account; all or nothing, like every import."""

    kind = "consumption"
    analyzed_tables = ("consumption",)
    columns = prospect_ops.CONSUMPTION_FIELDS
    required = prospect_ops.CONSUMPTION_REQUIRED
    permission = "consumption.import"

    def __init__(self, context):
        super().__init__(context)
        accounts = sa.table("accounts", sa.column("id"), sa.column("account_no"))
        self.account_ids = dict(
            db.session.execute(sa.select(accounts.c.account_no, accounts.c.id)).all()
        )
        #: Per account id, one bit per month (since January of FIRST_YEAR) already in the file.
        self.months_seen: dict[int, int] = {}
        self.writer = prospect_ops.ConsumptionWriter(context.actor)
        self.validate = prospect_ops.ConsumptionRowChecker(self.account_ids, context.today)
        #: Per month: its bit in ``months_seen`` and the form SQLite stores (ISO text).
        self.month_keys: dict[date, tuple[int, object]] = {}
        self.sqlite = db.session.connection().dialect.name == "sqlite"

    def check(self, line, raw):
        row, errors = self.validate(raw)
        if row is None:
            return errors
        account_id, month = row[0], row[1]
        key = self.month_keys.get(month)
        if key is None:
            key = self.month_keys[month] = (
                1 << ((month.year - FIRST_YEAR) * 12 + month.month - 1),
                month.isoformat() if self.sqlite else month,
            )
        bit, stored = key
        seen = self.months_seen.get(account_id, 0)
        if seen & bit:
            return {
                "month": [
                    Message(
                        "account %(account_no)s has %(month)s on an earlier line already; "
                        "a file gives each account's month once",
                        account_no=str(raw.get("account_no")).strip(),
                        month=month.strftime("%Y-%m"),
                    )
                ]
            }
        self.months_seen[account_id] = seen | bit
        self.pending.append((account_id, stored, *row[2:]))
        return None

    def flush(self, write):
        rows, self.pending = self.pending, []
        if write:
            self.writer.write(rows)
        return []

    def finish(self, write):
        self.flush(write)
        if write:
            self.context.created, self.context.updated = self.writer.finish()
        return []
