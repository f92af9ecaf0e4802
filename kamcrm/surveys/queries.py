"""Reading service jobs and surveys as a given person may, and SPEC section 9's rules,
written once for the pages, the API, the digest and the CR1 report.

**The calling window.** A job completed on Bangkok day c may be phoned on day t while
0 ≤ t − c ≤ ``WINDOW_DAYS`` (15): on day c + 15 it is still callable with 0 days left, on
day c + 16 the window is shut. A phone answer counts toward the quota when it was given
inside that window (answered_on − completed_on ≤ 15); one given later is kept, and counts
toward the mean satisfaction, but not toward the quota.

**The quota.** Per class 1-3 office (a branch's jobs roll up to its parent office) and
calendar quarter of ``completed_on``: at least the year's quota of phone answers inside the
window for each of ``QUOTA_KINDS``. Jobs held at the regional office itself belong to no
office and count toward no quota.

**Mean satisfaction** of a window: the mean score of every answer (SMS and phone) to the jobs
completed in the window and in scope, given by the as-of day, rounded half up to 4 decimals;
met when that is at least the year's target (4.4718).

**Smile Box**: response share = 100 × (score_1 + score_2 + score_3) ÷ served, 2 decimals
half up, against the year's share target (70 %); the low ratings (1, 2) followed up within
``FOLLOW_UP_DAYS`` are the office's own count per day.

**Low survey scores**: an answer scoring 1 or 2 is a follow-up for the job's office; it is
followed up in time when ``followed_up_on`` − ``answered_on`` ≤ ``FOLLOW_UP_DAYS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from kamcrm.errors import Message, NotFound
from kamcrm.extensions import db
from kamcrm.org.access import scope_of
from kamcrm.org.models import MANAGED_OFFICE_CLASSES, Office
from kamcrm.org.scope import Scope
from kamcrm.periods import quarter_of, quarter_window
from kamcrm.surveys.models import QUOTA_KINDS, ServiceJob, SmileBoxDay, SurveyAnswer
from kamcrm.surveys.targets import SurveyTargets, survey_targets

#: Days after ``completed_on`` a customer may still be phoned (SPEC section 9).
WINDOW_DAYS = 15
#: Days after a low rating within which it must be followed up.
FOLLOW_UP_DAYS = 10
#: Scores that need a follow-up.
LOW_SCORES = (1, 2)
COLUMNS = ("Q1", "Q1-2", "Q1-3", "Q1-4")

_CENT = Decimal("0.01")
_MEAN_PLACES = Decimal("0.0001")


class days_between(FunctionElement):
    """``later − earlier`` in whole days, for two DATE columns, on SQLite and PostgreSQL."""

    type = sa.Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between_postgresql(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return (
        f"CAST(julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)}) AS INTEGER)"
    )


# --- small arithmetic --------------------------------------------------------------------------


def percentage(part: int, whole: int) -> Decimal | None:
    """Return 100 × part ÷ whole rounded half up to 2 decimals, or None when whole is 0."""
    if not whole:
        return None
    return (Decimal(100) * part / Decimal(whole)).quantize(_CENT, rounding=ROUND_HALF_UP)


def mean_score(total: int, answers: int) -> Decimal | None:
    """Return total ÷ answers rounded half up to 4 decimals (exact: Decimal division of two
    integers at 28 digits, then one rounding), or None without answers."""
    if not answers:
        return None
    return (Decimal(total) / Decimal(answers)).quantize(_MEAN_PLACES, rounding=ROUND_HALF_UP)


def window_days_left(completed_on: date, today: date) -> int | None:
    """Return the days left to phone a job on ``today`` (0 on the last day), None when the
    window is shut (or the job lies in the future)."""
    elapsed = (today - completed_on).days
    if elapsed < 0 or elapsed > WINDOW_DAYS:
        return None
    return WINDOW_DAYS - elapsed


def counts_for_quota(completed_on: date, channel: str, answered_on: date) -> bool:
    """Return whether an answer counts toward the phone quota (Python's reading of the SQL
    in ``quota_counts``)."""
    return channel == "phone" and 0 <= (answered_on - completed_on).days <= WINDOW_DAYS


def column_ends(year: int, as_of: date) -> list[date | None]:
    """Return the last day counted by each cumulative column (None: the column's quarter
    starts after ``as_of``)."""
    ends = []
    for k in (1, 2, 3, 4):
        quarter = quarter_window(year, k)
        ends.append(None if as_of < quarter.start else min(quarter.end, as_of))
    return ends


# --- scope-filtered reads ----------------------------------------------------------------------


def _unit_of(office=Office) -> sa.ColumnElement:
    """The class 1-3 office a job's office counts for (NULL: the regional office)."""
    return sa.case(
        (office.office_class == "branch", office.parent_id),
        (office.office_class.in_(MANAGED_OFFICE_CLASSES), office.id),
        else_=None,
    )


def visible_jobs(user) -> sa.Select:
    """Return a SELECT of the service jobs of offices ``user`` sees."""
    statement = sa.select(ServiceJob)
    scope = scope_of(user)
    if scope is None or scope.is_region:
        return statement
    return statement.where(scope.covers(ServiceJob.office_id))


def job_for(user, ref: str) -> ServiceJob:
    """Return service job ``ref`` if ``user`` sees it (else ``NotFound``)."""
    job = db.session.execute(visible_jobs(user).where(ServiceJob.ref == ref)).scalar_one_or_none()
    if job is None:
        raise NotFound(Message("No service job has the ref %(ref)r.", ref=ref))
    return job


def answer_for(user, answer_id: int) -> SurveyAnswer:
    """Return survey answer ``answer_id`` if ``user`` sees its job (else ``NotFound``)."""
    statement = (
        sa.select(SurveyAnswer)
        .join(ServiceJob, ServiceJob.id == SurveyAnswer.job_id)
        .where(SurveyAnswer.id == answer_id)
    )
    scope = scope_of(user)
    if scope is not None and not scope.is_region:
        statement = statement.where(scope.covers(ServiceJob.office_id))
    answer = db.session.execute(statement).scalar_one_or_none()
    if answer is None:
        raise NotFound(Message("No survey answer has the id %(id)s.", id=answer_id))
    return answer


def scope_units(scope: Scope) -> list[Office]:
    """Return the class 1-3 offices whose quota a scope holds (its own unit, or every one)."""
    statement = (
        sa.select(Office)
        .where(Office.office_class.in_(MANAGED_OFFICE_CLASSES))
        .order_by(Office.code)
    )
    if not scope.is_region:
        if scope.unit_office_id is None:
            return []
        statement = statement.where(Office.id == scope.unit_office_id)
    return list(db.session.execute(statement).scalars())


# --- the call list ---------------------------------------------------------------------------


def _unanswered():
    return ~sa.exists().where(SurveyAnswer.job_id == ServiceJob.id)


def call_list(scope: Scope, today: date) -> sa.Select:
    """Return a SELECT of (job, office code) still callable on ``today``: no answer yet
    (SMS or phone) and the window open, fewest days left first (the oldest completion),
    then by ref."""
    return (
        sa.select(ServiceJob, Office.code.label("office_code"))
        .join(Office, Office.id == ServiceJob.office_id)
        .where(
            ServiceJob.completed_on.between(today - timedelta(days=WINDOW_DAYS), today),
            scope.covers(ServiceJob.office_id),
            _unanswered(),
        )
        .order_by(ServiceJob.completed_on, ServiceJob.ref)
    )


def closing_this_week(scope: Scope, today: date) -> sa.Select:
    """Return a SELECT of the callable jobs whose window shuts within the next 7 days
    (days left 0-6), in the call list's order."""
    return call_list(scope, today).where(
        ServiceJob.completed_on <= today - timedelta(days=WINDOW_DAYS - 6)
    )


# --- the quota -------------------------------------------------------------------------------


def _quarter_case(year: int, column) -> sa.ColumnElement:
    return sa.case(
        *(
            (column.between(w.start, w.end), q)
            for q, w in ((q, quarter_window(year, q)) for q in (1, 2, 3, 4))
        ),
        else_=None,
    )


def quota_counts(scope: Scope, year: int, as_of: date) -> dict:
    """Return {(unit office id, kind, quarter): phone answers inside the window} for jobs
    completed in ``year`` up to ``as_of`` in scope, answered by ``as_of`` (one query)."""
    office = sa.orm.aliased(Office)
    unit = _unit_of(office)
    quarter = _quarter_case(year, ServiceJob.completed_on)
    elapsed = days_between(SurveyAnswer.answered_on, ServiceJob.completed_on)
    statement = (
        sa.select(
            unit.label("unit"),
            ServiceJob.kind,
            quarter.label("quarter"),
            sa.func.count().label("n"),
        )
        .select_from(ServiceJob)
        .join(office, office.id == ServiceJob.office_id)
        .join(SurveyAnswer, SurveyAnswer.job_id == ServiceJob.id)
        .where(
            ServiceJob.completed_on.between(date(year, 1, 1), min(as_of, date(year, 12, 31))),
            ServiceJob.kind.in_(QUOTA_KINDS),
            scope.covers(ServiceJob.office_id),
            SurveyAnswer.channel == "phone",
            SurveyAnswer.answered_on <= as_of,
            elapsed >= 0,
            elapsed <= WINDOW_DAYS,
        )
        .group_by(unit, ServiceJob.kind, quarter)
    )
    return {
        (row.unit, row.kind, row.quarter): row.n
        for row in db.session.execute(statement)
        if row.unit is not None
    }


def callable_counts(scope: Scope, today: date) -> dict:
    """Return {(unit office id, kind): jobs still callable on ``today``}."""
    office = sa.orm.aliased(Office)
    unit = _unit_of(office)
    statement = (
        sa.select(unit.label("unit"), ServiceJob.kind, sa.func.count().label("n"))
        .select_from(ServiceJob)
        .join(office, office.id == ServiceJob.office_id)
        .where(
            ServiceJob.completed_on.between(today - timedelta(days=WINDOW_DAYS), today),
            scope.covers(ServiceJob.office_id),
            _unanswered(),
        )
        .group_by(unit, ServiceJob.kind)
    )
    return {
        (row.unit, row.kind): row.n for row in db.session.execute(statement) if row.unit is not None
    }


def units_with_jobs(scope: Scope, start: date, end: date) -> set[int]:
    """Return the class 1-3 offices (branches rolled up) with a job completed from ``start``
    to ``end`` in scope: the offices a quota means something to in that time."""
    office = sa.orm.aliased(Office)
    unit = _unit_of(office)
    statement = (
        sa.select(unit)
        .distinct()
        .select_from(ServiceJob)
        .join(office, office.id == ServiceJob.office_id)
        .where(ServiceJob.completed_on.between(start, end), scope.covers(ServiceJob.office_id))
    )
    return {found for found in db.session.execute(statement).scalars() if found is not None}


@dataclass(frozen=True)
class QuotaLine:
    """One office's progress on one kind's quota in a quarter."""

    office: Office
    kind: str
    quota: int
    done: int
    callable_now: int
    days_left: int

    @property
    def missing(self) -> int:
        return max(0, self.quota - self.done)

    @property
    def met(self) -> bool:
        return self.done >= self.quota

    @property
    def pace_per_week(self) -> Decimal | None:
        """Answers a week still needed to fill the quota by the quarter's end (None: none
        needed, or no day left)."""
        if not self.missing or self.days_left <= 0:
            return None
        return (Decimal(self.missing) * 7 / Decimal(self.days_left)).quantize(
            _CENT, rounding=ROUND_HALF_UP
        )

    def as_dict(self) -> dict:
        return {
            "office_code": self.office.code,
            "kind": self.kind,
            "quota": self.quota,
            "done": self.done,
            "missing": self.missing,
            "met": self.met,
            "callable_now": self.callable_now,
            "days_left": self.days_left,
            "pace_per_week": None if self.pace_per_week is None else float(self.pace_per_week),
        }


def quota_progress(
    scope: Scope, today: date, targets: SurveyTargets | None = None
) -> list[QuotaLine]:
    """Return each office's progress on each kind's quota in the quarter of ``today``, with
    the days left in the quarter (today included) and the jobs still callable."""
    targets = targets or survey_targets(today.year)
    quarter = quarter_of(today)
    counts = quota_counts(scope, today.year, today)
    callable_now = callable_counts(scope, today)
    days_left = (quarter_window(today.year, quarter).end - today).days + 1
    return [
        QuotaLine(
            office,
            kind,
            targets.quotas[kind],
            counts.get((office.id, kind, quarter), 0),
            callable_now.get((office.id, kind), 0),
            days_left,
        )
        for office in scope_units(scope)
        for kind in QUOTA_KINDS
    ]


def missing_quota(
    scope: Scope, today: date, targets: SurveyTargets | None = None
) -> dict[str, int]:
    """Return {kind: phone answers still missing this quarter} summed over the scope's offices."""
    missing = {kind: 0 for kind in QUOTA_KINDS}
    for line in quota_progress(scope, today, targets):
        missing[line.kind] += line.missing
    return missing


# --- satisfaction ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Satisfaction:
    """The answers behind a mean score, and the mean rounded half up to 4 decimals."""

    answers: int
    total: int
    target: Decimal

    @property
    def mean(self) -> Decimal | None:
        return mean_score(self.total, self.answers)

    @property
    def met(self) -> bool | None:
        return None if self.mean is None else self.mean >= self.target


def satisfaction_sums(
    scope: Scope, start: date, end: date, as_of: date, *, by_unit: bool = False
) -> dict:
    """Return {unit office id or None: (answers, sum of scores)} of the answers given by
    ``as_of`` to jobs completed from ``start`` to ``end`` in scope (``by_unit`` False: the
    scope's total under the key None)."""
    office = sa.orm.aliased(Office)
    unit = _unit_of(office) if by_unit else sa.null()
    statement = (
        sa.select(
            unit.label("unit"),
            sa.func.count().label("n"),
            sa.func.coalesce(sa.func.sum(SurveyAnswer.score), 0).label("total"),
        )
        .select_from(SurveyAnswer)
        .join(ServiceJob, ServiceJob.id == SurveyAnswer.job_id)
        .join(office, office.id == ServiceJob.office_id)
        .where(
            ServiceJob.completed_on.between(start, end),
            SurveyAnswer.answered_on <= as_of,
            scope.covers(ServiceJob.office_id),
        )
    )
    if by_unit:
        statement = statement.group_by(unit)
    return {row.unit: (row.n, int(row.total)) for row in db.session.execute(statement)}


def satisfaction(
    scope: Scope, start: date, end: date, as_of: date, targets: SurveyTargets | None = None
) -> Satisfaction:
    """Return the scope's mean satisfaction over jobs completed from ``start`` to ``end``."""
    targets = targets or survey_targets(start.year)
    answers, total = satisfaction_sums(scope, start, end, as_of).get(None, (0, 0))
    return Satisfaction(answers, total, targets.satisfaction)


def satisfaction_by_office(
    scope: Scope, start: date, end: date, as_of: date, targets: SurveyTargets | None = None
) -> list[tuple[Office, Satisfaction]]:
    """Return each class 1-3 office of the scope with its mean (branches rolled up)."""
    targets = targets or survey_targets(start.year)
    sums = satisfaction_sums(scope, start, end, as_of, by_unit=True)
    return [
        (office, Satisfaction(*sums.get(office.id, (0, 0)), targets.satisfaction))
        for office in scope_units(scope)
    ]


def low_score_follow_ups(scope: Scope, start: date, end: date, as_of: date) -> tuple[int, int]:
    """Return (low answers, followed up within ``FOLLOW_UP_DAYS`` by ``as_of``) for jobs
    completed from ``start`` to ``end`` in scope, answered by ``as_of``."""
    followed = sa.and_(
        SurveyAnswer.followed_up_on.is_not(None),
        SurveyAnswer.followed_up_on <= as_of,
        days_between(SurveyAnswer.followed_up_on, SurveyAnswer.answered_on) <= FOLLOW_UP_DAYS,
    )
    row = db.session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(followed))
        .select_from(SurveyAnswer)
        .join(ServiceJob, ServiceJob.id == SurveyAnswer.job_id)
        .where(
            ServiceJob.completed_on.between(start, end),
            SurveyAnswer.answered_on <= as_of,
            SurveyAnswer.score.in_(LOW_SCORES),
            scope.covers(ServiceJob.office_id),
        )
    ).one()
    return int(row[0]), int(row[1])


def open_follow_ups(scope: Scope) -> sa.Select:
    """Return a SELECT of (answer, job, office code) of the low scores not followed up yet,
    oldest first."""
    return (
        sa.select(SurveyAnswer, ServiceJob, Office.code.label("office_code"))
        .join(ServiceJob, ServiceJob.id == SurveyAnswer.job_id)
        .join(Office, Office.id == ServiceJob.office_id)
        .where(
            SurveyAnswer.score.in_(LOW_SCORES),
            SurveyAnswer.followed_up_on.is_(None),
            scope.covers(ServiceJob.office_id),
        )
        .order_by(SurveyAnswer.answered_on, SurveyAnswer.id)
    )


# --- Smile Box -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmileBoxTotals:
    """Smile Box tallies summed over days: served, ratings, low ratings and those followed up."""

    served: int
    ratings: int
    low: int
    followed_up: int
    share_target: Decimal

    @property
    def share_pct(self) -> Decimal | None:
        return percentage(self.ratings, self.served)

    @property
    def share_met(self) -> bool | None:
        return None if self.share_pct is None else self.share_pct >= self.share_target

    @property
    def followed_up_pct(self) -> Decimal | None:
        return percentage(self.followed_up, self.low)


def smile_box_sums(scope: Scope, start: date, end: date, *, by_unit: bool = False) -> dict:
    """Return {unit office id or None: (served, ratings, low, followed up)} of the days from
    ``start`` to ``end`` in scope."""
    office = sa.orm.aliased(Office)
    unit = _unit_of(office) if by_unit else sa.null()
    d = SmileBoxDay
    statement = (
        sa.select(
            unit.label("unit"),
            sa.func.coalesce(sa.func.sum(d.served), 0),
            sa.func.coalesce(sa.func.sum(d.score_1 + d.score_2 + d.score_3), 0),
            sa.func.coalesce(sa.func.sum(d.score_1 + d.score_2), 0),
            sa.func.coalesce(sa.func.sum(d.followed_up), 0),
        )
        .select_from(d)
        .join(office, office.id == d.office_id)
        .where(d.day.between(start, end), scope.covers(d.office_id))
    )
    if by_unit:
        statement = statement.group_by(unit)
    return {row[0]: tuple(int(value) for value in row[1:]) for row in db.session.execute(statement)}


def smile_box(
    scope: Scope, start: date, end: date, targets: SurveyTargets | None = None
) -> SmileBoxTotals:
    """Return the scope's Smile Box totals from ``start`` to ``end``."""
    targets = targets or survey_targets(start.year)
    return SmileBoxTotals(
        *smile_box_sums(scope, start, end).get(None, (0, 0, 0, 0)), targets.smile_box_share_pct
    )


def smile_box_by_office(
    scope: Scope, start: date, end: date, targets: SurveyTargets | None = None
) -> list[tuple[Office, SmileBoxTotals]]:
    """Return each class 1-3 office of the scope with its Smile Box totals (branches rolled up)."""
    targets = targets or survey_targets(start.year)
    sums = smile_box_sums(scope, start, end, by_unit=True)
    return [
        (office, SmileBoxTotals(*sums.get(office.id, (0, 0, 0, 0)), targets.smile_box_share_pct))
        for office in scope_units(scope)
    ]


# --- CR1 3.3 (the section contract: ARCHITECTURE.md, "The CR1 report") ----------------------

#: The labels of the rows below (English msgids; the renderer translates them).
CR1_LABELS = {
    "survey_quota_meter_install": "Phone answers within 15 days: meter installations",
    "survey_quota_extension": "Phone answers within 15 days: extensions",
    "survey_quota_dedicated_transformer": "Phone answers within 15 days: dedicated transformers",
    "survey_satisfaction": "Mean customer satisfaction (SMS and phone)",
    "survey_low_followed_up": "Low survey scores followed up within 10 days",
    "smile_box_share": "Smile Box response share",
    "smile_box_followed_up": "Smile Box low ratings followed up within 10 days",
}


def _cell(value, numerator=None, denominator=None, target=None) -> dict:
    met = None if target is None or value is None else value >= target
    return {
        "value": None if value is None else float(value),
        "numerator": numerator,
        "denominator": denominator,
        "target_met": met,
    }


def cr1_rows(session, *, year: int, as_of: date, scope: Scope) -> list[dict]:
    """Return the CR1 3.3 rows of ``year`` as of ``as_of`` in ``scope`` (cumulative columns
    Q1 … Q1-4; a column whose quarter starts after ``as_of`` is None).

    3.3.1 per kind: the share of office-quarters (class 1-3 offices × the quarters begun by
    ``as_of``) whose phone answers inside the window reached the quota, target 100 %.
    3.3.2 mean satisfaction; 3.3.3 the low survey scores followed up in time; 3.3.4 the Smile
    Box response share; 3.3.5 its low ratings followed up (no target: shown beside 3.3.4).
    """
    del session  # the queries use the app's session, as every domain's queries do
    targets = survey_targets(year)
    ends = column_ends(year, as_of)
    start = date(year, 1, 1)
    counts = quota_counts(scope, year, as_of)
    units = scope_units(scope)
    rows = []

    def row(item: str, key: str, unit: str, target, cells: list) -> dict:
        return {
            "item": item,
            "key": key,
            "label": CR1_LABELS[key],
            "unit": unit,
            "target": None if target is None else float(target),
            "office_code": None,
            "cumulative": dict(zip(COLUMNS, cells)),
        }

    for kind in QUOTA_KINDS:
        cells = []
        for k, end in enumerate(ends, start=1):
            if end is None:
                cells.append(None)
                continue
            whole = len(units) * k
            met = sum(
                1
                for office in units
                for q in range(1, k + 1)
                if counts.get((office.id, kind, q), 0) >= targets.quotas[kind]
            )
            cells.append(_cell(percentage(met, whole), met, whole, Decimal(100)))
        rows.append(row("3.3.1", f"survey_quota_{kind}", "pct", 100, cells))

    means, lows, shares, followed = [], [], [], []
    for end in ends:
        if end is None:
            for cells in (means, lows, shares, followed):
                cells.append(None)
            continue
        mean = satisfaction(scope, start, end, as_of, targets)
        means.append(_cell(mean.mean, mean.total, mean.answers, targets.satisfaction))
        low, done = low_score_follow_ups(scope, start, end, as_of)
        lows.append(_cell(percentage(done, low), done, low))
        box = smile_box(scope, start, end, targets)
        shares.append(_cell(box.share_pct, box.ratings, box.served, targets.smile_box_share_pct))
        followed.append(_cell(box.followed_up_pct, box.followed_up, box.low))
    rows.append(row("3.3.2", "survey_satisfaction", "mean", targets.satisfaction, means))
    rows.append(row("3.3.3", "survey_low_followed_up", "pct", None, lows))
    rows.append(row("3.3.4", "smile_box_share", "pct", targets.smile_box_share_pct, shares))
    rows.append(row("3.3.5", "smile_box_followed_up", "pct", None, followed))
    return rows
