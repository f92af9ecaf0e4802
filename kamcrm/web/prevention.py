"""Complaint-prevention pages (SPEC section 8, CR2 plan 2.2): an office's plan for the year
with its four quarter reports, their due days and on-time or late marks, and the region's
overview of every class 1-3 office. Every change is one call of the prevention operations."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from kamcrm import limits
from kamcrm.errors import KamcrmError
from kamcrm.extensions import db
from kamcrm.org.access import can, requires
from kamcrm.periods import bangkok_today, quarter_window, year_in_range
from kamcrm.prevention import operations
from kamcrm.prevention.queries import (
    LATE,
    MISSING,
    NOT_DUE,
    ON_TIME,
    PENDING,
    office_years,
    plan_office_for,
    visible_plan_offices,
)
from kamcrm.web.common import apply_errors
from kamcrm.web.forms import DATE_RANGE, REQUIRED, PageForm
from kamcrm.web.i18n import format_year

bp = Blueprint("prevention_pages", __name__, url_prefix="/prevention")

#: How each state of a quarter report reads on a page, and the mark it gets.
STATE_LABELS = {
    ON_TIME: _l("on time"),
    LATE: _l("late"),
    MISSING: _l("missing"),
    PENDING: _l("not in yet"),
    NOT_DUE: _l("quarter not over"),
}
STATE_CLASSES = {
    ON_TIME: "met",
    LATE: "missed",
    MISSING: "missed",
    PENDING: "neutral",
    NOT_DUE: "none",
}


class PlanForm(PageForm):
    """Record or replace the office's plan for the year."""

    title = StringField(
        _l("Title"), validators=[InputRequired(REQUIRED), Length(max=limits.PREVENTION_TITLE)]
    )
    summary = TextAreaField(
        _l("Summary of the plan"), validators=[Optional(), Length(max=limits.PREVENTION_TEXT)]
    )
    submitted_on = DateField(_l("Submitted on"), validators=[Optional()], render_kw=DATE_RANGE)


class QuarterReportForm(PageForm):
    """Submit (or replace) the report on one quarter."""

    text = TextAreaField(
        _l("What was done this quarter"),
        validators=[InputRequired(REQUIRED), Length(max=limits.PREVENTION_TEXT)],
    )
    submitted_on = DateField(_l("Submitted on"), validators=[Optional()], render_kw=DATE_RANGE)


def _year() -> int:
    year = request.args.get("year", type=int)
    return year if year is not None and year_in_range(year) else bangkok_today().year


@bp.get("")
@requires("prevention.view")
def overview():
    """Show every class 1-3 office the viewer sees with its plan and quarter reports.

    An office manager of one class 1-3 office goes straight to that office's page.
    """
    year = _year()
    offices = list(db.session.execute(visible_plan_offices(current_user)).scalars())
    if current_user.role == "office_manager" and len(offices) == 1:
        return redirect(url_for("prevention_pages.office_plan", code=offices[0].code, year=year))
    rows = office_years(offices, year, bangkok_today())
    return render_template(
        "prevention/overview.html",
        year=year,
        rows=rows,
        state_labels=STATE_LABELS,
        state_classes=STATE_CLASSES,
    )


def _render(code: str, year: int, *, plan_form=None, report_forms=None, status: int = 200):
    office = plan_office_for(current_user, code)
    today = bangkok_today()
    (row,) = office_years([office], year, today)
    if plan_form is None:
        plan = row.plan
        plan_form = PlanForm(
            formdata=None,
            title=plan.title if plan else None,
            summary=plan.summary if plan else None,
            submitted_on=plan.submitted_on if plan else today,
        )
    forms = {}
    for quarter in row.quarters:
        if quarter.state == NOT_DUE:
            continue
        given = (report_forms or {}).get(quarter.quarter)
        report = quarter.report
        forms[quarter.quarter] = given or QuarterReportForm(
            formdata=None,
            prefix=f"q{quarter.quarter}",
            text=report.text if report else None,
            submitted_on=report.submitted_on if report else today,
        )
    return render_template(
        "prevention/office.html",
        year=year,
        row=row,
        plan_form=plan_form,
        report_forms=forms,
        may_edit=can(current_user, "prevention.edit"),
        state_labels=STATE_LABELS,
        state_classes=STATE_CLASSES,
        quarter_ends={q: quarter_window(year, q).end for q in (1, 2, 3, 4)},
    ), status


@bp.get("/<code>")
@requires("prevention.view")
def office_plan(code: str):
    """Show an office's plan for the year with its four quarter reports."""
    return _render(code, _year())


def _attempt(form, action) -> bool:
    """Run one operation in a savepoint; on a refusal put its messages beside the fields."""
    try:
        with db.session.begin_nested():
            action()
    except KamcrmError as refused:
        apply_errors(form, refused)
        return False
    return True


@bp.post("/<code>/plan")
@requires("prevention.edit")
def record_plan(code: str):
    """Record or replace the office's plan for the year."""
    year = _year()
    plan_office_for(current_user, code)
    form = PlanForm()
    if form.validate_on_submit():
        data = {
            "title": form.title.data,
            "summary": form.summary.data,
            "submitted_on": form.submitted_on.data,
        }
        if _attempt(form, lambda: operations.record_plan(code, year, data, current_user)):
            flash(_("The plan for %(year)s is saved.", year=format_year(year)), "success")
            return redirect(url_for("prevention_pages.office_plan", code=code, year=year))
    return _render(code, year, plan_form=form, status=422)


@bp.post("/<code>/reports/<int:quarter_no>")
@requires("prevention.edit")
def submit_report(code: str, quarter_no: int):
    """Submit (or replace) the report on one quarter."""
    year = _year()
    plan_office_for(current_user, code)
    quarter = quarter_no
    form = QuarterReportForm(prefix=f"q{quarter}")
    if form.validate_on_submit():
        data = {"text": form.text.data, "submitted_on": form.submitted_on.data}
        if _attempt(
            form, lambda: operations.submit_quarter_report(code, year, quarter, data, current_user)
        ):
            flash(_("The report on quarter %(quarter)s is saved.", quarter=quarter), "success")
            return redirect(url_for("prevention_pages.office_plan", code=code, year=year))
    return _render(code, year, report_forms={quarter: form}, status=422)
