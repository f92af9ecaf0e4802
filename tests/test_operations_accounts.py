"""Accounts, tiers and contacts: validation, versions and the audit log."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from kamcrm.accounts import operations
from kamcrm.accounts.models import TierAssignment
from kamcrm.audit.models import AuditEntry
from kamcrm.errors import Conflict, PreconditionFailed, ValidationFailed
from kamcrm.extensions import db
from kamcrm.periods import bangkok_today


def entries(entity: str) -> list[AuditEntry]:
    return (
        db.session.execute(sa.select(AuditEntry).filter_by(entity=entity).order_by(AuditEntry.id))
        .scalars()
        .all()
    )


def tiers(account) -> list[tuple]:
    return db.session.execute(
        sa.select(TierAssignment.tier, TierAssignment.effective_from)
        .where(TierAssignment.account_id == account.id)
        .order_by(TierAssignment.effective_from)
    ).all()


@pytest.fixture
def office(make):
    office = make.office(code="CBI", parent=make.region("R2"))
    make.user(role="kamr", office=office, username="kamr1")
    make.user(role="executive", office=office, username="exec1", exec_role="assistant_director")
    return office


@pytest.fixture
def staff(make, office):
    return make.user(role="regional_staff", office=office, username="staff1")


NEW_ACCOUNT = {
    "account_no": "020000012345",
    "name": "บริษัท ไทยออโต้พาร์ท จำกัด",
    "office_code": "CBI",
    "tier": "STAR",
    "kamr_username": "kamr1",
    "sector": "automotive",
    "industrial_estate": "Amata City Chonburi",
    "transformer_kva": "5000",
    "monthly_revenue_thb": "4,500,000.50",
    "boi": "yes",
    "spp_area": False,
    "opened_on": "2018-03-01",
}


def test_creating_an_account_gives_it_its_tier_from_opened_on_and_audits_it(office, staff):
    account = operations.create_account(NEW_ACCOUNT, staff)
    assert (
        account.kamr.username,
        account.transformer_kva,
        account.monthly_revenue_thb,
        account.boi,
        account.version,
    ) == ("kamr1", Decimal("5000.00"), Decimal("4500000.50"), True, 1)
    assert tiers(account) == [("STAR", date(2018, 3, 1))]
    [entry] = entries("accounts")
    assert (
        entry.action,
        entry.entity_key,
        entry.after["tier"],
        entry.after["monthly_revenue_thb"],
    ) == ("create", "020000012345", "STAR", "4500000.50")


@pytest.mark.parametrize(
    "changes, field, words",
    [
        (
            {"kamr_username": "exec1"},
            "kamr_username",
            "'exec1' is an executive, not a KAMR or office manager",
        ),
        ({"closed_on": "2017-01-01"}, "closed_on", "2017-01-01 is before opened_on 2018-03-01"),
        ({"transformer_kva": "lots"}, "transformer_kva", "'lots' is not a number"),
        ({"monthly_revenue_thb": "1e15"}, "monthly_revenue_thb", "is too large"),
        ({"monthly_revenue_thb": "1e40"}, "monthly_revenue_thb", "is too large"),
        ({"transformer_kva": "9999999999.999"}, "transformer_kva", "is too large"),
        (
            {"tier": "PLATINUM"},
            "tier",
            "'PLATINUM' is not a tier (STRATEGIC, STAR, STATUS, STREAMLINE)",
        ),
        ({"name": "  "}, "name", "is required"),
        ({"office": "CBI"}, "office", "is not a field of an account"),
    ],
)
def test_a_bad_account_is_refused_with_the_field_and_reason(office, changes, field, words):
    with pytest.raises(ValidationFailed) as caught:
        operations.create_account({**NEW_ACCOUNT, **changes})
    assert words in " ".join(caught.value.errors[field])


def test_an_account_number_that_is_taken_is_a_conflict(office, make):
    make.account(office=office, account_no=NEW_ACCOUNT["account_no"])
    with pytest.raises(Conflict):
        operations.create_account(NEW_ACCOUNT)


def test_updating_an_account_bumps_its_version_and_audits_the_change(office, staff):
    account = operations.create_account(NEW_ACCOUNT, staff)
    operations.update_account(
        account, {"name": "บริษัท ไทยออโต้พาร์ท (ประเทศไทย) จำกัด", "boi": False}, staff
    )
    assert account.version == 2
    entry = entries("accounts")[-1]
    assert (entry.action, entry.before, entry.after) == (
        "update",
        {"name": "บริษัท ไทยออโต้พาร์ท จำกัด", "boi": True},
        {"name": "บริษัท ไทยออโต้พาร์ท (ประเทศไทย) จำกัด", "boi": False},
    )


def test_an_update_without_a_change_keeps_the_version_and_logs_nothing(office, staff):
    account = operations.create_account(NEW_ACCOUNT, staff)
    operations.update_account(account, {"name": NEW_ACCOUNT["name"]}, staff)
    assert account.version == 1
    assert [entry.action for entry in entries("accounts")] == ["create"]


def test_an_update_against_an_old_version_is_refused(office, staff):
    account = operations.create_account(NEW_ACCOUNT, staff)
    operations.update_account(account, {"sector": "electronics"}, staff)
    with pytest.raises(PreconditionFailed):
        operations.update_account(account, {"sector": "food processing"}, staff, expected_version=1)
    assert account.sector == "electronics"


def test_a_tier_changed_through_an_update_holds_from_today(office, staff):
    account = operations.create_account(NEW_ACCOUNT, staff)
    operations.update_account(account, {"tier": "STRATEGIC"}, staff)
    assert tiers(account) == [("STAR", date(2018, 3, 1)), ("STRATEGIC", bangkok_today())]
    assert account.version == 2
    entry = entries("accounts")[-1]
    assert (entry.before["tier"], entry.after["tier"]) == ("STAR", "STRATEGIC")


def test_set_tier_adds_or_replaces_the_assignment_on_that_date_and_audits_it(office, staff):
    account = operations.create_account(NEW_ACCOUNT, staff)
    operations.set_tier(account, "STRATEGIC", date(2021, 7, 1), staff)
    operations.set_tier(account, None, "2021-07-01", staff)
    assert tiers(account) == [("STAR", date(2018, 3, 1)), (None, date(2021, 7, 1))]
    assert [(e.action, e.before, e.after) for e in entries("tier_assignments")] == [
        # The new assignment says what it replaced from that day: STAR since 2018.
        (
            "create",
            {"tier": "STAR"},
            {"account_no": "020000012345", "tier": "STRATEGIC", "effective_from": "2021-07-01"},
        ),
        ("update", {"tier": "STRATEGIC"}, {"tier": None}),
    ]
    assert account.version == 3


def test_set_tier_refuses_an_unknown_tier_or_date(office, staff):
    account = operations.create_account(NEW_ACCOUNT, staff)
    with pytest.raises(ValidationFailed) as caught:
        operations.set_tier(account, "GOLD", "2021-02-30", staff)
    assert set(caught.value.errors) == {"tier", "effective_from"}


def test_contacts_are_added_changed_and_removed_with_audit_entries(office, staff, make):
    account = make.account(office=office)
    contact = operations.add_contact(
        account,
        {
            "name": "คุณวิภา",
            "position": "Plant manager",
            "email": "wipa@example.co.th",
            "line_id": "wipa99",
        },
        staff,
    )
    operations.update_contact(contact, {"phone": "038-123456"}, staff)
    operations.delete_contact(contact, staff)
    assert account.contacts == []
    assert [(e.action, e.after or e.before) for e in entries("contact_persons")] == [
        (
            "create",
            {
                "account_no": account.account_no,
                "name": "คุณวิภา",
                "position": "Plant manager",
                "phone": None,
                "email": "wipa@example.co.th",
                "line_id": "wipa99",
            },
        ),
        ("update", {"phone": "038-123456"}),
        (
            "delete",
            {
                "account_no": account.account_no,
                "name": "คุณวิภา",
                "position": "Plant manager",
                "phone": "038-123456",
                "email": "wipa@example.co.th",
                "line_id": "wipa99",
            },
        ),
    ]


def test_a_contact_needs_a_name_and_a_real_email(office, make):
    with pytest.raises(ValidationFailed) as caught:
        operations.add_contact(make.account(office=office), {"email": "wipa@"})
    assert set(caught.value.errors) == {"name", "email"}
