"""The ``complaints`` rows of the CR2 JSON (SPEC section 8, plan 2.1): the counts of
``kamcrm.complaints.queries.plan2_counts`` shaped into the report's rows and columns."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from kamcrm.complaints.models import Complaint
from kamcrm.complaints.queries import MET, MISSED, PENDING, closed_by, is_open, plan2_counts
from kamcrm.complaints.targets import ComplaintTargets, complaint_targets
from kamcrm.extensions import db
from kamcrm.org.scope import Scope
from kamcrm.periods import BANGKOK, month_end

_CENT = Decimal("0.01")


def _cell(counts: dict, target_pct: Decimal) -> dict:
    met, missed, pending = counts[MET], counts[MISSED], counts[PENDING]
    judged = met + missed
    pct = (
        None
        if not judged
        else (Decimal(100) * met / Decimal(judged)).quantize(_CENT, rounding=ROUND_HALF_UP)
    )
    return {
        "received": met + missed + pending,
        "excluded": counts["excluded"],
        "met": met,
        "missed": missed,
        "pending": pending,
        "pct": None if pct is None else float(pct),
        "target_met": None if pct is None else pct >= target_pct,
        "final": pending == 0,
    }


def _sum(cells: list[dict]) -> dict:
    return {key: sum(cell[key] for cell in cells) for key in ("excluded", MET, MISSED, PENDING)}


def complaint_rows(
    scope: Scope,
    year: int,
    as_of: date,
    columns: tuple[str, ...],
    ends: list[date | None],
    targets: ComplaintTargets | None = None,
) -> list[dict]:
    """Return the CR2 JSON's ``complaints`` list: 2.1a per category of the year and in total,
    then 2.1b, 2.1c, 2.1d; ``ends`` gives each column's last day (None: a null column)."""
    targets = targets or complaint_targets(year)
    live = [end for end in ends if end is not None]
    counts = plan2_counts(scope, targets, as_of, live)
    rows = []

    def row(
        item: str, category: str | None, limit_days, limit_hours, target_pct: Decimal, pick
    ) -> dict:
        return {
            "item": item,
            "category": category,
            "urgent_only": targets.item(item).urgent_only,
            "limit_days": limit_days,
            "limit_hours": limit_hours,
            "target_pct": float(target_pct),
            "cumulative": {
                column: None if end is None else _cell(pick(end), target_pct)
                for column, end in zip(columns, ends)
            },
        }

    by_category = targets.item("2.1a")
    for code, days in targets.categories:
        rows.append(
            row(
                "2.1a",
                code,
                days,
                None,
                by_category.target_pct,
                lambda end, code=code: counts[(end, code)],
            )
        )
    rows.append(
        row(
            "2.1a",
            None,
            None,
            None,
            by_category.target_pct,
            lambda end: _sum([counts[(end, code)] for code in targets.category_codes]),
        )
    )
    for item in ("2.1b", "2.1c", "2.1d"):
        target = targets.item(item)
        rows.append(
            row(
                item,
                None,
                target.limit_days,
                target.limit_hours,
                target.target_pct,
                lambda end, item=item: counts[(end, item)],
            )
        )
    return rows


def monthly_complaint_return(
    year: int, month: int, scope: Scope, targets: ComplaintTargets | None = None
) -> dict:
    """Return the monthly complaint return (SPEC section 8) of ``scope`` for a month, as of
    its last day: complaints received, closed and open at month end; every plan 2.1 row for
    the complaints received in the month; and the 2.1a total by customer group (the tier the
    account held on the day received, or ``null``: not a key account)."""
    targets = targets or complaint_targets(year)
    start, end = date(year, month, 1), month_end(year, month)
    counts = plan2_counts(scope, targets, end, [end], start=start, by_tier=True)
    first_instant = datetime.combine(start, time(0), BANGKOK)
    in_scope = scope.covers(Complaint.office_id)
    received, closed, still_open = db.session.execute(
        sa.select(
            sa.func.count().filter(Complaint.received_on.between(start, end)),
            sa.func.count().filter(closed_by(end), Complaint.closed_at >= first_instant),
            sa.func.count().filter(Complaint.received_on <= end, is_open(end)),
        ).where(in_scope)
    ).one()
    rows = _rows_of(targets, counts, end)
    groups = []
    for tier in ("STRATEGIC", "STAR", "STATUS", "STREAMLINE", None):
        cell = counts.get((end, ("tier", tier)), {"excluded": 0, MET: 0, MISSED: 0, PENDING: 0})
        groups.append({"tier": tier, "month": _cell(cell, targets.item("2.1a").target_pct)})
    return {
        "report": "complaints",
        "month": f"{year:04d}-{month:02d}",
        "as_of": end.isoformat(),
        "scope": scope.code,
        "received": int(received),
        "closed": int(closed),
        "open_at_month_end": int(still_open),
        "rows": rows,
        "customer_groups": groups,
    }


def _rows_of(targets: ComplaintTargets, counts: dict, end: date) -> list[dict]:
    """The plan 2.1 rows of one column (``month``), in the CR2's order."""
    by_category = targets.item("2.1a")
    found = []

    def row(item, category, limit_days, limit_hours, target_pct, cell):
        found.append(
            {
                "item": item,
                "category": category,
                "urgent_only": targets.item(item).urgent_only,
                "limit_days": limit_days,
                "limit_hours": limit_hours,
                "target_pct": float(target_pct),
                "month": _cell(cell, target_pct),
            }
        )

    for code, days in targets.categories:
        row("2.1a", code, days, None, by_category.target_pct, counts[(end, code)])
    row(
        "2.1a",
        None,
        None,
        None,
        by_category.target_pct,
        _sum([counts[(end, code)] for code in targets.category_codes]),
    )
    for item in ("2.1b", "2.1c", "2.1d"):
        target = targets.item(item)
        row(
            item,
            None,
            target.limit_days,
            target.limit_hours,
            target.target_pct,
            counts[(end, item)],
        )
    return found
