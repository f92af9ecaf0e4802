"""A year's complaint categories, limits and targets: SPEC section 8's defaults, overridden
per year by stored rows.

A year with no stored rows uses the defaults. The first change to a year writes its
defaults to the tables (``operations.materialise_complaint_year``), so from then on the
stored rows are the whole truth for that year, as with the activity targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from kamcrm.complaints.models import (
    ITEMS,
    ComplaintCategory,
    ComplaintItemTarget,
    ComplaintTierLimit,
)
from kamcrm.extensions import db

#: SPEC section 8: category → close within, days, in the table's order.
DEFAULT_CATEGORIES = (
    ("POWER_QUALITY", 25),
    ("SERVICE_QUALITY", 25),
    ("METER_BILLING", 15),
    ("DISCONNECTION", 20),
    ("NETWORK", 20),
    ("OTHER", 20),
)
#: SPEC section 8: item → (limit_days, limit_hours, target %). 2.1a's limit is each category's.
DEFAULT_ITEMS = {
    "2.1a": (None, None, 85),
    "2.1b": (None, 24, 100),
    "2.1c": (30, None, 100),
    "2.1d": (15, None, 70),
}
#: Which complaints each item counts: 2.1b the urgent ones only.
URGENT_ONLY = {"2.1a": False, "2.1b": True, "2.1c": False, "2.1d": False}


@dataclass(frozen=True)
class ItemTarget:
    """The limit (days or hours; none for 2.1a) and target % of a plan 2 item."""

    item: str
    limit_days: int | None
    limit_hours: int | None
    target_pct: Decimal

    @property
    def urgent_only(self) -> bool:
        return URGENT_ONLY[self.item]


@dataclass(frozen=True)
class ComplaintTargets:
    """Everything a year's complaints are measured against."""

    year: int
    #: (code, limit_days) in the year's order.
    categories: tuple[tuple[str, int], ...]
    #: ((category, tier), limit_days): the limits "by customer group".
    tier_limits: tuple[tuple[tuple[str, str], int], ...]
    #: One per item of ``ITEMS``, in that order.
    items: tuple[ItemTarget, ...]
    stored: bool = field(default=False)

    @property
    def category_codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.categories)

    def item(self, item: str) -> ItemTarget:
        return next(target for target in self.items if target.item == item)

    def limit_days(self, category: str, tier: str | None) -> int | None:
        """Return the 2.1a limit of a complaint of ``category`` whose account held ``tier``
        on the day it came in (None: the category is not one of the year's)."""
        if tier is not None:
            for key, days in self.tier_limits:
                if key == (category, tier):
                    return days
        return dict(self.categories).get(category)

    def as_dict(self) -> dict:
        """Return the targets as JSON-safe data."""
        return {
            "year": self.year,
            "stored": self.stored,
            "categories": [{"code": code, "limit_days": days} for code, days in self.categories],
            "tier_limits": [
                {"category": category, "tier": tier, "limit_days": days}
                for (category, tier), days in self.tier_limits
            ],
            "items": [
                {
                    "item": t.item,
                    "limit_days": t.limit_days,
                    "limit_hours": t.limit_hours,
                    "target_pct": float(t.target_pct),
                }
                for t in self.items
            ],
        }


def default_complaint_targets(year: int) -> ComplaintTargets:
    """Return the SPEC section 8 defaults for ``year``."""
    return ComplaintTargets(
        year=year,
        categories=DEFAULT_CATEGORIES,
        tier_limits=(),
        items=tuple(
            ItemTarget(item, *DEFAULT_ITEMS[item][:2], Decimal(DEFAULT_ITEMS[item][2]))
            for item in ITEMS
        ),
    )


def has_stored_complaint_targets(year: int) -> bool:
    """Return whether ``year`` has complaint settings of its own."""
    stored = sa.or_(
        *(
            sa.exists().where(model.year == year)
            for model in (ComplaintCategory, ComplaintTierLimit, ComplaintItemTarget)
        )
    )
    return bool(db.session.execute(sa.select(stored)).scalar())


def complaint_targets(year: int) -> ComplaintTargets:
    """Return the complaint settings of ``year``: its stored rows, or the defaults."""
    categories = db.session.execute(
        sa.select(ComplaintCategory.code, ComplaintCategory.limit_days)
        .where(ComplaintCategory.year == year)
        .order_by(ComplaintCategory.position, ComplaintCategory.code)
    ).all()
    tier_limits = db.session.execute(
        sa.select(
            ComplaintTierLimit.category, ComplaintTierLimit.tier, ComplaintTierLimit.limit_days
        )
        .where(ComplaintTierLimit.year == year)
        .order_by(ComplaintTierLimit.category, ComplaintTierLimit.tier)
    ).all()
    items = {
        row.item: row
        for row in db.session.execute(
            sa.select(ComplaintItemTarget).where(ComplaintItemTarget.year == year)
        ).scalars()
    }
    if not (categories or tier_limits or items):
        return default_complaint_targets(year)
    defaults = default_complaint_targets(year)
    return ComplaintTargets(
        year=year,
        categories=tuple((code, days) for code, days in categories),
        tier_limits=tuple(((category, tier), days) for category, tier, days in tier_limits),
        items=tuple(
            ItemTarget(
                item,
                items[item].limit_days,
                items[item].limit_hours,
                Decimal(items[item].target_pct),
            )
            if item in items
            else defaults.item(item)
            for item in ITEMS
        ),
        stored=True,
    )
