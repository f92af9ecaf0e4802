"""Reading accounts as a given person may, and the account rules every reader shares.

Every list, lookup and export of accounts starts here. The rules of SPEC section 2 are
written here once: the tier an account holds on a day (``tier_on``, ``tiers_on``,
``with_tier_on``, ``ids_with_tier_on``, ``tier_in_force``) and whether it is active on a day (``active_on``).

Scope comes from the permission layer (``kamcrm.org.access``): out of scope is out of sight,
so an account outside the caller's offices is ``NotFound``, never ``Forbidden``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from kamcrm.accounts.models import Account, TierAssignment
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
        raise unknown_account(account_no)
    if not can(user, action):
        raise Forbidden(Message("Your role may not do this (%(action)s).", action=action))
    return account


def accounts_for(user, account_nos: Iterable[str], action: str = "accounts.view") -> dict:
    """Return the accounts among ``account_nos`` that ``user`` sees, by number, in one query.

    :func:`account_for` for many numbers at once (the API's bulk write): a number missing
    from the answer is unknown or out of scope, to be refused as ``account_for`` would.
    ``Forbidden`` when the role may not do ``action``.
    """
    if not can(user, action):
        raise Forbidden(Message("Your role may not do this (%(action)s).", action=action))
    numbers = sorted({number for number in account_nos if isinstance(number, str)})
    if not numbers:
        return {}
    found = db.session.execute(
        visible_accounts(user).where(Account.account_no.in_(numbers))
    ).scalars()
    return {account.account_no: account for account in found}


def unknown_account(account_no: str) -> NotFound:
    """The refusal of an account number that is unknown or out of the caller's scope."""
    return NotFound(Message("No account has the number %(account_no)r.", account_no=account_no))


# --- the account list: one set of filters for the pages and the API ------------------------


def search_condition(text: str) -> sa.ColumnElement[bool]:
    """Accounts whose number starts with ``text`` or whose name contains it (any case).

    ``%``, ``_`` and ``\\`` in ``text`` are plain characters. The pages' search box, the
    account field's suggestions and the API's ``q`` all search with this.
    """
    return sa.or_(
        Account.account_no.startswith(text, autoescape=True),
        Account.name.icontains(text, autoescape=True),
    )


def list_conditions(
    day: date,
    *,
    search: str | None = None,
    tier: str | None = None,
    sector: str | None = None,
    industrial_estate: str | None = None,
    kamr_id: int | None = None,
    include_closed: bool = False,
) -> list:
    """The WHERE conditions of an account list as of ``day`` (scope is the caller's part).

    By default the list holds the accounts active on ``day`` (SPEC section 2): a closed
    account, or one not yet opened, is out of every population, and a list that mixed them
    in gave the pages and the API different answers to one question. ``include_closed``
    lists them too. ``tier`` is a tier code or ``"none"`` (no tier on ``day``).
    """
    conditions = [] if include_closed else [active_on(day)]
    if search:
        conditions.append(search_condition(search))
    if tier == "none":
        conditions.append(tier_on(Account.id, day).is_(None))
    elif tier:
        conditions.append(tier_on(Account.id, day) == tier)
    if sector:
        conditions.append(Account.sector == sector)
    if industrial_estate:
        conditions.append(Account.industrial_estate == industrial_estate)
    if kamr_id is not None:
        conditions.append(Account.kamr_id == kamr_id)
    return conditions


# --- the tier on a day and the account's life (SPEC section 2) ------------------------------


def tier_on(account_id, day: date, column=TierAssignment.tier) -> sa.ScalarSelect:
    """Return the tier of account ``account_id`` on ``day`` (NULL: no tier) as a subquery.

    The assignment with the latest ``effective_from`` on or before ``day`` wins; the unique
    key (account_id, effective_from) is the index this walks. ``column`` picks another
    column of that assignment (e.g. its ``effective_from``).
    """
    return (
        sa.select(column)
        .where(TierAssignment.account_id == account_id, TierAssignment.effective_from <= day)
        .order_by(TierAssignment.effective_from.desc())
        .limit(1)
        .scalar_subquery()
    )


def tiers_on(days: Sequence[date], account_ids: sa.Select | None = None) -> sa.Subquery:
    """Return a subquery ``(account_id, t0, t1, …)``: each account's tier on each of ``days``.

    One pass over the tier history: each assignment holds from its ``effective_from`` up
    to the next one's (``LEAD``), and the tier on a day is the assignment whose span
    contains it. ``account_ids`` (a SELECT of ids) limits the accounts read. Accounts with
    no assignment on or before the last day have no row.
    """
    last = max(days)
    spans = sa.select(
        TierAssignment.account_id,
        TierAssignment.tier,
        TierAssignment.effective_from.label("starts"),
        sa.func.lead(TierAssignment.effective_from)
        .over(partition_by=TierAssignment.account_id, order_by=TierAssignment.effective_from)
        .label("ends"),
    ).where(TierAssignment.effective_from <= last)
    if account_ids is not None:
        spans = spans.where(TierAssignment.account_id.in_(account_ids))
    spans = spans.subquery("spans")
    columns = [
        sa.func.max(spans.c.tier)
        .filter(sa.and_(spans.c.starts <= day, sa.or_(spans.c.ends.is_(None), spans.c.ends > day)))
        .label(f"t{i}")
        for i, day in enumerate(days)
    ]
    return sa.select(spans.c.account_id, *columns).group_by(spans.c.account_id).subquery("tiers")


def active_on(day: date, account=Account) -> sa.ColumnElement[bool]:
    """Return the condition that an account is active on ``day`` (SPEC section 2)."""
    return sa.and_(
        sa.or_(account.opened_on.is_(None), account.opened_on <= day),
        sa.or_(account.closed_on.is_(None), account.closed_on > day),
    )


_LATER = aliased(TierAssignment, name="later_assignment")


def ids_with_tier_on(name: str, day: date) -> sa.Select:
    """The ids of the accounts whose tier on ``day`` is ``name`` (the same rule as ``tier_on``),
    as one pass over the assignments of that tier with no later one in force: across a whole
    region cheaper than a lookup per account. One row per account."""
    return sa.select(TierAssignment.account_id).where(
        TierAssignment.tier == name,
        TierAssignment.effective_from <= day,
        ~sa.exists().where(
            _LATER.account_id == TierAssignment.account_id,
            _LATER.effective_from > TierAssignment.effective_from,
            _LATER.effective_from <= day,
        ),
    )


def with_tier_on(name: str, day: date) -> sa.ColumnElement[bool]:
    """The condition that an account's tier on ``day`` is ``name`` (``ids_with_tier_on``)."""
    return Account.id.in_(ids_with_tier_on(name, day))


def tier_in_force(assignments: Iterable[TierAssignment], day: date) -> TierAssignment | None:
    """The assignment in force on ``day`` among an account's loaded ``assignments``
    (the latest ``effective_from`` on or before it), for a page that holds them already."""
    return max(
        (a for a in assignments if a.effective_from <= day),
        key=lambda a: a.effective_from,
        default=None,
    )


def tier_assignment_on(account: Account, day: date) -> TierAssignment | None:
    """Return the assignment of ``account`` in force on ``day`` (one indexed lookup)."""
    return db.session.execute(
        sa.select(TierAssignment)
        .where(TierAssignment.account_id == account.id, TierAssignment.effective_from <= day)
        .order_by(TierAssignment.effective_from.desc())
        .limit(1)
    ).scalar_one_or_none()
