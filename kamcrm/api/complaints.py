"""Complaints (SPEC section 8) and their close and reopen.

What makes a complaint valid, and who may make which change, is the operations' call (one
validation, shared with the pages and the import). A complaint handled outside the caller's
scope answers 404; an office, account or user outside it named in a body is reported
exactly like an unknown one.
"""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import url_for

from kamcrm import limits
from kamcrm.accounts.models import Account
from kamcrm.api.blueprint import Blueprint, caller, may_answer
from kamcrm.api.etag import ETAG_HEADER, etag_of, expected_version
from kamcrm.api.fields import Text
from kamcrm.api.schemas import PageArgs, changes_of, envelope, offset, page_of
from kamcrm.complaints import operations
from kamcrm.complaints.models import CHANNELS, EXCLUSION_REASONS, Complaint
from kamcrm.complaints.queries import (
    complaint_for,
    list_conditions,
    overdue_filter,
    visible_complaints,
)
from kamcrm.db import tune_for_interactive_lists
from kamcrm.errors import PreconditionFailed
from kamcrm.extensions import db
from kamcrm.org.access import requires, scope_for

PATH = "/complaints"
blp = Blueprint(
    "complaints", __name__, description="Complaints and their time limits (SPEC section 8)."
)
_REF_RULE = "<key:ref>"
_MOMENT = {"format": "date-time", "example": "2021-03-05T14:30:00+07:00"}


class ComplaintSchema(ma.Schema):
    """A complaint: a row of the complaints file."""

    ref = Text(
        required=True, doc={"maxLength": limits.COMPLAINT_REF}, metadata={"description": "Unique."}
    )
    office_code = Text(
        allow_none=True,
        doc={"maxLength": limits.OFFICE_CODE},
        metadata={"description": "The handling office; default: the account's."},
    )
    account_no = Text(allow_none=True, doc={"maxLength": limits.ACCOUNT_NO})
    category = Text(
        required=True, metadata={"description": "One of the categories of the year received."}
    )
    channel = Text(allow_none=True, doc={"enum": list(CHANNELS)})
    urgent = ma.fields.Boolean(load_default=None, allow_none=True)
    received_at = Text(doc=_MOMENT, metadata={"description": "ISO 8601 with offset; default: now."})
    closed_at = Text(
        allow_none=True,
        doc=_MOMENT,
        metadata={"description": "Blank while open; needs a resolution."},
    )
    excluded = Text(allow_none=True, doc={"enum": list(EXCLUSION_REASONS)})
    summary = Text(allow_none=True, doc={"maxLength": limits.COMPLAINT_SUMMARY})
    resolution = Text(allow_none=True, doc={"maxLength": limits.COMPLAINT_RESOLUTION})
    assigned_to = Text(
        allow_none=True,
        doc={"maxLength": limits.USERNAME},
        metadata={"description": "Username; default: you."},
    )


ComplaintChangesSchema = changes_of(ComplaintSchema, "ComplaintChangesSchema")
ComplaintPage = envelope(ComplaintSchema, "ComplaintPage")


class CloseSchema(ma.Schema):
    """How a complaint was resolved, and when (default: now)."""

    resolution = Text(required=True, doc={"maxLength": limits.COMPLAINT_RESOLUTION})
    closed_at = Text(doc=_MOMENT)


class ComplaintListArgs(PageArgs):
    office = Text(
        validate=ma.validate.Length(max=limits.OFFICE_CODE),
        metadata={
            "description": "Office code: complaints handled by that office and its branches."
        },
    )
    account_no = Text(validate=ma.validate.Length(max=limits.ACCOUNT_NO))
    category = Text(validate=ma.validate.Length(max=30))
    status = Text(validate=ma.validate.OneOf(("open", "closed")), doc={"enum": ["open", "closed"]})
    urgent = ma.fields.Boolean()
    from_ = ma.fields.Date(
        data_key="from", metadata={"description": "Received (Bangkok date) on or after."}
    )
    to = ma.fields.Date(metadata={"description": "Received (Bangkok date) on or before."})
    overdue = ma.fields.Boolean(
        metadata={"description": "true: only open complaints already past their limit."}
    )


def _body(complaint: Complaint) -> dict:
    return operations.complaint_record(complaint)


def _with_etag(complaint: Complaint, status: int = 200, headers: dict | None = None):
    return _body(complaint), status, {"ETag": etag_of(complaint), **(headers or {})}


def _drop_unset(data: dict) -> dict:
    # ``urgent`` left out loads as None: leave it to the operation's default.
    return {key: value for key, value in data.items() if not (key == "urgent" and value is None)}


@blp.route("", methods=["GET"])
@requires("complaints.view")
@blp.arguments(ComplaintListArgs, location="query")
@blp.response(200, ComplaintPage)
@may_answer(404)
def list_complaints(args):
    """List complaints handled in your scope, newest first, filtered and paginated.

    ``office`` naming an office outside your scope answers 404, like an unknown code.
    """
    user = caller()
    tune_for_interactive_lists(db.session)
    account_id = None
    if "account_no" in args:
        account_id = (
            db.session.execute(
                sa.select(Account.id).where(Account.account_no == args["account_no"])
            ).scalar_one_or_none()
            or -1
        )
    conditions = list_conditions(
        office_scope=scope_for(user, args["office"]) if "office" in args else None,
        account_id=account_id,
        category=args["category"].upper() if "category" in args else None,
        status=args.get("status"),
        urgent=args.get("urgent"),
        received_from=args.get("from_"),
        received_to=args.get("to"),
    )
    visible = visible_complaints(user).where(*conditions)
    if args.get("overdue") is True:
        visible = overdue_filter(visible)
    elif args.get("overdue") is False:
        overdue_ids = overdue_filter(visible).with_only_columns(Complaint.id)
        visible = visible.where(Complaint.id.not_in(overdue_ids))
    total = db.session.execute(
        visible.with_only_columns(sa.func.count(Complaint.id)).order_by(None)
    ).scalar_one()
    complaints = (
        db.session.execute(
            visible.order_by(Complaint.received_at.desc(), Complaint.id.desc())
            .limit(args["per_page"])
            .offset(offset(args))
            .options(
                sa.orm.joinedload(Complaint.office),
                sa.orm.joinedload(Complaint.account),
                sa.orm.joinedload(Complaint.assigned_to),
            )
        )
        .scalars()
        .all()
    )
    return page_of([_body(complaint) for complaint in complaints], total, args)


@blp.route("", methods=["POST"])
@requires("complaints.create")
@blp.arguments(ComplaintSchema)
@blp.response(
    201, ComplaintSchema, headers={**ETAG_HEADER, "Location": {"schema": {"type": "string"}}}
)
@may_answer(409)
def create_complaint(data):
    """Record a complaint handled in your scope; ``assigned_to`` defaults to you."""
    complaint = operations.create_complaint(_drop_unset(data), caller())
    answer = _with_etag(
        complaint, 201, {"Location": url_for("complaints.get_complaint", ref=complaint.ref)}
    )
    return answer


@blp.route(f"/{_REF_RULE}", methods=["GET"])
@requires("complaints.view")
@blp.response(200, ComplaintSchema, headers=ETAG_HEADER)
@may_answer(404)
def get_complaint(ref):
    """Read one complaint handled in your scope; the ETag is its version."""
    return _with_etag(complaint_for(caller(), ref))


@blp.route(f"/{_REF_RULE}", methods=["PATCH"])
@requires("complaints.edit", "complaints.close", "complaints.reassign", "complaints.exclude")
@blp.arguments(ComplaintChangesSchema)
@blp.response(200, ComplaintSchema, headers=ETAG_HEADER)
@blp.doc(parameters=["IfMatch"])
@may_answer(404, 409, 412)
def update_complaint(changes, ref):
    """Change a complaint; fields left out stay as they are (If-Match honoured).

    Setting ``closed_at`` closes it (a resolution is required), clearing it reopens it;
    ``excluded`` and ``assigned_to`` need an office manager or regional staff.
    """
    user = caller()
    complaint = complaint_for(user, ref)
    complaint = operations.update_complaint(
        complaint, _drop_unset(dict(changes)), user, expected_version=expected_version(complaint)
    )
    answer = _with_etag(complaint)
    return answer


def _check_version(complaint: Complaint) -> None:
    expected = expected_version(complaint)
    if expected is not None and expected != complaint.version:
        raise PreconditionFailed(
            f"Complaint {complaint.ref} changed since you read it (it is now version "
            f"{complaint.version}); fetch it again."
        )


@blp.route(f"/{_REF_RULE}/close", methods=["POST"])
@requires("complaints.close")
@blp.arguments(CloseSchema)
@blp.response(200, ComplaintSchema, headers=ETAG_HEADER)
@blp.doc(parameters=["IfMatch"])
@may_answer(404, 412)
def close_complaint(data, ref):
    """Close a complaint with its resolution, at ``closed_at`` (default now)."""
    user = caller()
    complaint = complaint_for(user, ref, "complaints.close")
    _check_version(complaint)
    if data.get("closed_at"):
        complaint = operations.update_complaint(
            complaint, {"closed_at": data["closed_at"], "resolution": data["resolution"]}, user
        )
    else:
        complaint = operations.close_complaint(complaint, data["resolution"], user)
    answer = _with_etag(complaint)
    return answer


@blp.route(f"/{_REF_RULE}/reopen", methods=["POST"])
@requires("complaints.close")
@blp.response(200, ComplaintSchema, headers=ETAG_HEADER)
@blp.doc(parameters=["IfMatch"])
@may_answer(404, 409, 412)
def reopen_complaint(ref):
    """Reopen a closed complaint (its close stays in the audit log)."""
    user = caller()
    complaint = complaint_for(user, ref, "complaints.close")
    _check_version(complaint)
    complaint = operations.reopen_complaint(complaint, user)
    answer = _with_etag(complaint)
    return answer
