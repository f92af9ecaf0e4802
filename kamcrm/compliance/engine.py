"""The compliance engine: SPEC section 5, computed set-based in SQL.

Building blocks other modules reuse:

* ``tier_on(account_id, day)`` / ``active_on(day)`` (from ``kamcrm.accounts.queries``, their
  home) — SQL expressions for one account;
* ``frequency_coverage(scope, windows, rules)`` — population N and met M of each rule over
  each window, optionally per quota unit (class 1-3 office, branches rolled up);
* ``accounts_behind(scope, rule, window, met)`` — a SELECT of the accounts behind a figure;
* ``cr2_report(year, as_of, scope)`` — the CR2 JSON of SPEC section 7.

Percentages are rounded half up (``Decimal.ROUND_HALF_UP``) to 2 decimals, and a target is
met when that printed figure is at least the target.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

import sqlalchemy as sa

from kamcrm.accounts.models import Account
from kamcrm.accounts.queries import active_on, tier_on, tiers_on
from kamcrm.activities.models import Activity
from kamcrm.compliance.complaints import complaint_rows
from kamcrm.compliance.prevention import prevention_entry
from kamcrm.compliance.targets import COUNT_TYPES, YearTargets, year_targets
from kamcrm.db import set_local
from kamcrm.extensions import db
from kamcrm.org.models import EXEC_ROLES, MANAGED_OFFICE_CLASSES, Office, User
from kamcrm.org.scope import Scope
from kamcrm.periods import Window, bangkok_today, cumulative_windows, quarter_window, year_window

#: The report form's cumulative columns, "Q1-k" for k = 1..4.
COLUMNS = ("Q1", "Q1-2", "Q1-3", "Q1-4")
_CENT = Decimal("0.01")
_ONE_DAY = timedelta(days=1)


class RuleLike(Protocol):
    """What the engine needs of a frequency rule."""

    type: str
    tier: str
    min_count: int


@dataclass(frozen=True)
class Coverage:
    """Population N and met M of one rule over one window."""

    population: int
    met: int


# --- SQL building blocks ---------------------------------------------------------------


def unit_office_id(office=Office) -> sa.ColumnElement:
    """Return the office-manager quota unit of an office: itself if class 1-3, else its parent
    if it is a branch, else NULL (the regional office belongs to no unit)."""
    return sa.case(
        (office.office_class.in_(MANAGED_OFFICE_CLASSES), office.id),
        (office.office_class == "branch", office.parent_id),
        else_=None,
    )


def _count_where(condition) -> sa.ColumnElement[int]:
    """Return ``COUNT(*) FILTER (WHERE condition)``: on both databases a good deal cheaper
    per row than ``SUM(CASE WHEN condition THEN 1 ELSE 0 END)`` (bench/cr2_bench.py)."""
    return sa.func.count().filter(condition)


def _segments(windows: Iterable[Window]) -> tuple[list[Window], dict[Window, list[int]]]:
    """Cut the windows into the fewest disjoint segments each window is a run of.

    Activities are then counted once per segment instead of once per window.
    """
    windows = set(windows)
    points = sorted({w.start for w in windows} | {w.end + _ONE_DAY for w in windows})
    pieces = [Window(a, b - _ONE_DAY) for a, b in zip(points, points[1:])]
    pieces = [p for p in pieces if any(w.start <= p.start and p.end <= w.end for w in windows)]
    members = {
        w: [i for i, p in enumerate(pieces) if w.start <= p.start and p.end <= w.end]
        for w in windows
    }
    return pieces, members


def tune_for_reports() -> None:
    """Set PostgreSQL up for one large aggregate in the current transaction.

    JIT off: the coverage query is ~100 conditional sums whose compilation costs seconds
    and saves nothing. More work_mem: the per-account aggregate of a year's activities then
    hashes in memory instead of sorting on disk (both measured with bench/cr2_bench.py).
    """
    set_local(db.session, jit="off", work_mem="'64MB'")


# --- frequency coverage ----------------------------------------------------------------


def coverage(
    scope: Scope,
    pairs: Iterable[tuple[RuleLike, Window]],
    *,
    by_unit: bool = False,
    by_kamr: bool = False,
    kamr_id: int | None = None,
) -> dict:
    """Return N and M (a ``Coverage``) for each (rule, window) pair, in one query.

    Per account in scope the query takes the tier and activity at each distinct window end
    and the done activities of each needed type per segment of the windows, then sums the
    population and met of every pair in a single row (or one row per quota unit with
    ``by_unit``: the result is then ``{unit_office_id: {pair: Coverage}}``, None holding the
    accounts of the regional office; or one row per account manager with ``by_kamr``:
    ``{kamr_id: {pair: Coverage}}``, None holding unassigned accounts). ``kamr_id`` keeps
    only that KAMR's accounts.
    """
    if by_unit and by_kamr:
        raise ValueError("coverage is grouped by quota unit or by KAMR, not both")
    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        return {}
    windows = {w for _, w in pairs}
    ends = sorted({w.end for w in windows})
    end_index = {e: i for i, e in enumerate(ends)}
    types = sorted({r.type for r, _ in pairs})
    pieces, members = _segments(windows)

    account_filter = [scope.covers(Account.office_id)]
    if kamr_id is not None:
        account_filter.append(Account.kamr_id == kamr_id)

    # Tier on each window end, or NULL when the account is not active that day: the
    # population test is then one comparison.
    tiers = tiers_on(ends, sa.select(Account.id).where(*account_filter))
    account_columns = [Account.id.label("account_id")]
    for i, end in enumerate(ends):
        account_columns.append(
            sa.case((active_on(end), tiers.c[f"t{i}"]), else_=None).label(f"t{i}")
        )
    accounts = (
        sa.select(*account_columns)
        .outerjoin(tiers, tiers.c.account_id == Account.id)
        .where(*account_filter)
    )
    if by_unit:
        accounts = accounts.add_columns(unit_office_id().label("unit")).join(
            Office, Office.id == Account.office_id
        )
    elif by_kamr:
        accounts = accounts.add_columns(Account.kamr_id.label("unit"))
    # MATERIALIZED: computed once, not once per SUM that reads it.
    accounts = accounts.cte("acc").prefix_with("MATERIALIZED")

    done_columns = []
    for ti, type_ in enumerate(types):
        for si, piece in enumerate(pieces):
            done_columns.append(
                _count_where(
                    sa.and_(
                        Activity.type == type_,
                        Activity.activity_date.between(piece.start, piece.end),
                    )
                ).label(f"d{ti}_{si}")
            )
    done = sa.select(Activity.account_id, *done_columns).where(
        Activity.status == "done",
        Activity.type.in_(types),
        Activity.activity_date.between(min(p.start for p in pieces), max(p.end for p in pieces)),
    )
    if not scope.is_region or kamr_id is not None:
        done = done.where(Activity.account_id.in_(sa.select(Account.id).where(*account_filter)))
    done = done.group_by(Activity.account_id).subquery("done")

    figures = []
    population_label = {}
    for rule, window in pairs:
        key = (rule.tier, window.end)
        if key not in population_label:
            label = f"n{len(population_label)}"
            population_label[key] = label
            tier_column = accounts.c[f"t{end_index[window.end]}"]
            figures.append(_count_where(tier_column == rule.tier).label(label))
    met_label = {}
    for rule, window in pairs:
        tier_column = accounts.c[f"t{end_index[window.end]}"]
        ti = types.index(rule.type)
        done_count = sum(
            (done.c[f"d{ti}_{si}"] for si in members[window][1:]),
            done.c[f"d{ti}_{members[window][0]}"],
        )
        label = f"m{len(met_label)}"
        met_label[(rule, window)] = label
        # With no done rows at all the LEFT JOIN gives NULL, which fails the comparison.
        figures.append(
            _count_where(sa.and_(tier_column == rule.tier, done_count >= rule.min_count)).label(
                label
            )
        )

    query = sa.select(*figures).select_from(
        accounts.outerjoin(done, done.c.account_id == accounts.c.account_id)
    )
    grouped = by_unit or by_kamr
    if grouped:
        query = query.add_columns(accounts.c.unit).group_by(accounts.c.unit)
    tune_for_reports()
    rows = db.session.execute(query).mappings().all()

    def unpack(row) -> dict:
        return {
            (rule, window): Coverage(
                population=int(row[population_label[(rule.tier, window.end)]] or 0),
                met=int(row[met_label[(rule, window)]] or 0),
            )
            for rule, window in pairs
        }

    if grouped:
        return {row["unit"]: unpack(row) for row in rows}
    return unpack(rows[0])


def frequency_coverage(
    scope: Scope,
    windows: Sequence[Window],
    rules: Sequence[RuleLike],
    *,
    by_unit: bool = False,
    kamr_id: int | None = None,
) -> dict:
    """Return ``{(rule, window): Coverage}`` for every rule over every window within ``scope``.

    With ``by_unit`` the answer is keyed first by quota unit (see ``coverage``).
    """
    return coverage(
        scope,
        [(rule, window) for rule in rules for window in windows],
        by_unit=by_unit,
        kamr_id=kamr_id,
    )


def accounts_behind(
    scope: Scope, rule: RuleLike, window: Window, met: bool | None = None
) -> sa.Select:
    """Return a SELECT of ``(Account, done)`` for the population of ``rule`` over ``window``.

    ``met`` True keeps the accounts that met it, False those that did not, None all. Add
    ordering, paging or joins as needed.
    """
    done_rows = (
        sa.select(Activity.account_id, sa.func.count().label("done"))
        .where(
            Activity.status == "done",
            Activity.type == rule.type,
            Activity.activity_date.between(window.start, window.end),
        )
        .group_by(Activity.account_id)
        .subquery("done_rows")
    )
    done = sa.func.coalesce(done_rows.c.done, 0)
    query = (
        sa.select(Account, done.label("done"))
        .outerjoin(done_rows, done_rows.c.account_id == Account.id)
        .where(
            scope.covers(Account.office_id),
            active_on(window.end),
            tier_on(Account.id, window.end) == rule.tier,
        )
    )
    if met is True:
        query = query.where(done >= rule.min_count)
    elif met is False:
        query = query.where(done < rule.min_count)
    return query


def cell_windows(rule: RuleLike, year: int, column: str, as_of: date | None) -> list[Window] | None:
    """Return the windows behind one cumulative cell (``column`` one of COLUMNS), or None."""
    return cumulative_windows(rule.period, year, COLUMNS.index(column) + 1, as_of)


# --- executive visits and counts --------------------------------------------------------


def assistant_directors(year: int) -> sa.Select:
    """Return a SELECT of the ids of the users who are assistant-director units in ``year``.

    A user holds the role when their ``exec_role`` is ``assistant_director`` and they are
    active; a deactivated one still counts for a year in which they made at least one done
    assistant-director visit, so that a director who left keeps the quarters they served.
    Visits logged under the role by anyone else (a representative) count for nobody.
    """
    year_days = year_window(year)
    visited = sa.select(Activity.id).where(
        Activity.performed_by_id == User.id,
        Activity.status == "done",
        Activity.type == "EXV",
        Activity.exec_role == "assistant_director",
        Activity.activity_date.between(year_days.start, year_days.end),
    )
    return sa.select(User.id).where(
        User.exec_role == "assistant_director", sa.or_(User.active.is_(True), visited.exists())
    )


def _quarter_case(year: int, last_day: date):
    whens = []
    for q in (1, 2, 3, 4):
        window = quarter_window(year, q)
        if window.start > last_day:
            break
        whens.append((Activity.activity_date <= min(window.end, last_day), q))
    return sa.case(*whens, else_=None)


def executive_visit_counts(scope: Scope, year: int, last_day: date) -> dict:
    """Return ``{exec_role: {(unit, quarter): distinct accounts}}`` for visits up to ``last_day``.

    Units: 0 for the region director, the performer's user id for an assistant director,
    the account's quota office for an office manager. Units are not yet filtered.
    """
    start = date(year, 1, 1)
    unit = sa.case(
        (Activity.exec_role == "assistant_director", Activity.performed_by_id),
        (Activity.exec_role == "office_manager", unit_office_id()),
        else_=0,
    )
    quarter = _quarter_case(year, last_day)
    query = (
        sa.select(
            Activity.exec_role,
            unit.label("unit"),
            quarter.label("quarter"),
            sa.func.count(sa.distinct(Activity.account_id)).label("accounts"),
        )
        .join(Account, Account.id == Activity.account_id)
        .join(Office, Office.id == Account.office_id)
        .where(
            # Written out, not bound: the partial indexes ix_activities_done_exv_* hold exactly
            # these rows (DONE_EXV), and a planner uses them only when it sees that condition.
            Activity.status == sa.literal_column("'done'"),
            Activity.type == sa.literal_column("'EXV'"),
            Activity.activity_date.between(start, last_day),
            scope.covers(Account.office_id),
        )
        .group_by(Activity.exec_role, unit, quarter)
    )
    if not scope.is_region:
        # An office's visits are read through its accounts (ix_activities_done_exv_account),
        # not from the region's visits by day.
        query = query.where(
            Activity.account_id.in_(sa.select(Account.id).where(scope.covers(Account.office_id)))
        )
    found: dict = defaultdict(dict)
    for role, unit_id, q, accounts in db.session.execute(query).all():
        found[role][(unit_id, q)] = accounts
    return found


def quota_units(scope: Scope, year: int) -> dict[str, set]:
    """Return the quota units of each executive role within ``scope`` (SPEC section 5)."""
    directors = set(db.session.execute(assistant_directors(year)).scalars())
    if scope.is_region:
        offices = set(
            db.session.execute(
                sa.select(Office.id).where(Office.office_class.in_(MANAGED_OFFICE_CLASSES))
            ).scalars()
        )
    else:
        offices = {scope.unit_office_id} if scope.unit_office_id is not None else set()
    return {"region_director": {0}, "assistant_director": directors, "office_manager": offices}


def activity_counts(scope: Scope, types: Sequence[str], ends: Sequence[date]) -> dict:
    """Return ``{(type, end): (activities, distinct accounts)}`` of done activities from Jan 1
    of the year of the first end up to each of ``ends``."""
    if not ends or not types:
        return {}
    start = date(ends[0].year, 1, 1)
    columns = []
    for i, end in enumerate(ends):
        in_range = Activity.activity_date <= end
        columns.append(_count_where(in_range).label(f"a{i}"))
        columns.append(
            sa.func.count(sa.distinct(sa.case((in_range, Activity.account_id), else_=None))).label(
                f"c{i}"
            )
        )
    query = (
        sa.select(Activity.type, *columns)
        .where(
            Activity.status == "done",
            Activity.type.in_(types),
            Activity.activity_date.between(start, max(ends)),
        )
        .group_by(Activity.type)
    )
    if not scope.is_region:
        query = query.where(
            Activity.account_id.in_(sa.select(Account.id).where(scope.covers(Account.office_id)))
        )
    rows = {row["type"]: row for row in db.session.execute(query).mappings().all()}
    found = {}
    for type_ in types:
        row = rows.get(type_)
        for i, end in enumerate(ends):
            found[(type_, end)] = (
                (int(row[f"a{i}"] or 0), int(row[f"c{i}"] or 0)) if row is not None else (0, 0)
            )
    return found


# --- the CR2 report -------------------------------------------------------------------


def percentage(part: int, whole: int) -> Decimal | None:
    """Return 100 × part / whole rounded half up to 2 decimals, or None when whole is 0."""
    if not whole:
        return None
    return (Decimal(100) * part / Decimal(whole)).quantize(_CENT, rounding=ROUND_HALF_UP)


def column_ends(year: int, as_of: date) -> list[date | None]:
    """Return the last day counted by each cumulative column, None for a null column."""
    ends = []
    for k in (1, 2, 3, 4):
        quarter = quarter_window(year, k)
        ends.append(None if as_of < quarter.start else min(quarter.end, as_of))
    return ends


def default_as_of(year: int, today: date | None = None) -> date:
    """Return the as_of of a report asked without one: today (Bangkok), capped at Dec 31."""
    return min(date(year, 12, 31), today or bangkok_today())


def cr2_report(
    year: int, as_of: date | None, scope: Scope, targets: YearTargets | None = None
) -> dict:
    """Return the CR2 JSON of SPEC sections 7 and 8 for ``year`` as of ``as_of`` within ``scope``.

    ``as_of`` None means today in Bangkok, capped at the year's end. Columns whose quarter
    starts after ``as_of`` are null.
    """
    as_of = as_of or default_as_of(year)
    targets = targets or year_targets(year)
    tune_for_reports()
    scope = scope.resolved()  # an office's ids once, not a subquery in every statement
    ends = column_ends(year, as_of)
    live = [(k, end) for k, end in enumerate(ends, start=1) if end is not None]

    cells: dict = {}
    pairs = []
    for rule in targets.rules:
        for k, _ in live:
            windows = cumulative_windows(rule.period, year, k, as_of)
            cells[(rule, k)] = windows
            pairs.extend((rule, window) for window in windows)
    figures = coverage(scope, pairs) if pairs else {}

    rules_json = []
    for rule in targets.rules:
        cumulative = {}
        for k, column in enumerate(COLUMNS, start=1):
            windows = cells.get((rule, k))
            if windows is None:
                cumulative[column] = None
                continue
            population = sum(figures[(rule, w)].population for w in windows)
            met = sum(figures[(rule, w)].met for w in windows)
            pct = percentage(met, population)
            cumulative[column] = {
                "population": population,
                "met": met,
                "pct": None if pct is None else float(pct),
                "target_met": None if pct is None else pct >= rule.target_pct,
            }
        rules_json.append(
            {
                "item": rule.item,
                "type": rule.type,
                "tier": rule.tier,
                "period": rule.period,
                "min_count": rule.min_count,
                "target_pct": float(rule.target_pct),
                "planned_population": targets.planned_population(rule.tier),
                "cumulative": cumulative,
            }
        )

    return {
        "report": "CR2",
        "year": year,
        "as_of": as_of.isoformat(),
        "scope": scope.code,
        "rules": rules_json,
        "executive_visits": _executive_visits_json(scope, year, targets, live),
        "counts": _counts_json(scope, live),
        "complaints": complaint_rows(scope, year, as_of, COLUMNS, ends),
        "complaint_prevention": prevention_entry(scope, year, as_of, COLUMNS, ends),
    }


def _executive_visits_json(scope: Scope, year: int, targets: YearTargets, live) -> list[dict]:
    units = quota_units(scope, year)
    visits = executive_visit_counts(scope, year, live[-1][1]) if live else {}
    entries = []
    for role in EXEC_ROLES:
        quota = targets.quota(role)
        role_units = units[role]
        counted = {
            key: accounts for key, accounts in visits.get(role, {}).items() if key[0] in role_units
        }
        cumulative = {}
        for k, column in enumerate(COLUMNS, start=1):
            if k > len(live):
                cumulative[column] = None
                continue
            within = [n for key, n in counted.items() if key[1] is not None and key[1] <= k]
            unit_quarters = k * len(role_units)
            target = quota * unit_quarters
            achieved = sum(within)
            # A unit-quarter without any visit has A = 0, which meets only a zero quota.
            unvisited = unit_quarters - len(within)
            pct = percentage(achieved, target)
            cumulative[column] = {
                "target": target,
                "achieved": achieved,
                "pct": None if pct is None else float(pct),
                "unit_quarters": unit_quarters,
                "unit_quarters_met": sum(1 for n in within if n >= quota)
                + (unvisited if quota <= 0 else 0),
            }
        entries.append(
            {
                "item": "1.2",
                "exec_role": role,
                "quota_per_quarter": quota,
                "units": len(role_units),
                "cumulative": cumulative,
            }
        )
    return entries


def _counts_json(scope: Scope, live) -> list[dict]:
    ends = [end for _, end in live]
    found = activity_counts(scope, [type_ for type_, _ in COUNT_TYPES], ends)
    entries = []
    for type_, item in COUNT_TYPES:
        cumulative = {}
        for k, column in enumerate(COLUMNS, start=1):
            if k > len(live):
                cumulative[column] = None
                continue
            activities, accounts = found[(type_, ends[k - 1])]
            cumulative[column] = {"activities": activities, "accounts": accounts}
        entries.append({"item": item, "type": type_, "cumulative": cumulative})
    return entries
