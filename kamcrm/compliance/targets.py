"""A year's targets: the SPEC section 4 defaults, overridden per year by stored rows.

A year with no stored rows uses the defaults. The first change to a year's targets
writes the defaults of that year to the tables (see ``operations.materialise_year``), so
from then on the stored rows are the whole truth for that year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from kamcrm.accounts.models import TIERS
from kamcrm.activities.models import ACTIVITY_TYPES
from kamcrm.compliance.models import ExecutiveVisitQuota, FrequencyRule, PlannedPopulation
from kamcrm.extensions import db
from kamcrm.org.models import EXEC_ROLES

#: The report form's item number of each activity type (SPEC section 3).
ITEM_OF_TYPE = {
    "FMS": "1.1.1",
    "RBA": "1.1.2",
    "COM": "1.1.3",
    "EXV": "1.2",
    "SEM": "1.3",
    "PLN": "1.1.3",
    "BOI": "1.5",
    "BIZ": "4.3",
}
#: Types that may carry a frequency rule; executive visits have quotas instead, and business
#: visits (BIZ) are measured against the prospect lists (CR1 4.3), not the CR2.
RULE_TYPES = tuple(t for t in ACTIVITY_TYPES if t not in ("EXV", "BIZ"))
#: Types reported as plain counts, with their item numbers, in report order.
COUNT_TYPES = (("PLN", "1.1.3"), ("BOI", "1.5"))

#: SPEC section 4: (item, type, tier, period, min_count, target %), in the table's order.
DEFAULT_RULES = (
    ("1.1.1", "FMS", "STRATEGIC", "year", 1, 100),
    ("1.1.1", "FMS", "STAR", "year", 1, 100),
    ("1.1.1", "FMS", "STATUS", "year", 1, 100),
    ("1.1.2", "RBA", "STRATEGIC", "year", 1, 100),
    ("1.1.2", "RBA", "STAR", "year", 1, 100),
    ("1.1.2", "RBA", "STATUS", "year", 1, 100),
    ("1.1.2", "RBA", "STREAMLINE", "year", 1, 40),
    ("1.1.3", "COM", "STRATEGIC", "quarter", 1, 100),
    ("1.1.3", "COM", "STAR", "quarter", 1, 100),
    ("1.1.3", "COM", "STATUS", "quarter", 1, 100),
    ("1.1.3", "COM", "STREAMLINE", "half", 1, 100),
    ("1.3", "SEM", "STRATEGIC", "year", 1, 100),
)
#: Distinct accounts visited per quarter per unit, in EXEC_ROLES order.
DEFAULT_QUOTAS = {"region_director": 1, "assistant_director": 3, "office_manager": 6}
#: Accounts per tier in the plan; None: the plan gives no figure.
DEFAULT_PLANNED = {"STRATEGIC": 165, "STAR": 106, "STATUS": 272, "STREAMLINE": None}


@dataclass(frozen=True)
class RuleTarget:
    """At least ``min_count`` done activities of ``type`` per ``tier`` account per ``period``."""

    item: str
    type: str
    tier: str
    period: str
    min_count: int
    target_pct: Decimal

    @property
    def key(self) -> str:
        """The rule's name in commands and messages, e.g. ``FMS:STAR``."""
        return f"{self.type}:{self.tier}"


@dataclass(frozen=True)
class QuotaTarget:
    """Distinct accounts ``exec_role`` must visit per quarter, per unit."""

    exec_role: str
    quota_per_quarter: int


@dataclass(frozen=True)
class YearTargets:
    """Everything a year's CR2 report measures against."""

    year: int
    #: Frequency rules in the order of SPEC section 4.
    rules: tuple[RuleTarget, ...]
    #: One quota per executive role, in EXEC_ROLES order.
    quotas: tuple[QuotaTarget, ...]
    #: Planned population per tier (None where the plan gives none), in TIERS order.
    planned: tuple[tuple[str, int | None], ...]
    #: True when the year has stored targets, False when it uses the defaults.
    stored: bool = field(default=False)

    def rule(self, type_: str, tier: str) -> RuleTarget | None:
        """Return the rule for ``type_`` and ``tier``, or None."""
        return next((r for r in self.rules if r.type == type_ and r.tier == tier), None)

    def quota(self, exec_role: str) -> int:
        """Return the per-quarter quota of ``exec_role``."""
        return next(q.quota_per_quarter for q in self.quotas if q.exec_role == exec_role)

    def planned_population(self, tier: str) -> int | None:
        """Return the planned population of ``tier``, or None."""
        return dict(self.planned).get(tier)

    def as_dict(self) -> dict:
        """Return the targets as JSON-safe data."""
        return {
            "year": self.year,
            "stored": self.stored,
            "rules": [
                {
                    "item": r.item,
                    "type": r.type,
                    "tier": r.tier,
                    "period": r.period,
                    "min_count": r.min_count,
                    "target_pct": float(r.target_pct),
                }
                for r in self.rules
            ],
            "executive_visit_quotas": {q.exec_role: q.quota_per_quarter for q in self.quotas},
            "planned_populations": dict(self.planned),
        }


def rule_order(item: str, type_: str, tier: str) -> tuple:
    """Return the sort key that puts rules in the order of SPEC section 4."""
    return (
        tuple(int(part) for part in item.split(".") if part.isdigit()),
        ACTIVITY_TYPES.index(type_),
        TIERS.index(tier),
    )


def default_rules() -> tuple[RuleTarget, ...]:
    """Return the frequency rules of SPEC section 4."""
    return tuple(
        RuleTarget(item, type_, tier, period, min_count, Decimal(pct))
        for item, type_, tier, period, min_count, pct in DEFAULT_RULES
    )


def default_targets(year: int) -> YearTargets:
    """Return the SPEC section 4 targets for ``year``."""
    return YearTargets(
        year=year,
        rules=default_rules(),
        quotas=tuple(QuotaTarget(role, DEFAULT_QUOTAS[role]) for role in EXEC_ROLES),
        planned=tuple((tier, DEFAULT_PLANNED[tier]) for tier in TIERS),
        stored=False,
    )


def has_stored_targets(year: int) -> bool:
    """Return whether ``year`` has targets of its own in the database."""
    stored = sa.or_(
        *(
            sa.exists().where(model.year == year)
            for model in (FrequencyRule, ExecutiveVisitQuota, PlannedPopulation)
        )
    )
    return bool(db.session.execute(sa.select(stored)).scalar())


def year_targets(year: int) -> YearTargets:
    """Return the targets of ``year``: its stored rows, or the defaults where it has none.

    A stored year's rules are exactly its rows (it may have dropped or added a rule);
    quotas and planned populations fall back to the default for a role or tier without a row.
    """
    rules = (
        db.session.execute(sa.select(FrequencyRule).where(FrequencyRule.year == year))
        .scalars()
        .all()
    )
    quotas = dict(
        db.session.execute(
            sa.select(ExecutiveVisitQuota.exec_role, ExecutiveVisitQuota.quota_per_quarter).where(
                ExecutiveVisitQuota.year == year
            )
        ).all()
    )
    planned = dict(
        db.session.execute(
            sa.select(PlannedPopulation.tier, PlannedPopulation.planned).where(
                PlannedPopulation.year == year
            )
        ).all()
    )
    if not (rules or quotas or planned):
        return default_targets(year)
    rule_targets = tuple(
        sorted(
            (
                RuleTarget(r.item, r.type, r.tier, r.period, r.min_count, Decimal(r.target_pct))
                for r in rules
            ),
            key=lambda r: rule_order(r.item, r.type, r.tier),
        )
    )
    return YearTargets(
        year=year,
        rules=rule_targets,
        quotas=tuple(
            QuotaTarget(role, quotas.get(role, DEFAULT_QUOTAS[role])) for role in EXEC_ROLES
        ),
        planned=tuple((tier, planned.get(tier, DEFAULT_PLANNED[tier])) for tier in TIERS),
        stored=True,
    )
