"""Monthly consumption per account, the yearly list settings, and the numbered snapshots of a
plan year's prospect lists (SPEC section 10)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kamcrm.db import UTCDateTime, one_of, utcnow
from kamcrm.extensions import db

#: The lists, in the report's order: High Value 1 and 2 (CR1 3.6.1), Maintenance 1 and 2
#: (3.6.2), and the accounts whose data is too incomplete to compute their growth.
LISTS = ("HV1", "HV2", "MT1", "MT2", "INCOMPLETE")
#: The lists the CR1 report and the visits are about (incomplete data is a to-do for the data).
VISIT_LISTS = ("HV1", "HV2", "MT1", "MT2")
#: The CR1 item of each list.
LIST_ITEMS = {"HV1": "3.6.1", "HV2": "3.6.1", "MT1": "3.6.2", "MT2": "3.6.2", "INCOMPLETE": None}


class Consumption(db.Model):
    """One account's billed month: energy, peak demand and revenue.

    The key (account, month) is the table's primary key, without a rowid on SQLite: an
    account's months are read in order straight from it (the account page, the lists of a
    scope), and a month imported again replaces the row in place. No timestamps: the table
    holds a region's whole billing history (millions of rows) and the import's audit entry
    says when each file came in.
    """

    __tablename__ = "consumption"
    __table_args__ = (
        sa.CheckConstraint("kwh >= 0", name="kwh_not_negative"),
        sa.CheckConstraint("peak_kw IS NULL OR peak_kw >= 0", name="peak_kw_not_negative"),
        sa.CheckConstraint("peak_kva IS NULL OR peak_kva >= 0", name="peak_kva_not_negative"),
        sa.CheckConstraint("revenue_thb IS NULL OR revenue_thb >= 0", name="revenue_not_negative"),
        {"sqlite_with_rowid": False},
    )

    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)
    #: The first day of the billed month.
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    kwh: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), nullable=False)
    peak_kw: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    peak_kva: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    revenue_thb: Mapped[Decimal | None] = mapped_column(sa.Numeric(16, 2))


class ProspectSettings(db.Model):
    """A year's thresholds and power factor; a year without a row uses ``DEFAULTS``."""

    __tablename__ = "prospect_settings"
    __table_args__ = (
        sa.CheckConstraint("power_factor > 0 AND power_factor <= 1", name="power_factor_range"),
    )

    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    #: High Value 1: growth (%) at least this …
    hv1_growth_pct: Mapped[Decimal] = mapped_column(sa.Numeric(7, 2), nullable=False)
    #: … and utilisation (%) at least this.
    hv1_utilisation_pct: Mapped[Decimal] = mapped_column(sa.Numeric(7, 2), nullable=False)
    #: High Value 2: utilisation (%) at least this.
    hv2_utilisation_pct: Mapped[Decimal] = mapped_column(sa.Numeric(7, 2), nullable=False)
    #: Maintenance 2: transformers larger than this (kVA).
    mt2_transformer_kva: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2), nullable=False)
    #: Peak kVA = peak kW ÷ this, for a month that gives kW only.
    power_factor: Mapped[Decimal] = mapped_column(sa.Numeric(4, 3), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


#: The defaults of every year (SPEC section 10), by ``ProspectSettings`` column.
DEFAULTS = {
    "hv1_growth_pct": Decimal("10"),
    "hv1_utilisation_pct": Decimal("50"),
    "hv2_utilisation_pct": Decimal("70"),
    "mt2_transformer_kva": Decimal("250"),
    "power_factor": Decimal("0.85"),
}


class ProspectSnapshot(db.Model):
    """One generation of a plan year's lists: version 1, 2 … of the year, kept unchanged."""

    __tablename__ = "prospect_snapshots"
    __table_args__ = (
        sa.UniqueConstraint("year", "version", name="uq_prospect_snapshots_year_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: The Bangkok date of ``generated_at``: visits count for coverage from this day.
    generated_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    generated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: The thresholds and power factor the lists were computed with (strings of decimals).
    settings: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    #: Whether the service jobs were there to compute the Maintenance lists.
    maintenance_available: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    generated_by = relationship("User")
    members: Mapped[list[ProspectMember]] = relationship(
        back_populates="snapshot", cascade="all, delete-orphan"
    )


class ProspectMember(db.Model):
    """An account on one list of a snapshot, with the inputs and the clause that put it there."""

    __tablename__ = "prospect_members"
    __table_args__ = (
        sa.CheckConstraint(one_of("list_code", LISTS), name="list_code"),
        sa.UniqueConstraint(
            "snapshot_id", "list_code", "account_id", name="uq_prospect_members_list_account"
        ),
        # A scope's members of a snapshot (pages, exports, coverage by office).
        sa.Index("ix_prospect_members_snapshot_office", "snapshot_id", "office_id"),
        sa.Index("ix_prospect_members_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(
        sa.ForeignKey("prospect_snapshots.id", ondelete="CASCADE"), nullable=False
    )
    list_code: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), nullable=False)
    #: The account's office and KAMR when the list was made (scope and visit planning).
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("offices.id"), nullable=False)
    kamr_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: The day the account first appeared on this list in an unbroken run of the year's
    #: versions: its visit counts from that day.
    listed_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    # The inputs (None where the data gives none).
    kwh_prev: Mapped[Decimal | None] = mapped_column(sa.Numeric(16, 2))
    kwh_prev2: Mapped[Decimal | None] = mapped_column(sa.Numeric(16, 2))
    months_prev: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    months_prev2: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    peak_kva_prev: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    transformer_kva: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    utilisation_pct: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))
    growth_pct: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    last_maintenance_on: Mapped[date | None] = mapped_column(sa.Date)
    #: Why the account is on the list, with the figures compared (English; shown as is).
    clause: Mapped[str] = mapped_column(sa.String(300), nullable=False)

    snapshot: Mapped[ProspectSnapshot] = relationship(back_populates="members")
    account = relationship("Account")
    office = relationship("Office")
    kamr = relationship("User")
