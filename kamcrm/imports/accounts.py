"""The importers of accounts and their tier history: ``accounts`` and ``tiers``.

An accounts row may carry the account's tier from a day (``tier``, ``tier_effective_from``);
it is written as a tiers row would be (``write_tiers``). A tier assignment added to an
existing account is a change to that account (its tier moves), so it gets its own audit
entry, the one ``set_tier`` writes, and the account a new version (``bump_versions``).

Rights: a tiers file needs ``roster.retier`` for every row. An accounts row is checked against
the actor's scope and role one by one, as ``create_account``/``update_account`` would check
it: a new account needs ``accounts.create``, its owner and dates ``accounts.reassign`` …, and
an opening or closing date in a closed quarter is refused (see ``AccountImporter._refusals``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from kamcrm.accounts import operations as account_ops
from kamcrm.accounts.models import Account, TierAssignment
from kamcrm.errors import Message
from kamcrm.extensions import db
from kamcrm.imports.bulk import LOOKUP_BATCH, Importer, RowErrors, codes_by_id, describer
from kamcrm.lookups import Lookups
from kamcrm.org.access import account_change_refusals
from kamcrm.periods import quarter_of
from kamcrm.quarters.locks import ACCOUNT_DATES, closed_quarter_refusal, closed_quarters


class AccountImporter(Importer):
    """Accounts, keyed by ``account_no``, with the tier each row gives (if any)."""

    kind = "accounts"
    analyzed_tables = ("accounts",)
    columns = account_ops.ACCOUNT_FILE_FIELDS
    required = ("account_no", "name", "office_code")
    _columns = {
        "name": "name",
        "office_id": "office_code",
        "kamr_id": "kamr_username",
        "sector": "sector",
        "industrial_estate": "industrial_estate",
        "transformer_kva": "transformer_kva",
        "monthly_revenue_thb": "monthly_revenue_thb",
        "boi": "boi",
        "spp_area": "spp_area",
        "opened_on": "opened_on",
        "closed_on": "closed_on",
    }

    def __init__(self, context):
        super().__init__(context)
        self.lookups = Lookups.load()
        self.codes = codes_by_id(self.lookups.offices.values(), "code")
        self.usernames = codes_by_id(self.lookups.users.values(), "username")
        self._describe = describer(
            {"office_id": ("office_code", self.codes), "kamr_id": ("kamr_username", self.usernames)}
        )
        self.closed = closed_quarters()

    def check(self, line, raw):
        values, errors = account_ops.validate_account_row(raw, self.lookups)
        if values["account_no"] is not None:
            self.duplicate(
                values["account_no"], line, "account_no", f"'{values['account_no']}'", errors
            )
        if values["office_id"] is not None and not self.sees(values["office_id"]):
            errors.setdefault("office_code", []).append(
                Message("unknown office '%(code)s'", code=self.codes[values["office_id"]])
            )
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
        accounts = self.upsert(
            Account.__table__,
            ("account_no",),
            rows,
            self.present(self._columns),
            entity="accounts",
            describe=self._describe,
            versioned=True,
        )
        wanted = [number for number, assignment in assignments.items() if assignment is not None]
        if wanted:
            ids = _account_ids(wanted)
            tier_rows = [
                {
                    "account_id": ids[number],
                    "tier": assignments[number][0],
                    "effective_from": assignments[number][1],
                }
                for number in wanted
            ]
            numbers = {ids[number]: number for number in wanted}
            created = frozenset(
                ids[number]
                for number in accounts.changed - accounts.existing.keys()
                if number in ids
            )
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
        existing = _stored_accounts([values["account_no"] for _, values in chunk])
        errors: RowErrors = []
        for line, values in chunk:
            old = existing.get(values["account_no"])
            if actor is not None:
                if old is not None and not self.sees(old["office_id"]):
                    errors.append(
                        (
                            line,
                            "account_no",
                            Message(
                                "'%(account_no)s' belongs to an office outside yours",
                                account_no=values["account_no"],
                            ),
                        )
                    )
                    continue
                given = [
                    name
                    for name in header
                    if name != "account_no"
                    and (
                        values["tier_assignment"] is not None
                        or name not in ("tier", "tier_effective_from")
                    )
                ]
                changed = account_ops.changed_account_fields(old, values, given)
                refusals = account_change_refusals(actor, changed, created=old is None)
                errors.extend((line, name, message) for name, message in refusals.items())
            errors.extend(self._date_refusals(line, values, old, dates))
        return errors

    def _date_refusals(
        self, line: int, values: dict, old: dict | None, dates: list[str]
    ) -> RowErrors:
        """Return the dates of ``dates`` the row moves into or out of a closed quarter, when
        the quarter lock refuses the actor that."""
        errors: RowErrors = []
        for name in dates:
            before = old[name] if old is not None else None
            if values[name] == before:
                continue
            for day in {before, values[name]} - {None}:
                key = (day.year, quarter_of(day))
                refusal = (
                    closed_quarter_refusal(
                        *key, self.context.actor, self.context.reason, subject=ACCOUNT_DATES
                    )
                    if key in self.closed
                    else None
                )
                if refusal is not None:
                    errors.append((line, name, refusal.message))
                    break
        return errors


def _account_ids(numbers: list[str]) -> dict[str, int]:
    """Return the id of each account number of ``numbers`` that is stored."""
    ids = {}
    for start in range(0, len(numbers), LOOKUP_BATCH):
        ids.update(
            db.session.execute(
                sa.select(Account.account_no, Account.id).where(
                    Account.account_no.in_(numbers[start : start + LOOKUP_BATCH])
                )
            ).all()
        )
    return ids


def _stored_accounts(numbers: list[str]) -> dict[str, dict]:
    """Return the stored accounts of ``numbers`` (every column), by account number."""
    table = Account.__table__
    existing = {}
    for start in range(0, len(numbers), LOOKUP_BATCH):
        query = sa.select(table).where(
            table.c.account_no.in_(numbers[start : start + LOOKUP_BATCH])
        )
        existing.update((row.account_no, dict(row._mapping)) for row in db.session.execute(query))
    return existing


class TierImporter(Importer):
    """Tier assignments, keyed by (account, ``effective_from``)."""

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
                    Message("unknown account '%(account_no)s'", account_no=number)
                )
        if values["account_id"] is not None and values["effective_from"] is not None:
            number = str(raw.get("account_no")).strip()
            self.duplicate(
                (values["account_id"], values["effective_from"]),
                line,
                "effective_from",
                Message(
                    "account '%(account_no)s' from %(day)s",
                    account_no=number,
                    day=values["effective_from"],
                ),
                errors,
            )
        if errors:
            return errors
        self.pending.append((line, values))
        return None

    def flush(self, write):
        rows, self.pending = [values for _, values in self.pending], []
        if write and rows:
            if self.numbers is None:
                self.numbers = codes_by_id(self.lookups.accounts.values(), "account_no")
            bump_versions(write_tiers(self, rows, self.numbers), self.context.now)
        return []


def write_tiers(
    importer: Importer,
    rows: list[dict],
    numbers: dict[int, str],
    *,
    counted: bool = True,
    new_accounts: frozenset[int] = frozenset(),
) -> set[int]:
    """Upsert tier assignments keyed by (account, effective_from); return the accounts whose
    tier history changed.

    Every assignment replaced or added gets its own audit entry, as ``set_tier`` writes it,
    except those of ``new_accounts`` (created by this import: its one entry covers them).
    """
    tiers = importer.upsert(
        TierAssignment.__table__,
        ("account_id", "effective_from"),
        rows,
        ["tier"],
        entity="tier_assignments",
        counted=counted,
        describe=describer({"account_id": ("account_no", numbers)}),
    )
    added = {}
    for row in rows:
        key = (row["account_id"], row["effective_from"])
        if (
            key in tiers.changed
            and key not in tiers.existing
            and row["account_id"] not in new_accounts
        ):
            added[key] = row["tier"]
    if added:
        held = account_ops.tiers_held_before(added)
        context = importer.context
        context.audit.extend(
            account_ops.tier_change(
                numbers[account_id], day, tier, {"tier": held.get((account_id, day))}, created=True
            )
            for (account_id, day), tier in added.items()
        )
        context.write_audit()
    return {account_id for account_id, _ in tiers.changed}


def bump_versions(account_ids: Iterable[int], now: datetime) -> None:
    """Give accounts whose tier history changed a new version (the tier is part of the resource)."""
    ids = sorted(account_ids)
    for start in range(0, len(ids), LOOKUP_BATCH):
        db.session.execute(
            sa.update(Account.__table__)
            .where(Account.__table__.c.id.in_(ids[start : start + LOOKUP_BATCH]))
            .values(version=Account.__table__.c.version + 1, updated_at=now)
        )
