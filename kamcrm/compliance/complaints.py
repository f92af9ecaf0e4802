"""The ``complaints`` rows of the CR2 JSON (SPEC section 8, plan 2.1): the counts of
``kamcrm.complaints.queries.plan2_counts`` shaped into the report's rows and columns."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from kamcrm.complaints.queries import MET, MISSED, PENDING, plan2_counts
from kamcrm.complaints.targets import ComplaintTargets, complaint_targets
from kamcrm.org.scope import Scope

_CENT = Decimal("0.01")


def _cell(counts: dict, target_pct: Decimal) -> dict:
    met, missed, pending = counts[MET], counts[MISSED], counts[PENDING]
    judged = met + missed
    pct = None if not judged else (Decimal(100) * met / Decimal(judged)).quantize(_CENT, rounding=ROUND_HALF_UP)
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


def complaint_rows(scope: Scope, year: int, as_of: date, columns: tuple[str, ...], ends: list[date | None],
                   targets: ComplaintTargets | None = None) -> list[dict]:
    """Return the CR2 JSON's ``complaints`` list: 2.1a per category of the year and in total,
    then 2.1b, 2.1c, 2.1d; ``ends`` gives each column's last day (None: a null column)."""
    targets = targets or complaint_targets(year)
    live = [end for end in ends if end is not None]
    counts = plan2_counts(scope, targets, as_of, live)
    rows = []

    def row(item: str, category: str | None, limit_days, limit_hours, target_pct: Decimal, pick) -> dict:
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
        rows.append(row("2.1a", code, days, None, by_category.target_pct, lambda end, code=code: counts[(end, code)]))
    rows.append(row("2.1a", None, None, None, by_category.target_pct,
                    lambda end: _sum([counts[(end, code)] for code in targets.category_codes])))
    for item in ("2.1b", "2.1c", "2.1d"):
        target = targets.item(item)
        rows.append(row(item, None, target.limit_days, target.limit_hours, target.target_pct,
                        lambda end, item=item: counts[(end, item)]))
    return rows
