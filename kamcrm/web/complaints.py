"""Complaint pages (SPEC section 8): record one (from the account page or a quick form), the
lists with the time left on each (mine, the office's open and overdue, the region's), and a
complaint's page with its close, reopen, exclusion and reassignment. Every change is one
call of the complaint operations."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from kamcrm.complaints import operations
from kamcrm.complaints.models import Complaint
from kamcrm.complaints.queries import (
    complaint_for,
    due_soon_filter,
    list_conditions,
    overdue_filter,
    time_left,
    times_left,
    visible_complaints,
    with_tier,
)
from kamcrm.complaints.targets import complaint_targets
from kamcrm.db import utcnow
from kamcrm.errors import KamcrmError, NotFound
from kamcrm.extensions import db
from kamcrm.org.access import can, requires, scope_for, visible_offices, visible_users
from kamcrm.periods import BANGKOK, bangkok_today
from kamcrm.voc.queries import origin_of_complaint
from kamcrm.web.common import apply_errors, page_url_args, paginate
from kamcrm.web.forms import (
    CloseComplaintForm,
    ComplaintActionForm,
    ComplaintForm,
    ExcludeComplaintForm,
    ReassignComplaintForm,
    complaint_category_choices,
)

bp = Blueprint("complaint_pages", __name__, url_prefix="/complaints")

#: What each list shows.
VIEWS = ("mine", "open", "overdue", "closed")


def _bangkok(moment: datetime | None) -> str | None:
    """Return a form's local (Bangkok) date and time as ISO 8601 with its offset."""
    return None if moment is None else moment.replace(tzinfo=BANGKOK).isoformat()


@bp.get("")
@requires("complaints.view")
def complaint_list():
    """List complaints: mine (open, assigned to me), the scope's open or overdue ones, or closed ones."""
    default = "mine" if current_user.role == "kamr" else "open"
    view = request.args.get("view", default)
    if view not in VIEWS:
        view = default
    office = request.args.get("office") or None
    try:
        scope = scope_for(current_user, office) if office else None
    except NotFound:
        scope, office = None, None
    statement = visible_complaints(current_user).where(
        *list_conditions(
            office_scope=scope,
            status="closed" if view == "closed" else "open",
            assigned_to_id=current_user.id if view == "mine" else None,
        )
    )
    if view == "overdue":
        statement = overdue_filter(statement)
    statement = with_tier(statement).options(
        joinedload(Complaint.office),
        joinedload(Complaint.account),
        joinedload(Complaint.assigned_to),
    )
    order = Complaint.closed_at.desc() if view == "closed" else Complaint.received_at
    page = paginate(statement.order_by(order, Complaint.id), scalars=False)
    rows = times_left([(row[0], row[1]) for row in page.items], utcnow())
    return render_template(
        "complaints/list.html",
        view=view,
        views=VIEWS,
        rows=rows,
        page=page,
        page_args=page_url_args,
        can_record=can(current_user, "complaints.create"),
        office=office,
        offices=db.session.execute(visible_offices(current_user)).scalars().all(),
    )


def _offices_for_form(form: ComplaintForm) -> None:
    offices = db.session.execute(visible_offices(current_user)).scalars().all()
    form.office_code.choices = [("", _("— the account's office —"))] + [
        (o.code, f"{o.code} {o.name}") for o in offices
    ]
    year = bangkok_today().year
    form.category.choices = complaint_category_choices(complaint_targets(year).category_codes)


@bp.route("/new", methods=["GET", "POST"])
@requires("complaints.create")
def new_complaint():
    """Record a complaint (from the account page, the account is filled in)."""
    form = ComplaintForm()
    _offices_for_form(form)
    if request.method == "GET":
        form.account.data = request.args.get("account", "")
        if not form.account.data and current_user.office is not None:
            form.office_code.data = current_user.office.code
    if form.validate_on_submit():
        data = {
            "ref": form.ref.data,
            "account_no": form.account.data or None,
            "office_code": form.office_code.data or None,
            "category": form.category.data,
            "channel": form.channel.data or None,
            "urgent": bool(form.urgent.data),
            "received_at": _bangkok(form.received_at.data),
            "summary": form.summary.data or None,
        }
        try:
            with db.session.begin_nested():
                complaint = operations.create_complaint(data, current_user)
        except KamcrmError as refused:
            apply_errors(form, refused, {"account_no": "account"})
        else:
            flash(_("Complaint %(ref)s recorded.", ref=complaint.ref), "success")
            return redirect(url_for("complaint_pages.complaint_page", ref=complaint.ref))
    status = 422 if request.method == "POST" else 200
    return render_template("complaints/new.html", form=form), status


def _render(
    complaint: Complaint,
    *,
    close_form=None,
    exclude_form=None,
    reassign_form=None,
    status: int = 200,
):
    reassign_form = reassign_form or ReassignComplaintForm(formdata=None)
    users = db.session.execute(visible_users(current_user)).scalars().all()
    reassign_form.assigned_to.choices = [("", _("— nobody —"))] + [
        (u.username, f"{u.full_name} ({u.username})") for u in users if u.active
    ]
    if complaint.assigned_to is not None and not reassign_form.assigned_to.data:
        reassign_form.assigned_to.data = complaint.assigned_to.username
    exclude_form = exclude_form or ExcludeComplaintForm(
        formdata=None, excluded=complaint.excluded or ""
    )
    return render_template(
        "complaints/complaint.html",
        complaint=complaint,
        from_voc=origin_of_complaint(complaint.id),
        left=time_left(complaint, utcnow()),
        close_form=close_form or CloseComplaintForm(formdata=None),
        exclude_form=exclude_form,
        reassign_form=reassign_form,
        action_form=ComplaintActionForm(),
        may_close=can(current_user, "complaints.close"),
        may_exclude=can(current_user, "complaints.exclude"),
        may_reassign=can(current_user, "complaints.reassign"),
    ), status


@bp.get("/<ref>")
@requires("complaints.view")
def complaint_page(ref: str):
    """Show a complaint, the time left on it and the forms that work it."""
    return _render(complaint_for(current_user, ref))


def _done(complaint: Complaint, message: str):
    flash(message, "success")
    return redirect(url_for("complaint_pages.complaint_page", ref=complaint.ref))


def _attempt(complaint, form, action) -> bool:
    """Run one complaint operation in a savepoint; on a refusal put its messages beside the
    form's fields, reload the complaint as stored, and return False."""
    try:
        with db.session.begin_nested():
            action()
    except KamcrmError as refused:
        db.session.refresh(complaint)
        apply_errors(form, refused)
        return False
    return True


@bp.post("/<ref>/close")
@requires("complaints.close")
def close(ref: str):
    """Close the complaint with its resolution."""
    complaint = complaint_for(current_user, ref, "complaints.close")
    form = CloseComplaintForm()
    if form.validate_on_submit():
        closed_at = form.closed_at.data.replace(tzinfo=BANGKOK) if form.closed_at.data else None
        if _attempt(
            complaint,
            form,
            lambda: operations.close_complaint(
                complaint, form.resolution.data, current_user, closed_at=closed_at
            ),
        ):
            return _done(complaint, _("Complaint %(ref)s closed.", ref=complaint.ref))
    return _render(complaint, close_form=form, status=422)


@bp.post("/<ref>/reopen")
@requires("complaints.close")
def reopen(ref: str):
    """Reopen a closed complaint."""
    complaint = complaint_for(current_user, ref, "complaints.close")
    form = ComplaintActionForm()
    if form.validate_on_submit():
        if not _attempt(
            complaint, form, lambda: operations.reopen_complaint(complaint, current_user)
        ):
            return _render(complaint, status=409)
        return _done(complaint, _("Complaint %(ref)s reopened.", ref=complaint.ref))
    return _render(complaint, status=422)


@bp.post("/<ref>/exclude")
@requires("complaints.exclude")
def exclude(ref: str):
    """Exclude the complaint from the figures (or count it again)."""
    complaint = complaint_for(current_user, ref, "complaints.exclude")
    form = ExcludeComplaintForm()
    if form.validate_on_submit():
        if _attempt(
            complaint,
            form,
            lambda: operations.exclude_complaint(
                complaint, form.excluded.data or None, current_user
            ),
        ):
            return _done(complaint, _("Complaint %(ref)s saved.", ref=complaint.ref))
    return _render(complaint, exclude_form=form, status=422)


@bp.post("/<ref>/reassign")
@requires("complaints.reassign")
def reassign(ref: str):
    """Give the complaint to another user of the office."""
    complaint = complaint_for(current_user, ref, "complaints.reassign")
    form = ReassignComplaintForm()
    if form.validate_on_submit():
        if _attempt(
            complaint,
            form,
            lambda: operations.reassign_complaint(
                complaint, form.assigned_to.data or None, current_user
            ),
        ):
            return _done(complaint, _("Complaint %(ref)s saved.", ref=complaint.ref))
    return _render(complaint, reassign_form=form, status=422)


#: Most complaints the due list shows (the most urgent first).
DUE_COMPLAINTS = 50


def complaints_due_soon() -> list:
    """Return the open complaints close to or past their limit that the user works: a KAMR's
    own (assigned to them), an office manager's office's; with the time left, least first."""
    statement = visible_complaints(current_user)
    if current_user.role == "kamr":
        statement = statement.where(Complaint.assigned_to_id == current_user.id)
    now = utcnow()
    statement = (
        with_tier(due_soon_filter(statement, now))
        .options(joinedload(Complaint.account), joinedload(Complaint.assigned_to))
        .order_by(Complaint.received_at)
    )
    rows = times_left([(row[0], row[1]) for row in db.session.execute(statement.limit(500))], now)
    return sorted(rows, key=lambda row: (row[1] is None, row[1]))[:DUE_COMPLAINTS]


def account_complaints(account) -> list:
    """Return the account's complaints, newest first, with the time left on the open ones."""
    statement = (
        with_tier(sa.select(Complaint).where(Complaint.account_id == account.id))
        .options(joinedload(Complaint.assigned_to))
        .order_by(Complaint.received_at.desc())
        .limit(50)
    )
    return times_left([(row[0], row[1]) for row in db.session.execute(statement)], utcnow())


@bp.app_template_filter("time_left")
def time_left_label(left) -> str:
    """Show a complaint's time left: "3 days 4 h left", "5 h left", or how long it is overdue."""
    if left is None:
        return "–"
    seconds = int(left.total_seconds())
    late = seconds < 0
    seconds = abs(seconds)
    days, hours = seconds // 86400, (seconds % 86400) // 3600
    if days:
        text = _("%(days)s d %(hours)s h", days=days, hours=hours)
    else:
        text = _("%(hours)s h %(minutes)s min", hours=hours, minutes=(seconds % 3600) // 60)
    return _("overdue by %(time)s", time=text) if late else _("%(time)s left", time=text)
