"""Key accounts, tier history and contact persons (SPEC section 2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kamcrm.db import TimestampMixin, one_of
from kamcrm.extensions import db

#: Tiers in report order; STREAMLINE is the long tail.
TIERS = ("STRATEGIC", "STAR", "STATUS", "STREAMLINE")


class Account(TimestampMixin, db.Model):
    """A key industrial customer, identified by its contract number."""

    __tablename__ = "accounts"
    __table_args__ = (
        sa.CheckConstraint(
            "closed_on IS NULL OR opened_on IS NULL OR closed_on >= opened_on",
            name="closed_after_opened",
        ),
        sa.CheckConstraint(
            "transformer_kva IS NULL OR transformer_kva >= 0", name="kva_not_negative"
        ),
        sa.CheckConstraint(
            "monthly_revenue_thb IS NULL OR monthly_revenue_thb >= 0", name="revenue_not_negative"
        ),
        #: Search by part of the name or the start of the number: a trigram index on
        #: PostgreSQL (migration 0002_api_search), a plain one on SQLite.
        sa.Index(
            "ix_accounts_search_trgm",
            "name",
            "account_no",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops", "account_no": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The customer's contract number (unique across the region).
    account_no: Mapped[str] = mapped_column(sa.String(30), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    office_id: Mapped[int] = mapped_column(sa.ForeignKey("offices.id"), index=True, nullable=False)
    #: The account manager (KAMR) who owns the account.
    kamr_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    sector: Mapped[str | None] = mapped_column(sa.String(120))
    industrial_estate: Mapped[str | None] = mapped_column(sa.String(200))
    transformer_kva: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    monthly_revenue_thb: Mapped[Decimal | None] = mapped_column(sa.Numeric(16, 2))
    #: Promoted by the Board of Investment.
    boi: Mapped[bool] = mapped_column(sa.Boolean, default=False, nullable=False)
    #: Located in the service area of a small power producer.
    spp_area: Mapped[bool] = mapped_column(sa.Boolean, default=False, nullable=False)
    opened_on: Mapped[date | None] = mapped_column(sa.Date)
    #: Blank while the account is active.
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    #: Bumped on every change; the API's ETag.
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)

    office = relationship("Office")
    kamr = relationship("User")
    tier_assignments: Mapped[list[TierAssignment]] = relationship(
        back_populates="account", order_by="TierAssignment.effective_from"
    )
    contacts: Mapped[list[ContactPerson]] = relationship(back_populates="account")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Account {self.account_no}>"


class TierAssignment(TimestampMixin, db.Model):
    """From ``effective_from`` on, the account holds ``tier`` (or no tier when null)."""

    __tablename__ = "tier_assignments"
    __table_args__ = (
        sa.CheckConstraint(one_of("tier", TIERS, nullable=True), name="tier"),
        sa.UniqueConstraint("account_id", "effective_from"),
        # The accounts holding one tier (a list filtered by tier over the region, and its
        # count) start from that tier's assignments instead of reading all of them.
        sa.Index("ix_tier_assignments_tier_effective", "tier", "effective_from", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    )
    tier: Mapped[str | None] = mapped_column(sa.String(12))
    effective_from: Mapped[date] = mapped_column(sa.Date, nullable=False)

    account: Mapped[Account] = relationship(back_populates="tier_assignments")


class ContactPerson(TimestampMixin, db.Model):
    """A person to talk to at the customer."""

    __tablename__ = "contact_persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    position: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    line_id: Mapped[str | None] = mapped_column(sa.String(100))

    account: Mapped[Account] = relationship(back_populates="contacts")
