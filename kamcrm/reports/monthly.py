"""The monthly CRM-Plus-style summary (SPEC section 6.2): figures, kept snapshots, differences.

One summary covers one month and one scope: a row per class 1-3 office (its branches
rolled up; accounts held at the regional office get a row of their own) and a total.
Counts come from grouped SQL over the whole scope; coverage and executive-visit quotas
come from the compliance engine, asked once for all offices (``by_unit``).

A summary is kept as a ``MonthlySummary``: ``reported`` by the job on the 6th (after the
5-day recording deadline), ``on_demand`` whenever someone asks. Each keeps the id and
version of every done activity it counted (year to date), so a later look can list the
entries that arrived late, changed or went away since.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from kamcrm.accounts.models import TIERS, Account
from kamcrm.accounts.queries import active_on, tier_on
from kamcrm.activities.models import ACTIVITY_TYPES, Activity
from kamcrm.activities.queries import is_late_entry
from kamcrm.compliance.engine import (
    coverage,
    executive_visit_counts,
    percentage,
    quota_units,
    unit_office_id,
)
from kamcrm.compliance.targets import YearTargets, year_targets
from kamcrm.errors import Message, NotFound
from kamcrm.extensions import db
from kamcrm.org.access import scope_for
from kamcrm.org.models import EXEC_ROLES, MANAGED_OFFICE_CLASSES, Office, User
from kamcrm.org.scope import Scope, region_office, region_scope
from kamcrm.periods import (
    Window,
    cumulative_windows,
    month_key,
    month_window,
    parse_month,
    period_containing,
    quarter_of,
    recording_deadline,
)
from kamcrm.reports.models import MonthlySummary

#: Rule types whose coverage the summary shows: year to date (the CR2 cell of the month's
#: quarter, as of the month's end) or the rule's own current period to date.
YEAR_TO_DATE_TYPES = ("FMS", "RBA")
PERIOD_TO_DATE_TYPES = ("COM",)
#: Row key of the accounts held at the regional office itself (no quota unit).
REGIONAL_ROW = None


class NotReportedYet(NotFound):
    """The summary as reported was asked for before the job kept it."""


# --- figures -----------------------------------------------------------------------------


def build_summary(year: int, month: int, scope: Scope, *, with_counted: bool = True) -> dict:
    """Return the summary of ``month`` within ``scope`` as of now (JSON-safe, not kept).

    ``with_counted`` False leaves out ``counted`` (the id and version of every done
    activity of the year so far, the bulk of the work): only keeping a summary and
    comparing one with a kept summary need it.
    """
    days = month_window(year, month)
    by_unit = scope.is_region
    offices = _row_offices(scope)
    rows = {key: _empty_row(office) for key, office in offices.items()}

    # An office scope is one row: its unit column is a constant, which must stay out of
    # GROUP BY (PostgreSQL refuses a constant there).
    unit = unit_office_id() if by_unit else sa.null()
    for key, tier, accounts in _tier_counts(scope, unit, days.end):
        _row(rows, key)["accounts"][tier] += accounts
    for key, type_, activities, accounts in _activity_counts(scope, unit, days):
        row = _row(rows, key)
        row["activities"][type_]["activities"] += activities
        row["activities"][type_]["accounts"] += accounts
    for key, role, visits, accounts in _executive_visit_counts(scope, unit, days):
        row = _row(rows, key)
        row["executive_visits"][role]["visits"] += visits
        row["executive_visits"][role]["accounts"] += accounts

    targets = year_targets(year)
    _add_coverage(rows, scope, targets, days.end, by_unit)
    totals = _add_quarter_visits(rows, scope, targets, days.end, by_unit)
    late_entries = _late_entries(scope, unit, year, days, rows)
    counted = _counted(scope, unit, year, days, rows) if with_counted else None

    # The regional office's own row shows only when it holds accounts or activities.
    if scope.is_region and REGIONAL_ROW in rows and _is_empty(rows[REGIONAL_ROW]):
        del rows[REGIONAL_ROW]
    ordered = sorted(rows.values(), key=lambda row: (row["office_class"] == "region", row["code"]))
    total = _total(ordered, scope, totals)
    return {
        "report": "monthly",
        "month": month_key(year, month),
        "scope": scope.code,
        "scope_name": _scope_name(scope),
        "period": {
            "start": days.start.isoformat(),
            "end": days.end.isoformat(),
            "quarter": quarter_of(days.end),
            "recording_deadline": recording_deadline(days.end).isoformat(),
        },
        "offices": ordered,
        "total": total,
        "late_entries": late_entries,
        "late_by_user": _late_by_user(late_entries),
        **({"counted": counted} if with_counted else {}),
    }


def _scope_name(scope: Scope) -> str:
    if scope.is_region:
        office = region_office()
        return office.name if office else scope.code
    return db.session.get(Office, scope.office_id).name


def _row_offices(scope: Scope) -> dict:
    """Return the offices that get a row, keyed by quota unit (None: the regional office)."""
    if not scope.is_region:
        return {REGIONAL_ROW: db.session.get(Office, scope.office_id)}
    offices = db.session.execute(
        sa.select(Office).where(Office.office_class.in_((*MANAGED_OFFICE_CLASSES, "region")))
    ).scalars()
    rows = {}
    for office in offices:
        if office.office_class == "region":
            rows.setdefault(REGIONAL_ROW, office)
        else:
            rows[office.id] = office
    return rows


def _empty_row(office: Office | None) -> dict:
    return {
        "code": office.code if office else "",
        "name": office.name if office else "",
        "office_class": office.office_class if office else "region",
        "accounts": {tier: 0 for tier in TIERS},
        "activities": {type_: {"activities": 0, "accounts": 0} for type_ in ACTIVITY_TYPES},
        "coverage": [],
        "executive_visits": {
            role: {"visits": 0, "accounts": 0, "quarter_accounts": 0, "quarter_target": 0}
            for role in EXEC_ROLES
        },
        "late": {"month": 0, "year_to_date": 0},
    }


def _row(rows: dict, key) -> dict:
    # A unit whose office is outside the listed ones cannot exist (every office is a
    # class 1-3 office, a branch of one, or the regional office); keep the figure anyway.
    # Not ``setdefault``: that would build an empty row on every call (once per activity
    # counted, thousands per summary).
    row = rows.get(key)
    if row is None:
        row = rows[key] = _empty_row(None)
    return row


def _is_empty(row: dict) -> bool:
    return not any(row["accounts"].values()) and not any(
        figures["activities"] for figures in row["activities"].values()
    )


def _tier_counts(scope: Scope, unit, day: date):
    """Yield (unit, tier, accounts) of the accounts active on ``day``, by their tier that day."""
    tiered = (
        sa.select(unit.label("unit"), tier_on(Account.id, day).label("tier"))
        .select_from(Account)
        .join(Office, Office.id == Account.office_id)
        .where(scope.covers(Account.office_id), active_on(day))
        .subquery()
    )
    query = (
        sa.select(tiered.c.unit, tiered.c.tier, sa.func.count())
        .where(tiered.c.tier.is_not(None))
        .group_by(tiered.c.unit, tiered.c.tier)
    )
    return db.session.execute(query).all()


def _done_in(scope: Scope, days: Window):
    """Return the conditions of done activities in ``days`` on accounts within ``scope``."""
    return (
        Activity.status == "done",
        Activity.activity_date.between(days.start, days.end),
        scope.covers(Account.office_id),
    )


def _activity_counts(scope: Scope, unit, days: Window):
    """Return (unit, type, activities, distinct accounts) of done activities in ``days``.

    Grouped by type alone: an account visited by two executives in the month is one EXV
    account, not one per executive role.
    """
    query = (
        sa.select(
            unit.label("unit"),
            Activity.type,
            sa.func.count(),
            sa.func.count(sa.distinct(Activity.account_id)),
        )
        .join(Account, Account.id == Activity.account_id)
        .join(Office, Office.id == Account.office_id)
        .where(*_done_in(scope, days))
        .group_by(Activity.type)
    )
    if scope.is_region:
        query = query.group_by(unit)
    return db.session.execute(query).all()


def _executive_visit_counts(scope: Scope, unit, days: Window):
    """Return (unit, executive role, visits, distinct accounts) of done EXVs in ``days``."""
    query = (
        sa.select(
            unit.label("unit"),
            Activity.exec_role,
            sa.func.count(),
            sa.func.count(sa.distinct(Activity.account_id)),
        )
        .join(Account, Account.id == Activity.account_id)
        .join(Office, Office.id == Account.office_id)
        .where(Activity.type == "EXV", *_done_in(scope, days))
        .group_by(Activity.exec_role)
    )
    if scope.is_region:
        query = query.group_by(unit)
    return db.session.execute(query).all()


def _coverage_windows(targets: YearTargets, last_day: date):
    """Return (rule, label, windows) of every rule the summary shows coverage for."""
    through = quarter_of(last_day)
    shown = []
    for rule in targets.rules:
        if rule.type in YEAR_TO_DATE_TYPES:
            shown.append(
                (
                    rule,
                    "year_to_date",
                    cumulative_windows(rule.period, targets.year, through, last_day),
                )
            )
        elif rule.type in PERIOD_TO_DATE_TYPES:
            current = period_containing(rule.period, last_day).cut(last_day)
            shown.append((rule, "period_to_date", [current]))
    return shown


def _add_coverage(
    rows: dict, scope: Scope, targets: YearTargets, last_day: date, by_unit: bool
) -> None:
    """Add each row's coverage cells: the engine's N and M, summed over the cell's windows."""
    shown = _coverage_windows(targets, last_day)
    pairs = [(rule, window) for rule, _, windows in shown for window in windows]
    if not pairs:
        return
    found = coverage(scope, pairs, by_unit=by_unit)
    per_unit = found if by_unit else {REGIONAL_ROW: found}
    for key, figures in per_unit.items():
        row = _row(rows, key)
        row["coverage"] = [
            _coverage_cell(
                rule,
                label,
                windows,
                sum(figures[(rule, w)].population for w in windows),
                sum(figures[(rule, w)].met for w in windows),
            )
            for rule, label, windows in shown
        ]
    for row in rows.values():
        if not row["coverage"]:
            row["coverage"] = [
                _coverage_cell(rule, label, windows, 0, 0) for rule, label, windows in shown
            ]


def _coverage_cell(rule, label: str, windows: list[Window], population: int, met: int) -> dict:
    pct = percentage(met, population)
    return {
        "item": rule.item,
        "type": rule.type,
        "tier": rule.tier,
        "period": rule.period,
        "window": label,
        "start": min(w.start for w in windows).isoformat(),
        "end": max(w.end for w in windows).isoformat(),
        "target_pct": float(rule.target_pct),
        "population": population,
        "met": met,
        "pct": None if pct is None else float(pct),
        "target_met": None if pct is None else pct >= rule.target_pct,
    }


def _add_quarter_visits(
    rows: dict, scope: Scope, targets: YearTargets, last_day: date, by_unit: bool
) -> dict:
    """Add quarter-to-date distinct accounts visited and the quota target of office managers.

    Each office row gets its own unit's figures. The region director's and assistant
    directors' quotas are regional: their quarter figures are returned for the total row
    of the region only.
    """
    quarter = quarter_of(last_day)
    visits = executive_visit_counts(scope, targets.year, last_day)
    units = quota_units(scope, targets.year)
    totals = {}
    for role in EXEC_ROLES:
        quota = targets.quota(role)
        achieved = {
            unit: accounts
            for (unit, q), accounts in visits.get(role, {}).items()
            if q == quarter and unit in units[role]
        }
        if role != "office_manager":
            if scope.is_region:
                totals[role] = {
                    "quarter_accounts": sum(achieved.values()),
                    "quarter_target": quota * len(units[role]),
                }
            continue
        for unit in units[role]:
            key = unit if by_unit else REGIONAL_ROW
            figures = _row(rows, key)["executive_visits"][role]
            figures["quarter_accounts"] = achieved.get(unit, 0)
            figures["quarter_target"] = quota
    return totals


def _late_entries(scope: Scope, unit, year: int, days: Window, rows: dict) -> list[dict]:
    """Return the done activities dated this year up to the month's end that were recorded
    late, with their accounts and people, and count them into the rows."""
    performer, recorder = aliased(User), aliased(User)
    query = (
        sa.select(
            unit.label("unit"),
            Activity.id,
            Activity.type,
            Activity.activity_date,
            Activity.recorded_at,
            Account.account_no,
            Account.name.label("account_name"),
            performer.username.label("performed_by"),
            performer.full_name.label("performed_by_name"),
            recorder.username.label("recorded_by"),
        )
        .join(Account, Account.id == Activity.account_id)
        .join(Office, Office.id == Account.office_id)
        .join(performer, performer.id == Activity.performed_by_id)
        .outerjoin(recorder, recorder.id == Activity.recorded_by_id)
        .where(
            is_late_entry(),
            Activity.activity_date.between(date(year, 1, 1), days.end),
            scope.covers(Account.office_id),
        )
        .order_by(Activity.activity_date.desc(), Activity.id)
    )
    entries = []
    for found in db.session.execute(query).all():
        row = _row(rows, found.unit)
        row["late"]["year_to_date"] += 1
        in_month = found.activity_date >= days.start
        if in_month:
            row["late"]["month"] += 1
        entries.append(
            {
                "id": found.id,
                "office": row["code"],
                "account_no": found.account_no,
                "account_name": found.account_name,
                "type": found.type,
                "activity_date": found.activity_date.isoformat(),
                "recorded_at": found.recorded_at.isoformat(),
                "deadline": recording_deadline(found.activity_date).isoformat(),
                "in_month": in_month,
                "performed_by": found.performed_by,
                "performed_by_name": found.performed_by_name,
                "recorded_by": found.recorded_by,
            }
        )
    return entries


def _late_by_user(entries: list[dict]) -> list[dict]:
    """Return who performed the late entries: entries and distinct accounts per person."""
    people: dict = {}
    for entry in entries:
        person = people.setdefault(
            entry["performed_by"],
            {
                "username": entry["performed_by"],
                "full_name": entry["performed_by_name"],
                "offices": set(),
                "entries": 0,
                "in_month": 0,
                "accounts": set(),
            },
        )
        person["entries"] += 1
        person["in_month"] += int(entry["in_month"])
        person["accounts"].add(entry["account_no"])
        person["offices"].add(entry["office"])
    ranked = sorted(people.values(), key=lambda p: (-p["entries"], p["username"]))
    return [
        {**person, "offices": sorted(person["offices"]), "accounts": sorted(person["accounts"])}
        for person in ranked
    ]


def _counted(scope: Scope, unit, year: int, days: Window, rows: dict) -> dict:
    """Return ``{office code: {activity id: version}}`` of the done activities dated this year
    up to the month's end: what the figures were computed from."""
    query = (
        sa.select(unit.label("unit"), Activity.id, Activity.version)
        .join(Account, Account.id == Activity.account_id)
        .join(Office, Office.id == Account.office_id)
        .where(
            Activity.status == "done",
            Activity.activity_date.between(date(year, 1, 1), days.end),
            scope.covers(Account.office_id),
        )
    )
    counted: dict = defaultdict(dict)
    for key, activity_id, version in db.session.execute(query).all():
        counted[_row(rows, key)["code"]][str(activity_id)] = version
    return dict(counted)


def _total(rows: list[dict], scope: Scope, quarter_visits: dict) -> dict:
    """Return the total row: sums of the rows (units partition the accounts), recomputed %."""
    total = _empty_row(None)
    total["code"] = scope.code
    total["name"] = _scope_name(scope)
    total["office_class"] = "total"
    for row in rows:
        for tier, accounts in row["accounts"].items():
            total["accounts"][tier] += accounts
        for type_, figures in row["activities"].items():
            for name, value in figures.items():
                total["activities"][type_][name] += value
        for role, figures in row["executive_visits"].items():
            for name, value in figures.items():
                total["executive_visits"][role][name] += value
        for name, value in row["late"].items():
            total["late"][name] += value
    for role, figures in quarter_visits.items():
        total["executive_visits"][role].update(figures)
    cells = {}
    for row in rows:
        for cell in row["coverage"]:
            key = (cell["type"], cell["tier"])
            if key not in cells:
                cells[key] = {**cell, "population": 0, "met": 0}
            cells[key]["population"] += cell["population"]
            cells[key]["met"] += cell["met"]
    for cell in cells.values():
        pct = percentage(cell["met"], cell["population"])
        cell["pct"] = None if pct is None else float(pct)
        cell["target_met"] = None if pct is None else pct >= Decimal(str(cell["target_pct"]))
    total["coverage"] = list(cells.values())
    return total


def narrow_to_office(summary: dict, code: str) -> dict:
    """Return the part of a region summary that covers one class 1-3 office (and its branches).

    Gives the same figures as ``build_summary`` for that office's scope, without asking
    the database again: the job keeps every office's summary from one region computation.
    """
    row = next(row for row in summary["offices"] if row["code"] == code)
    entries = [entry for entry in summary["late_entries"] if entry["office"] == code]
    total = {**row, "office_class": "total"}
    return {
        **summary,
        "scope": code,
        "scope_name": row["name"],
        "offices": [row],
        "total": total,
        "late_entries": entries,
        "late_by_user": _late_by_user(entries),
        "counted": {code: summary["counted"][code]} if code in summary["counted"] else {},
    }


# --- kept summaries ----------------------------------------------------------------------


def keep_summary(data: dict, kind: str, now: datetime, actor=None) -> MonthlySummary:
    """Keep ``data`` (from ``build_summary``) as a summary of ``kind`` generated at ``now``."""
    year, month = parse_month(data["month"])
    summary = MonthlySummary(
        month=date(year, month, 1),
        scope_code=data["scope"],
        kind=kind,
        generated_at=now,
        generated_by_id=getattr(actor, "id", None),
        data=data,
    )
    db.session.add(summary)
    db.session.flush()
    return summary


def kept_summary(year: int, month: int, scope_code: str, kind: str) -> MonthlySummary | None:
    """Return the latest kept summary of ``kind`` for the month and scope, or None."""
    return db.session.execute(
        sa.select(MonthlySummary)
        .where(
            MonthlySummary.month == date(year, month, 1),
            MonthlySummary.scope_code == scope_code,
            MonthlySummary.kind == kind,
        )
        .order_by(MonthlySummary.generated_at.desc(), MonthlySummary.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def keep_reported_summaries(year: int, month: int, now: datetime) -> str:
    """Keep the 'as reported' summary of the region and of every class 1-3 office.

    Every office's summary is cut from one region computation. A scope that already has
    its reported summary keeps it: what was reported stays what was reported, so running
    this again only fills in what is missing. Returns what it did.
    """
    region = region_scope()
    have = set(
        db.session.execute(
            sa.select(MonthlySummary.scope_code).where(
                MonthlySummary.month == date(year, month, 1), MonthlySummary.kind == "reported"
            )
        ).scalars()
    )
    summary = build_summary(year, month, region)
    wanted = [(region.code, summary)] + [
        (row["code"], None)
        for row in summary["offices"]
        if row["office_class"] in MANAGED_OFFICE_CLASSES
    ]
    kept = 0
    for code, data in wanted:
        if code in have:
            continue
        keep_summary(data if data is not None else narrow_to_office(summary, code), "reported", now)
        kept += 1
    return f"kept {kept} reported summaries of {month_key(year, month)} ({len(wanted) - kept} were kept already)"


# --- differences -------------------------------------------------------------------------


def _figures(row: dict) -> dict:
    """Flatten a row's numbers into ``{name: value}``, e.g. ``activities.COM.activities``."""
    flat = {f"accounts.{tier}": n for tier, n in row["accounts"].items()}
    for type_, figures in row["activities"].items():
        for name, value in figures.items():
            flat[f"activities.{type_}.{name}"] = value
    for cell in row["coverage"]:
        for name in ("population", "met", "pct"):
            flat[f"coverage.{cell['type']}.{cell['tier']}.{name}"] = cell[name]
    for role, figures in row["executive_visits"].items():
        for name, value in figures.items():
            flat[f"executive_visits.{role}.{name}"] = value
    for name, value in row["late"].items():
        flat[f"late.{name}"] = value
    return flat


def compare(kept: dict, current: dict) -> dict:
    """Return what differs between a kept summary and the current one.

    ``figures`` lists each number that moved, per office and for the total;
    ``activities`` lists the done activities behind it that were added (arrived late,
    or became done), changed, moved to another office, or went away (deleted, cancelled
    or re-dated) since the kept summary was generated.
    """
    figures = []
    kept_rows = {row["code"]: row for row in kept["offices"]}
    current_rows = {row["code"]: row for row in current["offices"]}
    pairs = [
        (code, kept_rows.get(code), current_rows.get(code))
        for code in dict.fromkeys([*kept_rows, *current_rows])
    ]
    pairs.append((current["total"]["code"], kept["total"], current["total"]))
    for code, before, after in pairs:
        old = _figures(before) if before else {}
        new = _figures(after) if after else {}
        for name in dict.fromkeys([*old, *new]):
            if old.get(name) != new.get(name):
                figures.append(
                    {
                        "office": code,
                        "figure": name,
                        "reported": old.get(name),
                        "now": new.get(name),
                    }
                )

    def versions(summary: dict) -> dict:
        return {
            int(activity_id): (version, code)
            for code, counted in summary.get("counted", {}).items()
            for activity_id, version in counted.items()
        }

    old_ids, new_ids = versions(kept), versions(current)
    changes = {}
    for activity_id, (version, code) in new_ids.items():
        if activity_id not in old_ids:
            changes[activity_id] = "added"
        elif old_ids[activity_id][1] != code:
            changes[activity_id] = "moved"
        elif old_ids[activity_id][0] != version:
            changes[activity_id] = "changed"
    for activity_id in old_ids.keys() - new_ids.keys():
        changes[activity_id] = "removed"
    return {"figures": figures, "activities": _describe(changes)}


def _describe(changes: dict[int, str]) -> list[dict]:
    """Return the changed activities with their accounts and people, oldest date first."""
    if not changes:
        return []
    performer = aliased(User)
    rows = db.session.execute(
        sa.select(
            Activity.id,
            Activity.type,
            Activity.status,
            Activity.activity_date,
            Activity.recorded_at,
            Activity.updated_at,
            Activity.is_late,
            Account.account_no,
            Account.name.label("account_name"),
            performer.username.label("performed_by"),
        )
        .join(Account, Account.id == Activity.account_id)
        .join(performer, performer.id == Activity.performed_by_id)
        .where(Activity.id.in_(list(changes)))
    ).all()
    found = {row.id: row for row in rows}
    described = []
    for activity_id, change in changes.items():
        row = found.get(activity_id)
        if row is None:
            described.append({"id": activity_id, "change": "deleted"})
            continue
        described.append(
            {
                "id": activity_id,
                "change": change,
                "account_no": row.account_no,
                "account_name": row.account_name,
                "type": row.type,
                "status": row.status,
                "activity_date": row.activity_date.isoformat(),
                "recorded_at": row.recorded_at.isoformat(),
                "updated_at": row.updated_at.isoformat(),
                "is_late": row.is_late,
                "performed_by": row.performed_by,
            }
        )
    described.sort(key=lambda item: (item.get("activity_date", ""), item["id"]))
    return described


# --- the entry point for the CLI, the API and pages ----------------------------------------


def monthly_report(
    month: str,
    scope: Scope,
    now: datetime,
    *,
    as_reported: bool = False,
    keep: bool = False,
    actor=None,
    changes: bool = True,
) -> dict:
    """Return the monthly summary of ``month`` (``YYYY-MM``) within ``scope``.

    As of now by default (kept as an ``on_demand`` summary when ``keep``); with
    ``as_reported`` the summary the job kept after the recording deadline, which raises
    ``NotFound`` if there is none yet. Either way ``changes`` compares the reported
    summary with now (None while nothing was reported, or when not asked for with
    ``changes=False``). ``counted`` is left out.
    """
    year, month_number = parse_month(month)
    reported = kept_summary(year, month_number, scope.code, "reported")
    if as_reported and reported is None:
        deadline = recording_deadline(month_window(year, month_number).end)
        raise NotReportedYet(
            Message(
                "no summary of %(month)s for %(scope)s was reported yet "
                "(it is kept on the day after the recording deadline, %(deadline)s)",
                month=month_key(year, month_number),
                scope=scope.code,
                deadline=deadline,
            )
        )
    compared = changes and reported is not None
    current = None
    if compared or not as_reported:
        current = build_summary(year, month_number, scope, with_counted=compared or keep)
    if as_reported:
        shown, kind, generated_at = reported.data, "reported", reported.generated_at
    else:
        shown, kind, generated_at = current, "on_demand", now
        if keep:
            keep_summary(current, "on_demand", now, actor)
    view = {key: value for key, value in shown.items() if key != "counted"}
    view["kind"] = kind
    view["generated_at"] = generated_at.isoformat()
    view["reported_at"] = reported.generated_at.isoformat() if reported else None
    view["changes"] = compare(reported.data, current) if compared else None
    return view


def monthly_report_for(user, month: str, office_code: str | None, now: datetime, **options) -> dict:
    """Return ``monthly_report`` within the scope ``user`` may see (an office in it, or all of it).

    An office outside the user's scope is ``NotFound``: out of scope is out of sight.
    """
    return monthly_report(month, scope_for(user, office_code), now, actor=user, **options)
