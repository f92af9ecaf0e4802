"""Every tier assignment an import adds or replaces is in the audit log, per account, as
``set_tier`` writes it; a refused import writes none."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from kamcrm.accounts import operations as accounts
from kamcrm.audit.models import AuditEntry
from kamcrm.extensions import db
from kamcrm.history.queries import AuditFilter, audit_entries
from kamcrm.imports.importer import import_file

NOW = datetime(2025, 7, 1, 3, 0, tzinfo=timezone.utc)
HEADER = "account_no,tier,effective_from\n"


@pytest.fixture
def staff(make):
    return make.user(role="regional_staff", office=make.region(), username="malee")


@pytest.fixture
def roster(make):
    """Three accounts: two about to move to STATUS, one whose row repeats its assignment."""
    office = make.office(code="CBI")
    return {
        "020400000004": make.account(
            office=office, account_no="020400000004", tier="STREAMLINE", tier_from=date(2020, 1, 1)
        ),
        "020400000005": make.account(
            office=office, account_no="020400000005", tier="STAR", tier_from=date(2020, 1, 1)
        ),
        "020400000006": make.account(
            office=office, account_no="020400000006", tier="STATUS", tier_from=date(2020, 1, 1)
        ),
    }


def run(text: str, **options):
    options.setdefault("now", NOW)
    return import_file("tiers", io.BytesIO(text.encode("utf-8")), "tiers.csv", **options)


def tier_entries() -> list[AuditEntry]:
    return (
        db.session.execute(
            sa.select(AuditEntry)
            .where(AuditEntry.entity == "tier_assignments")
            .order_by(AuditEntry.id)
        )
        .scalars()
        .all()
    )


def count_entries() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


def test_each_account_moved_by_a_tiers_file_gets_its_own_entry(roster, staff):
    result = run(
        HEADER + "020400000004,STATUS,2025-07-01\n020400000005,STATUS,2025-07-01\n"
        "020400000006,STATUS,2020-01-01\n",
        actor=staff,
        reason="FY2025 re-tiering",
    )
    assert result.ok, result.errors
    assert (result.created, result.unchanged) == (2, 1)
    assert [
        (e.action, e.entity_key, e.before, e.after, e.actor_name, e.actor_id, e.reason)
        for e in tier_entries()
    ] == [
        (
            "create",
            "020400000004@2025-07-01",
            {"tier": "STREAMLINE"},
            {"account_no": "020400000004", "tier": "STATUS", "effective_from": "2025-07-01"},
            "malee",
            staff.id,
            "FY2025 re-tiering",
        ),
        (
            "create",
            "020400000005@2025-07-01",
            {"tier": "STAR"},
            {"account_no": "020400000005", "tier": "STATUS", "effective_from": "2025-07-01"},
            "malee",
            staff.id,
            "FY2025 re-tiering",
        ),
    ]


def test_an_entry_says_the_tier_held_just_before_its_date(roster, staff):
    run(
        HEADER
        + "020400000004,STAR,2023-01-01\n020400000004,,2025-07-01\n020400000004,STATUS,2021-01-01\n",
        actor=staff,
    )
    befores = {e.after["effective_from"]: e.before["tier"] for e in tier_entries()}
    assert befores == {"2023-01-01": "STATUS", "2025-07-01": "STAR", "2021-01-01": "STREAMLINE"}


def test_an_account_without_a_tier_before_moves_from_none(make, staff):
    make.account(account_no="020400000007", tier=None, tier_from=None)
    run(HEADER + "020400000007,STAR,2025-07-01\n", actor=staff)
    [entry] = tier_entries()
    assert (entry.before, entry.after["tier"]) == ({"tier": None}, "STAR")


def test_the_import_entry_has_the_shape_set_tier_writes(roster, staff):
    accounts.set_tier(roster["020400000004"], "STATUS", date(2025, 7, 1), staff)
    run(HEADER + "020400000005,STATUS,2025-07-01\n", actor=staff)
    by_hand, imported = tier_entries()
    assert (by_hand.entity, by_hand.action, set(by_hand.after)) == (
        imported.entity,
        imported.action,
        set(imported.after),
    )
    assert by_hand.entity_key.replace("020400000004", "020400000005") == imported.entity_key


def test_a_replaced_assignment_is_an_update_from_the_old_tier(roster, staff):
    run(HEADER + "020400000005,STATUS,2020-01-01\n", actor=staff)
    [entry] = tier_entries()
    assert (entry.action, entry.entity_key, entry.before, entry.after) == (
        "update",
        "020400000005@2020-01-01",
        {"tier": "STAR"},
        {"tier": "STATUS"},
    )


@pytest.mark.parametrize("chunk_size", [1, 5000])
def test_a_refused_tiers_file_writes_no_entry(roster, staff, chunk_size):
    before = count_entries()
    result = run(
        HEADER + "020400000004,STATUS,2025-07-01\n020400000005,STATUS,2025-07-01\n"
        "020499999999,STATUS,2025-07-01\n",
        actor=staff,
        chunk_size=chunk_size,
    )
    assert [(e.line, e.field) for e in result.errors] == [(4, "account_no")]
    assert count_entries() == before


def test_the_audit_log_finds_an_imported_move_by_account_number(roster, staff):
    run(HEADER + "020400000004,STATUS,2025-07-01\n020400000005,STATUS,2025-07-01\n", actor=staff)
    found = audit_entries(staff, AuditFilter(text="020400000004")).items
    assert [(e.entity, e.entity_key, e.before, e.after["tier"]) for e in found] == [
        ("tier_assignments", "020400000004@2025-07-01", {"tier": "STREAMLINE"}, "STATUS")
    ]


def test_the_audit_page_finds_a_move_made_on_the_roster_page(client, login_as, make, roster):
    user = login_as("regional_staff", office=make.region())
    client.get("/language/en")
    response = client.post(
        "/region/tiers/selection",
        data={
            "pick-account_nos": "020400000004\n020400000005",
            "pick-tier": "STATUS",
            "pick-effective_from": "2025-07-01",
        },
    )
    assert response.status_code == 302
    html = client.get("/region/audit?q=020400000004").get_data(as_text=True)
    assert "020400000004@2025-07-01" in html
    assert "streamline → status" in html.lower()
    assert "020400000005" not in html
    assert {e.actor_id for e in tier_entries()} == {user.id}


def test_an_accounts_file_audits_a_new_tier_of_an_existing_account_only(roster, staff):
    text = (
        "account_no,name,office_code,tier,tier_effective_from\n"
        "020400000004,{name},CBI,STAR,2025-07-01\n"
        "020400000099,New Co.,CBI,STAR,2025-07-01\n"
    ).format(name=roster["020400000004"].name)
    result = import_file(
        "accounts", io.BytesIO(text.encode("utf-8")), "accounts.csv", actor=staff, now=NOW
    )
    assert result.ok, result.errors
    assert [(e.action, e.entity_key, e.before) for e in tier_entries()] == [
        ("create", "020400000004@2025-07-01", {"tier": "STREAMLINE"})
    ]
