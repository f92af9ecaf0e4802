"""Reading complaint-prevention plans as a given person may, and the plan 2.2 rules,
written once for the pages, the API and the CR2 figure.

**The rules.** Each class 1-3 office (``MANAGED_OFFICE_CLASSES``; a branch office or the
regional office keeps none) keeps one plan per year. The report on quarter q is due
``REPORT_DAYS`` (10) days after the quarter's last day, Bangkok dates: submitted on or before
that day it is **on time**, after it **late**. Measured as of a day D, a report counts only
when submitted on or before D; one not submitted by D is **missing** once D is past its due
day, and **pending** until then (a quarter that has not ended by D expects no report yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from kamcrm.errors import Forbidden, Message, NotFound
from kamcrm.extensions import db
from kamcrm.org.access import can, scope_of
from kamcrm.org.models import MANAGED_OFFICE_CLASSES, Office
from kamcrm.org.scope import Scope
from kamcrm.periods import quarter_window
from kamcrm.prevention.models import REPORT_DAYS, PreventionPlan, PreventionReport

#: States of one office's report on one quarter, as of a day.
ON_TIME, LATE, MISSING, PENDING, NOT_DUE = "on_time", "late", "missing", "pending", "not_due"


def report_due_on(year: int, quarter: int) -> date:
    """Return the last day the report on ``quarter`` of ``year`` is on time."""
    return quarter_window(year, quarter).end + timedelta(days=REPORT_DAYS)


def quarter_has_ended(year: int, quarter: int, day: date) -> bool:
    """Return whether ``quarter`` of ``year`` is over on ``day`` (a report on it may be made)."""
    return day > quarter_window(year, quarter).end


def report_state(year: int, quarter: int, submitted_on: date | None, as_of: date) -> str:
    """Return the state of one report as of ``as_of`` (see the module's rules)."""
    if not quarter_has_ended(year, quarter, as_of):
        return NOT_DUE
    due = report_due_on(year, quarter)
    if submitted_on is not None and submitted_on <= as_of:
        return ON_TIME if submitted_on <= due else LATE
    return MISSING if as_of > due else PENDING


def keeps_plan(office: Office) -> bool:
    """Return whether ``office`` is one that keeps a complaint-prevention plan (class 1-3)."""
    return office.office_class in MANAGED_OFFICE_CLASSES


def plan_offices(scope: Scope | None) -> sa.Select:
    """Return a SELECT of the class 1-3 offices in ``scope`` (None: the region), by code."""
    statement = (
        sa.select(Office)
        .where(Office.office_class.in_(MANAGED_OFFICE_CLASSES))
        .order_by(Office.code)
    )
    if scope is not None and not scope.is_region:
        statement = statement.where(scope.covers(Office.id))
    return statement


def visible_plan_offices(user) -> sa.Select:
    """Return a SELECT of the class 1-3 offices ``user`` sees."""
    return plan_offices(scope_of(user))


def plan_office_for(user, code: str) -> Office:
    """Return the class 1-3 office ``code`` if ``user`` sees it; otherwise ``NotFound``
    (an office outside the scope, a branch and an unknown code read alike)."""
    office = db.session.execute(
        visible_plan_offices(user).where(Office.code == code)
    ).scalar_one_or_none()
    if office is None:
        raise NotFound(Message("No class 1-3 office has the code %(code)r.", code=code))
    return office


def plan_of(office_id: int, year: int) -> PreventionPlan | None:
    """Return the plan of an office for a year, or None."""
    return db.session.execute(
        sa.select(PreventionPlan).where(
            PreventionPlan.office_id == office_id, PreventionPlan.year == year
        )
    ).scalar_one_or_none()


def plan_for(user, code: str, year: int, action: str = "prevention.view") -> PreventionPlan:
    """Return office ``code``'s plan for ``year`` if ``user`` sees it and may do ``action``."""
    office = plan_office_for(user, code)
    if not can(user, action):
        raise Forbidden(Message("Your role may not do this (%(action)s).", action=action))
    plan = plan_of(office.id, year)
    if plan is None:
        raise NotFound(
            Message(
                "Office %(code)s has no complaint-prevention plan for %(year)s.",
                code=code,
                year=year,
            )
        )
    return plan


@dataclass(frozen=True)
class QuarterReportStatus:
    """One quarter of one office's year: when its report is due, and what became of it."""

    quarter: int
    due_on: date
    state: str
    report: PreventionReport | None


@dataclass(frozen=True)
class OfficeYear:
    """A class 1-3 office, its plan for a year (or None) and its four quarters."""

    office: Office
    plan: PreventionPlan | None
    quarters: tuple[QuarterReportStatus, ...]


def office_years(offices: list[Office], year: int, as_of: date) -> list[OfficeYear]:
    """Return the plan and quarter states of each of ``offices`` for ``year`` as of
    ``as_of``, reading every plan and report in two queries."""
    ids = [office.id for office in offices]
    plans = (
        {
            plan.office_id: plan
            for plan in db.session.execute(
                sa.select(PreventionPlan).where(
                    PreventionPlan.year == year, PreventionPlan.office_id.in_(ids)
                )
            ).scalars()
        }
        if ids
        else {}
    )
    reports: dict[tuple[int, int], PreventionReport] = {}
    if plans:
        for report in db.session.execute(
            sa.select(PreventionReport).where(
                PreventionReport.plan_id.in_([p.id for p in plans.values()])
            )
        ).scalars():
            reports[(report.plan_id, report.quarter)] = report
    found = []
    for office in offices:
        plan = plans.get(office.id)
        quarters = []
        for quarter in (1, 2, 3, 4):
            report = reports.get((plan.id, quarter)) if plan is not None else None
            quarters.append(
                QuarterReportStatus(
                    quarter,
                    report_due_on(year, quarter),
                    report_state(year, quarter, report.submitted_on if report else None, as_of),
                    report,
                )
            )
        found.append(OfficeYear(office, plan, tuple(quarters)))
    return found


def prevention_counts(scope: Scope, year: int, as_of: date, ends: list[date]) -> dict:
    """Return the plan 2.2 counts of ``scope`` for ``year`` as of ``as_of``, set-based.

    ``{"offices": N, "plans": {end: offices with a plan submitted by end}, "reports":
    {quarter: (on time, late)}}`` for the class 1-3 offices in scope; ``reports`` counts
    only reports submitted by ``as_of`` on quarters ended by then.
    """
    offices = plan_offices(scope).with_only_columns(Office.id).order_by(None)
    office_count = db.session.execute(
        sa.select(sa.func.count()).select_from(offices.subquery())
    ).scalar_one()
    in_scope = PreventionPlan.office_id.in_(offices)
    plan_counts = {}
    if ends:
        row = db.session.execute(
            sa.select(
                *(
                    sa.func.count().filter(PreventionPlan.submitted_on <= end).label(f"p{i}")
                    for i, end in enumerate(ends)
                )
            ).where(PreventionPlan.year == year, in_scope)
        ).one()
        plan_counts = {end: int(row[i] or 0) for i, end in enumerate(ends)}
    ended = [q for q in (1, 2, 3, 4) if quarter_has_ended(year, q, as_of)]
    report_counts = {}
    if ended:
        columns = []
        for q in ended:
            due = report_due_on(year, q)
            columns.append(
                sa.func.count().filter(
                    PreventionReport.quarter == q, PreventionReport.submitted_on <= min(due, as_of)
                )
            )
            columns.append(
                sa.func.count().filter(
                    PreventionReport.quarter == q,
                    PreventionReport.submitted_on > due,
                    PreventionReport.submitted_on <= as_of,
                )
            )
        row = db.session.execute(
            sa.select(*columns)
            .select_from(PreventionReport)
            .join(PreventionPlan, PreventionPlan.id == PreventionReport.plan_id)
            .where(PreventionPlan.year == year, in_scope)
        ).one()
        report_counts = {
            q: (int(row[2 * i] or 0), int(row[2 * i + 1] or 0)) for i, q in enumerate(ended)
        }
    return {"offices": int(office_count), "plans": plan_counts, "reports": report_counts}
