"""Account-manager pages: the due list, logging an activity, accounts and the account page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from kamcrm.accounts.models import TIERS, Account
from kamcrm.accounts.queries import (
    account_for,
    list_conditions,
    search_condition,
    tier_in_force,
    tier_on,
    visible_accounts,
)
from kamcrm.activities import operations as activity_ops
from kamcrm.activities.access import activity_types_for, require_activity_change
from kamcrm.activities.models import Activity, FollowUp
from kamcrm.activities.queries import activity_for, visible_activities
from kamcrm.compliance.due import due_list
from kamcrm.errors import Forbidden, KamcrmError, NotFound, PeriodClosed, ValidationFailed
from kamcrm.extensions import db
from kamcrm.lookups import Lookups
from kamcrm.org.access import can, requires, scope_of
from kamcrm.periods import bangkok_today
from kamcrm.prospects.queries import account_consumption, planned_business_visits
from kamcrm.quarters.locks import CLOSED_QUARTER_ROLES
from kamcrm.web import queries
from kamcrm.web.common import Page, apply_errors, page_number, page_url_args, paginate
from kamcrm.web.complaints import account_complaints, complaints_due_soon
from kamcrm.web.forms import (
    IMPLIED_CHANNELS,
    ActivityForm,
    CompleteFollowUpForm,
    PlanVisitForm,
    activity_type_choices,
)
from kamcrm.web.labels import translate
from kamcrm.web.redirects import safe_next

bp = Blueprint("kamr", __name__)

#: Operation field names that the activity form calls differently.
ACTIVITY_FIELD_NAMES = {
    "account_no": "account",
    "action": "follow_up_action",
    "due_on": "follow_up_due",
}
SEARCH_LIMIT = 12


# --- finding an account ----------------------------------------------------------------


def matching_accounts(text: str, limit: int = SEARCH_LIMIT) -> list[Account]:
    """Return the visible accounts whose number starts with, or whose name contains, ``text``."""
    text = text.strip()
    if not text:
        return []
    query = (
        visible_accounts(current_user)
        .where(search_condition(text))
        .order_by(sa.case((Account.account_no == text, 0), else_=1), Account.account_no)
        .limit(limit)
    )
    return list(db.session.execute(query).scalars())


def resolve_account(text: str) -> tuple[Account | None, str | None]:
    """Return the one visible account ``text`` names (its number, or part of its name).

    Returns (account, None), or (None, a message saying why no single account was found).
    """
    text = (text or "").strip()
    try:
        return account_for(current_user, text), None
    except NotFound:
        pass
    found = matching_accounts(text, limit=6)
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, _("No account you can see has that number or name.")
    names = ", ".join(f"{a.account_no} {a.name}" for a in found[:5])
    return None, _("Several accounts match; choose one by its number: %(names)s", names=names)


@bp.get("/accounts/search")
@requires("accounts.view")
def account_search():
    """Return up to 12 visible accounts matching ``q`` as JSON, for the account field."""
    found = matching_accounts(request.args.get("q", ""))
    return jsonify(results=[{"account_no": a.account_no, "name": a.name} for a in found])


# --- due list ------------------------------------------------------------------------------


@bp.get("/due")
@requires("reports.due")
def due():
    """Show what is due, most urgent first: overdue plans and follow-ups, then what each
    account still needs to meet its rules in the current period, with days left."""
    today = bangkok_today()
    heading = _("My due list") if current_user.role == "kamr" else _("Due list of the office")
    rows, page = due_rows(today)
    overdue = overdue_rows(today)
    return render_template(
        "kamr/due.html",
        rows=rows,
        page=page,
        overdue=overdue,
        heading=heading,
        today=today,
        page_url_args=page_url_args,
        complaints=complaints_due_soon(),
        business_visits=planned_business_visits(current_user, today),
    )


DUE_PER_PAGE = 50


def due_rows(today) -> tuple[list[dict], Page | None]:
    """Return one page of the due items of the user's accounts (a KAMR's own; else the scope)."""
    kamr_id = current_user.id if current_user.role == "kamr" else None
    # One query for the whole list (a few hundred items at most for an office), paged here,
    # rather than a page query and a count query that each compute the list again.
    rows = [
        _due_row(item, today) for item in due_list(scope_of(current_user), today, kamr_id=kamr_id)
    ]
    number = page_number()
    shown = rows[(number - 1) * DUE_PER_PAGE : number * DUE_PER_PAGE]
    return shown, Page(items=shown, number=number, per_page=DUE_PER_PAGE, total=len(rows))


def overdue_rows(today) -> list[dict]:
    """Return the user's planned contacts whose date has passed and open follow-ups past due."""
    rows = []
    for activity in queries.overdue_plans(current_user, today):
        rows.append(
            {
                "kind": "plan",
                "account_no": activity.account.account_no,
                "account_name": activity.account.name,
                "type": activity.type,
                "date": activity.activity_date,
                "days_left": (activity.activity_date - today).days,
                "what": activity.summary or "",
            }
        )
    for follow_up in queries.overdue_follow_ups(current_user, today):
        rows.append(
            {
                "kind": "follow_up",
                "id": follow_up.id,
                "account_no": follow_up.account_no,
                "account_name": follow_up.account_name,
                "type": follow_up.type,
                "date": follow_up.due_on,
                "days_left": (follow_up.due_on - today).days,
                "what": follow_up.action,
            }
        )
    return sorted(rows, key=lambda row: (row["date"], row["account_no"]))


def _due_row(item, today) -> dict:
    """Read one due item, a mapping or an object, into the fields the page shows."""

    def pick(*names, default=None):
        for name in names:
            value = item.get(name) if isinstance(item, dict) else getattr(item, name, None)
            if value is not None:
                return value
        return default

    period_end = pick("period_end", "due_on", "end")
    days_left = pick("days_left", default=(period_end - today).days if period_end else None)
    return {
        "account_no": pick("account_no"),
        "account_name": pick("account_name", "name", default=""),
        "tier": pick("tier"),
        "type": pick("type"),
        "missing": pick("missing", "needed", "remaining", default=1),
        "period_start": pick("period_start", "start"),
        "period_end": period_end,
        "days_left": days_left,
        "overdue": bool(pick("overdue", default=days_left is not None and days_left < 0)),
        "kamr": pick("kamr_name", "kamr", default=""),
        "planned": pick("planned", default=0),
    }


# --- logging an activity --------------------------------------------------------------------


def _offer_allowed_types(form) -> tuple[str, ...]:
    """Offer only the activity types the user's role may log (the permission layer's answer).

    Another type sent anyway is not refused by the form as "not a valid choice": the
    permission check then says why (the role may not), and the operation refuses an unknown one.
    """
    allowed = activity_types_for(current_user, "create")
    form.type.choices = activity_type_choices(allowed)
    form.type.validate_choice = False
    return allowed


def _default_activity(form: ActivityForm, allowed: tuple[str, ...]) -> None:
    """Fill the defaults the request implies: the account and type of the link that opened
    the form (or the only type the role may log), and that type's channel. Nothing else is
    guessed: the user chooses the type and the channel."""
    account = request.args.get("account")
    if account:
        form.account.data = account
    wanted = request.args.get("type")
    if wanted in allowed:
        form.type.data = wanted
    elif len(allowed) == 1:
        form.type.data = allowed[0]
    form.channel.data = IMPLIED_CHANNELS.get(form.type.data, "")
    if form.type.data == "EXV" and not form.exec_role.data:
        form.exec_role.data = current_user.exec_role or (
            "office_manager" if current_user.role == "office_manager" else ""
        )
    form.next.data = request.args.get("next", "")


@bp.route("/activities/new", methods=["GET", "POST"])
@requires("activities.create", "exec_visits.log")
def log_activity():
    """Log an activity in a few fields; afterwards go back to the due list (or ``next``)."""
    form = ActivityForm()
    allowed = _offer_allowed_types(form)
    status = 200
    if request.method == "GET":
        _default_activity(form, allowed)
    elif form.validate_on_submit():
        account, problem = resolve_account(form.account.data)
        plans = _matching_plans(form, account) if form.type.data in allowed else []
        if plans and not form.plan.data:
            _ask_about_plans(form, plans)  # nothing saved yet: the user answers first
        else:
            saved = _save_activity(form, account, problem, plans)
            if saved is not None:
                flash(
                    _(
                        "Saved: %(type)s with %(account)s on %(date)s.",
                        type=saved.type,
                        account=f"{saved.account.account_no} {saved.account.name}",
                        date=_day(saved.activity_date),
                    ),
                    "success",
                )
                return redirect(safe_next(form.next.data))
            status = 422
    else:
        _operation_errors_beside_fields(form)
        status = 422
    return render_template(
        "kamr/log_activity.html",
        form=form,
        closed_reason=current_user.role in CLOSED_QUARTER_ROLES,
        implied_channels=IMPLIED_CHANNELS,
    ), status


def _matching_plans(form: ActivityForm, account: Account | None) -> list[Activity]:
    """Return the account's open plans of the type being logged as done (earliest first):
    the plans this activity may be the doing of."""
    if account is None or form.status.data != "done":
        return []
    return list(
        db.session.execute(
            visible_activities(current_user)
            .where(
                Activity.account_id == account.id,
                Activity.type == form.type.data,
                Activity.status == "planned",
            )
            .order_by(Activity.activity_date, Activity.id)
            .limit(5)
        ).scalars()
    )


def _ask_about_plans(form: ActivityForm, plans: list[Activity]) -> None:
    """Offer to record this activity on one of ``plans`` (marking it done) or as a new one."""
    form.plan.choices = [
        (
            str(plan.id),
            _(
                "Mark the %(type)s planned for %(date)s done (this record goes on it)",
                type=plan.type,
                date=_day(plan.activity_date),
            ),
        )
        for plan in plans
    ] + [("new", _("Save a new activity and leave the plan open"))]
    form.plan.data = str(plans[0].id)


def _day(day) -> str:
    from kamcrm.web.i18n import format_day

    return format_day(day)


def _save_activity(
    form: ActivityForm, account: Account | None, problem: str | None, plans: list[Activity]
) -> Activity | None:
    """Create the activity, or mark the plan the user chose done with it (and add its
    follow-up); on refusal put the reasons beside the fields."""
    if account is None:
        form.account.errors.append(problem)
        _operation_errors_beside_fields(form)
        return None
    plan = next((p for p in plans if str(p.id) == form.plan.data), None)
    if plans and plan is None and form.plan.data != "new":
        _ask_about_plans(form, plans)  # an answer naming no offered plan: ask again
        form.plan.errors = [_("Choose one of the offered answers.")]
        return None
    try:
        # A savepoint: a refused change is undone, and nothing else of the request with it.
        with db.session.begin_nested():
            data = form.operation_data(account.account_no)
            if plan is not None:
                require_activity_change(current_user, "edit", plan.type, account)
                changes = {
                    key: value
                    for key, value in data.items()
                    if key != "account_no" and (value is not None or key == "exec_role")
                }
                changes["performed_by"] = current_user.username
                if plan.exec_role and not changes.get("exec_role"):
                    changes["exec_role"] = plan.exec_role
                activity = activity_ops.update_activity(
                    plan, changes, current_user, reason=form.reason.data or None
                )
            else:
                require_activity_change(current_user, "create", form.type.data, account)
                activity = activity_ops.create_activity(
                    data,
                    current_user,
                    reason=form.reason.data or None,
                    account=account,
                )
            if form.follow_up_action.data:
                if form.follow_up_due.data is None:
                    raise ValidationFailed(
                        {"follow_up_due": [_("Give the date the follow-up is due.")]}
                    )
                activity_ops.add_follow_up(
                    activity,
                    {
                        "action": form.follow_up_action.data,
                        "due_on": form.follow_up_due.data.isoformat(),
                    },
                    current_user,
                )
    except Forbidden as refused:
        form.type.errors.append(translate(refused.message))
        return None
    except PeriodClosed as refused:  # the date lies in a closed quarter: say so beside it
        form.activity_date.errors.append(translate(refused.message))
        return None
    except KamcrmError as refused:
        apply_errors(form, refused, ACTIVITY_FIELD_NAMES)
        return None
    return activity


def _operation_errors_beside_fields(form: ActivityForm) -> None:
    """Put the operation's own verdict on the other fields beside them, so that one submit
    shows every problem (a future date, a missing role) and not the account's alone."""
    _values, errors = activity_ops.validate_activity_row(
        form.operation_data(""), Lookups(), today=bangkok_today()
    )
    for name in ("account_no", "performed_by"):  # the account is already refused; no performer yet
        errors.pop(name, None)
    for name in list(errors):  # a field the form already refused keeps its own message only
        if getattr(getattr(form, ACTIVITY_FIELD_NAMES.get(name, name), None), "errors", None):
            errors.pop(name)
    if errors:
        apply_errors(form, ValidationFailed(errors), ACTIVITY_FIELD_NAMES)


# --- accounts ------------------------------------------------------------------------------


@bp.get("/accounts")
@requires("accounts.view")
def accounts():
    """List the accounts the user sees (a KAMR's own by default), with search and filters."""
    today = bangkok_today()
    current_tier = tier_on(Account.id, today).label("tier")
    base = visible_accounts(current_user)
    mine = current_user.role == "kamr" and request.args.get("all") != "1"
    if mine:
        base = base.where(Account.kamr_id == current_user.id)
    filters = {
        "q": request.args.get("q", "").strip(),
        "tier": request.args.get("tier", ""),
        "sector": request.args.get("sector", ""),
        "estate": request.args.get("estate", ""),
        "closed": request.args.get("closed") == "1",
    }
    query = base.where(
        *list_conditions(
            today,
            search=filters["q"],
            tier=filters["tier"] if filters["tier"] in (*TIERS, "none") else None,
            sector=filters["sector"],
            industrial_estate=filters["estate"],
            include_closed=filters["closed"],
        )
    )
    query = (
        query.add_columns(current_tier)
        .options(selectinload(Account.kamr), selectinload(Account.office))
        .order_by(Account.name, Account.account_no)
    )
    page = paginate(query, scalars=False)
    return render_template(
        "kamr/accounts.html",
        page=page,
        filters=filters,
        mine=mine,
        tiers=TIERS,
        sectors=queries.distinct_values(base, Account.sector),
        estates=queries.distinct_values(base, Account.industrial_estate),
        page_url_args=page_url_args,
    )


@bp.get("/accounts/<account_no>")
@requires("accounts.view")
def account(account_no: str):
    """Show an account: profile, tier history, contacts, timeline, follow-ups, voice, planning."""
    found = account_for(current_user, account_no)
    form = PlanVisitForm(formdata=None)
    _offer_allowed_types(form)
    return _render_account(found, form)


def _render_account(found: Account, plan_form: PlanVisitForm, status: int = 200):
    today = bangkok_today()
    activities = list(
        db.session.execute(
            sa.select(Activity)
            .where(Activity.account_id == found.id)
            .options(selectinload(Activity.performed_by), selectinload(Activity.follow_ups))
            .order_by(Activity.activity_date.desc(), Activity.id.desc())
            .limit(200)
        ).scalars()
    )
    planned = sorted(
        (a for a in activities if a.status == "planned" and a.activity_date >= today),
        key=lambda a: a.activity_date,
    )
    follow_ups = sorted(
        (f for a in activities for f in a.follow_ups),
        key=lambda f: (f.done_on is not None, f.due_on),
    )
    voices = [a for a in activities if a.voc_kind or a.voc_text]
    tiers = sorted(found.tier_assignments, key=lambda t: t.effective_from, reverse=True)
    in_force = tier_in_force(tiers, today)
    current_tier = in_force.tier if in_force else None
    return render_template(
        "kamr/account.html",
        account=found,
        tiers=tiers,
        current_tier=current_tier,
        activities=activities,
        planned=planned,
        follow_ups=follow_ups,
        voices=voices,
        plan_form=plan_form,
        done_form=CompleteFollowUpForm(),
        today=today,
        complaints=account_complaints(found),
        may_record_complaint=can(current_user, "complaints.create"),
        consumption=account_consumption(found),
    ), status


@bp.post("/accounts/<account_no>/plan")
@requires("activities.create")
def plan_visit(account_no: str):
    """Plan the next contact with the account as a planned activity."""
    found = account_for(current_user, account_no)
    form = PlanVisitForm()
    _offer_allowed_types(form)
    if form.validate_on_submit():
        try:
            with db.session.begin_nested():
                require_activity_change(current_user, "create", form.type.data, found)
                activity_ops.create_activity(
                    {
                        "account_no": found.account_no,
                        "type": form.type.data,
                        "activity_date": form.activity_date.data.isoformat(),
                        "status": "planned",
                        "channel": form.channel.data,
                        "summary": form.summary.data or None,
                        "exec_role": current_user.exec_role if form.type.data == "EXV" else None,
                    },
                    current_user,
                    account=found,
                )
        except KamcrmError as refused:
            apply_errors(form, refused)
        else:
            flash(
                _(
                    "Planned: %(type)s on %(date)s.",
                    type=form.type.data,
                    date=_day(form.activity_date.data),
                ),
                "success",
            )
            return redirect(url_for("kamr.account", account_no=found.account_no) + "#planned")
    return _render_account(found, form, status=422)


@bp.post("/follow-ups/<int:follow_up_id>/done")
@requires("activities.edit")
def complete_follow_up(follow_up_id: int):
    """Mark a follow-up action done today."""
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None:
        abort(404)
    activity = activity_for(current_user, follow_up.activity_id, "activities.edit")
    form = CompleteFollowUpForm()
    if form.validate_on_submit():
        activity_ops.complete_follow_up(follow_up, current_user)
        flash(_("Follow-up marked done."), "success")
    if request.args.get("next"):  # the due list's button comes back to the due list
        return redirect(safe_next(request.args["next"]))
    return redirect(url_for("kamr.account", account_no=activity.account.account_no) + "#follow-ups")
