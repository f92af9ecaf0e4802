"""Offices and users over the API: read within scope, written by admins."""

from __future__ import annotations

import pytest

from tests.test_api_support import api, world  # noqa: F401  (fixtures)


@pytest.mark.parametrize(
    "who, codes", [("admin", ["OA", "OA1", "OB", "R2"]), ("manager_a", ["OA", "OA1"])]
)
def test_offices_are_listed_within_the_scope(api, world, who, codes):
    items = api(getattr(world, who)).get("/offices").get_json()["items"]

    assert [item["code"] for item in items] == codes


def test_an_office_reads_as_a_row_of_the_offices_file(api, world):
    body = api(world.kamr_a).get("/offices/OA1").get_json()

    assert body == {
        "code": "OA1",
        "name": world.branch_a1.name,
        "name_en": None,
        "office_class": "branch",
        "parent_code": "OA",
    }


def test_an_admin_creates_and_changes_an_office(api, world):
    caller = api(world.admin)

    created = caller.post(
        "/offices",
        json={"code": "OB2", "name": "สาขา", "office_class": "branch", "parent_code": "OB"},
    )
    changed = caller.patch("/offices/OB2", json={"name_en": "Branch"})

    assert (created.status_code, changed.status_code) == (201, 200)
    assert changed.get_json()["name_en"] == "Branch"


@pytest.mark.parametrize(
    "body, status",
    [
        ({"code": "OA", "name": "Dup", "office_class": "1", "parent_code": "R2"}, 409),
        ({"code": "NEW", "name": "Orphan branch", "office_class": "branch"}, 422),
    ],
)
def test_refused_offices_say_why(api, world, body, status):
    assert api(world.admin).post("/offices", json=body).status_code == status


def test_users_are_listed_within_the_scope_and_never_show_a_password(api, world):
    items = api(world.manager_a).get("/users").get_json()["items"]

    assert [item["username"] for item in items] == ["kamr.a", "manager.a"]
    assert all("password_hash" not in item for item in items)


def test_an_admin_creates_and_deactivates_a_user(api, world):
    caller = api(world.admin)

    created = caller.post(
        "/users", json={"username": "kamr.c", "full_name": "C", "role": "kamr", "office_code": "OB"}
    )
    changed = caller.patch("/users/kamr.c", json={"active": False})

    assert (created.status_code, changed.status_code) == (201, 200)
    assert changed.get_json()["active"] is False


@pytest.mark.parametrize("who", ["kamr_a", "manager_a", "staff"])
def test_only_admins_write_users(api, world, who):
    response = api(getattr(world, who)).patch("/users/kamr.a", json={"full_name": "X"})

    assert response.status_code == 403
