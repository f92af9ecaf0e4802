"""Activities (contacts with accounts) and their follow-up actions.

Who may record which type on which account is the permission layer's call
(``activities.access.require_activity_change``); what makes an activity valid is the operations' (one
validation, shared with the pages and the import). An account outside the caller's scope
named in a body is reported exactly like an unknown one.
"""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import aliased

from kamcrm import limits
from kamcrm.accounts.models import Account
from kamcrm.accounts.queries import account_for, accounts_for, unknown_account
from kamcrm.activities import operations
from kamcrm.activities.access import require_activity_change
from kamcrm.activities.models import (
    ACTIVITY_TYPES,
    BIZ_OUTCOMES,
    CHANNELS,
    STATUSES,
    VOC_KINDS,
    Activity,
    FollowUp,
)
from kamcrm.activities.queries import activity_for, visible_activities
from kamcrm.api.blueprint import Blueprint, caller, may_answer
from kamcrm.api.etag import ETAG_HEADER, check_if_match, etag_of, expected_version
from kamcrm.api.fields import Id, Text
from kamcrm.api.schemas import DateText, PageArgs, changes_of, envelope, offset, page_of
from kamcrm.db import tune_for_interactive_lists
from kamcrm.errors import KamcrmError, NotFound, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.access import requires, scope_for
from kamcrm.org.models import EXEC_ROLES, User

PATH = "/activities"
blp = Blueprint(
    "activities",
    __name__,
    description="Activities (SPEC section 7, activities file) and their follow-up actions.",
)

#: Most activities one bulk request may create.
MAX_BULK = 500
_ID_RULE = "<id:activity_id>"
_DATE = {"format": "date", "example": "2021-03-05"}
_REASON = Text(
    load_only=True,
    doc={"maxLength": limits.REASON},
    metadata={
        "description": "Why a closed quarter's activity is changed "
        "(staff only; goes to the audit log)."
    },
)


class ActivitySchema(ma.Schema):
    """An activity: a row of the activities file, plus ``id``, the customer's voice and lateness."""

    id = Id(dump_only=True)
    account_no = Text(required=True, doc={"maxLength": limits.ACCOUNT_NO})
    type = Text(required=True, doc={"enum": list(ACTIVITY_TYPES)})
    activity_date = DateText(required=True, doc=_DATE)
    performed_by = Text(
        doc={"maxLength": limits.USERNAME}, metadata={"description": "Username; default: you."}
    )
    status = Text(doc={"enum": list(STATUSES)}, metadata={"description": "Default: done."})
    channel = Text(allow_none=True, doc={"enum": list(CHANNELS)})
    exec_role = Text(
        allow_none=True,
        doc={"enum": list(EXEC_ROLES)},
        metadata={"description": "Required for EXV, and only for EXV."},
    )
    summary = Text(allow_none=True, doc={"maxLength": limits.SUMMARY})
    ref = Text(
        allow_none=True,
        doc={"maxLength": limits.ACTIVITY_REF},
        metadata={"description": "External id; unique."},
    )
    recorded_at = Text(
        doc={"format": "date-time"},
        metadata={
            "description": "When it was entered (ISO 8601 with offset); default: now. Only "
            "regional staff and admins may set it (it decides whether the entry is late)."
        },
    )
    voc_kind = Text(allow_none=True, doc={"enum": list(VOC_KINDS)})
    voc_category = Text(allow_none=True, doc={"maxLength": limits.VOC_CATEGORY})
    voc_text = Text(allow_none=True, doc={"maxLength": limits.VOC_TEXT})
    outcome = Text(
        allow_none=True,
        doc={"enum": list(BIZ_OUTCOMES)},
        metadata={"description": "What came of a business visit (BIZ only)."},
    )
    quoted_value_thb = Text(
        allow_none=True,
        doc={"pattern": r"^[0-9,]+(\.[0-9]{1,2})?$"},
        metadata={"description": "The value quoted at a business visit, THB (BIZ only)."},
    )
    is_late = ma.fields.Boolean(
        dump_only=True,
        metadata={
            "description": "Recorded after the 5th day of the month following activity_date."
        },
    )
    reason = _REASON


ActivityChangesSchema = changes_of(ActivitySchema, "ActivityChangesSchema")
ActivityPage = envelope(ActivitySchema, "ActivityPage")


class ActivityListArgs(PageArgs):
    account_no = Text(validate=ma.validate.Length(max=limits.ACCOUNT_NO))
    type = Text(validate=ma.validate.OneOf(ACTIVITY_TYPES), doc={"enum": list(ACTIVITY_TYPES)})
    status = Text(validate=ma.validate.OneOf(STATUSES), doc={"enum": list(STATUSES)})
    from_ = ma.fields.Date(data_key="from", metadata={"description": "activity_date on or after."})
    to = ma.fields.Date(metadata={"description": "activity_date on or before."})
    office = Text(
        validate=ma.validate.Length(max=20),
        metadata={"description": "Office code: accounts of that office and its branches."},
    )
    performed_by = Text(validate=ma.validate.Length(max=limits.USERNAME))


class BulkSchema(ma.Schema):
    """Activities to create together: all of them, or none."""

    items = ma.fields.List(
        ma.fields.Nested(ActivitySchema),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_BULK),
    )


class BulkResultSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ActivitySchema), required=True)


class DeleteArgs(ma.Schema):
    reason = Text(
        validate=ma.validate.Length(max=limits.REASON),
        metadata={"description": "Why a closed quarter's activity is deleted (staff only)."},
    )


class FollowUpSchema(ma.Schema):
    """An action promised during an activity, with its due date."""

    id = Id(dump_only=True)
    activity_id = Id(dump_only=True)
    action = Text(required=True, doc={"maxLength": limits.FOLLOW_UP_ACTION})
    due_on = DateText(required=True, doc=_DATE)
    done_on = DateText(allow_none=True, doc=_DATE)
    assignee = Text(
        allow_none=True,
        doc={"maxLength": limits.USERNAME},
        metadata={"description": "Username; default: who performed the activity."},
    )


class FollowUpListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(FollowUpSchema), required=True)


class CompletionSchema(ma.Schema):
    done_on = ma.fields.Date(metadata={"description": "Default: today (Bangkok)."})


# --- helpers -----------------------------------------------------------------------------


#: Aliases of the list filters, built once rather than per request.
FILTER_ACCOUNT = aliased(Account, name="filter_account")
FILTER_PERFORMER = aliased(User, name="filter_performer")


def _body(activity: Activity) -> dict:
    return operations.activity_record(activity)


def _with_etag(activity: Activity, status: int = 200, headers: dict | None = None):
    return _body(activity), status, {"ETag": etag_of(activity), **(headers or {})}


def _visible_account(user, account_no: str, known: dict | None = None) -> Account:
    """The account named in a body, in the caller's scope (``known``: the bulk request's
    accounts, read at once); out of scope is out of sight, the same answer as a number nobody
    has."""
    try:
        if known is None:
            return account_for(user, account_no)
        if account_no not in known:
            raise unknown_account(account_no)
        return known[account_no]
    except NotFound as error:
        raise ValidationFailed({"account_no": [error.message]}) from None


def _type_of(value, default: str | None = None) -> str | None:
    return value.strip().upper() if isinstance(value, str) else default


def _create(user, data: dict, known: dict | None = None) -> tuple[Activity, Account]:
    """Record an activity; return it with its account (the caller keeps the account
    referenced so the session's identity map still holds it for the answer)."""
    data = dict(data)
    reason = data.pop("reason", None)
    account = _visible_account(user, data["account_no"], known)  # the scope: checked here, once
    require_activity_change(user, "create", _type_of(data.get("type")), None)
    return operations.create_activity(data, user, reason=reason, account=account), account


# --- activities --------------------------------------------------------------------------


@blp.route("", methods=["GET"])
@requires("activities.view")
@blp.arguments(ActivityListArgs, location="query")
@blp.response(200, ActivityPage)
@may_answer(404)
def list_activities(args):
    """List activities on accounts in your scope, newest first, filtered and paginated.

    ``office`` naming an office outside your scope answers 404, like an unknown code.
    """
    user = caller()
    tune_for_interactive_lists(db.session)
    account, performer = FILTER_ACCOUNT, FILTER_PERFORMER
    conditions = []
    if "office" in args:
        office_scope = scope_for(user, args["office"])
        conditions.append(
            Activity.account_id.in_(
                sa.select(account.id).where(office_scope.covers(account.office_id))
            )
        )
    if "account_no" in args:
        conditions.append(
            Activity.account_id.in_(
                sa.select(account.id).where(account.account_no == args["account_no"])
            )
        )
    if "type" in args:
        conditions.append(Activity.type == args["type"])
    if "status" in args:
        conditions.append(Activity.status == args["status"])
    if "from_" in args:
        conditions.append(Activity.activity_date >= args["from_"])
    if "to" in args:
        conditions.append(Activity.activity_date <= args["to"])
    if "performed_by" in args:
        conditions.append(
            Activity.performed_by_id.in_(
                sa.select(performer.id).where(performer.username == args["performed_by"])
            )
        )
    visible = visible_activities(user).where(*conditions)
    total = db.session.execute(
        visible.with_only_columns(sa.func.count(Activity.id)).order_by(None)
    ).scalar_one()
    activities = (
        db.session.execute(
            visible.order_by(Activity.activity_date.desc(), Activity.id.desc())
            .limit(args["per_page"])
            .offset(offset(args))
            .options(sa.orm.joinedload(Activity.account), sa.orm.joinedload(Activity.performed_by))
        )
        .scalars()
        .all()
    )
    return page_of([_body(activity) for activity in activities], total, args)


@blp.route("", methods=["POST"])
@requires("activities.create")
@blp.arguments(ActivitySchema)
@blp.response(
    201, ActivitySchema, headers={**ETAG_HEADER, "Location": {"schema": {"type": "string"}}}
)
@may_answer(404, 409)
def create_activity(data):
    """Record an activity on an account in your scope.

    ``performed_by`` defaults to you and ``recorded_at`` to now. In a closed quarter only
    regional staff may add one, with a ``reason`` (others get 409).
    """
    activity, _account = _create(caller(), data)
    location = url_for("activities.get_activity", activity_id=activity.id)
    # Answered from the rows as flushed: after the commit they would be loaded again.
    answer = _with_etag(activity, 201, {"Location": location})
    return answer


@blp.route("/bulk", methods=["POST"])
@requires("activities.create")
@blp.arguments(BulkSchema)
@blp.response(201, BulkResultSchema)
@may_answer(409)
def create_activities(data):
    """Record up to 500 activities at once: all of them, or (with any bad item) none.

    Errors name the item: ``items.3.activity_date``.
    """
    user = caller()
    created, errors = [], {}
    # The items' accounts in scope, in one query rather than one per item.
    known = accounts_for(user, [item["account_no"] for item in data["items"]])
    for index, item in enumerate(data["items"]):
        try:
            # No savepoint per item: an item is refused before it writes anything (a ref
            # taken meanwhile has the operation's own savepoint), and any refusal rolls the
            # whole request back.
            created.append(_create(user, item, known))
        except KamcrmError as error:
            problems = error.errors or {"_schema": [error.message]}
            for field, messages in problems.items():
                errors[f"items.{index}.{field}"] = list(messages)
    if errors:
        db.session.rollback()
        raise ValidationFailed(
            errors, message="No activity was recorded: some items are not valid."
        )
    answer = {"items": [_body(activity) for activity, _account in created]}
    return answer


@blp.route(f"/{_ID_RULE}", methods=["GET"])
@requires("activities.view")
@blp.response(200, ActivitySchema, headers=ETAG_HEADER)
@may_answer(404)
def get_activity(activity_id):
    """Read one activity on an account in your scope; the ETag is its version."""
    return _with_etag(activity_for(caller(), activity_id))


@blp.route(f"/{_ID_RULE}", methods=["PATCH"])
@requires("activities.edit")
@blp.arguments(ActivityChangesSchema)
@blp.response(200, ActivitySchema, headers=ETAG_HEADER)
@blp.doc(parameters=["IfMatch"])
@may_answer(404, 409, 412)
def update_activity(changes, activity_id):
    """Change an activity; fields left out stay as they are.

    Send the ETag in ``If-Match`` to have a stale change refused with 412. A change in a
    closed quarter (old or new date) needs staff and a ``reason``.
    """
    user = caller()
    changes = dict(changes)
    reason = changes.pop("reason", None)
    activity = activity_for(user, activity_id, "activities.edit")
    if "account_no" in changes and changes["account_no"] != activity.account.account_no:
        _visible_account(user, changes["account_no"])
    if "type" in changes:
        require_activity_change(user, "edit", _type_of(changes["type"]), None)
    activity = operations.update_activity(
        activity, changes, user, reason=reason, expected_version=expected_version(activity)
    )
    answer = _with_etag(activity)
    return answer


@blp.route(f"/{_ID_RULE}", methods=["DELETE"])
@requires("activities.delete")
@blp.arguments(DeleteArgs, location="query")
@blp.response(204)
@blp.doc(parameters=["IfMatch"])
@may_answer(404, 409, 412)
def delete_activity(args, activity_id):
    """Delete an activity and its follow-ups (``If-Match`` honoured, like PATCH)."""
    user = caller()
    activity = activity_for(user, activity_id, "activities.delete")
    check_if_match(activity)
    operations.delete_activity(activity, user, reason=args.get("reason"))
    return None


# --- follow-ups --------------------------------------------------------------------------


def _follow_up_body(follow_up: FollowUp) -> dict:
    return {"id": follow_up.id, **operations.follow_up_record(follow_up)}


@blp.route(f"/{_ID_RULE}/follow-ups", methods=["GET"])
@requires("activities.view")
@blp.response(200, FollowUpListSchema)
@may_answer(404)
def list_follow_ups(activity_id):
    """List an activity's follow-up actions, soonest due first."""
    activity = activity_for(caller(), activity_id)
    return {"items": [_follow_up_body(follow_up) for follow_up in activity.follow_ups]}


@blp.route(f"/{_ID_RULE}/follow-ups", methods=["POST"])
@requires("activities.edit")
@blp.arguments(FollowUpSchema)
@blp.response(201, FollowUpSchema)
@may_answer(404)
def add_follow_up(data, activity_id):
    """Add a follow-up action with its due date."""
    user = caller()
    activity = activity_for(user, activity_id, "activities.edit")
    follow_up = operations.add_follow_up(activity, data, user)
    return _follow_up_body(follow_up)


@blp.route(f"/{_ID_RULE}/follow-ups/<id:follow_up_id>/complete", methods=["POST"])
@requires("activities.edit")
@blp.arguments(CompletionSchema)
@blp.response(200, FollowUpSchema)
@may_answer(404)
def complete_follow_up(data, activity_id, follow_up_id):
    """Mark a follow-up done (on ``done_on``, default today)."""
    user = caller()
    activity = activity_for(user, activity_id, "activities.edit")
    follow_up = next((item for item in activity.follow_ups if item.id == follow_up_id), None)
    if follow_up is None:
        raise NotFound(f"Activity {activity_id} has no follow-up {follow_up_id}.")
    follow_up = operations.complete_follow_up(follow_up, user, done_on=data.get("done_on"))
    return _follow_up_body(follow_up)
