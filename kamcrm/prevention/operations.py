"""Complaint prevention (CR2 plan 2.2): recording an office's plan for a year and
submitting its quarter reports. Pages, the API and the CLI call these; they flush, the
caller commits.

Rules kept here: only a class 1-3 office keeps a plan; the office lies in the actor's scope
(out of scope reads as unknown), so an office manager works on their own office and
regional staff on any; KAMRs and executives only read (``prevention.edit``). A plan's
``submitted_on`` and a report's are never in the future (Bangkok dates); a report is only
for a quarter that has ended, submitted after its end, on a plan that exists. Recording a
plan again replaces its title, summary and date; submitting a quarter's report again
replaces it. Every change is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from kamcrm import fields, limits
from kamcrm.audit.operations import changed_fields, record, snapshot
from kamcrm.errors import Message, PreconditionFailed, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.access import require
from kamcrm.org.operations import assign, integrity_guard, reject_unknown_fields
from kamcrm.periods import FIRST_YEAR, LAST_YEAR, bangkok_today, quarter_window, year_in_range
from kamcrm.prevention.models import PreventionPlan, PreventionReport
from kamcrm.prevention.queries import plan_of, plan_office_for, report_due_on

#: The fields of a plan, as the API and the forms name them.
PLAN_FIELDS = ("title", "summary", "submitted_on")
#: The fields of a quarter report.
REPORT_FIELDS = ("text", "submitted_on")
_AUDIT_PLAN = ("office_id", "year", "title", "summary", "submitted_on", "submitted_by_id")
_AUDIT_REPORT = ("plan_id", "quarter", "submitted_on", "text", "submitted_by_id")


def _check_year(year: int) -> None:
    if not isinstance(year, int) or not year_in_range(year):
        raise ValidationFailed(
            {
                "year": [
                    Message(
                        "%(value)s is not between the years %(first)s and %(last)s",
                        value=year,
                        first=FIRST_YEAR,
                        last=LAST_YEAR,
                    )
                ]
            }
        )


def _submitted_on(data: Mapping[str, object], errors: fields.Errors, today: date) -> date:
    """The ``submitted_on`` of ``data`` (default: today); never after today."""
    day = fields.day(data, "submitted_on", errors)
    if day is None and "submitted_on" not in errors:
        day = today
    if day is not None and day > today:
        fields.add_error(
            errors, "submitted_on", Message("%(day)s is in the future", day=day.isoformat())
        )
    return day


def plan_record(plan: PreventionPlan) -> dict:
    """Return a plan with its reports as the API shows it (dates ISO)."""
    return {
        "office_code": plan.office.code,
        "year": plan.year,
        "title": plan.title,
        "summary": plan.summary,
        "submitted_on": plan.submitted_on.isoformat(),
        "submitted_by": plan.submitted_by.username if plan.submitted_by is not None else None,
        "reports": [report_record(report) for report in plan.reports],
    }


def report_record(report: PreventionReport) -> dict:
    """Return a quarter report as the API shows it, with its due day and whether it was on time."""
    due = report_due_on(report.plan.year, report.quarter)
    return {
        "quarter": report.quarter,
        "due_on": due.isoformat(),
        "submitted_on": report.submitted_on.isoformat(),
        "on_time": report.submitted_on <= due,
        "text": report.text,
        "submitted_by": report.submitted_by.username if report.submitted_by is not None else None,
    }


def record_plan(
    office_code: str,
    year: int,
    data: Mapping[str, object],
    actor=None,
    *,
    today: date | None = None,
    expected_version: int | None = None,
) -> PreventionPlan:
    """Record office ``office_code``'s complaint-prevention plan for ``year``, or replace it.

    ``data`` holds ``title`` (required), ``summary`` and ``submitted_on`` (default today).
    ``expected_version`` (an API If-Match) refuses the change when the plan moved on.
    """
    office = plan_office_for(actor, office_code)
    require(actor, "prevention.edit")
    _check_year(year)
    reject_unknown_fields(data, PLAN_FIELDS, "a complaint-prevention plan")
    today = today or bangkok_today()
    errors: fields.Errors = {}
    values = {
        "title": fields.text(
            data, "title", errors, required=True, max_length=limits.PREVENTION_TITLE, one_line=True
        ),
        "summary": fields.text(data, "summary", errors, max_length=limits.PREVENTION_TEXT),
        "submitted_on": _submitted_on(data, errors, today),
    }
    if values["submitted_on"] is not None and values["submitted_on"].year < year - 1:
        fields.add_error(
            errors,
            "submitted_on",
            Message(
                "a plan for %(year)s is submitted in %(before)s or %(year)s",
                year=year,
                before=year - 1,
            ),
        )
    if errors:
        raise ValidationFailed(errors)
    values["submitted_by_id"] = getattr(actor, "id", None)
    plan = plan_of(office.id, year)
    if plan is None:
        plan = PreventionPlan(office_id=office.id, year=year, **values)
        with integrity_guard(
            Message("Office %(code)s already has a plan for %(year)s.", code=office_code, year=year)
        ):
            db.session.add(plan)
            db.session.flush()
        record(
            "create",
            "prevention_plans",
            f"{office.code}/{year}",
            actor=actor,
            after=snapshot(plan, _AUDIT_PLAN),
        )
        return plan
    if expected_version is not None and expected_version != plan.version:
        raise PreconditionFailed(Message("The plan changed since you read it; read it again."))
    before = snapshot(plan, _AUDIT_PLAN)
    assign(plan, values)
    db.session.flush()
    old, new = changed_fields(before, snapshot(plan, _AUDIT_PLAN))
    if new:
        record(
            "update",
            "prevention_plans",
            f"{office.code}/{year}",
            actor=actor,
            before=old,
            after=new,
        )
    return plan


def submit_quarter_report(
    office_code: str,
    year: int,
    quarter: int,
    data: Mapping[str, object],
    actor=None,
    *,
    today: date | None = None,
) -> PreventionReport:
    """Submit (or replace) office ``office_code``'s report on ``quarter`` of its ``year`` plan.

    ``data`` holds ``text`` (required) and ``submitted_on`` (default today). Refused: a
    quarter that has not ended, a date in the future or within the quarter, no plan.
    """
    office = plan_office_for(actor, office_code)
    require(actor, "prevention.edit")
    _check_year(year)
    if quarter not in (1, 2, 3, 4):
        raise ValidationFailed({"quarter": [Message("must be 1, 2, 3 or 4")]})
    reject_unknown_fields(data, REPORT_FIELDS, "a quarter report")
    today = today or bangkok_today()
    end = quarter_window(year, quarter).end
    if today <= end:
        raise ValidationFailed(
            {
                "quarter": [
                    Message(
                        "quarter %(quarter)s of %(year)s has not ended yet; "
                        "report on it from %(first)s",
                        quarter=quarter,
                        year=year,
                        first=(end + timedelta(days=1)).isoformat(),
                    )
                ]
            }
        )
    errors: fields.Errors = {}
    values = {
        "text": fields.text(data, "text", errors, required=True, max_length=limits.PREVENTION_TEXT),
        "submitted_on": _submitted_on(data, errors, today),
    }
    if values["submitted_on"] is not None and values["submitted_on"] <= end:
        fields.add_error(
            errors,
            "submitted_on",
            Message(
                "a report on quarter %(quarter)s is submitted after %(end)s",
                quarter=quarter,
                end=end.isoformat(),
            ),
        )
    plan = plan_of(office.id, year)
    if plan is None:
        errors.setdefault("year", []).append(
            Message(
                "office %(code)s has no plan for %(year)s; record the plan first",
                code=office.code,
                year=year,
            )
        )
    if errors:
        raise ValidationFailed(errors)
    values["submitted_by_id"] = getattr(actor, "id", None)
    key = f"{office.code}/{year}/Q{quarter}"
    report = next((r for r in plan.reports if r.quarter == quarter), None)
    if report is None:
        report = PreventionReport(plan_id=plan.id, quarter=quarter, **values)
        with integrity_guard(
            Message("The report on quarter %(quarter)s is already in.", quarter=quarter)
        ):
            db.session.add(report)
            db.session.flush()
        db.session.expire(plan, ["reports"])
        record(
            "create", "prevention_reports", key, actor=actor, after=snapshot(report, _AUDIT_REPORT)
        )
        return report
    before = snapshot(report, _AUDIT_REPORT)
    assign(report, values)
    db.session.flush()
    old, new = changed_fields(before, snapshot(report, _AUDIT_REPORT))
    if new:
        record("update", "prevention_reports", key, actor=actor, before=old, after=new)
    return report
