"""The complaints API: list with filters, get, create, patch, close, reopen; ETag / If-Match."""

from __future__ import annotations

import pytest

from tests.test_api_support import api, world  # noqa: F401  (fixtures)


@pytest.fixture
def complaints(world, make):
    from kamcrm.extensions import db

    make.complaint(
        world.office_a,
        ref="A-OPEN",
        category="METER_BILLING",
        received_at="2021-02-01T09:00:00+07:00",
    )
    make.complaint(
        account=world.account_a1,
        ref="A1-DONE",
        category="OTHER",
        urgent="yes",
        received_at="2021-03-01T09:00:00+07:00",
        closed_at="2021-03-01T15:00:00+07:00",
    )
    make.complaint(world.office_b, ref="B-OPEN", received_at="2021-03-05T09:00:00+07:00")
    db.session.commit()


def refs(response):
    assert response.status_code == 200, response.get_json()
    return [item["ref"] for item in response.get_json()["items"]]


def test_a_kamr_creates_gets_closes_and_reopens(api, world):
    kamr = api(world.kamr_a)
    created = kamr.post(
        "/complaints",
        json={
            "ref": "N-1",
            "account_no": "A-0001",
            "category": "power_quality",
            "received_at": "2021-04-01T08:00:00+07:00",
            "channel": "phone",
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["office_code"], body["category"], body["assigned_to"], body["closed_at"]) == (
        "OA",
        "POWER_QUALITY",
        "kamr.a",
        None,
    )
    assert created.headers["Location"].endswith("/api/v1/complaints/N-1")
    got = kamr.get("/complaints/N-1")
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'

    no_resolution = kamr.post("/complaints/N-1/close", json={})
    assert no_resolution.status_code == 422 and "resolution" in no_resolution.get_json()["errors"]
    stale = kamr.post(
        "/complaints/N-1/close", json={"resolution": "fixed"}, headers={"If-Match": '"7"'}
    )
    assert stale.status_code == 412
    closed = kamr.post(
        "/complaints/N-1/close",
        json={"resolution": "fixed", "closed_at": "2021-04-03T10:00:00+07:00"},
        headers={"If-Match": '"1"'},
    )
    assert (
        closed.status_code == 200 and closed.get_json()["closed_at"] == "2021-04-03T03:00:00+00:00"
    )
    assert closed.headers["ETag"] == '"2"'
    reopened = kamr.post("/complaints/N-1/reopen")
    assert reopened.status_code == 200 and reopened.get_json()["closed_at"] is None
    assert kamr.post("/complaints/N-1/reopen").status_code == 409


def test_patch_honours_if_match_and_refuses_bad_input(api, world, complaints):
    manager = api(world.manager_a)
    assert (
        manager.patch(
            "/complaints/A-OPEN", json={"summary": "x"}, headers={"If-Match": '"9"'}
        ).status_code
        == 412
    )
    changed = manager.patch(
        "/complaints/A-OPEN", json={"excluded": "duplicate"}, headers={"If-Match": '"1"'}
    )
    assert changed.status_code == 200 and changed.get_json()["excluded"] == "duplicate"
    bad = manager.patch(
        "/complaints/A-OPEN", json={"excluded": "bored", "closed_at": "2020-01-01T00:00:00+07:00"}
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) >= {"excluded", "closed_at"}
    kamr = api(world.kamr_a)
    assert kamr.patch("/complaints/A-OPEN", json={"excluded": None}).status_code == 403


def test_creating_a_duplicate_ref_is_a_conflict(api, world, complaints):
    answer = api(world.staff).post(
        "/complaints", json={"ref": "A-OPEN", "office_code": "OA", "category": "OTHER"}
    )
    assert answer.status_code == 409


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["B-OPEN", "A1-DONE", "A-OPEN"]),
        ("office=OA", ["A1-DONE", "A-OPEN"]),
        ("office=OA1", ["A1-DONE"]),
        ("account_no=A-0002", ["A1-DONE"]),
        ("category=meter_billing", ["A-OPEN"]),
        ("status=open", ["B-OPEN", "A-OPEN"]),
        ("status=closed", ["A1-DONE"]),
        ("urgent=true", ["A1-DONE"]),
        ("from=2021-03-01&to=2021-03-04", ["A1-DONE"]),
        ("overdue=true", ["B-OPEN", "A-OPEN"]),
        ("overdue=false", ["A1-DONE"]),
    ],
)
def test_list_filters(api, world, complaints, query, expected):
    assert refs(api(world.staff).get(f"/complaints?{query}")) == expected


def test_the_list_leaves_other_offices_out(api, world, complaints):
    assert refs(api(world.kamr_a).get("/complaints")) == ["A1-DONE", "A-OPEN"]
    assert api(world.kamr_a).get("/complaints/B-OPEN").status_code == 404


def test_the_document_lists_the_complaint_routes(api, world):
    paths = api(world.staff).get("/openapi.json").get_json()["paths"]
    assert {
        "/api/v1/complaints",
        "/api/v1/complaints/{ref}",
        "/api/v1/complaints/{ref}/close",
        "/api/v1/complaints/{ref}/reopen",
    } <= set(paths)
    assert set(paths["/api/v1/complaints/{ref}"]) >= {"get", "patch"}


def test_the_monthly_complaint_return_answers_for_the_callers_scope(api, world, complaints):
    staff = api(world.staff).get("/reports/complaints?month=2021-03")
    assert staff.status_code == 200, staff.get_json()
    assert (staff.get_json()["received"], staff.get_json()["scope"]) == (2, "R2")
    kamr = api(world.kamr_a).get("/reports/complaints?month=2021-03").get_json()
    assert (kamr["received"], kamr["scope"]) == (1, "OA")
    assert api(world.kamr_a).get("/reports/complaints?month=2021-03&office=OB").status_code == 404
    assert api(world.staff).get("/reports/complaints?month=2021-13").status_code == 422
