"""Regional-office pages: the region heatmap, CR2 with downloads, monthly summaries, targets,
the tier roster, quarter close and the audit log."""

from __future__ import annotations

import csv
import io
from datetime import date

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from kamcrm.compliance import engine
from kamcrm.compliance import operations as target_ops
from kamcrm.compliance.targets import year_targets
from kamcrm.errors import Conflict, FileTooLarge, KamcrmError, NotFound
from kamcrm.extensions import db
from kamcrm.org.access import requires, scope_for
from kamcrm.org.models import MANAGED_OFFICE_CLASSES, Office
from kamcrm.periods import (
    bangkok_today,
    last_complete_month,
    month_key,
    parse_month,
    quarter_label,
    quarter_of,
    year_in_range,
)
from kamcrm.reports import charts
from kamcrm.web.common import apply_errors, page_number, report_params
from kamcrm.web.complaint_target_forms import complaint_targets_context
from kamcrm.web.forms import (
    NO_TIER,
    PlannedForm,
    QuotaForm,
    RetierFileForm,
    RetierSelectionForm,
    RuleForm,
    TargetsForm,
)
from kamcrm.web.i18n import (
    format_column,
    format_day,
    format_number,
    format_pct,
    format_quarter,
    short_office_name,
)
from kamcrm.web.labels import TIER_LABELS, label, translate

bp = Blueprint("region", __name__, url_prefix="/region")


# --- region dashboard ----------------------------------------------------------------------


def region_heatmap(year: int, as_of: date):
    """Return (offices, rules, cells) of the live cumulative column, one query for all offices."""
    params_scope = scope_for(current_user, None)
    targets = year_targets(year)
    column = engine.COLUMNS[quarter_of(as_of) - 1]
    cells_of = {
        rule: engine.cell_windows(rule, year, column, as_of) or [] for rule in targets.rules
    }
    pairs = [(rule, window) for rule, windows in cells_of.items() for window in windows]
    by_unit = engine.coverage(params_scope, pairs, by_unit=True) if pairs else {}
    offices = list(
        db.session.execute(
            sa.select(Office)
            .where(Office.office_class.in_(MANAGED_OFFICE_CLASSES), params_scope.covers(Office.id))
            .order_by(Office.code)
        ).scalars()
    )

    def row_of(units):
        row = []
        for rule in targets.rules:
            population = sum(
                by_unit[u][(rule, w)].population for u in units for w in cells_of[rule]
            )
            met = sum(by_unit[u][(rule, w)].met for u in units for w in cells_of[rule])
            row.append((rule, population, met, engine.percentage(met, population)))
        return row

    grid = [(office, row_of([office.id] if office.id in by_unit else [])) for office in offices]
    # Every unit, the region's own accounts included: the scope's CR2 figures.
    return column, targets.rules, grid, row_of(list(by_unit))


def heat_cell_name(office, rule, population: int, met: int, pct) -> str:
    """Return a heatmap cell's accessible name: whose figure it is, against what, and what
    selecting it does."""
    what = _(
        "%(office)s, %(type)s %(tier)s",
        office=office.code,
        type=rule.type,
        tier=label(TIER_LABELS, rule.tier),
    )
    if pct is None:
        return _("%(what)s: no accounts", what=what)
    return _(
        "%(what)s: %(pct)s of %(target)s target, %(met)s of %(population)s accounts — open the accounts",
        what=what,
        pct=format_pct(pct),
        target=format_pct(rule.target_pct),
        met=format_number(met),
        population=format_number(population),
    )


@bp.get("/")
@requires("reports.cr2")
def dashboard():
    """Show the region: a heatmap of offices by rule, and the region's own CR2 headline."""
    params = report_params()
    column, rules, grid, total = region_heatmap(params.year, params.as_of)
    cells = [
        [
            charts.HeatCell(
                pct=pct,
                target=rule.target_pct,
                href=url_for(
                    "office.cell_accounts",
                    type=rule.type,
                    tier=rule.tier,
                    column=column,
                    year=params.year,
                    as_of=params.as_of.isoformat(),
                    office=office.code,
                ),
                title=heat_cell_name(office, rule, population, met, pct),
            )
            for rule, population, met, pct in row
        ]
        for office, row in grid
    ]
    svg = charts.heatmap(
        [short_office_name(office) for office, _row in grid],
        [f"{rule.type}\n{rule.tier.title()}" for rule in rules],
        cells,
        label=_(
            "Coverage of each office by rule, %(column)s", column=format_column(column, params.year)
        ),
        description=_(
            "One row per office, one column per rule; each cell is the share of the office's "
            "accounts that met the rule, coloured against the rule's target. The same figures "
            "follow as a table."
        ),
    )
    bars = charts.bar_chart(
        [
            charts.Bar(f"{rule.type} {rule.tier.title()}", pct or 0, rule.target_pct)
            for rule, _population, _met, pct in total
        ],
        label=_("Coverage of every account in scope by rule, as in the CR2 report"),
        unit="%",
    )
    return render_template(
        "region/dashboard.html",
        params=params,
        column=column,
        rules=rules,
        grid=grid,
        total=total,
        heatmap=svg,
        bars=bars,
    )


# --- CR2 -------------------------------------------------------------------------------------


@bp.get("/cr2")
@requires("reports.cr2")
def cr2():
    """Show the CR2 report of the year for the region or an office, with its downloads."""
    params = report_params()
    report = engine.cr2_report(params.year, params.as_of, params.scope)
    from kamcrm.reports.cr2 import PLAN_TITLE
    from kamcrm.web.office import _offices_to_choose

    # The plan's title is the form's own text, as in the XLSX and PDF (not a paraphrase).
    return render_template(
        "region/cr2.html",
        params=params,
        report=report,
        columns=engine.COLUMNS,
        targets=year_targets(params.year),
        offices=_offices_to_choose(),
        plan_title=PLAN_TITLE,
    )


@bp.get("/cr2.<fmt>")
@requires("reports.cr2")
def cr2_download(fmt: str):
    """Download the CR2 report as JSON, XLSX or PDF (the same figures as the page)."""
    if fmt not in ("json", "xlsx", "pdf"):
        abort(404)
    params = report_params()
    report = engine.cr2_report(params.year, params.as_of, params.scope)
    if fmt == "json":
        response = jsonify(report)
        filename = f"CR2_{report['scope']}_{report['year']}_as-of_{report['as_of']}.json"
    else:
        from kamcrm.reports.cr2 import MIMETYPES, cr2_filename, render_cr2

        response = Response(render_cr2(report, fmt), mimetype=MIMETYPES[fmt])
        filename = cr2_filename(report, fmt)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- monthly summary -------------------------------------------------------------------------


@bp.get("/monthly")
@requires("reports.monthly")
def monthly():
    """Show the monthly CRM-Plus-style summary, as of now or as reported after the deadline."""
    from kamcrm.db import utcnow
    from kamcrm.reports.monthly import NotReportedYet, monthly_report_for

    today = bangkok_today()
    # The last complete month: the current one has barely started for most of it.
    default_month = month_key(*last_complete_month(today))
    month = request.args.get("month") or default_month
    try:
        month = month_key(*parse_month(month))  # the picker and the download links use one spelling
    except ValueError:
        flash(_("That month is not valid; showing the last complete month."), "warning")
        month = default_month
    as_reported = request.args.get("view") == "reported"
    office = request.args.get("office") or None
    summary, missing = None, None
    try:
        # The page does not show the changes since reported (the downloads and the API do).
        summary = monthly_report_for(
            current_user, month, office, utcnow(), as_reported=as_reported, changes=False
        )
    except NotReportedYet:
        missing = True
    except NotFound:
        abort(404)  # an office out of the user's sight
    from kamcrm.web.office import _offices_to_choose

    return render_template(
        "region/monthly.html",
        summary=summary,
        missing=missing,
        month=month,
        as_reported=as_reported,
        office=office,
        offices=_offices_to_choose(),
    )


@bp.get("/monthly.<fmt>")
@requires("reports.monthly")
def monthly_download(fmt: str):
    """Download the monthly summary as XLSX, PDF or JSON (the same figures as the page)."""
    from kamcrm.db import utcnow
    from kamcrm.reports.monthly import monthly_report_for
    from kamcrm.reports.monthly_export import MEDIA_TYPES, render_monthly

    if fmt not in ("xlsx", "pdf", "json"):
        abort(404)
    month = request.args.get("month") or ""
    try:
        month = month_key(*parse_month(month))
    except ValueError:
        abort(404)
    office = request.args.get("office") or None
    view = monthly_report_for(
        current_user, month, office, utcnow(), as_reported=request.args.get("view") == "reported"
    )
    response = Response(render_monthly(view, fmt), mimetype=MEDIA_TYPES[fmt].split(";")[0])
    stem = f"monthly-{view.get('scope', 'region')}-{month}"
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


# --- targets ---------------------------------------------------------------------------------


def _target_forms(year: int, formdata=None):
    """Return the year's targets and a sub-form per rule, quota and planned population,
    filled from ``formdata`` (a POST) or from the stored values. The sub-forms carry no CSRF
    token of their own: they are parts of the one targets form."""
    targets = year_targets(year)
    no_csrf = {"csrf": False}
    rule_forms = {
        (rule.type, rule.tier): (
            rule,
            RuleForm(
                formdata=formdata,
                prefix=f"{rule.type}-{rule.tier}",
                meta=no_csrf,
                period=rule.period,
                min_count=rule.min_count,
                target_pct=rule.target_pct,
            ),
        )
        for rule in targets.rules
    }
    quota_forms = {
        q.exec_role: QuotaForm(
            formdata=formdata, prefix=q.exec_role, meta=no_csrf, quota=q.quota_per_quarter
        )
        for q in targets.quotas
    }
    planned_forms = {
        tier: PlannedForm(formdata=formdata, prefix=tier, meta=no_csrf, planned=planned)
        for tier, planned in targets.planned
    }
    return targets, rule_forms, quota_forms, planned_forms


def _section_forms(year: int, formdata=None) -> dict:
    """The sections of the one targets form that other domains keep (survey quotas and
    targets, SPEC 9; prospect thresholds, SPEC 10), by their template name."""
    from kamcrm.web.prospects import settings_form
    from kamcrm.web.surveys import survey_targets_form

    return {
        "survey_form": survey_targets_form(year, formdata),
        "prospect_form": settings_form(year, formdata),
    }


def _save_section(name: str, year: int, form) -> int:
    """Save one posted section of the targets form through its domain's operation."""
    from kamcrm.web.prospects import save_settings_form
    from kamcrm.web.surveys import save_survey_targets

    if name == "survey_form":
        return save_survey_targets(year, form)
    return save_settings_form(year, form, current_user)


def _render_targets(
    year: int, forms=None, status: int = 200, sections=None, *, complaint_forms=None
):
    targets, rule_forms, quota_forms, planned_forms = forms or _target_forms(year)

    return render_template(
        "region/targets.html",
        year=year,
        targets=targets,
        rule_forms=rule_forms,
        quota_forms=quota_forms,
        planned_forms=planned_forms,
        form=TargetsForm(formdata=None),
        **(sections or _section_forms(year)),
        **complaint_targets_context(year, complaint_forms),
    ), status


@bp.get("/targets")
@requires("targets.edit")
def targets():
    """Show and edit the year's targets (rules, executive-visit quotas, planned populations)."""
    year = request.args.get("year", type=int) or bangkok_today().year
    if not year_in_range(year):
        abort(404)
    return _render_targets(year)[0]


def _posted(form) -> bool:
    """Return whether the POST carries any field of ``form`` (a row left out stays as it is)."""
    return any(field.name in request.form for field in form)


@bp.post("/targets/<int:year>")
@requires("targets.edit")
def update_targets(year: int):
    """Save every changed rule, quota and planned population of the year at once.

    One form for the whole page: editing several rows and pressing Save keeps them all. If
    any row is refused, nothing is saved and every row keeps what was typed.
    """
    if not year_in_range(year):
        abort(404)
    forms = _target_forms(year, request.form)
    targets, rule_forms, quota_forms, planned_forms = forms
    sections = _section_forms(year, request.form)
    if not TargetsForm().validate_on_submit():
        flash(_("The form had expired; nothing was saved. Save again."), "error")
        return _render_targets(year, forms, 422, sections)
    rows = (
        [(form, "rule", key) for key, (_rule, form) in rule_forms.items()]
        + [(form, "quota", role) for role, form in quota_forms.items()]
        + [(form, "planned", tier) for tier, form in planned_forms.items()]
    )
    rows = [row for row in rows if _posted(row[0])]
    posted = {name: form for name, form in sections.items() if _posted(form)}
    # Every row and section, so each shows its errors.
    valid = all(
        [form.validate() for form, _kind, _key in rows]
        + [form.validate() for form in posted.values()]
    )
    saved = 0
    if valid:
        try:
            with db.session.begin_nested():
                saved = _save_target_rows(year, targets, rows)
                for name, form in posted.items():
                    try:
                        saved += _save_section(name, year, form)
                    except KamcrmError as error:
                        raise _RowRefused(form, error) from error
        except _RowRefused as refused:
            apply_errors(refused.form, refused.error, refused.field_names)
            valid = False
    if not valid:
        flash(_("Nothing was saved: correct the rows marked below."), "error")
        return _render_targets(year, forms, 422, sections)
    flash(
        ngettext(
            "Saved %(num)d change to the targets.", "Saved %(num)d changes to the targets.", saved
        )
        if saved
        else _("Nothing had changed."),
        "success",
    )
    return redirect(url_for("region.targets", year=year))


class _RowRefused(Exception):
    """An operation refused one row of the targets form (the whole save is undone)."""

    def __init__(self, form, error: KamcrmError, field_names: dict | None = None):
        super().__init__(error.message)
        self.form, self.error, self.field_names = form, error, field_names


def _save_target_rows(year: int, targets, rows) -> int:
    """Apply each row that differs from the stored targets; return how many changed."""
    saved = 0
    for form, kind, key in rows:
        try:
            if kind == "rule":
                rule = targets.rule(*key)
                if (form.period.data, form.min_count.data, form.target_pct.data) == (
                    rule.period,
                    rule.min_count,
                    rule.target_pct,
                ):
                    continue
                target_ops.update_rule(
                    year,
                    *key,
                    {
                        "period": form.period.data,
                        "min_count": form.min_count.data,
                        "target_pct": str(form.target_pct.data),
                    },
                    current_user,
                )
            elif kind == "quota":
                if form.quota.data == targets.quota(key):
                    continue
                target_ops.set_quota(year, key, form.quota.data, current_user)
            else:
                if form.planned.data == targets.planned_population(key):
                    continue
                target_ops.set_planned(year, key, form.planned.data, current_user)
        except KamcrmError as refused:
            raise _RowRefused(form, refused, {"quota_per_quarter": "quota"}) from None
        saved += 1
    return saved


# --- tier roster -----------------------------------------------------------------------------


def _render_tiers(selection=None, upload=None, result=None, refused=None, status=200):
    selection = selection or RetierSelectionForm(formdata=None, prefix="pick")
    today = bangkok_today()
    listed = [number for _line, number in _listed_accounts(selection.account_nos.data or "")]
    return render_template(
        "region/tiers.html",
        selection=selection,
        upload=upload or RetierFileForm(formdata=None, prefix="file"),
        result=result,
        refused=refused,
        current=_tiers_on(listed, today),
        today=today,
    ), status


def _tiers_on(numbers: list[str], day: date) -> list[tuple]:
    """Return (account, tier on ``day`` or None) of the listed accounts the user sees, in
    the list's order: what a re-tier would change."""
    from kamcrm.accounts.models import Account
    from kamcrm.accounts.queries import tier_on, visible_accounts

    if not numbers:
        return []
    rows = db.session.execute(
        visible_accounts(current_user)
        .where(Account.account_no.in_(numbers[:500]))
        .add_columns(tier_on(Account.id, day).label("tier"))
    ).all()
    order = {number: n for n, number in enumerate(numbers)}
    return sorted(
        ((account, tier) for account, tier in rows), key=lambda row: order[row[0].account_no]
    )


@bp.get("/tiers")
@requires("roster.retier")
def tiers():
    """Re-tier accounts in bulk from a date: from a tiers file or a list of account numbers
    (``?accounts=A,B`` fills the list, as the accounts page's button does)."""
    selection = RetierSelectionForm(formdata=None, prefix="pick")
    listed = [
        number.strip() for number in request.args.get("accounts", "").split(",") if number.strip()
    ]
    if listed:
        selection.account_nos.data = "\n".join(listed)
    return _render_tiers(selection=selection)[0]


def _listed_accounts(text: str) -> list[tuple[int, str]]:
    """Return the account numbers of a pasted list with the line each is on, each number once
    (at its first line); numbers are one per line or separated by commas."""
    listed: dict[str, int] = {}
    for line, content in enumerate(text.splitlines(), start=1):
        for number in content.split(","):
            if number.strip():
                listed.setdefault(number.strip(), line)
    return [(line, number) for number, line in listed.items()]


@bp.post("/tiers/selection")
@requires("roster.retier")
def retier_selection():
    """Give the listed accounts one tier from a date, through the tiers import (all or nothing).

    The import reads the list as a tiers file of its own making; a refusal is told in the
    list's terms: the line of the pasted list and the account number.
    """
    from kamcrm.imports.importer import import_file

    form = RetierSelectionForm(prefix="pick")
    if not form.validate_on_submit():
        return _render_tiers(selection=form, status=422)
    removing = form.tier.data == NO_TIER
    if removing and not form.confirm_removal.data:
        # Removing a tier silently drops the accounts from every rule: only when said so.
        form.confirm_removal.errors = [_("Tick this box to remove the tier, or choose a tier.")]
        return _render_tiers(selection=form, status=422)
    new_tier = None if removing else form.tier.data
    listed = _listed_accounts(form.account_nos.data)
    day = form.effective_from.data
    before = {account.account_no: tier for account, tier in _tiers_on([n for _l, n in listed], day)}
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["account_no", "tier", "effective_from"])
    for _line, number in listed:
        writer.writerow([number, new_tier or "", day.isoformat()])
    try:
        result = import_file(
            "tiers",
            io.BytesIO(text.getvalue().encode("utf-8")),
            "selection.csv",
            actor=current_user,
        )
    except Conflict:
        flash(
            _(
                "Another change to these accounts was saved at the same time; nothing was changed. "
                "Re-tier them again."
            ),
            "error",
        )
        return _render_tiers(selection=form, status=409)
    if result.ok:
        changed = sum(1 for _line, number in listed if before.get(number) != new_tier)
        when = format_day(day)
        if removing:
            message = ngettext(
                "%(num)d account has no tier from %(date)s.",
                "%(num)d accounts have no tier from %(date)s.",
                changed,
                date=when,
            )
        else:
            message = ngettext(
                "%(num)d account re-tiered to %(tier)s from %(date)s.",
                "%(num)d accounts re-tiered to %(tier)s from %(date)s.",
                changed,
                tier=label(TIER_LABELS, new_tier),
                date=when,
            )
        unchanged = len(listed) - changed
        if unchanged:
            message += " " + ngettext(
                "%(num)d already had it and is unchanged.",
                "%(num)d already had it and are unchanged.",
                unchanged,
            )
        flash(message, "success")
        # Back to the list with each account's tier as it now stands.
        return redirect(
            url_for("region.tiers", accounts=",".join(number for _line, number in listed))
        )
    # Line 1 of the import's file is its header, line 2 the first listed number.
    listed_at = dict(enumerate(listed, start=2))
    refused = [(*listed_at.get(error.line, (None, "")), error.message) for error in result.errors]
    flash(
        _(
            "Nothing was changed: %(n)s of the account numbers you listed cannot be re-tiered; see below.",
            n=len({number for _line, number, _message in refused}),
        ),
        "error",
    )
    return _render_tiers(selection=form, refused=refused, status=422)


@bp.post("/tiers/file")
@requires("roster.retier", "imports.run")
def retier_file():
    """Import a tiers file (all or nothing); a large one in the background."""
    from kamcrm.imports.importer import import_file, stream_size
    from kamcrm.imports.operations import queue_import
    from kamcrm.imports.runner import start_after_this_request

    form = RetierFileForm(prefix="file")
    if not form.validate_on_submit():
        return _render_tiers(upload=form, status=422)
    upload = form.file.data
    filename = upload.filename or "tiers.csv"
    try:
        size = stream_size(upload.stream)
        if size is None or size > current_app.config["IMPORT_BACKGROUND_BYTES"]:
            # Too long for one request: the scheduler process imports it; its page shows how far.
            run = queue_import("tiers", upload.stream, filename, actor=current_user)
            start_after_this_request()
            return redirect(url_for("region.import_run", run_id=run.id))
        # The import keeps its own savepoint and writes nothing unless every row is good.
        result = import_file("tiers", upload.stream, filename, actor=current_user)
    except FileTooLarge as error:
        flash(translate(error.message), "error")
        return _render_tiers(upload=form, status=413)
    if not result.ok:
        flash(
            ngettext(
                "Nothing was changed: the file has %(num)d problem, listed below.",
                "Nothing was changed: the file has %(num)d problems, listed below.",
                len(result.errors) + result.more_errors,
            ),
            "error",
        )
        return _render_tiers(upload=form, result=result, status=422)
    return _tiers_saved(result)


@bp.get("/imports/<int(min=1, max=2147483647):run_id>")
@requires("imports.run")
def import_run(run_id: int):
    """Where a background import of the uploader's stands; refreshes itself until it ends."""
    from kamcrm.imports.operations import import_run_for, message_from, progress_of, reported_errors

    run = import_run_for(current_user, run_id)
    outcome = run.result or {}
    imported = outcome.get("import")
    error = outcome.get("error")
    return render_template(
        "region/import_run.html",
        run=run,
        progress=progress_of(run),
        imported=imported,
        errors=reported_errors(imported) if imported else [],
        more_errors=(imported or {}).get("more_errors", 0),
        error=message_from(error) if error else None,
        refresh_seconds=IMPORT_REFRESH_SECONDS if run.status in ("queued", "running") else None,
    )


#: How often the page of a running import reloads itself (a meta refresh: no script needed).
IMPORT_REFRESH_SECONDS = 2


def _tiers_saved(result):
    # A new assignment and a replaced one are both a re-tier to the person who asked for it.
    message = ngettext(
        "Tiers saved: %(num)d account re-tiered.",
        "Tiers saved: %(num)d accounts re-tiered.",
        result.created + result.updated,
    )
    if result.unchanged:
        message += " " + ngettext(
            "%(num)d already had it and is unchanged.",
            "%(num)d already had it and are unchanged.",
            result.unchanged,
        )
    flash(message, "success")
    return redirect(url_for("region.tiers"))


# --- audit log -------------------------------------------------------------------------------


@bp.get("/audit")
@requires("audit.view")
def audit():
    """Search the audit log: by record, person, action, dates and free text."""
    from kamcrm.history.queries import AuditFilter, audit_entries

    def day(name):
        try:
            return date.fromisoformat(request.args[name]) if request.args.get(name) else None
        except ValueError:
            flash(_("A date in the filter is not valid and was ignored."), "warning")
            return None

    criteria = AuditFilter(
        entity=request.args.get("entity") or None,
        key=request.args.get("key") or None,
        actor=request.args.get("actor") or None,
        action=request.args.get("action") or None,
        date_from=day("from"),
        date_to=day("to"),
        text=request.args.get("q") or None,
    )
    page = audit_entries(current_user, criteria, page_number(), per_page=50)
    from kamcrm.audit.models import AUDIT_ACTIONS
    from kamcrm.web.audit_display import entity_choices, shown_entries
    from kamcrm.web.common import page_url_args

    return render_template(
        "region/audit.html",
        page=page,
        criteria=criteria,
        actions=AUDIT_ACTIONS,
        entries=shown_entries(page.items),
        entities=entity_choices(criteria.entity),
        page_url_args=page_url_args,
    )


# --- quarter close ---------------------------------------------------------------------------


def _quarter_page(today: date, posted: bool = False):
    """Return the last eight quarters with their close state (latest first) and the close
    form, which offers them, and older closed ones to reopen, by the page's names (``3/2569``).
    The closes are read once for both."""
    from kamcrm.periods import quarter_close_date, quarter_window
    from kamcrm.reports.closing import quarter_closes
    from kamcrm.web.forms import QuarterCloseForm

    closes = {(row.year, row.quarter): row for row in quarter_closes()}
    rows = []
    year, quarter = today.year, quarter_of(today)
    for _step in range(8):
        row = closes.get((year, quarter))
        window = quarter_window(year, quarter)
        if row is not None and row.reopened_at is None:
            state = "closed"
        elif today <= window.end:
            state = "running"
        elif today < quarter_close_date(year, quarter):
            state = "reporting"
        else:
            state = "due"
        rows.append(
            {
                "year": year,
                "quarter": quarter,
                "window": window,
                "close_date": quarter_close_date(year, quarter),
                "state": state,
                "row": row,
            }
        )
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    listed = [(row["year"], row["quarter"]) for row in rows]
    older = sorted(set(closes) - set(listed), reverse=True)
    form = QuarterCloseForm() if posted else QuarterCloseForm(formdata=None)
    form.quarter.choices = [("", _("Choose a quarter"))] + [
        (quarter_label(year, quarter), format_quarter(year, quarter))
        for year, quarter in listed + older
    ]
    return rows, form


def _render_quarters(rows, form, status=200):
    return render_template("region/quarters.html", rows=rows, form=form), status


@bp.get("/quarters")
@requires("periods.close")
def quarters():
    """Show each quarter's close state; close a due quarter, or (admins) reopen one."""
    return _render_quarters(*_quarter_page(bangkok_today()))[0]


@bp.post("/quarters")
@requires("periods.close")
def close_or_reopen_quarter():
    """Close (or, for admins, reopen) the quarter named in the form."""
    from kamcrm.periods import parse_quarter
    from kamcrm.reports.closing import close_quarter, reopen_quarter

    rows, form = _quarter_page(bangkok_today(), posted=True)
    if not form.validate_on_submit():
        return _render_quarters(rows, form, 422)
    year, quarter = parse_quarter(form.quarter.data)  # one of the offered choices
    reopening = request.form.get("action") == "reopen"
    try:
        with db.session.begin_nested():
            if reopening:
                reopen_quarter(year, quarter, current_user, reason=form.reason.data)
            else:
                close_quarter(
                    year,
                    quarter,
                    current_user,
                    reason=form.reason.data or None,
                    force=request.form.get("force") == "1",
                )
    except KamcrmError as refused:
        if not refused.errors:
            form.quarter.errors.append(translate(refused.message))
        else:
            apply_errors(form, refused)
        return _render_quarters(rows, form, 422)  # nothing changed: the same rows
    if reopening:
        flash(_("Quarter %(label)s is open again.", label=format_quarter(year, quarter)), "success")
    else:
        flash(
            _(
                "Quarter %(label)s is closed and its CR2 figures are kept.",
                label=format_quarter(year, quarter),
            ),
            "success",
        )
    return redirect(url_for("region.quarters"))
