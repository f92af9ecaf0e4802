"""Prospect-list pages (SPEC section 10): a year's lists for regional staff (all offices) and
office managers (their own), with who joined and left, the visit coverage, the XLSX
download, and — for regional staff — generating the next version, planning its visits and
the year's thresholds (a panel of the targets page). Every change is one operation."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateField, DecimalField
from wtforms.validators import InputRequired, NumberRange, Optional

from kamcrm.errors import KamcrmError, NotFound
from kamcrm.extensions import db
from kamcrm.org.access import can, requires, scope_for, visible_offices
from kamcrm.periods import FIRST_YEAR, LAST_YEAR, bangkok_today
from kamcrm.prospects import operations, queries
from kamcrm.prospects.models import LISTS
from kamcrm.reports.prospects import prospects_filename, prospects_report, render_prospects
from kamcrm.web.forms import DATE_RANGE, REQUIRED, PageForm
from kamcrm.web.labels import translate

bp = Blueprint("prospect_pages", __name__, url_prefix="/prospects")


class GenerateForm(PageForm):
    """Generate the year's lists (no fields: the CSRF token only)."""


class PlanVisitsForm(PageForm):
    planned_on = DateField(_l("Planned date"), validators=[Optional()], render_kw=DATE_RANGE)


class ProspectSettingsForm(PageForm):
    """The year's list thresholds and power factor: a part of the one targets form (no CSRF
    token of its own; the targets page saves it with the rest)."""

    hv1_growth_pct = DecimalField(
        _l("High Value 1: growth at least (%)"),
        places=2,
        validators=[InputRequired(REQUIRED), NumberRange(min=-100, max=10000)],
    )
    hv1_utilisation_pct = DecimalField(
        _l("High Value 1: utilisation at least (%)"),
        places=2,
        validators=[InputRequired(REQUIRED), NumberRange(min=0, max=1000)],
    )
    hv2_utilisation_pct = DecimalField(
        _l("High Value 2: utilisation at least (%)"),
        places=2,
        validators=[InputRequired(REQUIRED), NumberRange(min=0, max=1000)],
    )
    mt2_transformer_kva = DecimalField(
        _l("Maintenance 2: transformer larger than (kVA)"),
        places=2,
        validators=[InputRequired(REQUIRED), NumberRange(min=0, max=1000000)],
    )
    power_factor = DecimalField(
        _l("Power factor (kW to kVA)"),
        places=3,
        validators=[InputRequired(REQUIRED), NumberRange(min=0.001, max=1)],
    )


def settings_form(year: int, formdata=None) -> ProspectSettingsForm:
    """Return the settings part of the targets form of ``year``, filled from ``formdata`` (a
    POST) or with its stored or default values."""
    settings = queries.settings_for(year)
    return ProspectSettingsForm(
        formdata=formdata,
        prefix="prospects",
        meta={"csrf": False},
        data={name: getattr(settings, name) for name in operations.SETTING_BOUNDS},
    )


def save_settings_form(year: int, form: ProspectSettingsForm, actor) -> int:
    """Save the settings the targets form changed (one audited operation); return 1 if any did."""
    current = queries.settings_for(year)
    changes = {
        name: str(getattr(form, name).data)
        for name in operations.SETTING_BOUNDS
        if getattr(form, name).data is not None
        and getattr(form, name).data != getattr(current, name)
    }
    if not changes:
        return 0
    operations.save_settings(year, changes, actor)
    return 1


def _year() -> int:
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        year = bangkok_today().year
    return year if FIRST_YEAR + 2 <= year <= LAST_YEAR else bangkok_today().year


def _scope_and_office():
    office = request.args.get("office") or None
    try:
        return scope_for(current_user, office), office
    except NotFound:
        return scope_for(current_user), None


def _version() -> int | None:
    value = request.args.get("version", "")
    return int(value) if value.isdigit() and len(value) < 8 else None


@bp.get("")
@requires("prospects.view")
def lists():
    """Show a year's lists in the caller's scope: counts, members, changes and coverage."""
    year = _year()
    scope, office = _scope_and_office()
    chosen = request.args.get("list") if request.args.get("list") in LISTS else None
    snapshots = queries.snapshots_of(year)
    report = None
    if snapshots:
        try:
            report = prospects_report(year, scope, version=_version())
        except NotFound:
            report = prospects_report(year, scope)
    return render_template(
        "prospects/lists.html",
        year=year,
        office=office,
        report=report,
        snapshots=snapshots,
        lists=LISTS,
        chosen=chosen,
        offices=list(db.session.scalars(visible_offices(current_user))),
        can_generate=can(current_user, "prospects.generate"),
        can_plan=can(current_user, "prospects.plan_visits"),
        generate_form=GenerateForm(),
        plan_form=PlanVisitsForm(),
        columns=queries.COLUMNS,
    )


@bp.get("/<int:year>/prospects.<fmt>")
@requires("prospects.view")
def download(year: int, fmt: str):
    """Download a snapshot's lists in the caller's scope as XLSX or JSON."""
    if fmt not in ("xlsx", "json") or not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404)
    scope, _office = _scope_and_office()
    report = prospects_report(year, scope, version=_version())
    mimetype = (
        "application/json"
        if fmt == "json"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response = Response(render_prospects(report, fmt), mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{prospects_filename(report, fmt)}"'
    )
    return response


@bp.post("/<int:year>/generate")
@requires("prospects.generate")
def generate(year: int):
    """Generate the year's lists as its next version."""
    form = GenerateForm()
    if not form.validate_on_submit() or not FIRST_YEAR + 2 <= year <= LAST_YEAR:
        abort(400)
    try:
        with db.session.begin_nested():
            snapshot = operations.generate_snapshot(year, current_user)
    except KamcrmError as refused:
        flash(translate(refused.message), "error")
        return redirect(url_for("prospect_pages.lists", year=year))
    flash(
        _(
            "Generated version %(version)s of the %(year)s lists.",
            version=snapshot.version,
            year=year,
        ),
        "success",
    )
    return redirect(url_for("prospect_pages.lists", year=year))


@bp.post("/<int:year>/visits")
@requires("prospects.plan_visits")
def plan_visits(year: int):
    """Plan a BIZ visit for every listed account without one this year."""
    form = PlanVisitsForm()
    if not form.validate_on_submit():
        flash(_("Enter a date such as 2026-03-31."), "error")
        return redirect(url_for("prospect_pages.lists", year=year))
    try:
        with db.session.begin_nested():
            snapshot = queries.snapshot_for(year, _version())
            result = operations.plan_visits(snapshot, current_user, planned_on=form.planned_on.data)
    except KamcrmError as refused:
        details = " ".join(translate(m) for messages in refused.errors.values() for m in messages)
        flash(f"{translate(refused.message)} {details}".strip(), "error")
        return redirect(url_for("prospect_pages.lists", year=year))
    flash(
        _(
            "Planned %(planned)s visits; %(skipped)s listed accounts already had one or are closed; "
            "%(missing)s have no KAMR.",
            planned=result["planned"],
            skipped=result["skipped"],
            missing=len(result["without_kamr"]),
        ),
        "success",
    )
    return redirect(url_for("prospect_pages.lists", year=year))
