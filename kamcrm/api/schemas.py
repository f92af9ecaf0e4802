"""Schemas shared by every resource: the error body, paging, and list envelopes.

Field names follow the interchange files of SPEC section 7 (``account_no``, ``office_code``,
``tier``, ``kamr_username``, ``performed_by``, ``activity_date`` …).
"""

from __future__ import annotations

import copy
import math
from datetime import date

import marshmallow as ma

from kamcrm import limits
from kamcrm.api.fields import Text

#: Largest page a list answers; a client wanting more pages through them.
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 25
#: A page number beyond it is refused rather than overflowing OFFSET.
MAX_PAGE = limits.MAX_PAGE


class ErrorSchema(ma.Schema):
    """Every error: ``{"code": 422, "message": "...", "errors": {"field": ["..."]}}``."""

    code = ma.fields.Integer(required=True, metadata={"description": "The HTTP status."})
    message = ma.fields.String(
        required=True, metadata={"description": "What went wrong, for people."}
    )
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        required=True,
        metadata={
            "description": "Messages per field; nested fields are joined with dots "
            "(``items.3.type``); ``_schema`` holds messages about the whole input."
        },
    )


class DateText(Text):
    """An ISO date: a string on the way in (the operation parses it), ``YYYY-MM-DD`` out."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, date):
            value = value.isoformat()
        return super()._serialize(value, attr, obj, **kwargs)


class PageArgs(ma.Schema):
    """``page`` (from 1) and ``per_page`` (1 to 100, default 25)."""

    page = ma.fields.Integer(
        load_default=1, validate=ma.validate.Range(min=1, max=MAX_PAGE), metadata={"example": 1}
    )
    per_page = ma.fields.Integer(
        load_default=DEFAULT_PER_PAGE,
        validate=ma.validate.Range(min=1, max=MAX_PER_PAGE),
        metadata={"example": DEFAULT_PER_PAGE},
    )


class PaginationSchema(ma.Schema):
    """Where a page lies in the whole list."""

    page = ma.fields.Integer(required=True)
    per_page = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True, metadata={"description": "Items in the whole list."})
    total_pages = ma.fields.Integer(required=True)


def page_of(items, total: int, args: dict) -> dict:
    """Return the list envelope ``{"items": [...], "pagination": {...}}``."""
    per_page = args["per_page"]
    return {
        "items": items,
        "pagination": {
            "page": args["page"],
            "per_page": per_page,
            "total": total,
            "total_pages": math.ceil(total / per_page) if total else 0,
        },
    }


def envelope(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """Return the schema of a page of ``item_schema`` rows."""
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "pagination": ma.fields.Nested(PaginationSchema, required=True),
            "__doc__": f"A page of {item_schema.__name__.removesuffix('Schema')} rows.",
        },
    )


def offset(args: dict) -> int:
    """Return the row offset of the requested page."""
    return (args["page"] - 1) * args["per_page"]


def changes_of(
    schema: type[ma.Schema], name: str, *, exclude: tuple[str, ...] = ()
) -> type[ma.Schema]:
    """Return a schema of the same fields, all optional: the body of a ``PATCH``."""
    fields = {}
    for field_name, field in schema._declared_fields.items():
        if field_name in exclude or field.dump_only:
            continue
        optional = copy.deepcopy(field)
        optional.required = False
        fields[field_name] = optional
    fields["__doc__"] = (
        f"Some fields of {schema.__name__.removesuffix('Schema')}; those left out stay as they are."
    )
    return type(name, (ma.Schema,), fields)
