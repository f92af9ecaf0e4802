"""Reports: the CR2 report (the JSON of ``report cr2 --format json``), the due list and the
monthly summary, each computed within the caller's scope (``office`` narrows it)."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request

from kamcrm.api.blueprint import Blueprint, caller, may_answer
from kamcrm.api.fields import Text
from kamcrm.api.schemas import PageArgs, envelope, offset, page_of
from kamcrm.compliance.engine import cr2_report
from kamcrm.db import utcnow
from kamcrm.errors import NotFound, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.access import requires, scope_for, scope_of, visible_users
from kamcrm.org.models import User
from kamcrm.periods import FIRST_YEAR, LAST_YEAR
from kamcrm.reports.complaint_return_export import (
    MEDIA_TYPES,
    RETURN_FORMATS,
    render_return,
    return_filename,
)

PATH = "/reports"
blp = Blueprint(
    "reports", __name__, description="The CR2 report, the due list and the monthly summary."
)

_COLUMNS = ("Q1", "Q1-2", "Q1-3", "Q1-4")


# --- the CR2 report ----------------------------------------------------------------------


class Cr2Args(ma.Schema):
    year = ma.fields.Integer(
        required=True,
        validate=ma.validate.Range(FIRST_YEAR, LAST_YEAR),
        metadata={"description": "Calendar year (CE)."},
    )
    as_of = ma.fields.Date(
        metadata={"description": "Count up to this date; default today (Bangkok)."}
    )
    office = Text(
        validate=ma.validate.Length(max=20),
        metadata={
            "description": "Office code: that office with its branches; default your whole scope."
        },
    )


def _cumulative(cell: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The four cumulative columns of a row; a column whose quarter starts after as_of is null."""
    return type(
        name,
        (ma.Schema,),
        {
            column: ma.fields.Nested(cell, required=True, allow_none=True, data_key=column)
            for column in _COLUMNS
        }
        | {"__doc__": "Cumulative columns Q1, Q1-2, Q1-3, Q1-4."},
    )


class RuleCellSchema(ma.Schema):
    population = ma.fields.Integer(required=True)
    met = ma.fields.Integer(required=True)
    pct = ma.fields.Float(required=True, allow_none=True)
    target_met = ma.fields.Boolean(required=True, allow_none=True)


class RuleRowSchema(ma.Schema):
    item = ma.fields.String(required=True)
    type = ma.fields.String(required=True)
    tier = ma.fields.String(required=True)
    period = ma.fields.String(required=True)
    min_count = ma.fields.Integer(required=True)
    target_pct = ma.fields.Float(required=True)
    planned_population = ma.fields.Integer(required=True, allow_none=True)
    cumulative = ma.fields.Nested(
        _cumulative(RuleCellSchema, "RuleCumulativeSchema"), required=True
    )


class VisitCellSchema(ma.Schema):
    target = ma.fields.Integer(required=True)
    achieved = ma.fields.Integer(required=True)
    pct = ma.fields.Float(required=True, allow_none=True)
    unit_quarters = ma.fields.Integer(required=True)
    unit_quarters_met = ma.fields.Integer(required=True)


class VisitRowSchema(ma.Schema):
    item = ma.fields.String(required=True)
    exec_role = ma.fields.String(required=True)
    quota_per_quarter = ma.fields.Integer(required=True)
    units = ma.fields.Integer(required=True)
    cumulative = ma.fields.Nested(
        _cumulative(VisitCellSchema, "VisitCumulativeSchema"), required=True
    )


class CountCellSchema(ma.Schema):
    activities = ma.fields.Integer(required=True)
    accounts = ma.fields.Integer(required=True)


class CountRowSchema(ma.Schema):
    item = ma.fields.String(required=True)
    type = ma.fields.String(required=True)
    cumulative = ma.fields.Nested(
        _cumulative(CountCellSchema, "CountCumulativeSchema"), required=True
    )


class ComplaintCellSchema(ma.Schema):
    received = ma.fields.Integer(required=True)
    excluded = ma.fields.Integer(required=True)
    met = ma.fields.Integer(required=True)
    missed = ma.fields.Integer(required=True)
    pending = ma.fields.Integer(required=True)
    pct = ma.fields.Float(required=True, allow_none=True)
    target_met = ma.fields.Boolean(required=True, allow_none=True)
    final = ma.fields.Boolean(required=True, metadata={"description": "No complaint is pending."})


class ComplaintRowSchema(ma.Schema):
    item = ma.fields.String(required=True, metadata={"enum": ["2.1a", "2.1b", "2.1c", "2.1d"]})
    category = ma.fields.String(required=True, allow_none=True)
    urgent_only = ma.fields.Boolean(required=True)
    limit_days = ma.fields.Integer(required=True, allow_none=True)
    limit_hours = ma.fields.Integer(required=True, allow_none=True)
    target_pct = ma.fields.Float(required=True)
    cumulative = ma.fields.Nested(
        _cumulative(ComplaintCellSchema, "ComplaintCumulativeSchema"), required=True
    )


class PreventionCellSchema(ma.Schema):
    """Plan 2.2 in one cumulative column, over the class 1-3 offices in scope."""

    offices = ma.fields.Integer(
        required=True, metadata={"description": "Class 1-3 offices in scope."}
    )
    with_plan = ma.fields.Integer(
        required=True,
        metadata={
            "description": "Offices whose plan for the year was submitted by the column's last day."
        },
    )
    plan_pct = ma.fields.Float(required=True, allow_none=True)
    reports_due = ma.fields.Integer(
        required=True, metadata={"description": "Offices × quarters 1..k that have ended by as_of."}
    )
    on_time = ma.fields.Integer(
        required=True,
        metadata={
            "description": "Reports submitted by as_of, at most 10 days after their quarter's end."
        },
    )
    late = ma.fields.Integer(
        required=True, metadata={"description": "Reports submitted by as_of, after that."}
    )
    missing = ma.fields.Integer(
        required=True, metadata={"description": "No report by as_of, which is past the due day."}
    )
    pending = ma.fields.Integer(
        required=True, metadata={"description": "No report yet, and the due day has not passed."}
    )
    pct = ma.fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "100 × on_time / (on_time + late + missing); null when that is 0."
        },
    )
    target_met = ma.fields.Boolean(
        required=True,
        allow_none=True,
        metadata={
            "description": "Every office has a plan and every judged report was on time; null without offices."
        },
    )
    final = ma.fields.Boolean(required=True, metadata={"description": "No report is pending."})


class PreventionSchema(ma.Schema):
    """CR2 plan 2.2: complaint-prevention plans and their quarter reports."""

    item = ma.fields.String(required=True, metadata={"enum": ["2.2"]})
    report_days = ma.fields.Integer(
        required=True, metadata={"description": "Days after a quarter's end its report is on time."}
    )
    offices = ma.fields.Integer(required=True)
    cumulative = ma.fields.Nested(
        _cumulative(PreventionCellSchema, "PreventionCumulativeSchema"), required=True
    )


class Cr2Schema(ma.Schema):
    """The CR2 report of SPEC sections 7 and 8."""

    report = ma.fields.String(required=True, metadata={"enum": ["CR2"]})
    year = ma.fields.Integer(required=True)
    as_of = ma.fields.Date(required=True)
    scope = ma.fields.String(required=True, metadata={"description": "Region or office code."})
    rules = ma.fields.List(ma.fields.Nested(RuleRowSchema), required=True)
    executive_visits = ma.fields.List(ma.fields.Nested(VisitRowSchema), required=True)
    counts = ma.fields.List(ma.fields.Nested(CountRowSchema), required=True)
    complaints = ma.fields.List(
        ma.fields.Nested(ComplaintRowSchema),
        required=True,
        metadata={"description": "CR2 plan 2.1 (SPEC section 8)."},
    )
    complaint_prevention = ma.fields.Nested(
        PreventionSchema, required=True, metadata={"description": "CR2 plan 2.2 (SPEC section 8)."}
    )


@blp.route("/cr2", methods=["GET"])
@requires("reports.cr2")
@blp.arguments(Cr2Args, location="query")
@blp.response(200, Cr2Schema)
@may_answer(404)
def cr2(args):
    """The CR2 report of a year as of a date, for your scope or one office in it.

    An office outside your scope answers 404, like an unknown code.
    """
    from kamcrm.reports.cr2 import cr2_json

    scope = scope_for(caller(), args.get("office"))
    report = cr2_report(args["year"], args.get("as_of"), scope)
    # Byte for byte what ``flask report cr2 --format json`` writes.
    return current_app.response_class(cr2_json(report), mimetype="application/json")


# --- the CR1 report ----------------------------------------------------------------------


class Cr1CellSchema(ma.Schema):
    value = ma.fields.Float(required=True, allow_none=True)
    numerator = ma.fields.Integer(required=True, allow_none=True)
    denominator = ma.fields.Integer(required=True, allow_none=True)
    target_met = ma.fields.Boolean(required=True, allow_none=True)


class Cr1RowSchema(ma.Schema):
    item = ma.fields.String(required=True)
    key = ma.fields.String(required=True)
    label = ma.fields.String(required=True, metadata={"description": "English label (msgid)."})
    unit = ma.fields.String(required=True, metadata={"enum": ["count", "pct", "mean"]})
    target = ma.fields.Float(required=True, allow_none=True)
    office_code = ma.fields.String(required=True, allow_none=True)
    cumulative = ma.fields.Nested(_cumulative(Cr1CellSchema, "Cr1Cumulative"), required=True)


class Cr1Schema(ma.Schema):
    """The CR1 report: items 3.3 (surveys, Smile Box) and the other CR1 sections."""

    report = ma.fields.String(required=True, metadata={"enum": ["CR1"]})
    year = ma.fields.Integer(required=True)
    as_of = ma.fields.Date(required=True)
    scope = ma.fields.String(required=True)
    rows = ma.fields.List(ma.fields.Nested(Cr1RowSchema), required=True)


@blp.route("/cr1", methods=["GET"])
@requires("reports.cr1")
@blp.arguments(Cr2Args, location="query")
@blp.response(200, Cr1Schema)
@may_answer(404)
def cr1(args):
    """The CR1 report of a year as of a date, for your scope or one office in it.

    An office outside your scope answers 404, like an unknown code.
    """
    from kamcrm.reports.cr1 import cr1_json, cr1_report

    scope = scope_for(caller(), args.get("office"))
    report = cr1_report(args["year"], args.get("as_of"), scope)
    # Byte for byte what ``flask report cr1 --format json`` writes.
    return current_app.response_class(cr1_json(report), mimetype="application/json")


# --- the due list ------------------------------------------------------------------------


class DueArgs(PageArgs):
    user = Text(
        validate=ma.validate.Length(max=80),
        metadata={
            "description": "A KAMR's username: only the accounts they own "
            "(default for a KAMR: you)."
        },
    )
    office = Text(
        validate=ma.validate.Length(max=20),
        metadata={
            "description": "Office code: that office with its branches; default your whole scope."
        },
    )
    today = ma.fields.Date(
        metadata={"description": "The day the current periods contain; default today (Bangkok)."}
    )


class DueItemSchema(ma.Schema):
    """An account that still needs ``needed`` more activities of ``type`` this period."""

    account_no = ma.fields.String(required=True)
    account_name = ma.fields.String(required=True)
    office_code = ma.fields.String(required=True)
    kamr_username = ma.fields.String(required=True, allow_none=True)
    kamr_name = ma.fields.String(required=True, allow_none=True)
    tier = ma.fields.String(required=True)
    item = ma.fields.String(required=True)
    type = ma.fields.String(required=True)
    period = ma.fields.String(required=True)
    period_start = ma.fields.Date(required=True)
    period_end = ma.fields.Date(required=True)
    min_count = ma.fields.Integer(required=True)
    done = ma.fields.Integer(required=True)
    planned = ma.fields.Integer(required=True)
    needed = ma.fields.Integer(required=True)
    days_left = ma.fields.Integer(required=True)


DuePage = envelope(DueItemSchema, "DuePage")


@blp.route("/due", methods=["GET"])
@requires("reports.due")
@blp.arguments(DueArgs, location="query")
@blp.response(200, DuePage)
@may_answer(404)
def due(args):
    """The due list: which accounts still need which activity this period, most urgent first.

    A KAMR gets their own accounts unless they name an ``office``; anyone may narrow to a
    ``user`` or an ``office`` in their scope (404 outside it, like an unknown name).
    """
    from kamcrm.compliance.due import due_count, due_list
    from kamcrm.periods import bangkok_today

    user = caller()
    scope = scope_for(user, args.get("office")) if "office" in args else scope_of(user)
    kamr_id = None
    if "user" in args:
        owner = db.session.execute(
            visible_users(user).where(User.username == args["user"])
        ).scalar_one_or_none()
        if owner is None:
            raise NotFound(f"No user has the username {args['user']!r}.")
        kamr_id = owner.id
    elif user.role == "kamr" and "office" not in args:
        kamr_id = user.id
    today = args.get("today") or bangkok_today()
    items = due_list(scope, today, kamr_id=kamr_id, limit=args["per_page"], offset=offset(args))
    total = due_count(scope, today, kamr_id=kamr_id)
    return page_of(items, total, args)


# --- the monthly summary -----------------------------------------------------------------


class MonthlyArgs(ma.Schema):
    month = Text(
        required=True,
        validate=ma.validate.Regexp(r"^\d{4}-\d{2}$"),
        doc={"pattern": r"^\d{4}-\d{2}$", "example": "2021-03"},
    )
    office = Text(
        validate=ma.validate.Length(max=20),
        metadata={
            "description": "Office code: that office with its branches; default your whole scope."
        },
    )
    as_reported = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "The summary kept after the month's recording deadline "
            "(404 if none yet) instead of one computed now."
        },
    )


class MonthlySchema(ma.Schema):
    """The monthly CRM-Plus-style summary (rows per office, the total, late entries, changes)."""

    class Meta:
        unknown = ma.INCLUDE


@blp.route("/monthly", methods=["GET"])
@requires("reports.monthly")
@blp.arguments(MonthlyArgs, location="query")
@blp.response(200, MonthlySchema)
@may_answer(404)
def monthly(args):
    """The monthly summary of ``month`` (YYYY-MM), as of now or as reported."""
    from kamcrm.reports.monthly import monthly_report_for
    from kamcrm.reports.monthly_export import monthly_json

    try:
        summary = monthly_report_for(
            caller(), args["month"], args.get("office"), utcnow(), as_reported=args["as_reported"]
        )
    except ValueError as error:  # a month that does not exist, e.g. 2021-13
        raise ValidationFailed({"month": [str(error)]}) from None
    # The JSON of ``flask report monthly --format json``.
    return current_app.response_class(monthly_json(summary), mimetype="application/json")


# --- the monthly complaint return ------------------------------------------------------------


class ComplaintReturnArgs(ma.Schema):
    month = Text(
        required=True,
        validate=ma.validate.Regexp(r"^\d{4}-\d{2}$"),
        doc={"pattern": r"^\d{4}-\d{2}$", "example": "2021-03"},
    )
    office = Text(
        validate=ma.validate.Length(max=20),
        metadata={
            "description": "Office code: that office with its branches; default your whole scope."
        },
    )
    as_reported = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "The return kept on its due day (404 if none yet) instead of one computed now."
        },
    )
    format = ma.fields.String(
        validate=ma.validate.OneOf(RETURN_FORMATS),
        metadata={
            "description": "json, html, xlsx or pdf; default from the Accept header, else json."
        },
    )


class ComplaintReturnRowSchema(ma.Schema):
    item = ma.fields.String(required=True, metadata={"enum": ["2.1a", "2.1b", "2.1c", "2.1d"]})
    category = ma.fields.String(required=True, allow_none=True)
    urgent_only = ma.fields.Boolean(required=True)
    limit_days = ma.fields.Integer(required=True, allow_none=True)
    limit_hours = ma.fields.Integer(required=True, allow_none=True)
    target_pct = ma.fields.Float(required=True)
    month = ma.fields.Nested(ComplaintCellSchema, required=True)


class CustomerGroupSchema(ma.Schema):
    tier = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "null: not a key account."}
    )
    month = ma.fields.Nested(ComplaintCellSchema, required=True)


class ReturnFigureChangeSchema(ma.Schema):
    figure = ma.fields.String(required=True, metadata={"example": "2.1a.METER_BILLING.met"})
    reported = ma.fields.Raw(required=True, allow_none=True)
    now = ma.fields.Raw(required=True, allow_none=True)


class ReturnComplaintChangeSchema(ma.Schema):
    ref = ma.fields.String(required=True)
    office = ma.fields.String(required=True)
    category = ma.fields.String(required=True)
    urgent = ma.fields.Boolean(required=True)
    received_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    closed_at = ma.fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    excluded = ma.fields.String(required=True, allow_none=True)
    updated_at = ma.fields.String(required=True, metadata={"format": "date-time"})


class ReturnChangesSchema(ma.Schema):
    figures = ma.fields.List(ma.fields.Nested(ReturnFigureChangeSchema), required=True)
    complaints = ma.fields.List(
        ma.fields.Nested(ReturnComplaintChangeSchema),
        required=True,
        metadata={"description": "Complaints of the month changed after it was reported."},
    )


class ComplaintReturnSchema(ma.Schema):
    """The monthly complaint return of SPEC section 8, as of the month's last day."""

    report = ma.fields.String(required=True, metadata={"enum": ["complaints"]})
    month = ma.fields.String(required=True)
    as_of = ma.fields.String(required=True, metadata={"format": "date"})
    scope = ma.fields.String(required=True)
    scope_name = ma.fields.String(required=True)
    due_on = ma.fields.String(required=True, metadata={"format": "date"})
    received = ma.fields.Integer(required=True)
    closed = ma.fields.Integer(required=True)
    open_at_month_end = ma.fields.Integer(required=True)
    rows = ma.fields.List(ma.fields.Nested(ComplaintReturnRowSchema), required=True)
    customer_groups = ma.fields.List(ma.fields.Nested(CustomerGroupSchema), required=True)
    kind = ma.fields.String(required=True, metadata={"enum": ["reported", "on_demand"]})
    generated_at = ma.fields.String(required=True, metadata={"format": "date-time"})
    reported_at = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={
            "format": "date-time",
            "description": "When the job kept the return as reported; null: not yet.",
        },
    )
    changes = ma.fields.Nested(
        ReturnChangesSchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "What differs between the reported copy and now; null while nothing was reported."
        },
    )


def _return_format(args) -> str:
    """The format asked for: ``format``, else the best of the Accept header, else JSON."""
    if args.get("format"):
        return args["format"]
    offered = {MEDIA_TYPES[fmt].split(";")[0]: fmt for fmt in RETURN_FORMATS}
    best = request.accept_mimetypes.best_match(list(offered), default="application/json")
    return offered[best]


#: The return's other formats, documented beside the JSON (``format`` or ``Accept``).
_RETURN_DOCUMENTS = {
    MEDIA_TYPES[fmt].split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
    for fmt in RETURN_FORMATS
    if fmt != "json"
}


@blp.route("/complaints", methods=["GET"])
@requires("reports.monthly")
@blp.arguments(ComplaintReturnArgs, location="query")
@blp.doc(responses={200: {"content": _RETURN_DOCUMENTS}})
@blp.response(200, ComplaintReturnSchema)
@may_answer(404)
def complaint_return(args):
    """The monthly complaint return of ``month`` (YYYY-MM) for your scope or one office in it.

    As of now, or as reported on its due day (``as_reported``), with what changed since.
    JSON by default; ``format`` or the Accept header gives HTML, XLSX (as the download) or PDF.
    """
    from kamcrm.reports.complaint_return import complaint_return_for

    fmt = _return_format(args)
    try:
        view = complaint_return_for(
            caller(), args["month"], args.get("office"), utcnow(), as_reported=args["as_reported"]
        )
    except ValueError as error:  # a month that does not exist, e.g. 2021-13
        raise ValidationFailed({"month": [str(error)]}) from None
    # The bytes of ``flask report complaints --format …``.
    response = current_app.response_class(
        render_return(view, fmt), mimetype=MEDIA_TYPES[fmt].split(";")[0]
    )
    if fmt in ("xlsx", "pdf"):
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{return_filename(view, fmt)}"'
        )
    response.vary.add("Accept")
    return response
