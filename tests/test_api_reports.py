"""Reports over the API: the CR2 JSON of the CLI, the monthly summary, the due list."""

from __future__ import annotations

import json
from datetime import date

import pytest

from kamcrm.compliance.engine import cr2_report
from kamcrm.extensions import db
from kamcrm.org.scope import office_scope, region_scope
from kamcrm.reports.cr2 import cr2_json
from tests.test_api_support import api, world  # noqa: F401  (fixtures)


@pytest.fixture
def visited(world, make):
    make.activity(world.account_a, "FMS", date(2021, 2, 1), performed_by=world.kamr_a)
    make.activity(world.account_a1, "COM", date(2021, 5, 3), performed_by=world.kamr_a)
    make.activity(world.account_b, "COM", date(2021, 8, 9), performed_by=world.kamr_b)
    db.session.commit()


@pytest.mark.parametrize(
    "who, query, scope",
    [
        ("staff", "year=2021&as_of=2021-06-30", None),
        ("staff", "year=2021&as_of=2021-06-30&office=OA", "OA"),
        ("kamr_a", "year=2021&as_of=2021-09-30", "OA"),
        ("kamr_a", "year=2021&as_of=2021-09-30&office=OA1", "OA1"),
        ("executive", "year=2022&as_of=2021-06-30", None),
    ],
)
def test_cr2_is_the_engine_json_for_the_scope(api, world, visited, who, query, scope):
    response = api(getattr(world, who)).get(f"/reports/cr2?{query}")

    args = dict(part.split("=") for part in query.split("&"))
    expected = cr2_report(
        int(args["year"]),
        date.fromisoformat(args["as_of"]),
        office_scope(scope) if scope else region_scope(),
    )
    assert response.status_code == 200
    assert response.get_data() == cr2_json(expected)
    assert json.loads(response.get_data()) == expected


@pytest.mark.parametrize(
    "query, field",
    [
        ("", "year"),
        ("year=1999", "year"),
        ("year=2021&as_of=2021-02-30", "as_of"),
        ("year=99999999999999999999", "year"),
    ],
)
def test_cr2_with_bad_arguments_is_422(api, world, query, field):
    response = api(world.staff).get(f"/reports/cr2?{query}")

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_cr2_of_an_unknown_office_is_404(api, world):
    assert api(world.staff).get("/reports/cr2?year=2021&office=NOPE").status_code == 404


def test_monthly_summary_answers_for_the_scope(api, world, visited):
    response = api(world.manager_a).get("/reports/monthly?month=2021-02")

    body = response.get_json()
    assert response.status_code == 200
    assert (body["month"], body["scope"], body["kind"]) == ("2021-02", "OA", "on_demand")


@pytest.mark.parametrize(
    "query, status",
    [
        ("month=2021-13", 422),
        ("month=March", 422),
        ("", 422),
        ("month=2021-02&as_reported=true", 404),
    ],
)
def test_monthly_summary_refuses_what_it_cannot_answer(api, world, query, status):
    response = api(world.staff).get(f"/reports/monthly?{query}")

    assert response.status_code == status
    assert response.get_json()["code"] == status


# --- the due list ------------------------------------------------------------------------


def _due(response) -> list[tuple[str, str]]:
    return [(item["account_no"], item["type"]) for item in response.get_json()["items"]]


def test_a_kamrs_due_list_is_their_accounts_most_urgent_first(api, world):
    response = api(world.kamr_a).get("/reports/due?today=2021-03-15&per_page=100")

    items = response.get_json()["items"]
    assert response.status_code == 200
    assert {item["account_no"] for item in items} == {"A-0001", "A-0002"}
    assert [item["days_left"] for item in items] == sorted(item["days_left"] for item in items)
    assert (items[0]["type"], items[0]["period_end"], items[0]["days_left"]) == (
        "COM",
        "2021-03-31",
        16,
    )


def test_a_done_activity_takes_its_item_off_the_due_list(api, world, make):
    caller = api(world.kamr_a)
    before = _due(caller.get("/reports/due?today=2021-03-15&per_page=100"))
    make.activity(world.account_a, "FMS", date(2021, 3, 1), performed_by=world.kamr_a)
    db.session.commit()

    after = _due(caller.get("/reports/due?today=2021-03-15&per_page=100"))

    assert ("A-0001", "FMS") in before
    assert after == [entry for entry in before if entry != ("A-0001", "FMS")]


@pytest.mark.parametrize(
    "who, query, scope, kamr",
    [
        ("manager_a", "", "OA", None),
        ("staff", "office=OA1", "OA1", None),
        ("staff", "user=kamr.b", None, "kamr_b"),
        ("staff", "", None, None),
    ],
)
def test_the_due_list_is_the_compliance_due_list_of_the_scope(api, world, who, query, scope, kamr):
    from kamcrm.compliance.due import due_list

    response = api(getattr(world, who)).get(f"/reports/due?today=2021-05-10&per_page=100&{query}")

    expected = due_list(
        office_scope(scope) if scope else region_scope(),
        date(2021, 5, 10),
        kamr_id=getattr(world, kamr).id if kamr else None,
    )
    assert _due(response) == [(item.account_no, item.type) for item in expected]
    assert response.get_json()["pagination"]["total"] == len(expected)


def test_the_due_list_is_paginated(api, world):
    caller = api(world.staff)

    whole = _due(caller.get("/reports/due?today=2021-03-15&per_page=100"))
    pages = [
        _due(caller.get(f"/reports/due?today=2021-03-15&per_page=3&page={page}")) for page in (1, 2)
    ]

    assert pages[0] + pages[1] == whole[:6]
