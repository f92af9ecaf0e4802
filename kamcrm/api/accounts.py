"""Key accounts, their tier history and contact persons.

Every account is looked up through the permission layer (``account_for``, and lists within
``scope_for``/``scope_of``): one outside the caller's scope answers 404 and never appears in
a list.
"""

from __future__ import annotations

from datetime import date

import marshmallow as ma
import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import aliased

from kamcrm import limits
from kamcrm.accounts import operations
from kamcrm.accounts.models import TIERS, Account, ContactPerson, TierAssignment
from kamcrm.accounts.queries import (
    account_for,
    ids_with_tier_on,
    list_conditions,
    tier_on,
    with_tier_on,
)
from kamcrm.api.blueprint import Blueprint, caller, may_answer
from kamcrm.api.etag import ETAG_HEADER, etag_of, expected_version
from kamcrm.api.fields import Id, Number, Text
from kamcrm.api.schemas import DateText, PageArgs, changes_of, envelope, offset, page_of
from kamcrm.db import tune_for_interactive_lists
from kamcrm.errors import NotFound, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.access import requires, scope_for, scope_of
from kamcrm.org.models import Office, User
from kamcrm.org.scope import Scope
from kamcrm.periods import bangkok_today

PATH = "/accounts"
blp = Blueprint(
    "accounts",
    __name__,
    description="Key accounts (SPEC section 7, accounts file), "
    "their tier history and contact persons.",
)

_DATE = {"format": "date", "example": "2021-01-01"}
_NUMERIC = {"minimum": 0}


class AccountSchema(ma.Schema):
    """An account, as a row of the accounts file; ``tier`` is the tier in force today."""

    account_no = Text(
        required=True, doc={"maxLength": limits.ACCOUNT_NO, "example": "020012345678"}
    )
    name = Text(required=True, doc={"maxLength": limits.ACCOUNT_NAME})
    office_code = Text(required=True, doc={"maxLength": limits.OFFICE_CODE})
    tier = Text(allow_none=True, doc={"enum": list(TIERS)})
    tier_effective_from = DateText(allow_none=True, doc=_DATE)
    kamr_username = Text(allow_none=True, doc={"maxLength": limits.USERNAME})
    sector = Text(allow_none=True, doc={"maxLength": limits.SECTOR})
    industrial_estate = Text(allow_none=True, doc={"maxLength": limits.INDUSTRIAL_ESTATE})
    transformer_kva = Number(allow_none=True, doc={**_NUMERIC, "maximum": 9999999999.99})
    monthly_revenue_thb = Number(allow_none=True, doc={**_NUMERIC, "maximum": 99999999999999.99})
    boi = ma.fields.Boolean(truthy={True}, falsy={False})
    spp_area = ma.fields.Boolean(truthy={True}, falsy={False})
    opened_on = DateText(allow_none=True, doc=_DATE)
    closed_on = DateText(allow_none=True, doc=_DATE)
    notes = Text(allow_none=True, doc={"maxLength": limits.ACCOUNT_NOTES})
    reason = Text(
        load_only=True,
        validate=ma.validate.Length(max=limits.REASON),
        metadata={
            "description": "Why an opened_on or closed_on inside a closed quarter is set "
            "(staff only; goes to the audit log)."
        },
    )


AccountChangesSchema = changes_of(AccountSchema, "AccountChangesSchema")
AccountPage = envelope(AccountSchema, "AccountPage")

#: ``sort`` values: a column, descending with a leading ``-``.
SORTS = (
    "account_no",
    "name",
    "office_code",
    "tier",
    "opened_on",
    "transformer_kva",
    "monthly_revenue_thb",
)


class AccountListArgs(PageArgs):
    office = Text(
        validate=ma.validate.Length(max=limits.OFFICE_CODE),
        metadata={"description": "Office code: that office and its branches."},
    )
    tier = Text(
        validate=ma.validate.OneOf(TIERS),
        doc={"enum": list(TIERS)},
        metadata={"description": "The tier in force today."},
    )
    kamr = Text(
        validate=ma.validate.Length(max=limits.USERNAME),
        metadata={"description": "Username of the KAMR."},
    )
    sector = Text(validate=ma.validate.Length(max=limits.SECTOR))
    industrial_estate = Text(validate=ma.validate.Length(max=limits.INDUSTRIAL_ESTATE))
    q = Text(
        validate=ma.validate.Length(min=1, max=100),
        metadata={"description": "Part of the name, or the start of the account number."},
    )
    include_closed = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "Also list accounts not active today (closed, or not yet "
            "opened). By default only active accounts are listed, as "
            "on the pages."
        },
    )
    sort = Text(
        load_default="account_no",
        validate=ma.validate.OneOf(SORTS + tuple("-" + key for key in SORTS)),
        doc={"enum": list(SORTS + tuple("-" + key for key in SORTS))},
        metadata={
            "description": "Order by this field (a leading '-' for descending); "
            "ties are broken by account_no."
        },
    )


class TierSchema(ma.Schema):
    """One tier assignment: from ``effective_from`` on, the account holds ``tier`` (null: none)."""

    tier = Text(allow_none=True, load_default=None, doc={"enum": list(TIERS)})
    effective_from = DateText(required=True, doc=_DATE)


class TierHistorySchema(ma.Schema):
    account_no = Text(required=True)
    tiers = ma.fields.List(
        ma.fields.Nested(TierSchema), required=True, metadata={"description": "Oldest first."}
    )


class ContactSchema(ma.Schema):
    """A person to talk to at the customer."""

    id = Id(dump_only=True)
    name = Text(required=True, doc={"maxLength": limits.PERSON_NAME})
    position = Text(allow_none=True, doc={"maxLength": limits.PERSON_NAME})
    phone = Text(allow_none=True, doc={"maxLength": limits.PHONE})
    email = Text(allow_none=True, doc={"maxLength": limits.EMAIL, "format": "email"})
    line_id = Text(allow_none=True, doc={"maxLength": limits.LINE_ID})


ContactChangesSchema = changes_of(ContactSchema, "ContactChangesSchema")


class ContactListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ContactSchema), required=True)


# --- reading -----------------------------------------------------------------------------


#: Aliases used by the list queries, built once (building one per request costs more than
#: the query's own compilation, which SQLAlchemy caches).
KAMR = aliased(User, name="kamr")
#: The office code and the KAMR's username as scalar subqueries: PostgreSQL works them out
#: for the rows of the page only, where a join ran for every matching account (an office's
#: thousands) before the page was cut.
OFFICE_CODE = (
    sa.select(Office.code)
    .where(Office.id == Account.office_id)
    .correlate(Account)
    .scalar_subquery()
)
KAMR_USERNAME = (
    sa.select(KAMR.username).where(KAMR.id == Account.kamr_id).correlate(Account).scalar_subquery()
)


def _account_page(scope: Scope, filters: list, tier_name: str | None, today: date, args: dict):
    """Return (rows, total): one page of the accounts of ``scope`` (the caller's, or one
    inside it) meeting ``filters`` and, when given, holding ``tier_name`` today.

    Within an office (a few thousand accounts) one statement returns the page and, as a
    window count, the total. Over the region the page walks the account numbers and stops
    when full, while the total (which must see every row) is its own count, with the tier
    test in the one-pass shape.
    """
    narrow = not scope.is_region
    tier = tier_on(Account.id, today)
    sort_columns = {
        "account_no": Account.account_no,
        "name": Account.name,
        "office_code": OFFICE_CODE,
        # Report order (STRATEGIC first), accounts without a tier last.
        "tier": sa.case(
            {name: rank for rank, name in enumerate(TIERS)}, value=tier, else_=len(TIERS)
        ),
        "opened_on": Account.opened_on,
        "transformer_kva": Account.transformer_kva,
        "monthly_revenue_thb": Account.monthly_revenue_thb,
    }
    key = args["sort"].lstrip("-")
    column = sort_columns[key]
    order = [column.desc() if args["sort"].startswith("-") else column.asc()]
    if key != "account_no":
        order.append(Account.account_no.asc())
    visible = sa.select(Account).where(scope.covers(Account.office_id))
    conditions = [*filters, tier == tier_name] if tier_name else list(filters)
    columns = [
        Account.account_no,
        Account.name,
        OFFICE_CODE.label("office_code"),
        tier.label("tier"),
        tier_on(Account.id, today, TierAssignment.effective_from).label("tier_effective_from"),
        KAMR_USERNAME.label("kamr_username"),
        Account.sector,
        Account.industrial_estate,
        Account.transformer_kva,
        Account.monthly_revenue_thb,
        Account.boi,
        Account.spp_area,
        Account.opened_on,
        Account.closed_on,
        Account.notes,
    ]
    if narrow:
        columns.append(sa.func.count().over().label("_total"))
    statement = (
        visible.with_only_columns(*columns)
        .where(*conditions)
        .order_by(*order)
        .limit(args["per_page"])
        .offset(offset(args))
    )
    rows = db.session.execute(statement).mappings().all()
    if narrow and (rows or args["page"] == 1):
        return rows, rows[0]["_total"] if rows else 0
    if tier_name and not filters:
        # A whole tier over the region: count the assignments in force themselves (one per
        # account); matching them against the accounts table doubled the time for STREAMLINE.
        total = db.session.execute(
            sa.select(sa.func.count()).select_from(ids_with_tier_on(tier_name, today).subquery())
        ).scalar_one()
        return rows, total
    counted = [*filters, with_tier_on(tier_name, today)] if tier_name else filters
    total = db.session.execute(
        visible.with_only_columns(sa.func.count()).select_from(Account).where(*counted)
    ).scalar_one()
    return rows, total


def _with_etag(account: Account, status: int = 200, headers: dict | None = None):
    return operations.account_record(account), status, {"ETag": etag_of(account), **(headers or {})}


@blp.route("", methods=["GET"])
@requires("accounts.view")
@blp.arguments(AccountListArgs, location="query")
@blp.response(200, AccountPage)
@may_answer(404)
def list_accounts(args):
    """List the accounts in your scope, filtered, sorted and paginated.

    ``office`` naming an office outside your scope answers 404, like an unknown code.
    """
    user = caller()
    today = bangkok_today()
    tune_for_interactive_lists(db.session)
    scope = scope_for(user, args["office"]) if "office" in args else scope_of(user)
    conditions = []
    if not scope.is_region:
        # The offices of the scope as a list of ids (besides the permission layer's own
        # condition): PostgreSQL then estimates the rows and reads them by office index.
        office_ids = db.session.execute(scope.office_ids()).scalars().all()
        conditions.append(Account.office_id.in_(office_ids))
    if "kamr" in args:
        conditions.append(
            Account.kamr_id.in_(sa.select(User.id).where(User.username == args["kamr"]))
        )
    # The tier is the page query's own part (it counts a whole tier its own way).
    conditions += list_conditions(
        today,
        search=args.get("q"),
        sector=args.get("sector"),
        industrial_estate=args.get("industrial_estate"),
        include_closed=args["include_closed"],
    )
    rows, total = _account_page(scope, conditions, args.get("tier"), today, args)
    return page_of(rows, total, args)


@blp.route("", methods=["POST"])
@requires("accounts.create")
@blp.arguments(AccountSchema)
@blp.response(
    201, AccountSchema, headers={**ETAG_HEADER, "Location": {"schema": {"type": "string"}}}
)
@may_answer(404, 409)
def create_account(data):
    """Create an account, with its first tier when ``tier`` is given (regional staff)."""
    user = caller()
    data = dict(data)
    reason = data.pop("reason", None)
    if data.get("office_code"):
        _office_in_scope(user, data["office_code"])
    account = operations.create_account(data, user, reason=reason)
    location = url_for("accounts.get_account", account_no=account.account_no)
    answer = _with_etag(account, 201, {"Location": location})
    return answer


@blp.route("/<key:account_no>", methods=["GET"])
@requires("accounts.view")
@blp.response(200, AccountSchema, headers=ETAG_HEADER)
@may_answer(404)
def get_account(account_no):
    """Read one account in your scope; the ETag is its version."""
    return _with_etag(account_for(caller(), account_no))


@blp.route("/<key:account_no>", methods=["PATCH"])
@requires("accounts.edit")
@blp.arguments(AccountChangesSchema)
@blp.response(200, AccountSchema, headers=ETAG_HEADER)
@blp.doc(parameters=["IfMatch"])
@may_answer(404, 409, 412)
def update_account(changes, account_no):
    """Change an account; fields left out stay as they are.

    Moving it to another office or KAMR, or changing ``opened_on``/``closed_on``, needs
    ``accounts.reassign`` (a KAMR of the account's office or its branches); a date inside a
    closed quarter also staff and a ``reason``. A ``tier`` here starts on
    ``tier_effective_from`` (default today) and needs ``roster.retier``. Send the ETag in
    ``If-Match`` to have a stale change refused with 412.
    """
    user = caller()
    changes = dict(changes)
    reason = changes.pop("reason", None)
    account = account_for(user, account_no, "accounts.edit")
    if changes.get("office_code"):
        _office_in_scope(user, changes["office_code"])
    account = operations.update_account(
        account, changes, user, reason=reason, expected_version=expected_version(account)
    )
    answer = _with_etag(account)
    return answer


def _office_in_scope(user, code: str) -> None:
    # An office the caller cannot see is, to them, an office that does not exist.
    try:
        scope_for(user, code)
    except NotFound as error:
        raise ValidationFailed({"office_code": [error.message]}) from None


# --- tier history ------------------------------------------------------------------------


def _tier_history(account: Account) -> dict:
    rows = (
        db.session.execute(
            sa.select(TierAssignment.tier, TierAssignment.effective_from)
            .where(TierAssignment.account_id == account.id)
            .order_by(TierAssignment.effective_from)
        )
        .mappings()
        .all()
    )
    return {"account_no": account.account_no, "tiers": rows}


@blp.route("/<key:account_no>/tiers", methods=["GET"])
@requires("accounts.view")
@blp.response(200, TierHistorySchema)
@may_answer(404)
def list_tiers(account_no):
    """Read an account's tier history, oldest first."""
    return _tier_history(account_for(caller(), account_no))


@blp.route("/<key:account_no>/tiers", methods=["POST"])
@requires("roster.retier")
@blp.arguments(TierSchema)
@blp.response(201, TierHistorySchema, headers=ETAG_HEADER)
@may_answer(404, 409)
def add_tier(data, account_no):
    """Give the account ``tier`` (null: no tier) from ``effective_from`` on (regional staff).

    An assignment starting on the same date is replaced. Answers the whole history.
    """
    user = caller()
    account = account_for(user, account_no, "roster.retier")
    operations.set_tier(account, data.get("tier"), data["effective_from"], user)
    return _tier_history(account), 201, {"ETag": etag_of(account)}


# --- contact persons ---------------------------------------------------------------------


def _contact(account: Account, contact_id: int) -> ContactPerson:
    contact = db.session.execute(
        sa.select(ContactPerson).where(
            ContactPerson.id == contact_id, ContactPerson.account_id == account.id
        )
    ).scalar_one_or_none()
    if contact is None:
        raise NotFound(f"Account {account.account_no} has no contact person {contact_id}.")
    return contact


def _contact_body(contact: ContactPerson) -> dict:
    return {
        "id": contact.id,
        **{name: getattr(contact, name) for name in operations.CONTACT_FIELDS},
    }


@blp.route("/<key:account_no>/contacts", methods=["GET"])
@requires("accounts.view")
@blp.response(200, ContactListSchema)
@may_answer(404)
def list_contacts(account_no):
    """List an account's contact persons."""
    account = account_for(caller(), account_no)
    contacts = db.session.execute(
        sa.select(ContactPerson)
        .where(ContactPerson.account_id == account.id)
        .order_by(ContactPerson.id)
    ).scalars()
    return {"items": [_contact_body(contact) for contact in contacts]}


@blp.route("/<key:account_no>/contacts", methods=["POST"])
@requires("contacts.edit")
@blp.arguments(ContactSchema)
@blp.response(201, ContactSchema)
@may_answer(404)
def add_contact(data, account_no):
    """Add a contact person to an account."""
    user = caller()
    contact = operations.add_contact(account_for(user, account_no, "contacts.edit"), data, user)
    return _contact_body(contact)


@blp.route("/<key:account_no>/contacts/<id:contact_id>", methods=["PATCH"])
@requires("contacts.edit")
@blp.arguments(ContactChangesSchema)
@blp.response(200, ContactSchema)
@may_answer(404)
def update_contact(changes, account_no, contact_id):
    """Change a contact person; fields left out stay as they are."""
    user = caller()
    contact = _contact(account_for(user, account_no, "contacts.edit"), contact_id)
    contact = operations.update_contact(contact, changes, user)
    return _contact_body(contact)


@blp.route("/<key:account_no>/contacts/<id:contact_id>", methods=["DELETE"])
@requires("contacts.edit")
@blp.response(204)
@may_answer(404)
def delete_contact(account_no, contact_id):
    """Remove a contact person."""
    user = caller()
    operations.delete_contact(
        _contact(account_for(user, account_no, "contacts.edit"), contact_id), user
    )
    return None
