"""A year's targets: frequency rules, executive-visit quotas and planned populations.

A year with no rows of its own uses the defaults of SPEC section 4 (see ``targets``).
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kamcrm.accounts.models import TIERS
from kamcrm.activities.models import ACTIVITY_TYPES
from kamcrm.db import TimestampMixin, one_of
from kamcrm.extensions import db
from kamcrm.org.models import EXEC_ROLES
from kamcrm.periods import PERIOD_KINDS


class FrequencyRule(TimestampMixin, db.Model):
    """At least ``min_count`` done activities of ``type`` per account of ``tier`` per period."""

    __tablename__ = "frequency_rules"
    __table_args__ = (
        sa.CheckConstraint(one_of("type", ACTIVITY_TYPES), name="type"),
        sa.CheckConstraint(one_of("tier", TIERS), name="tier"),
        sa.CheckConstraint(one_of("period", PERIOD_KINDS), name="period"),
        sa.CheckConstraint("min_count >= 1", name="min_count_positive"),
        sa.CheckConstraint("target_pct >= 0 AND target_pct <= 100", name="target_pct_range"),
        sa.UniqueConstraint("year", "type", "tier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    #: The report form's item number, e.g. ``1.1.1``.
    item: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    type: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    tier: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    period: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    min_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    target_pct: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), nullable=False)
    #: Order of the row in the report.
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


class ExecutiveVisitQuota(TimestampMixin, db.Model):
    """Distinct accounts an executive role must visit per quarter, per unit."""

    __tablename__ = "executive_visit_quotas"
    __table_args__ = (
        sa.CheckConstraint(one_of("exec_role", EXEC_ROLES), name="exec_role"),
        sa.CheckConstraint("quota_per_quarter >= 0", name="quota_not_negative"),
        sa.UniqueConstraint("year", "exec_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    exec_role: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    quota_per_quarter: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class PlannedPopulation(TimestampMixin, db.Model):
    """The number of accounts of a tier in the year's plan (e.g. 165 STRATEGIC)."""

    __tablename__ = "planned_populations"
    __table_args__ = (
        sa.CheckConstraint(one_of("tier", TIERS), name="tier"),
        sa.CheckConstraint("planned IS NULL OR planned >= 0", name="planned_not_negative"),
        sa.UniqueConstraint("year", "tier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    tier: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    #: Null: the plan gives no figure for this tier.
    planned: Mapped[int | None] = mapped_column(sa.Integer)
