"""The natural keys rows refer to (office codes, usernames, account numbers), mapped to ids.

Row validators (``validate_<kind>_row`` in each domain's ``operations``) only read these
dicts, so validating a row runs no SQL. A bulk import preloads whole tables once; a single
operation loads just the keys its row names (:meth:`Lookups.for_keys`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

import sqlalchemy as sa

from kamcrm.extensions import db


class OfficeRef(NamedTuple):
    id: int
    code: str
    office_class: str
    parent_id: int | None


class UserRef(NamedTuple):
    id: int
    username: str
    role: str
    office_id: int
    #: The role the user's executive visits count for (None: they make none).
    exec_role: str | None = None
    #: The parent of the user's office: an account is assigned to a KAMR of its office or branches.
    office_parent_id: int | None = None


class AccountRef(NamedTuple):
    id: int
    account_no: str
    office_id: int
    opened_on: date | None
    closed_on: date | None


@dataclass
class Lookups:
    """Offices by code, users by username and accounts by account number."""

    offices: dict[str, OfficeRef] = field(default_factory=dict)
    users: dict[str, UserRef] = field(default_factory=dict)
    accounts: dict[str, AccountRef] = field(default_factory=dict)

    @classmethod
    def load(cls, *, offices: bool = True, users: bool = True, accounts: bool = False) -> Lookups:
        """Return lookups holding every row of the tables asked for (one query each)."""
        found = cls()
        if offices:
            found.offices = {row.code: row for row in _offices(None)}
        if users:
            found.users = {row.username: row for row in _users(None)}
        if accounts:
            found.accounts = {row.account_no: row for row in _accounts(None)}
        return found

    @classmethod
    def for_keys(
        cls,
        *,
        office_codes: Iterable[object] = (),
        usernames: Iterable[object] = (),
        account_nos: Iterable[object] = (),
        users: Iterable[object] = (),
        accounts: Iterable[object] = (),
    ) -> Lookups:
        """Return lookups holding only the named rows (for validating one record).

        ``users`` and ``accounts`` are rows the caller has already loaded in this
        transaction (ORM objects or refs); the keys they hold are not queried again.
        """
        office_codes, usernames, account_nos = (
            {key.strip() for key in keys if isinstance(key, str) and key.strip()}
            for keys in (office_codes, usernames, account_nos)
        )
        found = cls()
        for user in users:
            if user is not None and user.username in usernames:
                found.users[user.username] = UserRef(
                    user.id,
                    user.username,
                    user.role,
                    user.office_id,
                    user.exec_role,
                    user.office.parent_id,
                )
                usernames.discard(user.username)
        for account in accounts:
            if account is not None and account.account_no in account_nos:
                found.accounts[account.account_no] = AccountRef(
                    account.id,
                    account.account_no,
                    account.office_id,
                    account.opened_on,
                    account.closed_on,
                )
                account_nos.discard(account.account_no)
        if office_codes:
            found.offices = {row.code: row for row in _offices(office_codes)}
        if usernames:
            found.users.update((row.username, row) for row in _users(usernames))
        if account_nos:
            found.accounts.update((row.account_no, row) for row in _accounts(account_nos))
        return found


# The few columns read here, named as plain tables: this base layer maps natural keys to ids
# for every domain without importing the domains' models (which sit above it).
Office = sa.table(
    "offices",
    sa.column("id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("office_class", sa.String),
    sa.column("parent_id", sa.Integer),
)
User = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("username", sa.String),
    sa.column("role", sa.String),
    sa.column("office_id", sa.Integer),
    sa.column("exec_role", sa.String),
)
Account = sa.table(
    "accounts",
    sa.column("id", sa.Integer),
    sa.column("account_no", sa.String),
    sa.column("office_id", sa.Integer),
    sa.column("opened_on", sa.Date),
    sa.column("closed_on", sa.Date),
)


def _offices(codes):
    query = sa.select(Office.c.id, Office.c.code, Office.c.office_class, Office.c.parent_id)
    if codes is not None:
        query = query.where(Office.c.code.in_(sorted(codes)))
    return [OfficeRef(*row) for row in db.session.execute(query)]


def _users(usernames):
    query = sa.select(
        User.c.id,
        User.c.username,
        User.c.role,
        User.c.office_id,
        User.c.exec_role,
        Office.c.parent_id,
    ).join(Office, User.c.office_id == Office.c.id)
    if usernames is not None:
        query = query.where(User.c.username.in_(sorted(usernames)))
    return [UserRef(*row) for row in db.session.execute(query)]


def _accounts(account_nos):
    query = sa.select(
        Account.c.id,
        Account.c.account_no,
        Account.c.office_id,
        Account.c.opened_on,
        Account.c.closed_on,
    )
    if account_nos is not None:
        query = query.where(Account.c.account_no.in_(sorted(account_nos)))
    return [AccountRef(*row) for row in db.session.execute(query)]
