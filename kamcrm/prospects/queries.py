"""Reading consumption and the prospect lists, and the rules of SPEC section 10, written once.

* **peak kVA** of a month = ``peak_kva``, or ``peak_kw`` ÷ the year's power factor;
* **utilisation** for plan year Y = 100 × the highest monthly peak kVA of Y−1 ÷ the
  account's ``transformer_kva`` (none without a transformer or a peak);
* **growth** = 100 × (kWh of Y−1 − kWh of Y−2) ÷ kWh of Y−2, only when both years have all
  12 months (and Y−2 used some energy); an account with some but not all of those 24 months
  is on the "incomplete data" list;
* **High Value 1**: growth ≥ 10 and utilisation ≥ 50; **High Value 2**: utilisation ≥ 70;
  **Maintenance 1**: a ``maintenance`` service job completed in Y−2 or Y−1; **Maintenance 2**:
  no maintenance job ever and ``transformer_kva`` > 250 (thresholds: the year's settings).

The accounts considered are those not closed before Jan 1 of Y. Every figure is computed in
one statement (GROUP BY over the two years' months, EXISTS over the service jobs); the
thresholds are compared with a tolerance of 1e-9 percentage points, so that a figure that is
exactly on a threshold in decimal (49.9999999… after binary division) is on the list.

Coverage (CR1 4.3): of the accounts on a list, those with a ``done`` BIZ visit dated on or
after the day they were listed (activity dates are days; a visit on the day the list was
made may follow it) and in the window [Jan 1, end of Qk] cut at ``as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from kamcrm.accounts.models import Account
from kamcrm.activities.models import Activity
from kamcrm.errors import Message, NotFound
from kamcrm.extensions import db
from kamcrm.org.models import Office, User
from kamcrm.org.scope import Scope
from kamcrm.periods import quarter_window
from kamcrm.prospects.models import (
    DEFAULTS,
    LIST_ITEMS,
    LISTS,
    VISIT_LISTS,
    Consumption,
    ProspectMember,
    ProspectSettings,
    ProspectSnapshot,
)
from kamcrm.surveys.models import ServiceJob

#: How far below a threshold a float figure may fall and still count as on it.
TOLERANCE = 1e-9
_CENT = Decimal("0.01")
COLUMNS = ("Q1", "Q1-2", "Q1-3", "Q1-4")


# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListSettings:
    """A year's thresholds and power factor, stored or the defaults."""

    year: int
    hv1_growth_pct: Decimal
    hv1_utilisation_pct: Decimal
    hv2_utilisation_pct: Decimal
    mt2_transformer_kva: Decimal
    power_factor: Decimal
    stored: bool = False

    def as_dict(self) -> dict:
        """Return the figures as strings of decimals (a snapshot keeps them so)."""
        return {name: str(getattr(self, name)) for name in DEFAULTS}


def settings_for(year: int) -> ListSettings:
    """Return year ``year``'s list settings (the defaults until regional staff change them)."""
    row = db.session.get(ProspectSettings, year)
    if row is None:
        return ListSettings(year=year, **DEFAULTS)
    return ListSettings(
        year=year, stored=True, **{name: Decimal(getattr(row, name)) for name in DEFAULTS}
    )


# --- service jobs (maintenance) --------------------------------------------------------------


def maintenance_job_years(first_year: int, last_year: int):
    """Return (a SELECT of account_id, last maintenance day in ``first_year``..``last_year``;
    a SELECT of the account ids with any maintenance job ever).

    The one place the prospect lists read the service jobs (``kamcrm.surveys``) for
    Maintenance 1 and 2.
    """
    jobs = ServiceJob.__table__
    recent = (
        sa.select(jobs.c.account_id, sa.func.max(jobs.c.completed_on).label("last_on"))
        .where(
            jobs.c.kind == "maintenance",
            jobs.c.account_id.is_not(None),
            jobs.c.completed_on >= date(first_year, 1, 1),
            jobs.c.completed_on <= date(last_year, 12, 31),
        )
        .group_by(jobs.c.account_id)
    )
    ever = sa.select(jobs.c.account_id).where(
        jobs.c.kind == "maintenance", jobs.c.account_id.is_not(None)
    )
    return recent, ever


# --- the figures and the lists ---------------------------------------------------------------


def peak_kva_expression(power_factor: Decimal):
    """A month's peak kVA: ``peak_kva``, or ``peak_kw`` ÷ the power factor."""
    return sa.func.coalesce(
        sa.cast(Consumption.peak_kva, sa.Float),
        sa.cast(Consumption.peak_kw, sa.Float) / float(power_factor),
    )


def figures_statement(year: int, settings: ListSettings, *, account_ids=None) -> sa.Select:
    """Return a SELECT of every considered account's inputs and figures for plan year ``year``.

    Columns: account_id, office_id, kamr_id, transformer_kva, kwh_prev, kwh_prev2,
    months_prev, months_prev2, peak_kva_prev, utilisation, growth (None where undefined).
    """
    previous, before = date(year - 1, 1, 1), date(year - 2, 1, 1)
    in_previous = Consumption.month >= previous
    kwh = sa.cast(Consumption.kwh, sa.Float)
    months = (
        sa.select(
            Consumption.account_id,
            sa.func.sum(sa.case((in_previous, kwh))).label("kwh_prev"),
            sa.func.sum(sa.case((~in_previous, kwh))).label("kwh_prev2"),
            sa.func.count(sa.case((in_previous, 1))).label("months_prev"),
            sa.func.count(sa.case((~in_previous, 1))).label("months_prev2"),
            sa.func.max(sa.case((in_previous, peak_kva_expression(settings.power_factor)))).label(
                "peak_kva_prev"
            ),
        )
        .where(Consumption.month >= before, Consumption.month < date(year, 1, 1))
        .group_by(Consumption.account_id)
    )
    if account_ids is not None:
        months = months.where(Consumption.account_id.in_(account_ids))
    months = months.subquery("months")
    kva = sa.cast(Account.transformer_kva, sa.Float)
    months_prev = sa.func.coalesce(months.c.months_prev, 0)
    months_prev2 = sa.func.coalesce(months.c.months_prev2, 0)
    utilisation = sa.case(
        (
            sa.and_(kva > 0, months.c.peak_kva_prev.is_not(None)),
            100.0 * months.c.peak_kva_prev / kva,
        )
    )
    growth = sa.case(
        (
            sa.and_(months_prev == 12, months_prev2 == 12, months.c.kwh_prev2 > 0),
            100.0 * (months.c.kwh_prev - months.c.kwh_prev2) / months.c.kwh_prev2,
        )
    )
    statement = (
        sa.select(
            Account.id.label("account_id"),
            Account.office_id,
            Account.kamr_id,
            Account.transformer_kva,
            months.c.kwh_prev,
            months.c.kwh_prev2,
            months_prev.label("months_prev"),
            months_prev2.label("months_prev2"),
            months.c.peak_kva_prev,
            utilisation.label("utilisation"),
            growth.label("growth"),
        )
        .select_from(Account)
        .outerjoin(months, months.c.account_id == Account.id)
        .where(sa.or_(Account.closed_on.is_(None), Account.closed_on >= date(year, 1, 1)))
    )
    if account_ids is not None:
        statement = statement.where(Account.id.in_(account_ids))
    return statement


def list_rows(
    year: int, settings: ListSettings | None = None, *, account_ids=None
) -> tuple[list[dict], bool]:
    """Return (the members of every list for plan year ``year``, whether the Maintenance
    lists could be computed). Each member is a dict of its inputs with ``list_code``."""
    settings = settings or settings_for(year)
    figures = figures_statement(year, settings, account_ids=account_ids).subquery("figures")
    jobs = maintenance_job_years(year - 2, year - 1)
    columns = [
        figures.c[name]
        for name in (
            "account_id",
            "office_id",
            "kamr_id",
            "transformer_kva",
            "kwh_prev",
            "kwh_prev2",
            "months_prev",
            "months_prev2",
            "peak_kva_prev",
            "utilisation",
            "growth",
        )
    ]

    def at_least(column, threshold):
        return column >= float(threshold) - TOLERANCE

    has_data = (figures.c.months_prev + figures.c.months_prev2) > 0
    no_job = sa.cast(sa.null(), sa.Date).label("last_maintenance_on")
    selects = [
        sa.select(sa.literal("HV1").label("list_code"), *columns, no_job).where(
            at_least(figures.c.growth, settings.hv1_growth_pct),
            at_least(figures.c.utilisation, settings.hv1_utilisation_pct),
        ),
        sa.select(sa.literal("HV2").label("list_code"), *columns, no_job).where(
            at_least(figures.c.utilisation, settings.hv2_utilisation_pct)
        ),
        sa.select(sa.literal("INCOMPLETE").label("list_code"), *columns, no_job).where(
            has_data, sa.or_(figures.c.months_prev < 12, figures.c.months_prev2 < 12)
        ),
    ]
    recent, ever = jobs
    recent = recent.subquery("recent_jobs")
    selects.append(
        sa.select(
            sa.literal("MT1").label("list_code"),
            *columns,
            recent.c.last_on.label("last_maintenance_on"),
        ).select_from(figures.join(recent, recent.c.account_id == figures.c.account_id))
    )
    selects.append(
        sa.select(sa.literal("MT2").label("list_code"), *columns, no_job).where(
            sa.cast(figures.c.transformer_kva, sa.Numeric(12, 2)) > settings.mt2_transformer_kva,
            figures.c.account_id.not_in(ever),
        )
    )
    union = sa.union_all(*selects).subquery("members")
    rows = (
        db.session.execute(sa.select(union).order_by(union.c.list_code, union.c.account_id))
        .mappings()
        .all()
    )
    order = {code: index for index, code in enumerate(LISTS)}
    members = sorted(
        (dict(row) for row in rows), key=lambda row: (order[row["list_code"]], row["account_id"])
    )
    for member in members:
        member["clause"] = clause(member, settings)
    return members, jobs is not None


def rounded(value, places: str = "0.01") -> Decimal | None:
    """Return a float figure as a Decimal rounded half up (None stays None)."""
    if value is None:
        return None
    return Decimal(repr(float(value))).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def clause(member: dict, settings: ListSettings) -> str:
    """Return why ``member`` is on its list, with the figures compared."""
    code = member["list_code"]
    utilisation, growth = rounded(member["utilisation"]), rounded(member["growth"])
    if code == "HV1":
        return (
            f"growth {growth}% ≥ {settings.hv1_growth_pct}% and utilisation {utilisation}% ≥ "
            f"{settings.hv1_utilisation_pct}%"
        )
    if code == "HV2":
        return f"utilisation {utilisation}% ≥ {settings.hv2_utilisation_pct}%"
    if code == "MT1":
        return f"maintenance job completed on {member['last_maintenance_on']}"
    if code == "MT2":
        return (
            f"no maintenance job ever and transformer {rounded(member['transformer_kva'])} kVA > "
            f"{settings.mt2_transformer_kva} kVA"
        )
    return (
        f"{member['months_prev2']} of 12 months in Y-2, {member['months_prev']} of 12 months in Y-1: "
        "growth cannot be computed"
    )


# --- snapshots -------------------------------------------------------------------------------


def snapshots_of(year: int) -> list[ProspectSnapshot]:
    """Return year ``year``'s snapshots, newest first."""
    return list(
        db.session.scalars(
            sa.select(ProspectSnapshot)
            .where(ProspectSnapshot.year == year)
            .order_by(ProspectSnapshot.version.desc())
        )
    )


def latest_snapshot(year: int, on_or_before: date | None = None) -> ProspectSnapshot | None:
    """Return the newest snapshot of ``year`` (generated by ``on_or_before``, when given)."""
    statement = sa.select(ProspectSnapshot).where(ProspectSnapshot.year == year)
    if on_or_before is not None:
        statement = statement.where(ProspectSnapshot.generated_on <= on_or_before)
    return db.session.scalars(statement.order_by(ProspectSnapshot.version.desc()).limit(1)).first()


def snapshot_for(year: int, version: int | None = None) -> ProspectSnapshot:
    """Return snapshot ``version`` of ``year`` (default: the newest); NotFound when there is none."""
    if version is None:
        snapshot = latest_snapshot(year)
    else:
        snapshot = db.session.scalars(
            sa.select(ProspectSnapshot).where(
                ProspectSnapshot.year == year, ProspectSnapshot.version == version
            )
        ).first()
    if snapshot is None:
        raise NotFound(
            Message(
                "No prospect lists have been generated for %(year)s%(version)s.",
                year=year,
                version="" if version is None else f" (version {version})",
            )
        )
    return snapshot


def _scoped(statement, scope: Scope | None):
    return (
        statement
        if scope is None or scope.is_region
        else statement.where(scope.covers(ProspectMember.office_id))
    )


def members_of(
    snapshot: ProspectSnapshot, scope: Scope | None = None, list_code: str | None = None
) -> sa.Select:
    """Return a SELECT of (member, account number, account name, office code, KAMR username)
    of ``snapshot`` in ``scope``, in list and account order."""
    kamr = aliased(User)
    statement = (
        sa.select(
            ProspectMember,
            Account.account_no,
            Account.name.label("account_name"),
            Office.code.label("office_code"),
            kamr.username.label("kamr_username"),
        )
        .join(Account, Account.id == ProspectMember.account_id)
        .join(Office, Office.id == ProspectMember.office_id)
        .outerjoin(kamr, kamr.id == ProspectMember.kamr_id)
        .where(ProspectMember.snapshot_id == snapshot.id)
    )
    if list_code is not None:
        statement = statement.where(ProspectMember.list_code == list_code)
    order = sa.case(
        {code: index for index, code in enumerate(LISTS)}, value=ProspectMember.list_code
    )
    return _scoped(statement, scope).order_by(order, Account.account_no)


def list_counts(snapshot: ProspectSnapshot, scope: Scope | None = None) -> dict[str, int]:
    """Return the number of members per list of ``snapshot`` in ``scope`` (every list, 0 when empty)."""
    statement = _scoped(
        sa.select(ProspectMember.list_code, sa.func.count())
        .where(ProspectMember.snapshot_id == snapshot.id)
        .group_by(ProspectMember.list_code),
        scope,
    )
    counts = dict.fromkeys(LISTS, 0)
    counts.update(dict(db.session.execute(statement).all()))
    return counts


def previous_snapshot(snapshot: ProspectSnapshot) -> ProspectSnapshot | None:
    """Return the version before ``snapshot`` of the same year, if any."""
    return db.session.scalars(
        sa.select(ProspectSnapshot)
        .where(ProspectSnapshot.year == snapshot.year, ProspectSnapshot.version < snapshot.version)
        .order_by(ProspectSnapshot.version.desc())
        .limit(1)
    ).first()


def snapshot_diff(
    old: ProspectSnapshot | None, new: ProspectSnapshot, scope: Scope | None = None
) -> dict:
    """Return who joined and who left each list from ``old`` to ``new``:
    ``{"joined": [(list_code, account_no, name)], "left": [...]}`` in list and account order."""

    def moved(into: ProspectSnapshot, out_of: ProspectSnapshot | None):
        other = aliased(ProspectMember)
        statement = (
            sa.select(ProspectMember.list_code, Account.account_no, Account.name)
            .join(Account, Account.id == ProspectMember.account_id)
            .where(ProspectMember.snapshot_id == into.id)
        )
        if out_of is not None:
            statement = statement.where(
                ~sa.exists().where(
                    other.snapshot_id == out_of.id,
                    other.list_code == ProspectMember.list_code,
                    other.account_id == ProspectMember.account_id,
                )
            )
        order = sa.case(
            {code: index for index, code in enumerate(LISTS)}, value=ProspectMember.list_code
        )
        return [
            tuple(row)
            for row in db.session.execute(
                _scoped(statement, scope).order_by(order, Account.account_no)
            )
        ]

    return {"joined": moved(new, old), "left": [] if old is None else moved(old, new)}


# --- coverage (CR1 4.3) ----------------------------------------------------------------------


def column_ends(year: int, as_of: date) -> dict[str, date | None]:
    """Return each cumulative column's last day (the end of Qk cut at ``as_of``), None when
    Qk starts after ``as_of``."""
    ends = {}
    for k, column in enumerate(COLUMNS, start=1):
        window = quarter_window(year, k)
        ends[column] = None if window.start > as_of else min(window.end, as_of)
    return ends


def _unit_office():
    """The office a member counts for: its office, or the parent office of a branch."""
    return sa.case((Office.office_class == "branch", Office.parent_id), else_=Office.id)


def coverage(
    snapshot: ProspectSnapshot | None,
    as_of: date,
    scope: Scope | None = None,
    *,
    year: int | None = None,
) -> list[dict]:
    """Return the visit coverage of ``snapshot``'s lists: one row per (list, office) and a total
    per list (office None), plus ``ALL`` (every listed account once), each with the four
    cumulative cells ``{"visited", "listed", "pct"}`` (None for a column after ``as_of``)."""
    year = snapshot.year if snapshot is not None else year
    ends = column_ends(year, as_of)
    if snapshot is None:
        return [_coverage_row(code, None, 0, {}, ends) for code in (*VISIT_LISTS, "ALL")]
    # The first done BIZ visit of each listed account, on or after the day it was listed.
    first = (
        sa.select(sa.func.min(Activity.activity_date))
        .where(
            Activity.account_id == ProspectMember.account_id,
            Activity.type == "BIZ",
            Activity.status == "done",
            Activity.activity_date >= ProspectMember.listed_on,
            Activity.activity_date >= date(year, 1, 1),
        )
        .scalar_subquery()
    )
    unit = _unit_office().label("unit_id")
    members = _scoped(
        sa.select(
            ProspectMember.list_code, ProspectMember.account_id, unit, first.label("first_visit")
        )
        .join(Office, Office.id == ProspectMember.office_id)
        .where(
            ProspectMember.snapshot_id == snapshot.id, ProspectMember.list_code.in_(VISIT_LISTS)
        ),
        scope,
    ).subquery("members")
    visited = [
        sa.func.count(sa.case((members.c.first_visit <= end, 1))).label(column)
        for column, end in ends.items()
        if end is not None
    ]
    per_office = (
        db.session.execute(
            sa.select(
                members.c.list_code, members.c.unit_id, sa.func.count().label("listed"), *visited
            ).group_by(members.c.list_code, members.c.unit_id)
        )
        .mappings()
        .all()
    )
    # Every listed account once: visited when its first visit after its earliest listing.
    accounts = (
        sa.select(
            members.c.account_id,
            members.c.unit_id,
            sa.func.min(members.c.first_visit).label("first_visit"),
        )
        .group_by(members.c.account_id, members.c.unit_id)
        .subquery("accounts")
    )
    visited_all = [
        sa.func.count(sa.case((accounts.c.first_visit <= end, 1))).label(column)
        for column, end in ends.items()
        if end is not None
    ]
    all_rows = (
        db.session.execute(
            sa.select(accounts.c.unit_id, sa.func.count().label("listed"), *visited_all).group_by(
                accounts.c.unit_id
            )
        )
        .mappings()
        .all()
    )
    codes = dict(db.session.execute(sa.select(Office.id, Office.code)).all())
    rows = []
    for code, source in [
        (code, [r for r in per_office if r["list_code"] == code]) for code in VISIT_LISTS
    ] + [("ALL", list(all_rows))]:
        total_listed = sum(r["listed"] for r in source)
        totals = {
            column: sum(r[column] for r in source)
            for column, end in ends.items()
            if end is not None
        }
        rows.append(_coverage_row(code, None, total_listed, totals, ends))
        for r in sorted(source, key=lambda r: codes.get(r["unit_id"], "")):
            rows.append(_coverage_row(code, codes.get(r["unit_id"]), r["listed"], r, ends))
    return rows


def _coverage_row(list_code, office_code, listed, visited, ends) -> dict:
    cells = {}
    for column, end in ends.items():
        if end is None:
            cells[column] = None
            continue
        count = int(visited.get(column, 0) or 0)
        cells[column] = {"visited": count, "listed": listed, "pct": percent(count, listed)}
    return {"list_code": list_code, "office_code": office_code, "cumulative": cells}


def percent(part: int, whole: int) -> float | None:
    """Return 100 × part ÷ whole rounded half up to 2 places (None when whole is 0)."""
    if not whole:
        return None
    return float((Decimal(100) * part / Decimal(whole)).quantize(_CENT, rounding=ROUND_HALF_UP))


# --- CR1 (the report's section contract) -----------------------------------------------------


def _l(msgid: str) -> str:
    """Mark ``msgid`` for the catalogue (``_l`` is an extraction keyword) and return it as
    is: a CR1 row carries the English msgid, which the report's renderer translates."""
    return msgid


#: The labels the CR1 rows use (English msgids; the renderer translates them).
LABELS = {
    "HV1": _l("High Value 1 customers listed"),
    "HV2": _l("High Value 2 customers listed"),
    "MT1": _l("Maintenance 1 customers listed"),
    "MT2": _l("Maintenance 2 customers listed"),
    "visits_HV1": _l("High Value 1 customers visited"),
    "visits_HV2": _l("High Value 2 customers visited"),
    "visits_MT1": _l("Maintenance 1 customers visited"),
    "visits_MT2": _l("Maintenance 2 customers visited"),
    "visits_ALL": _l("Listed customers visited"),
}


def cr1_rows(session, *, year: int, as_of: date, scope) -> list[dict]:
    """Return the CR1 rows of items 3.6.1, 3.6.2 (list sizes) and 4.3 (visit coverage) for
    ``year`` as of ``as_of`` in ``scope`` (see ARCHITECTURE.md, "The CR1 report").

    The lists are the newest snapshot of the year generated by ``as_of``; without one every
    cell's value is None (nothing listed yet). ``session`` is the report's session (this
    domain reads through the same ``db.session``).
    """
    snapshot = latest_snapshot(year, as_of)
    ends = column_ends(year, as_of)
    counts = list_counts(snapshot, scope) if snapshot is not None else dict.fromkeys(LISTS, 0)
    rows = []
    for code in VISIT_LISTS:
        value = counts[code] if snapshot is not None else None
        rows.append(
            {
                "item": LIST_ITEMS[code],
                "key": f"prospects_{code.lower()}",
                "label": LABELS[code],
                "unit": "count",
                "target": None,
                "office_code": None,
                "cumulative": {
                    column: None
                    if end is None
                    else {
                        "value": value,
                        "numerator": None,
                        "denominator": None,
                        "target_met": None,
                    }
                    for column, end in ends.items()
                },
            }
        )
    for row in coverage(snapshot, as_of, scope, year=year):
        if row["office_code"] is not None:
            continue
        code = row["list_code"]
        rows.append(
            {
                "item": "4.3",
                "key": f"prospect_visits_{code.lower()}",
                "label": LABELS[f"visits_{code}"],
                "unit": "pct",
                "target": None,
                "office_code": None,
                "cumulative": {
                    column: None
                    if cell is None
                    else {
                        "value": cell["pct"],
                        "numerator": cell["visited"],
                        "denominator": cell["listed"],
                        "target_met": None,
                    }
                    for column, cell in row["cumulative"].items()
                },
            }
        )
    return rows


# --- an account's consumption (the account page) ---------------------------------------------


def consumption_months(account_id: int, last_month: date, months: int = 24) -> list[Consumption]:
    """Return the account's stored months among the ``months`` months ending with ``last_month``."""
    index = last_month.year * 12 + last_month.month - 1 - (months - 1)
    first = date(index // 12, index % 12 + 1, 1)
    return list(
        db.session.scalars(
            sa.select(Consumption)
            .where(
                Consumption.account_id == account_id,
                Consumption.month >= first,
                Consumption.month <= last_month,
            )
            .order_by(Consumption.month)
        )
    )


@dataclass(frozen=True)
class ConsumptionMonth:
    """One stored month of an account, with its peak kVA (given, or from kW)."""

    month: date
    kwh: Decimal
    peak_kva: Decimal | None
    from_kw: bool


def account_consumption(account, months: int = 24) -> dict | None:
    """Return the account's last ``months`` stored months (up to its newest) and its
    utilisation over the newest 12 of them (100 × the highest peak kVA ÷ ``transformer_kva``,
    the power factor of the newest month's year), or None when it has no consumption."""
    last = db.session.scalar(
        sa.select(sa.func.max(Consumption.month)).where(Consumption.account_id == account.id)
    )
    if last is None:
        return None
    if isinstance(last, str):  # SQLite hands an aggregate's date back as text
        last = date.fromisoformat(last)
    power_factor = settings_for(last.year).power_factor
    rows = []
    for row in consumption_months(account.id, last, months):
        if row.peak_kva is not None:
            peak, from_kw = Decimal(row.peak_kva), False
        elif row.peak_kw is not None:
            peak, from_kw = (
                (Decimal(row.peak_kw) / power_factor).quantize(_CENT, rounding=ROUND_HALF_UP),
                True,
            )
        else:
            peak, from_kw = None, False
        rows.append(ConsumptionMonth(row.month, Decimal(row.kwh), peak, from_kw))
    recent = [
        r.peak_kva
        for r in rows[-12:]
        if r.peak_kva is not None
        and ((last.year * 12 + last.month) - (r.month.year * 12 + r.month.month) < 12)
    ]
    peak = max(recent) if recent else None
    kva = Decimal(account.transformer_kva) if account.transformer_kva else None
    utilisation = None
    if peak is not None and kva:
        utilisation = (Decimal(100) * peak / kva).quantize(_CENT, rounding=ROUND_HALF_UP)
    return {
        "months": rows,
        "peak_kva": peak,
        "transformer_kva": kva,
        "utilisation_pct": utilisation,
        "power_factor": power_factor,
    }


def planned_business_visits(user, today: date, limit: int = 100) -> list[Activity]:
    """Return the planned BIZ visits dated today or later that ``user`` should make: a KAMR's
    own, or those of the accounts in an office manager's scope (the due list shows them; the
    overdue ones are already among its overdue plans)."""
    from sqlalchemy.orm import selectinload

    from kamcrm.org.access import scope_condition

    statement = (
        sa.select(Activity)
        .join(Account, Account.id == Activity.account_id)
        .where(
            Activity.type == "BIZ",
            Activity.status == "planned",
            Activity.activity_date >= today,
            scope_condition(user, Account.office_id),
        )
    )
    if user is not None and user.role == "kamr":
        statement = statement.where(Activity.performed_by_id == user.id)
    statement = statement.options(selectinload(Activity.account)).order_by(
        Activity.activity_date, Account.account_no
    )
    return list(db.session.scalars(statement.limit(limit)))
