"""Accounts over the API: lists with filters, ETags and If-Match, tiers and contact persons."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from kamcrm.accounts.models import Account, ContactPerson, TierAssignment
from kamcrm.audit.models import AuditEntry
from kamcrm.extensions import db
from kamcrm.periods import bangkok_today
from tests.test_api_support import api, world  # noqa: F401  (fixtures)


def _numbers(response) -> list[str]:
    return [item["account_no"] for item in response.get_json()["items"]]


# --- lists -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, numbers",
    [
        ("", ["A-0001", "A-0002", "B-0001"]),
        ("office=OA", ["A-0001", "A-0002"]),
        ("office=OA1", ["A-0002"]),
        ("office=OB", ["B-0001"]),
        ("tier=STAR", ["A-0002"]),
        ("kamr=kamr.b", ["B-0001"]),
        ("sector=food", ["A-0002"]),
        ("q=alpha", ["A-0001", "A-0002"]),
        ("q=B-00", ["B-0001"]),
        ("q=%25", []),
        ("sort=-name", ["B-0001", "A-0001", "A-0002"]),
        ("sort=tier", ["A-0001", "A-0002", "B-0001"]),
        ("sort=-tier", ["B-0001", "A-0002", "A-0001"]),
        ("office=OA&tier=STRATEGIC&q=steel", ["A-0001"]),
    ],
)
def test_staff_list_the_region_filtered_and_sorted(api, world, query, numbers):
    response = api(world.staff).get(f"/accounts?{query}")

    assert response.status_code == 200
    assert _numbers(response) == numbers


def test_the_tier_listed_is_the_one_in_force_today(api, world, make):
    make.tier(world.account_b, "STRATEGIC", date(2020, 1, 1))
    make.tier(world.account_b, "STREAMLINE", date(2999, 1, 1))

    items = api(world.staff).get("/accounts?q=B-0001").get_json()["items"]

    assert (items[0]["tier"], items[0]["tier_effective_from"]) == ("STRATEGIC", "2020-01-01")


@pytest.mark.parametrize(
    "who, query",
    [("staff", "tier={}"), ("staff", "office=OB&tier={}"), ("kamr_b", "tier={}")],
    ids=["region", "office-filter", "office-scope"],
)
def test_the_tier_filter_follows_the_assignment_in_force_today(api, world, make, who, query):
    make.tier(world.account_b, "STRATEGIC", date(2020, 1, 1))
    make.tier(world.account_b, "STREAMLINE", date(2999, 1, 1))
    caller = api(getattr(world, who))

    def listed(tier: str) -> list[str]:
        return _numbers(caller.get("/accounts?" + query.format(tier)))

    assert "B-0001" in listed("STRATEGIC")
    assert "B-0001" not in listed("STATUS") + listed("STREAMLINE")


def test_a_whole_tier_over_the_region_counts_accounts_not_tier_changes(api, world, make):
    # B-0001: STATUS, then STAR, then STRATEGIC from a future date; STAR is in force today.
    for tier, day in (
        ("STATUS", date(2019, 1, 1)),
        ("STAR", date(2020, 1, 1)),
        ("STRATEGIC", date(2999, 1, 1)),
    ):
        make.tier(world.account_b, tier, day)
    caller = api(world.staff)

    def listed(tier: str, page: int) -> tuple[list[str], int]:
        body = caller.get(f"/accounts?tier={tier}&per_page=1&page={page}").get_json()
        return [item["account_no"] for item in body["items"]], body["pagination"]["total"]

    assert listed("STAR", 1) == (["A-0002"], 2)
    assert listed("STAR", 2) == (["B-0001"], 2)
    assert listed("STAR", 3) == ([], 2)
    assert listed("STATUS", 1) == ([], 0)


def test_a_kamr_lists_only_their_office_and_its_branches(api, world):
    assert _numbers(api(world.kamr_a).get("/accounts")) == ["A-0001", "A-0002"]


@pytest.mark.parametrize("page, numbers", [(1, ["A-0001"]), (2, ["A-0002"]), (3, [])])
def test_an_office_list_counts_its_total_on_every_page(api, world, page, numbers):
    body = api(world.kamr_a).get(f"/accounts?per_page=1&page={page}").get_json()

    assert [item["account_no"] for item in body["items"]] == numbers
    assert (body["pagination"]["total"], body["pagination"]["total_pages"]) == (2, 2)


def test_an_office_filter_outside_the_scope_answers_404(api, world):
    assert api(world.kamr_a).get("/accounts?office=OB").status_code == 404


def test_a_listed_account_reads_like_the_single_one(api, world):
    caller = api(world.staff)

    listed = caller.get("/accounts?q=A-0001").get_json()["items"][0]

    assert listed == caller.get("/accounts/A-0001").get_json()


# --- one account: ETag and If-Match ------------------------------------------------------


def test_get_answers_the_version_as_etag(api, world):
    response = api(world.kamr_a).get("/accounts/A-0001")

    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{world.account_a.version}"'
    assert response.get_json()["office_code"] == "OA"


@pytest.mark.parametrize("if_match", [None, "*", "current", 'W/"current"', '"0", "current"'])
def test_patch_applies_without_or_with_a_current_if_match(api, world, if_match):
    caller = api(world.kamr_a)
    etag = caller.get("/accounts/A-0001").headers["ETag"]
    headers = (
        {}
        if if_match is None
        else {"If-Match": if_match.replace('"current"', etag).replace("current", etag)}
    )

    response = caller.patch("/accounts/A-0001", json={"notes": "visited"}, headers=headers)

    assert response.status_code == 200
    assert response.get_json()["notes"] == "visited"
    assert response.headers["ETag"] != etag


@pytest.mark.parametrize("if_match", ['"0"', '"99"', '"abc"', 'W/"0"'])
def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(api, world, if_match):
    response = api(world.kamr_a).patch(
        "/accounts/A-0001", json={"notes": "lost"}, headers={"If-Match": if_match}
    )

    db.session.expire_all()
    assert response.status_code == 412
    assert response.get_json()["code"] == 412
    assert world.account_a.notes is None


def test_the_second_of_two_writers_with_the_same_etag_gets_412(api, world):
    caller = api(world.kamr_a)
    etag = caller.get("/accounts/A-0001").headers["ETag"]

    first = caller.patch("/accounts/A-0001", json={"notes": "first"}, headers={"If-Match": etag})
    second = caller.patch("/accounts/A-0001", json={"notes": "second"}, headers={"If-Match": etag})

    db.session.expire_all()
    assert (first.status_code, second.status_code) == (200, 412)
    assert world.account_a.notes == "first"


@pytest.mark.parametrize(
    "role, changes, status",
    [
        ("kamr", {"kamr_username": "manager.a"}, 403),
        ("office_manager", {"kamr_username": "manager.a"}, 200),
        ("kamr", {"tier": "STAR"}, 403),
        ("regional_staff", {"tier": "STAR"}, 200),
        ("office_manager", {"office_code": "OB"}, 422),
        ("regional_staff", {"office_code": "OB", "kamr_username": None}, 200),
        # Its KAMR works at OA: the account cannot move without a KAMR of OB (or none).
        ("regional_staff", {"office_code": "OB"}, 422),
    ],
)
def test_reassigning_and_retiering_follow_the_role(api, world, role, changes, status):
    user = {"kamr": world.kamr_a, "office_manager": world.manager_a, "regional_staff": world.staff}[
        role
    ]

    response = api(user).patch("/accounts/A-0001", json=changes)

    assert response.status_code == status


def test_a_tier_set_by_patch_starts_today(api, world):
    body = api(world.staff).patch("/accounts/A-0001", json={"tier": "STAR"}).get_json()

    assert (body["tier"], body["tier_effective_from"]) == ("STAR", bangkok_today().isoformat())


def test_patch_is_audited_with_the_caller(api, world):
    api(world.kamr_a).patch("/accounts/A-0001", json={"sector": "metal"})

    entry = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.entity == "accounts", AuditEntry.action == "update")
    ).scalar_one()
    assert (entry.actor_name, entry.after) == ("kamr.a", {"sector": "metal"})


# --- creating ----------------------------------------------------------------------------


def test_staff_create_an_account_with_its_first_tier(api, world):
    response = api(world.staff).post(
        "/accounts",
        json={
            "account_no": "C-0001",
            "name": "Charlie Glass",
            "office_code": "OB",
            "tier": "STATUS",
            "tier_effective_from": "2021-01-01",
            "transformer_kva": 2500,
            "boi": True,
        },
    )

    account = db.session.execute(sa.select(Account).filter_by(account_no="C-0001")).scalar_one()
    assert response.status_code == 201
    assert response.headers["Location"] == "/api/v1/accounts/C-0001"
    assert response.headers["ETag"] == '"1"'
    assert response.get_json()["transformer_kva"] == 2500
    assert (account.office.code, account.boi) == ("OB", True)


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"account_no": "A-0001", "name": "Dup", "office_code": "OA"}, 409, None),
        ({"account_no": "C-0002", "name": "Nowhere", "office_code": "ZZ"}, 422, "office_code"),
        (
            {"account_no": "C-0003", "name": "No tier", "office_code": "OA", "tier": "GOLD"},
            422,
            "tier",
        ),
        ({"name": "No number", "office_code": "OA"}, 422, "account_no"),
    ],
)
def test_refused_creations_say_why(api, world, body, status, field):
    response = api(world.staff).post("/accounts", json=body)

    assert response.status_code == status
    if field:
        assert field in response.get_json()["errors"]


def test_a_kamr_may_not_create_accounts(api, world):
    response = api(world.kamr_a).post(
        "/accounts", json={"account_no": "C-1", "name": "X", "office_code": "OA"}
    )

    assert response.status_code == 403


# --- tier history ------------------------------------------------------------------------


def test_tier_history_lists_every_assignment_oldest_first(api, world, make):
    make.tier(world.account_a, None, date(2022, 7, 1))

    body = api(world.kamr_a).get("/accounts/A-0001/tiers").get_json()

    assert body == {
        "account_no": "A-0001",
        "tiers": [
            {"tier": "STRATEGIC", "effective_from": "2000-01-01"},
            {"tier": None, "effective_from": "2022-07-01"},
        ],
    }


def test_staff_add_a_tier_change_with_its_effective_date(api, world):
    response = api(world.staff).post(
        "/accounts/A-0001/tiers", json={"tier": "STAR", "effective_from": "2021-04-01"}
    )

    rows = db.session.execute(
        sa.select(TierAssignment.tier, TierAssignment.effective_from)
        .where(TierAssignment.account_id == world.account_a.id)
        .order_by(TierAssignment.effective_from)
    ).all()
    assert response.status_code == 201
    assert rows == [("STRATEGIC", date(2000, 1, 1)), ("STAR", date(2021, 4, 1))]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"tier": "GOLD", "effective_from": "2021-04-01"}, "tier"),
        ({"tier": "STAR", "effective_from": "April"}, "effective_from"),
    ],
)
def test_a_bad_tier_change_is_422(api, world, body, field):
    response = api(world.staff).post("/accounts/A-0001/tiers", json=body)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_a_kamr_may_not_retier(api, world):
    response = api(world.kamr_a).post(
        "/accounts/A-0001/tiers", json={"tier": "STAR", "effective_from": "2021-04-01"}
    )

    assert response.status_code == 403


# --- contact persons ---------------------------------------------------------------------


def test_contacts_are_added_listed_changed_and_removed(api, world):
    caller = api(world.kamr_a)

    added = caller.post(
        "/accounts/A-0001/contacts", json={"name": "คุณสมชาย", "phone": "038-123456"}
    )
    contact_id = added.get_json()["id"]
    changed = caller.patch(
        f"/accounts/A-0001/contacts/{contact_id}", json={"position": "Plant manager"}
    )
    listed = caller.get("/accounts/A-0001/contacts").get_json()["items"]
    removed = caller.delete(f"/accounts/A-0001/contacts/{contact_id}")

    assert (added.status_code, changed.status_code, removed.status_code) == (201, 200, 204)
    assert listed == [
        {
            "id": contact_id,
            "name": "คุณสมชาย",
            "position": "Plant manager",
            "phone": "038-123456",
            "email": None,
            "line_id": None,
        }
    ]
    assert db.session.get(ContactPerson, contact_id) is None


def test_a_contact_is_reached_only_through_its_own_account(api, world, make):
    contact = make.contact(world.account_a1)

    response = api(world.kamr_a).patch(
        f"/accounts/A-0001/contacts/{contact.id}", json={"phone": "1"}
    )

    assert response.status_code == 404


def test_a_bad_email_is_refused_by_the_operation(api, world):
    response = api(world.kamr_a).post(
        "/accounts/A-0001/contacts", json={"name": "X", "email": "not-an-address"}
    )

    assert response.status_code == 422
    assert "email" in response.get_json()["errors"]
