"""The VOC register's pages (SPEC section 9): the register in the user's scope with its
filters, an entry's page (mark significant, record the VOC-system reference, turn a
complaint-kind voice into a complaint), a list of references pasted or uploaded at once,
and the VOC-CRM-001 export. Every change is one call of ``kamcrm.voc.operations``."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from kamcrm.complaints.models import CHANNELS as COMPLAINT_CHANNELS
from kamcrm.complaints.targets import complaint_targets
from kamcrm.errors import FileTooLarge, KamcrmError, NotFound, ValidationFailed
from kamcrm.extensions import db
from kamcrm.imports.readers import TableFile, UnreadableFile, too_large
from kamcrm.org.access import can, requires, scope_for, visible_offices, visible_users
from kamcrm.org.models import User
from kamcrm.periods import bangkok_today
from kamcrm.reports.voc_export import voc_workbook
from kamcrm.voc import operations
from kamcrm.voc.models import KINDS, VOC_REF_LENGTH
from kamcrm.voc.queries import Filters, VocEntry, categories_in_use, entry_for, register
from kamcrm.web.common import apply_errors, page_url_args, paginate
from kamcrm.web.forms import NOT_A_DATE, REQUIRED, PageForm, complaint_category_choices

bp = Blueprint("voc_pages", __name__, url_prefix="/voc")


class SignificanceForm(PageForm):
    """Mark or unmark an entry significant (the button says which)."""

    significant = BooleanField(_l("Significant"))


class VocRefForm(PageForm):
    """An entry's reference in PEA's VOC system and the day it was entered there."""

    voc_ref = StringField(
        _l("VOC-system reference"), validators=[Optional(), Length(max=VOC_REF_LENGTH)]
    )
    voc_ref_on = DateField(
        _l("Entered in the VOC system on"),
        validators=[Optional()],
        render_kw={"data-be-date": "1"},
        format="%Y-%m-%d",
    )

    def validate_voc_ref_on(self, field):  # noqa: D401 - WTForms hook
        if field.raw_data and field.raw_data[0] and field.data is None:
            raise ValueError(str(NOT_A_DATE))


class ConvertForm(PageForm):
    """Turn a complaint-kind voice into a complaint: its number and category (prefilled)."""

    ref = StringField(_l("Complaint number"), validators=[InputRequired(REQUIRED), Length(max=100)])
    category = SelectField(
        _l("Category"), choices=[], validate_choice=False, validators=[InputRequired(REQUIRED)]
    )
    channel = SelectField(
        _l("Channel"), choices=[], default="", validators=[Optional()], validate_choice=False
    )
    urgent = BooleanField(_l("Urgent (to be closed within 24 hours)"))


class RefListForm(PageForm):
    """Many VOC-system references at once: pasted lines or a CSV/XLSX file."""

    lines = TextAreaField(
        _l("Lines: key,voc_ref,voc_ref_on"), validators=[Optional(), Length(max=500_000)]
    )
    file = FileField(_l("Or a file (CSV or XLSX) with the columns key, voc_ref, voc_ref_on"))


def _yes_no(name: str) -> bool | None:
    value = request.args.get(name)
    return True if value == "yes" else False if value == "no" else None


def _day_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name) or "")
    except ValueError:
        return None


def filters_from_args() -> tuple[Filters, dict]:
    """Return the register's filters named by the query string (bad values are ignored; an
    office or KAMR outside the user's scope filters nothing in, like an unknown one)."""
    args = {
        name: request.args.get(name, "")
        for name in ("kind", "category", "office", "kamr", "significant", "entered", "from", "to")
    }
    office_scope = None
    if args["office"]:
        try:
            office_scope = scope_for(current_user, args["office"])
        except NotFound:
            args["office"] = ""
    kamr_id = None
    if args["kamr"]:
        kamr_id = (
            db.session.execute(
                visible_users(current_user)
                .with_only_columns(User.id)
                .where(User.username == args["kamr"])
            ).scalar_one_or_none()
            or -1
        )
    filters = Filters(
        kind=args["kind"] if args["kind"] in KINDS else None,
        category=args["category"] or None,
        office_scope=office_scope,
        kamr_id=kamr_id,
        significant=_yes_no("significant"),
        entered=_yes_no("entered"),
        day_from=_day_arg("from"),
        day_to=_day_arg("to"),
    )
    return filters, args


@bp.get("")
@requires("voc.view")
def register_page():
    """The register: every customer voice in scope, newest first, filtered and paginated."""
    filters, args = filters_from_args()
    statement = register(current_user, filters)
    page = None
    if statement is not None:
        page = paginate(statement, scalars=False)
        page = page.__class__(
            items=[VocEntry.from_row(row) for row in page.items],
            number=page.number,
            per_page=page.per_page,
            total=page.total,
        )
    kamrs = (
        db.session.execute(
            visible_users(current_user).where(
                User.role.in_(("kamr", "office_manager")), User.active.is_(True)
            )
        )
        .scalars()
        .all()
    )
    return render_template(
        "voc/register.html",
        page=page,
        entries=page.items if page else [],
        args=args,
        kinds=KINDS,
        categories=categories_in_use(current_user),
        kamrs=kamrs,
        page_args=page_url_args,
        offices=db.session.execute(visible_offices(current_user)).scalars().all(),
        may_record_refs=can(current_user, "voc.record_ref"),
        export_args={name: value for name, value in request.args.items() if name != "page"},
    )


#: The formats of the export (the register's form is a spreadsheet).
EXPORT_FORMATS = ("xlsx",)


@bp.get("/export.<fmt>")
@requires("voc.view")
def export(fmt: str):
    """The register under the same filters as an XLSX file in the layout of form VOC-CRM-001."""
    if fmt not in EXPORT_FORMATS:
        abort(404)
    filters, _args = filters_from_args()
    data = voc_workbook(current_user, filters, today=bangkok_today())
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="VOC-CRM-001.xlsx"'},
    )


def _convert_form(entry: VocEntry, formdata=None) -> ConvertForm:
    form = ConvertForm(formdata=formdata) if formdata is not None else ConvertForm(formdata=None)
    codes = complaint_targets(entry.day.year).category_codes
    form.category.choices = complaint_category_choices(codes)
    form.channel.choices = [("", _("— choose —"))] + [(code, code) for code in COMPLAINT_CHANNELS]
    if formdata is None:
        form.ref.data = f"VOC-{entry.key}"
        guess = (entry.category or "").strip().upper()
        form.category.data = guess if guess in codes else ""
    return form


def _render(entry: VocEntry, *, ref_form=None, convert_form=None, status: int = 200):
    may_convert = (
        can(current_user, "voc.convert")
        and can(current_user, "complaints.create")
        and entry.source == "activity"
        and entry.kind == "complaint"
        and entry.complaint_ref is None
    )
    return render_template(
        "voc/entry.html",
        entry=entry,
        significance_form=SignificanceForm(formdata=None),
        ref_form=ref_form
        or VocRefForm(formdata=None, voc_ref=entry.voc_ref, voc_ref_on=entry.voc_ref_on),
        convert_form=convert_form or (_convert_form(entry) if may_convert else None),
        may_mark=can(current_user, "voc.mark"),
        may_record_ref=can(current_user, "voc.record_ref"),
        may_convert=may_convert,
    ), status


@bp.get("/<voc_key>")
@requires("voc.view")
def entry_page(voc_key: str):
    """One entry: the voice, its marks, and the forms that work it."""
    return _render(entry_for(current_user, voc_key))


def _back(entry_key: str, message: str):
    flash(message, "success")
    return redirect(url_for("voc_pages.entry_page", voc_key=entry_key))


@bp.post("/<voc_key>/significant")
@requires("voc.mark")
def significance(voc_key: str):
    """Mark the entry significant, or unmark it."""
    entry = entry_for(current_user, voc_key, "voc.mark")
    form = SignificanceForm()
    if form.validate_on_submit():
        operations.mark_significant(entry.key, bool(form.significant.data), current_user)
        return _back(
            entry.key,
            _("%(key)s marked significant.", key=entry.key)
            if form.significant.data
            else _("%(key)s is no longer marked significant.", key=entry.key),
        )
    return _render(entry, status=422)


@bp.post("/<voc_key>/voc-ref")
@requires("voc.record_ref")
def voc_ref(voc_key: str):
    """Record (or clear) the entry's reference in PEA's VOC system."""
    entry = entry_for(current_user, voc_key, "voc.record_ref")
    form = VocRefForm()
    if form.validate_on_submit():
        try:
            with db.session.begin_nested():
                operations.record_voc_ref(
                    entry.key, form.voc_ref.data or None, form.voc_ref_on.data, current_user
                )
        except KamcrmError as refused:
            apply_errors(form, refused)
        else:
            return _back(entry.key, _("VOC-system reference of %(key)s saved.", key=entry.key))
    return _render(entry, ref_form=form, status=422)


@bp.post("/<voc_key>/complaint")
@requires("voc.convert")
def convert(voc_key: str):
    """Turn the complaint-kind voice into a complaint, linked both ways."""
    entry = entry_for(current_user, voc_key, "voc.convert")
    form = _convert_form(entry, request.form)
    if form.validate_on_submit():
        try:
            with db.session.begin_nested():
                complaint = operations.convert_to_complaint(
                    entry.key,
                    {
                        "ref": form.ref.data,
                        "category": form.category.data,
                        "channel": form.channel.data or None,
                        "urgent": bool(form.urgent.data),
                    },
                    current_user,
                )
        except KamcrmError as refused:
            apply_errors(form, refused)
            status = 409 if refused.status == 409 else 422
            return _render(entry_for(current_user, voc_key), convert_form=form, status=status)
        flash(
            _("Complaint %(ref)s recorded from %(key)s.", ref=complaint.ref, key=entry.key),
            "success",
        )
        return redirect(url_for("complaint_pages.complaint_page", ref=complaint.ref))
    return _render(entry, convert_form=form, status=422)


def pasted_lines(text: str):
    """Yield (line number, row) of pasted ``key,voc_ref,voc_ref_on`` lines (a header line
    naming the columns may come first; blank lines are skipped)."""
    reader = csv.reader(io.StringIO(text))
    for number, cells in enumerate(reader, start=1):
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if number == 1 and cells and cells[0].lower() == "key":
            continue
        row = dict(zip(operations.REF_FIELDS, cells + [""] * (3 - len(cells))))
        if len(cells) > 3:
            row["extra"] = ",".join(cells[3:])
        yield number, row


def file_lines(upload):
    """Return (line number, row) of an uploaded CSV/XLSX list (header: key, voc_ref,
    voc_ref_on); raise ``ValidationFailed`` for a file that cannot be read."""
    filename = upload.filename or "refs.csv"
    max_bytes = current_app.config["IMPORT_MAX_BYTES"]
    try:
        table = TableFile(upload.stream, filename, max_bytes=max_bytes)
        try:
            header = list(table.header or [])
            while header and not header[-1]:  # a workbook's empty columns after the last name
                header.pop()
            unknown = [name for name in header if name not in operations.REF_FIELDS]
            missing = [name for name in operations.REF_FIELDS if name not in header]
            if unknown or missing:
                raise ValidationFailed(
                    {
                        "line 1": [
                            _(
                                "the header must name key, voc_ref and voc_ref_on "
                                "(unknown: %(unknown)s; missing: %(missing)s)",
                                unknown=", ".join(unknown) or "–",
                                missing=", ".join(missing) or "–",
                            )
                        ]
                    }
                )
            lines = []
            for line, cells, problem in table.rows(len(header)):
                if problem is not None:
                    raise ValidationFailed({f"line {line}": [problem]})
                lines.append((line, dict(zip(header, cells))))
            return lines
        finally:
            table.close()
    except UnreadableFile as error:
        raise ValidationFailed({f"line {error.line}": [error.message]}) from None
    except FileTooLarge:
        raise
    except OSError:
        raise too_large(filename, max_bytes) from None


@bp.route("/refs", methods=["GET", "POST"])
@requires("voc.record_ref")
def refs():
    """Record many VOC-system references at once, all or nothing, with line-numbered errors."""
    form = RefListForm()
    problems: list[tuple[str, list[str]]] = []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            with db.session.begin_nested():
                if upload is not None and getattr(upload, "filename", ""):
                    lines = file_lines(upload)
                else:
                    lines = list(pasted_lines(form.lines.data or ""))
                count = operations.record_voc_refs(lines, current_user)
        except (ValidationFailed, FileTooLarge) as refused:
            problems = sorted(
                (refused.errors or {"": [str(refused)]}).items(),
                key=lambda item: (
                    int(item[0].split()[-1])
                    if item[0].split()[-1:] and item[0].split()[-1].isdigit()
                    else 0
                ),
            )
            flash(_("Nothing was recorded: the list has problems, listed below."), "error")
        else:
            flash(
                ngettext(
                    "%(num)d VOC-system reference recorded.",
                    "%(num)d VOC-system references recorded.",
                    count,
                ),
                "success",
            )
            return redirect(url_for("voc_pages.register_page", entered="yes"))
    status = 422 if request.method == "POST" else 200
    return render_template("voc/refs.html", form=form, problems=problems), status
