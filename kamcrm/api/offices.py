"""Offices: everyone reads those in their scope; admins create and change them."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from kamcrm import limits
from kamcrm.api.blueprint import Blueprint, caller, may_answer
from kamcrm.api.fields import Text
from kamcrm.api.schemas import PageArgs, changes_of, envelope, offset, page_of
from kamcrm.errors import NotFound
from kamcrm.extensions import db
from kamcrm.org import operations
from kamcrm.org.access import requires, scope_condition
from kamcrm.org.models import OFFICE_CLASSES, Office

PATH = "/offices"
blp = Blueprint(
    "offices", __name__, description="Offices of the region (SPEC section 7, offices file)."
)


class OfficeSchema(ma.Schema):
    """An office, as a row of the offices file (plus its English name)."""

    code = Text(required=True, doc={"maxLength": limits.OFFICE_CODE, "example": "CBI"})
    name = Text(required=True, doc={"maxLength": limits.OFFICE_NAME})
    office_class = Text(required=True, doc={"enum": list(OFFICE_CLASSES)})
    parent_code = Text(allow_none=True, doc={"maxLength": limits.OFFICE_CODE})
    name_en = Text(allow_none=True, doc={"maxLength": limits.OFFICE_NAME})


OfficeChangesSchema = changes_of(OfficeSchema, "OfficeChangesSchema")


class OfficeListArgs(PageArgs):
    office_class = Text(
        doc={"enum": list(OFFICE_CLASSES)}, validate=ma.validate.OneOf(OFFICE_CLASSES)
    )


OfficePage = envelope(OfficeSchema, "OfficePage")

#: The parent office in list queries (built once: an alias is costly to build per request).
PARENT = aliased(Office, name="parent_office")


def _office(code: str) -> Office:
    user = caller()
    office = db.session.execute(
        sa.select(Office).where(Office.code == code, scope_condition(user, Office.id))
    ).scalar_one_or_none()
    if office is None:
        raise NotFound(f"No office has the code {code!r}.")
    return office


@blp.route("", methods=["GET"])
@requires("offices.view")
@blp.arguments(OfficeListArgs, location="query")
@blp.response(200, OfficePage)
def list_offices(args):
    """List the offices in your scope, by code."""
    parent = PARENT
    condition = scope_condition(caller(), Office.id)
    if args.get("office_class"):
        condition = sa.and_(condition, Office.office_class == args["office_class"])
    total = db.session.execute(
        sa.select(sa.func.count()).select_from(Office).where(condition)
    ).scalar_one()
    rows = (
        db.session.execute(
            sa.select(
                Office.code,
                Office.name,
                Office.office_class,
                parent.code.label("parent_code"),
                Office.name_en,
            )
            .outerjoin(parent, Office.parent_id == parent.id)
            .where(condition)
            .order_by(Office.code)
            .limit(args["per_page"])
            .offset(offset(args))
        )
        .mappings()
        .all()
    )
    return page_of(rows, total, args)


@blp.route("", methods=["POST"])
@requires("offices.manage")
@blp.arguments(OfficeSchema)
@blp.response(201, OfficeSchema)
@may_answer(409)
def create_office(data):
    """Create an office (admin)."""
    office = operations.create_office(data, caller())
    return operations.office_record(office)


@blp.route("/<key:code>", methods=["GET"])
@requires("offices.view")
@blp.response(200, OfficeSchema)
@may_answer(404)
def get_office(code):
    """Read one office in your scope."""
    return operations.office_record(_office(code))


@blp.route("/<key:code>", methods=["PATCH"])
@requires("offices.manage")
@blp.arguments(OfficeChangesSchema)
@blp.response(200, OfficeSchema)
@may_answer(404, 409)
def update_office(changes, code):
    """Change an office (admin); fields left out stay as they are."""
    office = operations.update_office(_office(code), changes, caller())
    return operations.office_record(office)
