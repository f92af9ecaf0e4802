"""Reading complaints as a given person may, and SPEC section 8's time-limit arithmetic,
written once for the figures, the lists, the pages and the API.

**The arithmetic.** r is the Bangkok date a complaint came in (``received_on``), c that of
its last close; a limit of N days is kept when c − r ≤ N (``days_to_close``, kept with the
row); a limit of H hours when ``closed_at`` − ``received_at`` ≤ H h (``micros_to_close``).
Measured as of a day D, T is the last instant of D in Bangkok: a complaint counts as closed
only when ``closed_at`` ≤ T; one still open at T is past a limit of N days when D − r > N
(i.e. r < D − N), and past H hours when T − ``received_at`` > H h. Every bound is a constant
worked out here in Python, so the SQL compares columns with values on both databases.

A complaint's 2.1a limit is its category's limit in the year it came in, or the limit the
year sets for that category and the tier the account held on r ("by customer group").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from kamcrm.accounts.models import TIERS
from kamcrm.accounts.queries import tier_on
from kamcrm.complaints.models import Complaint
from kamcrm.complaints.targets import ComplaintTargets, complaint_targets
from kamcrm.errors import Forbidden, Message, NotFound
from kamcrm.extensions import db
from kamcrm.org.access import can, scope_of
from kamcrm.org.scope import Scope
from kamcrm.periods import BANGKOK, bangkok_date, bangkok_today

_MICRO = timedelta(microseconds=1)
_MICROS_PER_HOUR = 3_600_000_000

#: Statuses of a complaint against a limit (SPEC section 8).
MET, MISSED, PENDING = "met", "missed", "pending"


def end_of_day(day: date) -> datetime:
    """Return T: the last instant of ``day`` in Bangkok, in UTC."""
    return (datetime.combine(day + timedelta(days=1), time(0), BANGKOK) - _MICRO).astimezone(
        timezone.utc
    )


def days_between(received_at: datetime, closed_at: datetime) -> int:
    """Return c − r: Bangkok calendar days from the day it came in to the day it closed."""
    return (bangkok_date(closed_at) - bangkok_date(received_at)).days


def micros_between(received_at: datetime, closed_at: datetime) -> int:
    """Return ``closed_at`` − ``received_at`` in whole microseconds (exact)."""
    return (closed_at - received_at) // _MICRO


@dataclass(frozen=True)
class Limit:
    """A time limit: N days or H hours."""

    days: int | None = None
    hours: int | None = None

    def deadline(self, received_at: datetime) -> datetime:
        """Return the last instant the complaint is still within the limit."""
        if self.hours is not None:
            return received_at + timedelta(hours=self.hours)
        return end_of_day(bangkok_date(received_at) + timedelta(days=self.days))

    def status(self, received_at: datetime, closed_at: datetime | None, as_of: date) -> str:
        """Return ``met``, ``missed`` or ``pending`` as of the end of ``as_of`` (Python's
        reading of the SQL in ``measure``, for one complaint on a page)."""
        instant = end_of_day(as_of)
        if closed_at is not None and closed_at <= instant:
            if self.hours is not None:
                within = micros_between(received_at, closed_at) <= self.hours * _MICROS_PER_HOUR
            else:
                within = days_between(received_at, closed_at) <= self.days
            return MET if within else MISSED
        if self.hours is not None:
            past = instant - received_at > timedelta(hours=self.hours)
        else:
            past = (as_of - bangkok_date(received_at)).days > self.days
        return MISSED if past else PENDING


@dataclass(frozen=True)
class Measure:
    """SQL conditions of one limit as of a day: closed within it, and open but past it."""

    closed: sa.ColumnElement[bool]
    within: sa.ColumnElement[bool]
    past: sa.ColumnElement[bool]

    @property
    def met(self):
        return sa.and_(self.closed, self.within)

    @property
    def missed(self):
        return sa.or_(
            sa.and_(self.closed, sa.not_(self.within)), sa.and_(sa.not_(self.closed), self.past)
        )

    @property
    def pending(self):
        return sa.and_(sa.not_(self.closed), sa.not_(self.past))


def closed_by(as_of: date, complaint=Complaint) -> sa.ColumnElement[bool]:
    """The complaint counts as closed as of the end of ``as_of``."""
    return sa.and_(complaint.closed_at.is_not(None), complaint.closed_at <= end_of_day(as_of))


def measure_fixed(limit: Limit, as_of: date, complaint=Complaint) -> Measure:
    """Return the conditions of a limit every complaint shares (2.1b, 2.1c, 2.1d)."""
    instant = end_of_day(as_of)
    closed = closed_by(as_of, complaint)
    if limit.hours is not None:
        within = complaint.micros_to_close <= limit.hours * _MICROS_PER_HOUR
        past = complaint.received_at < instant - timedelta(hours=limit.hours)
    else:
        within = complaint.days_to_close <= limit.days
        past = complaint.received_on < as_of - timedelta(days=limit.days)
    return Measure(closed, within, past)


def category_limit_case(
    targets: ComplaintTargets, value, category_column, tier_column
) -> sa.ColumnElement:
    """Return ``CASE`` giving ``value(N)`` for each complaint's 2.1a limit N (NULL: its
    category is not one of the year's). The (category, tier) limits come first."""
    whens = [
        (sa.and_(category_column == category, tier_column == tier), value(days))
        for (category, tier), days in targets.tier_limits
    ]
    whens += [(category_column == code, value(days)) for code, days in targets.categories]
    return sa.case(*whens, else_=None) if whens else sa.null()


def measure_by_category(targets: ComplaintTargets, as_of: date, complaint, tier_column) -> Measure:
    """Return the conditions of each complaint's own 2.1a limit (see ``category_limit_case``).

    ``complaint`` is a selectable with the complaint's columns; ``tier_column`` the
    account's tier on the day it came in.
    """
    limit = category_limit_case(targets, lambda days: days, complaint.category, tier_column)
    threshold = category_limit_case(
        targets,
        lambda days: sa.literal(as_of - timedelta(days=days), sa.Date),
        complaint.category,
        tier_column,
    )
    return Measure(
        closed_by(as_of, complaint),
        complaint.days_to_close <= limit,
        complaint.received_on < threshold,
    )


def tier_when_received(complaint=Complaint) -> sa.ColumnElement:
    """The tier the complaint's account held on the day it came in (NULL: no account or tier)."""
    return tier_on(complaint.account_id, complaint.received_on)


_UNKNOWN = object()


def limit_for(
    complaint: Complaint, targets: ComplaintTargets | None = None, tier=_UNKNOWN
) -> Limit | None:
    """Return the 2.1a limit of one complaint (its category's, or its tier's). ``tier`` is
    the account's tier on the day received when the caller has read it already (see
    ``with_tier``); otherwise it is read here."""
    targets = targets or complaint_targets(complaint.received_on.year)
    if tier is _UNKNOWN:
        tier = None
        if complaint.account_id is not None:
            tier = db.session.execute(
                sa.select(tier_on(complaint.account_id, complaint.received_on))
            ).scalar()
    days = targets.limit_days(complaint.category, tier)
    return None if days is None else Limit(days=days)


def time_left(
    complaint: Complaint, now: datetime, targets: ComplaintTargets | None = None, tier=_UNKNOWN
) -> timedelta | None:
    """Return how long an open complaint has until its limit (negative: past it); None when
    closed or its category has no limit. Urgent complaints count against the hours limit
    of 2.1b when that is the nearer."""
    if complaint.closed_at is not None:
        return None
    targets = targets or complaint_targets(complaint.received_on.year)
    deadlines = []
    limit = limit_for(complaint, targets, tier)
    if limit is not None:
        deadlines.append(limit.deadline(complaint.received_at))
    urgent = targets.item("2.1b")
    if complaint.urgent and (urgent.limit_days is not None or urgent.limit_hours is not None):
        deadlines.append(
            Limit(urgent.limit_days, urgent.limit_hours).deadline(complaint.received_at)
        )
    if not deadlines:
        return None
    return min(deadlines) - now


def with_tier(statement: sa.Select) -> sa.Select:
    """Add the account's tier on the day received to a SELECT of complaints (one query for a
    page of them, rather than one per complaint)."""
    return statement.add_columns(tier_when_received().label("tier"))


def times_left(rows, now: datetime) -> list[tuple[Complaint, timedelta | None]]:
    """Return each (complaint, tier) row of ``with_tier`` with its time left (see ``time_left``)."""
    memory: dict[int, ComplaintTargets] = {}
    found = []
    for complaint, tier in rows:
        year = complaint.received_on.year
        if year not in memory:
            memory[year] = complaint_targets(year)
        found.append((complaint, time_left(complaint, now, memory[year], tier)))
    return found


# --- scope-filtered reads --------------------------------------------------------------------


def visible_complaints(user) -> sa.Select:
    """Return a SELECT of the complaints handled by offices ``user`` sees."""
    statement = sa.select(Complaint)
    scope = scope_of(user)
    if scope is None or scope.is_region:
        return statement
    return statement.where(scope.covers(Complaint.office_id))


def complaint_for(user, ref: str, action: str = "complaints.view") -> Complaint:
    """Return complaint ``ref`` if ``user`` sees it and may do ``action`` to it."""
    complaint = db.session.execute(
        visible_complaints(user).where(Complaint.ref == ref)
    ).scalar_one_or_none()
    if complaint is None:
        raise NotFound(Message("No complaint has the ref %(ref)r.", ref=ref))
    if not can(user, action):
        raise Forbidden(Message("Your role may not do this (%(action)s).", action=action))
    return complaint


def is_open(as_of: date | None = None) -> sa.ColumnElement[bool]:
    """The complaint is open (at the end of ``as_of``, default now)."""
    if as_of is None:
        return Complaint.closed_at.is_(None)
    return sa.not_(closed_by(as_of))


def is_overdue(today: date, years) -> sa.ColumnElement[bool]:
    """The complaint is open and already past its 2.1a limit on ``today`` (``years``: those
    whose settings apply, the years the candidates came in)."""
    tier = tier_when_received()
    conditions = []
    for year in sorted(set(years)):
        targets = complaint_targets(year)
        measure = measure_by_category(targets, today, Complaint, tier)
        conditions.append(sa.and_(sa.extract("year", Complaint.received_on) == year, measure.past))
    if not conditions:
        return sa.false()
    return sa.and_(Complaint.closed_at.is_(None), sa.or_(*conditions))


#: An open complaint with this little time left (or less) is on the due list (SPEC section 8).
ALERT_DAYS = 3
ALERT_HOURS_URGENT = 6


def is_due_soon(today: date, now: datetime, years) -> sa.ColumnElement[bool]:
    """The complaint is open with ``ALERT_DAYS`` or fewer days left of its 2.1a limit (or
    already past it), or urgent with ``ALERT_HOURS_URGENT`` hours or less of its 2.1b hours
    (``years``: those whose settings apply, as for ``is_overdue``)."""
    tier = tier_when_received()
    conditions = []
    for year in sorted(set(years)):
        targets = complaint_targets(year)
        # Days left = (r + N) − today ≤ ALERT_DAYS  ⇔  r ≤ today + ALERT_DAYS − N.
        threshold = category_limit_case(
            targets,
            lambda days: sa.literal(today + timedelta(days=ALERT_DAYS - days), sa.Date),
            Complaint.category,
            tier,
        )
        in_year = sa.extract("year", Complaint.received_on) == year
        conditions.append(sa.and_(in_year, Complaint.received_on <= threshold))
        urgent = targets.item("2.1b")
        if urgent.limit_hours is not None:
            latest = now - timedelta(hours=urgent.limit_hours - ALERT_HOURS_URGENT)
            conditions.append(
                sa.and_(in_year, Complaint.urgent.is_(True), Complaint.received_at <= latest)
            )
    if not conditions:
        return sa.false()
    return sa.and_(Complaint.closed_at.is_(None), sa.or_(*conditions))


def due_soon_filter(statement: sa.Select, now: datetime) -> sa.Select:
    """Keep the open complaints of ``statement`` close to (or past) their limit at ``now``."""
    return statement.where(is_due_soon(bangkok_date(now), now, open_years(statement)))


def open_years(statement: sa.Select) -> list[int]:
    """Return the years in which the open complaints of ``statement`` came in."""
    inner = statement.where(Complaint.closed_at.is_(None)).subquery()
    return sorted(
        int(year)
        for year in db.session.execute(
            sa.select(sa.extract("year", inner.c.received_on)).distinct()
        ).scalars()
        if year is not None
    )


def list_conditions(
    *,
    office_scope: Scope | None = None,
    account_id: int | None = None,
    category: str | None = None,
    status: str | None = None,
    urgent: bool | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    assigned_to_id: int | None = None,
) -> list:
    """Return the WHERE conditions of a complaint list's filters (pages and API share them)."""
    conditions = []
    if office_scope is not None:
        conditions.append(office_scope.covers(Complaint.office_id))
    if account_id is not None:
        conditions.append(Complaint.account_id == account_id)
    if category is not None:
        conditions.append(Complaint.category == category)
    if status == "open":
        conditions.append(Complaint.closed_at.is_(None))
    elif status == "closed":
        conditions.append(Complaint.closed_at.is_not(None))
    if urgent is not None:
        conditions.append(Complaint.urgent.is_(urgent))
    if received_from is not None:
        conditions.append(Complaint.received_on >= received_from)
    if received_to is not None:
        conditions.append(Complaint.received_on <= received_to)
    if assigned_to_id is not None:
        conditions.append(Complaint.assigned_to_id == assigned_to_id)
    return conditions


def overdue_filter(statement: sa.Select, today: date | None = None) -> sa.Select:
    """Keep the open complaints of ``statement`` that are past their limit on ``today``."""
    today = today or bangkok_today()
    return statement.where(is_overdue(today, open_years(statement)))


# --- the CR2 figures (SPEC section 8), set-based ------------------------------------------------


def _status_code(measure: Measure, applies=None) -> sa.ColumnElement:
    """0 met, 1 missed, 2 pending, NULL when the row's limit does not apply (``applies``)."""
    whens = [] if applies is None else [(sa.not_(applies), None)]
    whens += [(measure.met, 0), (sa.or_(measure.closed, measure.past), 1)]
    return sa.case(*whens, else_=2)


_STATUS_CODES = {MET: 0, MISSED: 1, PENDING: 2}
_ITEMS = ("2.1a", "2.1b", "2.1c", "2.1d")


def plan2_counts(
    scope: Scope,
    targets: ComplaintTargets,
    as_of: date,
    ends: list[date],
    *,
    start: date | None = None,
    by_tier: bool = False,
) -> dict:
    """Return the raw counts of plan 2.1 for complaints received from Jan 1 of the targets'
    year up to each of ``ends`` (the live columns), as of the end of ``as_of``, in one query.

    The answer: ``{(end, row): {"excluded", "met", "missed", "pending"}}`` where ``row`` is a
    category code (2.1a by category), ``"2.1b"``, ``"2.1c"`` or ``"2.1d"``. ``start`` (default
    Jan 1) is the first day received counted. With ``by_tier`` the answer also holds
    ``(end, ("tier", tier))``: the 2.1a total of the complaints whose account held ``tier``
    on the day received (None: no key account), the monthly return's customer groups.

    Each complaint's status against each item's limit is worked out once, in the inner
    query, as a small number; the outer one counts them per category, tier and the first
    column the complaint falls in, and the columns are summed here (each column holds the
    ones before it).
    """
    if not ends:
        return {}
    ends = sorted(ends)
    start = start or date(targets.year, 1, 1)
    inner = (
        sa.select(
            Complaint.category,
            Complaint.urgent,
            Complaint.received_at,
            Complaint.received_on,
            Complaint.closed_at,
            Complaint.days_to_close,
            Complaint.micros_to_close,
            Complaint.excluded,
            # Read only when something depends on it: a year without (category, tier) limits
            # measures every complaint by its category alone.
            (
                sa.case((Complaint.account_id.is_not(None), tier_when_received()), else_=None)
                if targets.tier_limits or by_tier
                else sa.null()
            ).label("tier"),
        )
        .where(Complaint.received_on.between(start, max(ends)), scope.covers(Complaint.office_id))
        .subquery("received")
    )
    measures = {"2.1a": measure_by_category(targets, as_of, inner.c, inner.c.tier)}
    for item in ("2.1b", "2.1c", "2.1d"):
        target = targets.item(item)
        measures[item] = measure_fixed(Limit(target.limit_days, target.limit_hours), as_of, inner.c)
    known = inner.c.category.in_(targets.category_codes)
    bucket = sa.case(*((inner.c.received_on <= end, i) for i, end in enumerate(ends)), else_=None)
    statuses = sa.select(
        inner.c.category,
        inner.c.tier,
        bucket.label("bucket"),
        inner.c.urgent,
        inner.c.excluded.is_not(None).label("is_excluded"),
        _status_code(measures["2.1a"], known).label("s_2.1a"),
        *(_status_code(measures[item]).label(f"s_{item}") for item in ("2.1b", "2.1c", "2.1d")),
    ).subquery("statuses")
    counted = statuses.c.is_excluded.is_(False)
    columns = [
        sa.func.count().filter(statuses.c.is_excluded.is_(True)).label("x"),
        sa.func.count()
        .filter(statuses.c.is_excluded.is_(True), statuses.c.urgent.is_(True))
        .label("xu"),
    ]
    for item in _ITEMS:
        chosen = [counted] + (
            [statuses.c.urgent.is_(True)] if targets.item(item).urgent_only else []
        )
        for status, code in _STATUS_CODES.items():
            columns.append(
                sa.func.count()
                .filter(*chosen, statuses.c[f"s_{item}"] == code)
                .label(f"{item}_{status}")
            )
    groups = (statuses.c.category, statuses.c.tier, statuses.c.bucket)
    rows = db.session.execute(sa.select(*groups, *columns).group_by(*groups)).mappings().all()

    def empty() -> dict:
        return {"excluded": 0, MET: 0, MISSED: 0, PENDING: 0}

    found: dict = {}
    for i, end in enumerate(ends):
        for key in (*targets.category_codes, "2.1b", "2.1c", "2.1d"):
            found[(end, key)] = empty()
        if by_tier:
            for tier in (*TIERS, None):
                found[(end, ("tier", tier))] = empty()
        for row in rows:
            if row["bucket"] is None or row["bucket"] > i:
                continue
            cells = []
            if row["category"] in targets.category_codes:
                cells.append((found[(end, row["category"])], "2.1a", row["x"]))
                if by_tier:
                    cells.append(
                        (found.setdefault((end, ("tier", row["tier"])), empty()), "2.1a", row["x"])
                    )
            for item in ("2.1b", "2.1c", "2.1d"):
                cells.append(
                    (
                        found[(end, item)],
                        item,
                        row["xu"] if targets.item(item).urgent_only else row["x"],
                    )
                )
            for cell, item, excluded in cells:
                cell["excluded"] += excluded
                for status in (MET, MISSED, PENDING):
                    cell[status] += row[f"{item}_{status}"]
    return found
