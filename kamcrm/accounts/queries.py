"""Reading accounts as a given person may: every list, lookup and export of accounts starts here.

Scope comes from the permission layer (``kamcrm.org.access``): out of scope is out of sight,
so an account outside the caller's offices is ``NotFound``, never ``Forbidden``.
"""
from __future__ import annotations

import functools

import sqlalchemy as sa

from kamcrm.accounts.models import Account
from kamcrm.errors import Forbidden, Message, NotFound
from kamcrm.extensions import db
from kamcrm.org.access import can, scope_condition, scope_of
from kamcrm.org.scope import SCOPE_OFFICE, SHAPES, covering


def visible_accounts(user) -> sa.Select:
    """Return a SELECT of the accounts ``user`` sees; every list and export starts here."""
    return sa.select(Account).where(scope_condition(user, Account.office_id))


@functools.cache
def _account_by_number() -> dict[str, sa.Select]:
    """One statement per scope shape, built once: every call on an account starts here, and a
    statement built per call pays for working out its cache key every time."""
    return {
        shape: sa.select(Account).where(
            Account.account_no == sa.bindparam("account_no"),
            covering(shape, Account.office_id, SCOPE_OFFICE),
        )
        for shape in SHAPES
    }


def account_for(user, account_no: str, action: str = "accounts.view"):
    """Return the account ``account_no`` if ``user`` sees it and may do ``action`` to it.

    Raises ``NotFound`` when there is no such account or it is out of scope, ``Forbidden``
    when it is in sight but the role may not do ``action``.
    """
    scope = scope_of(user)
    shape = "region" if scope is None else scope.shape
    parameters = {} if scope is None else scope.parameters()
    account = db.session.execute(
        _account_by_number()[shape], {"account_no": account_no, **parameters}
    ).scalar_one_or_none()
    if account is None:
        raise NotFound(Message("No account has the number %(account_no)r.", account_no=account_no))
    if not can(user, action):
        raise Forbidden(Message("Your role may not do this (%(action)s).", action=action))
    return account
