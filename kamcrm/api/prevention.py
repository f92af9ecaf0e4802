"""Complaint-prevention plans and their quarter reports (SPEC section 8, CR2 plan 2.2).

Everyone reads the plans of the class 1-3 offices in their scope; office managers record
their own office's and regional staff any office's. An office outside the caller's scope,
a branch office and an unknown code all answer 404.
"""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import url_for

from kamcrm import limits
from kamcrm.api.blueprint import Blueprint, caller, may_answer
from kamcrm.api.etag import ETAG_HEADER, etag_of, expected_version
from kamcrm.api.fields import Text
from kamcrm.api.schemas import DateText, PageArgs, envelope, offset, page_of
from kamcrm.extensions import db
from kamcrm.org.access import requires, scope_for
from kamcrm.org.models import Office
from kamcrm.prevention import operations
from kamcrm.prevention.models import PreventionPlan
from kamcrm.prevention.queries import plan_for, plan_of, plan_office_for, plan_offices

PATH = "/prevention-plans"
blp = Blueprint(
    "prevention",
    __name__,
    description="Complaint-prevention plans of class 1-3 offices and their quarter reports (CR2 plan 2.2).",
)
_PLAN_RULE = "/<year:year>/<key:office_code>"
_DATE = {"format": "date", "example": "2021-04-08"}


class QuarterReportSchema(ma.Schema):
    """The report on one quarter of a plan, due 10 days after the quarter's end."""

    quarter = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=4))
    due_on = ma.fields.String(
        required=True, metadata={"format": "date", "description": "Last day it is on time."}
    )
    submitted_on = ma.fields.String(required=True, metadata={"format": "date"})
    on_time = ma.fields.Boolean(required=True)
    text = ma.fields.String(required=True)
    submitted_by = ma.fields.String(required=True, allow_none=True)


class PlanSchema(ma.Schema):
    """An office's complaint-prevention plan for a year, with the reports submitted so far."""

    office_code = ma.fields.String(required=True)
    year = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    summary = ma.fields.String(required=True, allow_none=True)
    submitted_on = ma.fields.String(required=True, metadata={"format": "date"})
    submitted_by = ma.fields.String(required=True, allow_none=True)
    reports = ma.fields.List(ma.fields.Nested(QuarterReportSchema), required=True)


PlanPage = envelope(PlanSchema, "PlanPage")


class PlanInputSchema(ma.Schema):
    """A plan to record, replacing the office's plan for the year if it has one."""

    title = Text(required=True, doc={"maxLength": limits.PREVENTION_TITLE})
    summary = Text(allow_none=True, doc={"maxLength": limits.PREVENTION_TEXT})
    submitted_on = DateText(
        doc=_DATE, metadata={"description": "Bangkok date, not in the future; default today."}
    )


class ReportInputSchema(ma.Schema):
    """A quarter report to submit (replacing the quarter's if there is one)."""

    quarter = ma.fields.Integer(required=True, metadata={"minimum": 1, "maximum": 4})
    text = Text(required=True, doc={"maxLength": limits.PREVENTION_TEXT})
    submitted_on = DateText(
        doc=_DATE,
        metadata={
            "description": "Bangkok date after the quarter's end, not in the future; default today."
        },
    )


class PlanListArgs(PageArgs):
    year = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=9999))
    office = Text(
        validate=ma.validate.Length(max=limits.OFFICE_CODE),
        metadata={"description": "Office code: that office (a branch's scope holds no plan)."},
    )


def _with_etag(plan: PreventionPlan, status: int = 200, headers: dict | None = None):
    return operations.plan_record(plan), status, {"ETag": etag_of(plan), **(headers or {})}


@blp.route("", methods=["GET"])
@requires("prevention.view")
@blp.arguments(PlanListArgs, location="query")
@blp.response(200, PlanPage)
@may_answer(404)
def list_plans(args):
    """List a year's plans of the class 1-3 offices in your scope, by office code.

    ``office`` naming an office outside your scope answers 404, like an unknown code.
    """
    user = caller()
    scope = scope_for(user, args["office"]) if "office" in args else scope_for(user)
    offices = plan_offices(scope).with_only_columns(Office.id).order_by(None)
    visible = (
        sa.select(PreventionPlan)
        .join(Office, Office.id == PreventionPlan.office_id)
        .where(PreventionPlan.year == args["year"], PreventionPlan.office_id.in_(offices))
    )
    total = db.session.execute(
        visible.with_only_columns(sa.func.count(PreventionPlan.id))
    ).scalar_one()
    plans = (
        db.session.execute(
            visible.order_by(Office.code)
            .limit(args["per_page"])
            .offset(offset(args))
            .options(
                sa.orm.contains_eager(PreventionPlan.office),
                sa.orm.selectinload(PreventionPlan.reports),
                sa.orm.joinedload(PreventionPlan.submitted_by),
            )
        )
        .unique()
        .scalars()
        .all()
    )
    return page_of([operations.plan_record(plan) for plan in plans], total, args)


@blp.route(_PLAN_RULE, methods=["GET"])
@requires("prevention.view")
@blp.response(200, PlanSchema, headers=ETAG_HEADER)
@may_answer(404)
def get_plan(year, office_code):
    """Read an office's plan for a year with its quarter reports; the ETag is the plan's version."""
    return _with_etag(plan_for(caller(), office_code, year))


@blp.route(_PLAN_RULE, methods=["PUT"])
@requires("prevention.edit")
@blp.arguments(PlanInputSchema)
@blp.response(200, PlanSchema, headers=ETAG_HEADER)
@blp.doc(parameters=["IfMatch"])
@may_answer(404, 409, 412)
def put_plan(data, year, office_code):
    """Record an office's plan for a year, or replace it (If-Match honoured when it exists)."""
    user = caller()
    office = plan_office_for(user, office_code)
    existing = plan_of(office.id, year)
    expected = expected_version(existing) if existing is not None else None
    plan = operations.record_plan(office_code, year, dict(data), user, expected_version=expected)
    answer = _with_etag(plan)
    return answer


@blp.route(f"{_PLAN_RULE}/reports", methods=["POST"])
@requires("prevention.edit")
@blp.arguments(ReportInputSchema)
@blp.response(201, PlanSchema, headers={**ETAG_HEADER, "Location": {"schema": {"type": "string"}}})
@may_answer(404, 409)
def post_report(data, year, office_code):
    """Submit the report on a quarter that has ended (replacing that quarter's); answers the plan."""
    user = caller()
    values = {key: value for key, value in data.items() if key != "quarter"}
    report = operations.submit_quarter_report(office_code, year, data["quarter"], values, user)
    plan = report.plan
    db.session.refresh(plan)
    answer = _with_etag(
        plan, 201, {"Location": url_for("prevention.get_plan", year=year, office_code=office_code)}
    )
    return answer
