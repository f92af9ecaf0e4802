"""The ``complaint_prevention`` entry of the CR2 JSON (SPEC section 8, plan 2.2): the counts
of ``kamcrm.prevention.queries.prevention_counts`` shaped into the report's columns.

Per cumulative column Q1-k (null when Qk starts after ``as_of``), over the class 1-3
offices in scope (N):

* ``with_plan``: offices whose plan for the year was submitted by the column's last day
  (the end of Qk, cut at ``as_of``);
* the reports on quarters 1..k that have ended by ``as_of``: ``reports_due`` = N × those
  quarters, each ``on_time`` (submitted by ``as_of`` and within 10 days after the quarter's
  end), ``late`` (submitted by ``as_of``, after that), ``missing`` (none by ``as_of``, which
  is past the due day) or ``pending`` (none yet, the due day not passed);
* ``pct`` = 100 × on_time / (on_time + late + missing), rounded half up to 2 decimals
  (null when that is 0); ``target_met``: every office has a plan and every judged report
  was on time (null when there are no offices); ``final`` = (pending = 0).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from kamcrm.org.scope import Scope
from kamcrm.prevention.models import REPORT_DAYS
from kamcrm.prevention.queries import prevention_counts, report_due_on

_CENT = Decimal("0.01")


def _pct(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float((Decimal(100) * part / Decimal(whole)).quantize(_CENT, rounding=ROUND_HALF_UP))


def prevention_entry(
    scope: Scope, year: int, as_of: date, columns: tuple[str, ...], ends: list[date | None]
) -> dict:
    """Return the CR2 JSON's ``complaint_prevention`` entry (see the module's rules)."""
    counts = prevention_counts(scope, year, as_of, [end for end in ends if end is not None])
    offices = counts["offices"]
    cumulative = {}
    for k, (column, end) in enumerate(zip(columns, ends), start=1):
        if end is None:
            cumulative[column] = None
            continue
        on_time = late = missing = pending = 0
        quarters = [q for q in range(1, k + 1) if q in counts["reports"]]
        for q in quarters:
            in_time, after = counts["reports"][q]
            on_time, late = on_time + in_time, late + after
            unsent = offices - in_time - after
            if as_of > report_due_on(year, q):
                missing += unsent
            else:
                pending += unsent
        with_plan = counts["plans"][end]
        pct = _pct(on_time, on_time + late + missing)
        cumulative[column] = {
            "offices": offices,
            "with_plan": with_plan,
            "plan_pct": _pct(with_plan, offices),
            "reports_due": offices * len(quarters),
            "on_time": on_time,
            "late": late,
            "missing": missing,
            "pending": pending,
            "pct": pct,
            "target_met": None
            if not offices
            else (with_plan == offices and (pct is None or pct >= 100)),
            "final": pending == 0,
        }
    return {"item": "2.2", "report_days": REPORT_DAYS, "offices": offices, "cumulative": cumulative}
