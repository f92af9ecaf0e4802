"""Survey pages (SPEC section 9): the call list per office with a small phone-answer form on
each row, quota progress, mean satisfaction with the low scores to follow up, Smile Box
shares, and the CR1 report with its downloads. Every change is one call of the survey
operations; every figure one of ``kamcrm.surveys.queries``."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from kamcrm import limits
from kamcrm.errors import KamcrmError, NotFound
from kamcrm.extensions import db
from kamcrm.org.access import can, requires, scope_for
from kamcrm.periods import bangkok_today, quarter_of
from kamcrm.surveys import operations, queries
from kamcrm.surveys.models import QUOTA_KINDS
from kamcrm.surveys.targets import survey_targets
from kamcrm.web.common import apply_errors, page_url_args, paginate, report_params
from kamcrm.web.forms import DATE_RANGE, REQUIRED, PageForm

bp = Blueprint("surveys", __name__, url_prefix="/surveys")

#: Labels of the job kinds on the pages.
KIND_LABELS = {
    "meter_install": _l("Meter installation"),
    "extension": _l("Extension"),
    "dedicated_transformer": _l("Dedicated transformer"),
    "maintenance": _l("Maintenance"),
}
SCORE_CHOICES = [SelectChoice(str(n), str(n)) for n in (5, 4, 3, 2, 1)]


class PhoneAnswerForm(PageForm):
    """A customer's phone answer: the score, the day and what they said."""

    score = SelectField(_l("Score"), choices=SCORE_CHOICES, validators=[InputRequired(REQUIRED)])
    answered_on = DateField(
        _l("Answered on"), validators=[Optional()], default=bangkok_today, render_kw=DATE_RANGE
    )
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=limits.SUMMARY)])


class FollowUpForm(PageForm):
    """The follow-up of a low score."""

    followed_up_on = DateField(
        _l("Followed up on"),
        validators=[InputRequired(REQUIRED)],
        default=bangkok_today,
        render_kw=DATE_RANGE,
    )
    note = TextAreaField(
        _l("What was done"), validators=[Optional(), Length(max=limits.FOLLOW_UP_ACTION)]
    )


def _office_scope():
    """Return (scope, office code) of the page: the ``office`` asked for, else the user's own."""
    office = request.args.get("office") or None
    try:
        return scope_for(current_user, office), office
    except NotFound:
        abort(404)


def _offices():
    from kamcrm.web.office import _offices_to_choose

    return _offices_to_choose()


@bp.get("/calls")
@requires("surveys.view")
def call_list():
    """The call list: the jobs still callable, fewest days left first, and the quota missing."""
    scope, office = _office_scope()
    today = bangkok_today()
    page = paginate(queries.call_list(scope, today), scalars=False)
    rows = [
        (job, code, queries.window_days_left(job.completed_on, today)) for job, code in page.items
    ]
    return render_template(
        "surveys/calls.html",
        rows=rows,
        page=page,
        page_args=page_url_args,
        scope=scope,
        office=office,
        offices=_offices(),
        today=today,
        kinds=KIND_LABELS,
        missing=queries.missing_quota(scope, today),
        quota_kinds=QUOTA_KINDS,
        form=PhoneAnswerForm(formdata=None),
        can_record=can(current_user, "surveys.record"),
    )


@bp.post("/jobs/<job_ref>/phone")
@requires("surveys.record")
def record_phone(job_ref: str):
    """Record a phone answer to job ``job_ref`` from its call-list row."""
    job = queries.job_for(current_user, job_ref)
    form = PhoneAnswerForm()
    back = url_for(".call_list", office=request.args.get("office") or None)
    if form.validate_on_submit():
        data = {
            "score": form.score.data,
            "answered_on": form.answered_on.data or bangkok_today(),
            "comment": form.comment.data or None,
        }
        try:
            with db.session.begin_nested():
                operations.record_phone_answer(current_user, job.ref, data, today=bangkok_today())
        except KamcrmError as refused:
            apply_errors(form, refused)
        else:
            flash(_("Phone answer to job %(ref)s recorded.", ref=job.ref), "success")
            return redirect(back)
    for messages in form.errors.values():
        for message in messages:
            flash(str(message), "error")
    return redirect(back, 303)


@bp.get("/quota")
@requires("surveys.view")
def quota():
    """Quota progress per office this quarter, with the pace needed for the days left."""
    scope, office = _office_scope()
    today = bangkok_today()
    return render_template(
        "surveys/quota.html",
        lines=queries.quota_progress(scope, today),
        scope=scope,
        office=office,
        offices=_offices(),
        today=today,
        quarter=quarter_of(today),
        kinds=KIND_LABELS,
    )


@bp.get("/satisfaction")
@requires("surveys.view")
def satisfaction():
    """Mean satisfaction per office and for the scope, and the low scores to follow up."""
    params = report_params()
    start = date(params.year, 1, 1)
    targets = survey_targets(params.year)
    total = queries.satisfaction(params.scope, start, params.as_of, params.as_of, targets)
    offices = queries.satisfaction_by_office(
        params.scope, start, params.as_of, params.as_of, targets
    )
    follow_ups = db.session.execute(queries.open_follow_ups(params.scope).limit(200)).all()
    return render_template(
        "surveys/satisfaction.html",
        params=params,
        total=total,
        by_office=offices,
        follow_ups=follow_ups,
        targets=targets,
        offices=_offices(),
        form=FollowUpForm(formdata=None),
        can_follow_up=can(current_user, "surveys.follow_up"),
    )


@bp.post("/answers/<int:answer_id>/follow-up")
@requires("surveys.follow_up")
def follow_up(answer_id: int):
    """Record the follow-up of a low score."""
    answer = queries.answer_for(current_user, answer_id)
    form = FollowUpForm()
    if form.validate_on_submit():
        try:
            with db.session.begin_nested():
                operations.record_follow_up(
                    current_user,
                    answer,
                    form.followed_up_on.data,
                    form.note.data or None,
                    today=bangkok_today(),
                )
        except KamcrmError as refused:
            apply_errors(form, refused)
        else:
            flash(_("Follow-up recorded."), "success")
            return redirect(url_for(".satisfaction"))
    for messages in form.errors.values():
        for message in messages:
            flash(str(message), "error")
    return redirect(url_for(".satisfaction"), 303)


@bp.get("/smile-box")
@requires("surveys.view")
def smile_box():
    """Smile Box response share per office against the target, and the low ratings followed up."""
    params = report_params()
    start = date(params.year, 1, 1)
    targets = survey_targets(params.year)
    return render_template(
        "surveys/smile_box.html",
        params=params,
        targets=targets,
        offices=_offices(),
        form=SmileBoxFollowUpForm(formdata=None),
        can_follow_up=can(current_user, "surveys.follow_up"),
        total=queries.smile_box(params.scope, start, params.as_of, targets),
        by_office=queries.smile_box_by_office(params.scope, start, params.as_of, targets),
    )


class SmileBoxFollowUpForm(PageForm):
    """How many of a day's low Smile Box ratings the office followed up within 10 days."""

    office_code = StringField(
        _l("Office"), validators=[InputRequired(REQUIRED), Length(max=limits.OFFICE_CODE)]
    )
    day = DateField(_l("Day"), validators=[InputRequired(REQUIRED)], render_kw=DATE_RANGE)
    followed_up = IntegerField(
        _l("Low ratings followed up"), validators=[InputRequired(REQUIRED), NumberRange(0)]
    )


@bp.post("/smile-box/follow-ups")
@requires("surveys.follow_up")
def smile_box_follow_ups():
    """Record the low ratings of one office's day followed up within 10 days."""
    form = SmileBoxFollowUpForm()
    if form.validate_on_submit():
        try:
            with db.session.begin_nested():
                operations.set_smile_box_follow_ups(
                    current_user,
                    form.office_code.data.strip(),
                    form.day.data,
                    form.followed_up.data,
                )
        except NotFound:
            abort(404)
        except KamcrmError as refused:
            apply_errors(form, refused)
        else:
            flash(_("Follow-up recorded."), "success")
            return redirect(url_for(".smile_box"))
    for messages in form.errors.values():
        for message in messages:
            flash(str(message), "error")
    return redirect(url_for(".smile_box"), 303)


@bp.get("/cr1")
@requires("reports.cr1")
def cr1():
    """Show the CR1 report of the year for the region or an office, with its downloads."""
    from kamcrm.reports.cr1 import COLUMNS, cr1_report

    params = report_params()
    return render_template(
        "surveys/cr1.html",
        params=params,
        report=cr1_report(params.year, params.as_of, params.scope),
        columns=COLUMNS,
        offices=_offices(),
    )


@bp.get("/cr1.<fmt>")
@requires("reports.cr1")
def cr1_download(fmt: str):
    """Download the CR1 report as JSON, XLSX or PDF (the same figures as the page)."""
    from kamcrm.reports.cr1 import MIMETYPES, cr1_filename, cr1_report, render_cr1

    if fmt not in ("json", "xlsx", "pdf"):
        abort(404)
    params = report_params()
    report = cr1_report(params.year, params.as_of, params.scope)
    response = (
        jsonify(report)
        if fmt == "json"
        else Response(render_cr1(report, fmt), mimetype=MIMETYPES[fmt])
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{cr1_filename(report, fmt)}"'
    return response


# --- the year's survey targets (a section of the targets page) --------------------------------


class SurveyTargetsForm(PageForm):
    """A year's phone-answer quotas per office and quarter, and the two satisfaction targets."""

    quota_meter_install = IntegerField(
        _l("Meter installations per quarter"),
        validators=[InputRequired(REQUIRED), NumberRange(0, 1000)],
    )
    quota_extension = IntegerField(
        _l("Extensions per quarter"), validators=[InputRequired(REQUIRED), NumberRange(0, 1000)]
    )
    quota_dedicated_transformer = IntegerField(
        _l("Dedicated transformers per quarter"),
        validators=[InputRequired(REQUIRED), NumberRange(0, 1000)],
    )
    satisfaction_target = DecimalField(
        _l("Mean satisfaction at least"),
        places=4,
        validators=[InputRequired(REQUIRED), NumberRange(1, 5)],
    )
    smile_box_share_pct = DecimalField(
        _l("Smile Box response share at least (%)"),
        places=2,
        validators=[InputRequired(REQUIRED), NumberRange(0, 100)],
    )


def survey_targets_form(year: int, formdata=None) -> SurveyTargetsForm:
    """Return the targets page's survey section filled with the year's values (or a POST).

    It is a part of the page's one targets form: no CSRF token of its own, its fields
    prefixed ``surveys-``."""
    targets = survey_targets(year)
    return SurveyTargetsForm(
        formdata=formdata,
        prefix="surveys",
        meta={"csrf": False},
        quota_meter_install=targets.quotas["meter_install"],
        quota_extension=targets.quotas["extension"],
        quota_dedicated_transformer=targets.quotas["dedicated_transformer"],
        satisfaction_target=targets.satisfaction,
        smile_box_share_pct=targets.smile_box_share_pct,
    )


def save_survey_targets(year: int, form: SurveyTargetsForm) -> int:
    """Save the targets page's survey section through its one operation; return 1 when a
    value changed, else 0 (a refusal raises the operation's ``KamcrmError``)."""
    before = survey_targets(year).as_dict()
    data = {
        name: getattr(form, name).data
        for name in (
            "quota_meter_install",
            "quota_extension",
            "quota_dedicated_transformer",
            "satisfaction_target",
            "smile_box_share_pct",
        )
    }
    if {**before, "stored": False} == {**_as_targets_dict(year, data), "stored": False}:
        return 0
    operations.set_survey_targets(current_user, year, data)
    return 1


def _as_targets_dict(year: int, data: dict) -> dict:
    return {
        "year": year,
        "stored": False,
        "quotas": {
            "meter_install": data["quota_meter_install"],
            "extension": data["quota_extension"],
            "dedicated_transformer": data["quota_dedicated_transformer"],
        },
        "satisfaction_target": float(data["satisfaction_target"]),
        "smile_box_share_pct": float(data["smile_box_share_pct"]),
    }
