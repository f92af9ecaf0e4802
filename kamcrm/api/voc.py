"""The VOC register (SPEC section 9): list and read entries, mark one significant or record
its PEA VOC-system reference, record many references at once (all or nothing), and turn a
complaint-kind voice into a complaint. An entry outside the caller's scope answers 404."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import url_for

from kamcrm import limits
from kamcrm.api.blueprint import Blueprint, caller, may_answer
from kamcrm.api.fields import Text
from kamcrm.api.schemas import PageArgs, envelope, offset, page_of
from kamcrm.complaints.models import CHANNELS
from kamcrm.complaints.operations import complaint_record
from kamcrm.db import tune_for_interactive_lists
from kamcrm.errors import Message, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.access import requires, scope_for, visible_users
from kamcrm.org.models import User
from kamcrm.voc import operations
from kamcrm.voc.models import KINDS, SOURCES, VOC_REF_LENGTH
from kamcrm.voc.queries import Filters, VocEntry, entry_for, register

PATH = "/voc"
blp = Blueprint(
    "voc", __name__, description="The customer's voice: the VOC register (SPEC section 9)."
)
_KEY_RULE = "<key:voc_key>"
_DAY = {"format": "date", "example": "2021-03-31"}


class VocEntrySchema(ma.Schema):
    """A VOC entry: the voice as its source records it, and the register's marks."""

    key = Text(required=True, metadata={"description": "A12: activity 12; C7: complaint 7."})
    source = Text(required=True, doc={"enum": list(SOURCES)})
    source_id = ma.fields.Integer(required=True)
    day = Text(
        required=True,
        doc=_DAY,
        metadata={"description": "Bangkok date heard (a complaint's day received)."},
    )
    kind = Text(required=True, doc={"enum": list(KINDS)})
    category = Text(allow_none=True)
    text = Text(allow_none=True)
    office_code = Text(required=True, metadata={"description": "The handling office."})
    account_no = Text(allow_none=True)
    kamr_username = Text(
        allow_none=True, metadata={"description": "Who heard it, or the account's KAMR."}
    )
    significant = ma.fields.Boolean(required=True)
    voc_ref = Text(allow_none=True, metadata={"description": "Its reference in PEA's VOC system."})
    voc_ref_on = Text(allow_none=True, doc=_DAY)
    complaint_ref = Text(
        allow_none=True, metadata={"description": "The complaint it was turned into."}
    )
    from_voc = Text(
        allow_none=True, metadata={"description": "For a complaint: the entry it was turned from."}
    )
    source_ref = Text(
        allow_none=True, metadata={"description": "The source's own number (a complaint's ref)."}
    )


VocEntryPage = envelope(VocEntrySchema, "VocEntryPage")


class VocChangesSchema(ma.Schema):
    """Mark significant, and/or record (null and null: clear) the VOC-system reference."""

    significant = ma.fields.Boolean()
    voc_ref = Text(allow_none=True, doc={"maxLength": VOC_REF_LENGTH})
    voc_ref_on = Text(allow_none=True, doc=_DAY)


class VocRefSchema(ma.Schema):
    """One line of a list of references."""

    key = Text(required=True, doc={"maxLength": 20})
    voc_ref = Text(required=True, doc={"maxLength": VOC_REF_LENGTH})
    voc_ref_on = Text(required=True, doc=_DAY)


class VocRefListSchema(ma.Schema):
    """Many references at once; errors name the item by its number (from 1)."""

    items = ma.fields.List(
        ma.fields.Nested(VocRefSchema),
        required=True,
        validate=ma.validate.Length(min=1, max=operations.MAX_REF_LINES),
    )


class VocRefResultSchema(ma.Schema):
    recorded = ma.fields.Integer(required=True)


class ConvertSchema(ma.Schema):
    """The complaint a voice becomes; what is left out comes from the voice."""

    ref = Text(
        doc={"maxLength": limits.COMPLAINT_REF}, metadata={"description": "Default VOC-<key>."}
    )
    category = Text(
        metadata={"description": "Default: the voice's category when it is one of the year's."}
    )
    channel = Text(allow_none=True, doc={"enum": list(CHANNELS)})
    urgent = ma.fields.Boolean()
    received_at = Text(metadata={"description": "Default: when the voice was recorded."})


class ConvertedSchema(ma.Schema):
    """The complaint created (a row of the complaints file)."""

    ref = Text(required=True)
    office_code = Text(required=True)
    account_no = Text(allow_none=True)
    category = Text(required=True)
    received_at = Text(required=True)
    summary = Text(allow_none=True)
    from_voc = Text(required=True)


class VocListArgs(PageArgs):
    kind = Text(validate=ma.validate.OneOf(KINDS), doc={"enum": list(KINDS)})
    category = Text(validate=ma.validate.Length(max=100))
    office = Text(
        validate=ma.validate.Length(max=limits.OFFICE_CODE),
        metadata={
            "description": "Office code: entries of that office and its branches (404 outside your scope)."
        },
    )
    kamr = Text(
        validate=ma.validate.Length(max=limits.USERNAME),
        metadata={"description": "Username of the KAMR."},
    )
    significant = ma.fields.Boolean()
    entered = ma.fields.Boolean(metadata={"description": "true: has a VOC-system reference."})
    from_ = ma.fields.Date(data_key="from")
    to = ma.fields.Date()


@blp.route("", methods=["GET"])
@requires("voc.view")
@blp.arguments(VocListArgs, location="query")
@blp.response(200, VocEntryPage)
@may_answer(404)
def list_entries(args):
    """List the VOC entries in your scope, newest first, filtered and paginated."""
    user = caller()
    tune_for_interactive_lists(db.session)
    kamr_id = None
    if "kamr" in args:
        kamr_id = (
            db.session.execute(
                visible_users(user).with_only_columns(User.id).where(User.username == args["kamr"])
            ).scalar_one_or_none()
            or -1
        )
    filters = Filters(
        kind=args.get("kind"),
        category=args.get("category"),
        office_scope=scope_for(user, args["office"]) if "office" in args else None,
        kamr_id=kamr_id,
        significant=args.get("significant"),
        entered=args.get("entered"),
        day_from=args.get("from_"),
        day_to=args.get("to"),
    )
    statement = register(user, filters)
    if statement is None:
        return page_of([], 0, args)
    total = db.session.execute(
        sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())
    ).scalar_one()
    rows = db.session.execute(statement.limit(args["per_page"]).offset(offset(args))).all()
    return page_of([VocEntry.from_row(row).as_record() for row in rows], total, args)


@blp.route(f"/{_KEY_RULE}", methods=["GET"])
@requires("voc.view")
@blp.response(200, VocEntrySchema)
@may_answer(404)
def get_entry(voc_key):
    """Read one VOC entry in your scope."""
    return entry_for(caller(), voc_key).as_record()


@blp.route(f"/{_KEY_RULE}", methods=["PATCH"])
@requires("voc.mark", "voc.record_ref")
@blp.arguments(VocChangesSchema)
@blp.response(200, VocEntrySchema)
@may_answer(404)
def update_entry(changes, voc_key):
    """Mark the entry significant (office managers, regional staff) and/or record its
    VOC-system reference with the day it was entered there."""
    user = caller()
    entry = entry_for(user, voc_key)
    if not changes:
        raise ValidationFailed(
            {"significant": [Message("give significant, or voc_ref with voc_ref_on")]}
        )
    if "significant" in changes:
        operations.mark_significant(entry.key, changes["significant"], user)
    if "voc_ref" in changes or "voc_ref_on" in changes:
        operations.record_voc_ref(
            entry.key, changes.get("voc_ref"), changes.get("voc_ref_on"), user
        )
    answer = entry_for(user, entry.key).as_record()
    return answer


@blp.route("/refs", methods=["POST"])
@requires("voc.record_ref")
@blp.arguments(VocRefListSchema)
@blp.response(200, VocRefResultSchema)
def record_refs(data):
    """Record many VOC-system references at once: all or nothing; each error names its item
    (``line N``, from 1)."""
    count = operations.record_voc_refs(enumerate(data["items"], start=1), caller())
    return {"recorded": count}


@blp.route(f"/{_KEY_RULE}/complaint", methods=["POST"])
@requires("voc.convert")
@blp.arguments(ConvertSchema)
@blp.response(201, ConvertedSchema, headers={"Location": {"schema": {"type": "string"}}})
@may_answer(404, 409)
def convert(data, voc_key):
    """Turn a complaint-kind voice (on an activity) into a complaint, linked both ways;
    409 when it was turned already or is not of kind complaint."""
    user = caller()
    entry = entry_for(user, voc_key, "voc.convert")
    complaint = operations.convert_to_complaint(entry.key, data, user)
    body = {**complaint_record(complaint), "from_voc": entry.key}
    location = url_for("complaints.get_complaint", ref=complaint.ref)
    return body, 201, {"Location": location}
