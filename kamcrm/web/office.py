"""Office pages: tier coverage by rule and quarter, the accounts behind a figure, KAMRs,
executive visits against quota, late entries."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from kamcrm.accounts.models import Account
from kamcrm.compliance import engine
from kamcrm.compliance.targets import year_targets
from kamcrm.extensions import db
from kamcrm.org.access import requires
from kamcrm.org.models import EXEC_ROLES, Office, User
from kamcrm.periods import Window, period_containing, quarter_of, year_window
from kamcrm.reports import charts
from kamcrm.web import queries
from kamcrm.web.common import page_url_args, paginate, report_params
from kamcrm.web.i18n import localized_name, short_label

bp = Blueprint("office", __name__, url_prefix="/office")

#: Roles that look at an office's coverage (office managers their own; the region any).
COVERAGE_ROLES = ("office_manager", "executive", "regional_staff", "admin")


def _offices_to_choose():
    """Return the offices the viewer may switch the dashboard to (empty for one-office users)."""
    from kamcrm.org.access import visible_offices

    if current_user.role in ("kamr", "office_manager"):
        return []
    return list(db.session.execute(visible_offices(current_user)).scalars())


@bp.get("/coverage")
@requires("reports.cr2")
def coverage():
    """Show the tier × rule coverage matrix with cumulative Q1 .. Q1-4 columns."""
    params = report_params()
    report = engine.cr2_report(params.year, params.as_of, params.scope)
    return render_template(
        "office/coverage.html",
        params=params,
        report=report,
        columns=engine.COLUMNS,
        offices=_offices_to_choose(),
    )


@bp.get("/coverage/accounts")
@requires("reports.cr2")
def cell_accounts():
    """List the accounts behind one coverage figure, the uncovered ones first by default."""
    params = report_params()
    targets = year_targets(params.year)
    rule = targets.rule(request.args.get("type", ""), request.args.get("tier", ""))
    column = request.args.get("column", "")
    if rule is None or column not in engine.COLUMNS:
        abort(404)
    windows = engine.cell_windows(rule, params.year, column, params.as_of) or []
    show = request.args.get("show", "uncovered")
    met = {"uncovered": False, "covered": True}.get(show)
    window_index = request.args.get("window", type=int)
    if window_index is None or not 0 <= window_index < len(windows):
        window_index = len(windows) - 1
    page = None
    if windows:
        window = windows[window_index]
        query = (
            engine.accounts_behind(params.scope, rule, window, met)
            .order_by(Account.account_no)
            .options(selectinload(Account.kamr))
        )
        page = paginate(query, per_page=50, scalars=False)
    return render_template(
        "office/cell_accounts.html",
        params=params,
        rule=rule,
        column=column,
        windows=windows,
        window_index=window_index,
        show=show,
        page=page,
        page_url_args=page_url_args,
    )


@bp.get("/kamrs")
@requires("reports.cr2")
def kamrs():
    """Show each KAMR's coverage of each rule's current period so far, by activity type."""
    params = report_params()
    targets = year_targets(params.year)
    # Each rule's current period so far (this quarter for COM, the year for FMS, ...): what
    # a manager can still act on, and one window per rule keeps it to one light query.
    periods = {
        rule: period_containing(rule.period, params.as_of).cut(params.as_of)
        for rule in targets.rules
    }
    pairs = list(periods.items())
    types = list(dict.fromkeys(rule.type for rule in targets.rules))
    people = queries.kamrs_in_scope(params.scope)
    owned = queries.accounts_per_kamr(params.scope, params.as_of)
    figures = queries.coverage_by_kamr(params.scope, pairs)
    rows = []
    for person in people:
        by_type = {}
        for type_ in types:
            population = met = 0
            weighted_target = Decimal(0)
            for index, (rule, _window) in enumerate(pairs):
                if rule.type != type_:
                    continue
                n, m = figures.get((index, person.id), (0, 0))
                population += n
                met += m
                weighted_target += n * rule.target_pct
            pct = engine.percentage(met, population)
            target = (
                (weighted_target / population).quantize(Decimal("0.01")) if population else None
            )
            by_type[type_] = {"population": population, "met": met, "pct": pct, "target": target}
        rows.append({"user": person, "accounts": owned.get(person.id, 0), "by_type": by_type})
    return render_template(
        "office/kamrs.html",
        params=params,
        periods=_periods_by_type(pairs),
        types=types,
        rows=rows,
        unassigned=owned.get(None, 0),
        offices=_offices_to_choose(),
    )


def _periods_by_type(pairs) -> list[tuple[str, list[str], object]]:
    """Return (type, tiers, window) for each distinct (type, window), for the page's footnote."""
    grouped: dict = {}
    for rule, window in pairs:
        grouped.setdefault((rule.type, window), []).append(rule.tier)
    return [(type_, tiers, window) for (type_, window), tiers in grouped.items()]


@bp.get("/executive-visits")
@requires("reports.cr2")
def executive_visits():
    """Show executive visits against quota, per role and per unit, quarter by quarter."""
    params = report_params()
    last_quarter = quarter_of(params.as_of)
    counts = engine.executive_visit_counts(params.scope, params.year, params.as_of)
    units = engine.quota_units(params.scope, params.year)
    names = _unit_names(units, params.scope)
    targets = year_targets(params.year)
    per_role = []
    for role in EXEC_ROLES:
        quota = targets.quota(role)
        unit_rows = []
        for unit in sorted(units[role], key=lambda u: names[role].get(u, "")):
            quarters = [counts.get(role, {}).get((unit, q), 0) for q in range(1, last_quarter + 1)]
            total, target = sum(quarters), quota * last_quarter
            met = sum(1 for n in quarters if n >= quota)
            pct = 100 * total / target if target else None
            unit_rows.append(
                {
                    "name": names[role].get(unit, str(unit)),
                    "quarters": quarters,
                    "total": total,
                    "target": target,
                    "pct": pct,
                    "quarters_met": met,
                    "state": charts.quota_status(pct, len(quarters), met),
                }
            )
        chart = (
            charts.bar_chart(
                [
                    charts.Bar(short_label(row["name"]), row["total"], row["target"], row["state"])
                    for row in unit_rows
                ],
                label=_("Distinct accounts visited this year against the quota"),
            )
            if unit_rows
            else None
        )
        per_role.append({"exec_role": role, "quota": quota, "units": unit_rows, "chart": chart})
    return render_template(
        "office/executive_visits.html",
        params=params,
        per_role=per_role,
        quarters=list(range(1, last_quarter + 1)),
        offices=_offices_to_choose(),
    )


def _unit_names(units: dict[str, set], scope) -> dict[str, dict]:
    """Name each quota unit as the page shows it: an office, a person, or the region director.

    The region director's row counts the visits within ``scope``: in an office's view that
    is the office's accounts only, and the label says so (not "the region").
    """
    if scope.is_region:
        director = _("The region")
    else:
        office = db.session.get(Office, scope.office_id)
        director = _("Accounts of %(office)s", office=f"{office.code} {localized_name(office)}")
    offices = {
        office.id: office
        for office in db.session.execute(
            db.select(Office).where(Office.id.in_(units["office_manager"] or [0]))
        ).scalars()
    }
    people = {
        user.id: user.full_name
        for user in db.session.execute(
            db.select(User).where(User.id.in_(units["assistant_director"] or [0]))
        ).scalars()
    }

    return {
        "region_director": {0: director},
        "assistant_director": people,
        "office_manager": {oid: f"{o.code} {localized_name(o)}" for oid, o in offices.items()},
    }


@bp.get("/late-entries")
@requires("reports.cr2")
def late_entries():
    """List activities recorded after the 5-day deadline, with a tally per office."""
    params = report_params()
    window = Window(year_window(params.year).start, params.as_of)
    page = paginate(queries.late_entries(params.scope, window.start, window.end))
    tally = queries.late_entries_by_office(params.scope, window.start, window.end)
    return render_template(
        "office/late_entries.html",
        params=params,
        window=window,
        page=page,
        tally=tally,
        page_url_args=page_url_args,
        offices=_offices_to_choose(),
    )
