"""The complaint-prevention API (CR2 plan 2.2): list, get, put a plan, post a quarter report;
who may do what, and out of scope is out of sight."""

from __future__ import annotations

from datetime import date, timedelta

from kamcrm.periods import bangkok_today
from tests.test_api_support import api, world  # noqa: F401  (fixtures)

YEAR = bangkok_today().year - 1  # every quarter of it has ended


def put(client, office="OA", year=YEAR, **body):
    return client.put(f"/prevention-plans/{year}/{office}", json={"title": "แผน", **body})


def test_a_manager_records_the_plan_and_reports_on_quarters(api, world):
    manager = api(world.manager_a)
    made = put(manager, submitted_on=f"{YEAR}-01-12", summary="ลดเรื่องร้องเรียนด้านแรงดัน")
    assert made.status_code == 200, made.get_json()
    assert made.headers["ETag"] == '"1"'
    body = made.get_json()
    assert (
        body["office_code"],
        body["year"],
        body["submitted_on"],
        body["submitted_by"],
        body["reports"],
    ) == ("OA", YEAR, f"{YEAR}-01-12", "manager.a", [])
    on_time = manager.post(
        f"/prevention-plans/{YEAR}/OA/reports",
        json={"quarter": 1, "text": "ผลไตรมาส 1", "submitted_on": f"{YEAR}-04-10"},
    )
    assert on_time.status_code == 201, on_time.get_json()
    late = manager.post(
        f"/prevention-plans/{YEAR}/OA/reports",
        json={"quarter": 2, "text": "ผลไตรมาส 2", "submitted_on": f"{YEAR}-07-11"},
    )
    reports = late.get_json()["reports"]
    assert [(r["quarter"], r["due_on"], r["on_time"]) for r in reports] == [
        (1, f"{YEAR}-04-10", True),
        (2, f"{YEAR}-07-10", False),
    ]
    assert late.headers["Location"].endswith(f"/api/v1/prevention-plans/{YEAR}/OA")
    got = manager.get(f"/prevention-plans/{YEAR}/OA")
    assert got.status_code == 200 and len(got.get_json()["reports"]) == 2
    stale = manager.put(
        f"/prevention-plans/{YEAR}/OA", json={"title": "v2"}, headers={"If-Match": '"9"'}
    )
    assert stale.status_code == 412
    assert (
        manager.put(
            f"/prevention-plans/{YEAR}/OA", json={"title": "v2"}, headers={"If-Match": '"1"'}
        ).status_code
        == 200
    )


def test_refusals_are_clear_and_store_nothing(api, world):
    staff = api(world.staff)
    future = (bangkok_today() + timedelta(days=1)).isoformat()
    refused = put(staff, submitted_on=future)
    assert refused.status_code == 422 and "submitted_on" in refused.get_json()["errors"]
    assert staff.get(f"/prevention-plans/{YEAR}/OA").status_code == 404
    assert put(staff, title="").status_code == 422
    assert (
        staff.put(f"/prevention-plans/{YEAR}/OA", json={"title": "x", "colour": 1}).status_code
        == 422
    )
    no_plan = staff.post(f"/prevention-plans/{YEAR}/OA/reports", json={"quarter": 1, "text": "x"})
    assert no_plan.status_code == 422 and "year" in no_plan.get_json()["errors"]
    put(staff)
    this_year = bangkok_today().year
    put(staff, year=this_year, submitted_on=f"{this_year}-01-05")
    not_ended = staff.post(
        f"/prevention-plans/{this_year}/OA/reports", json={"quarter": 4, "text": "x"}
    )
    assert not_ended.status_code == 422 and "quarter" in not_ended.get_json()["errors"]
    for quarter in (0, 5, "one"):
        assert (
            staff.post(
                f"/prevention-plans/{YEAR}/OA/reports", json={"quarter": quarter, "text": "x"}
            ).status_code
            == 422
        )
    within = staff.post(
        f"/prevention-plans/{YEAR}/OA/reports",
        json={"quarter": 1, "text": "x", "submitted_on": f"{YEAR}-03-31"},
    )
    assert within.status_code == 422 and "submitted_on" in within.get_json()["errors"]
    assert (
        staff.post(
            f"/prevention-plans/{YEAR}/OA/reports",
            json={"quarter": 1, "text": "x", "submitted_on": "31/04/2021"},
        ).status_code
        == 422
    )
    assert staff.get(f"/prevention-plans/{YEAR}/OA").get_json()["reports"] == []


def test_roles_and_scope(api, world):
    put(api(world.staff), office="OB")
    manager, kamr = api(world.manager_a), api(world.kamr_a)
    assert (
        manager.get(f"/prevention-plans/{YEAR}/OB").status_code == 404
    )  # another office: out of sight
    assert put(manager, office="OB").status_code == 404
    assert put(manager, office="OA1").status_code == 404  # a branch keeps no plan
    assert put(kamr).status_code == 403  # KAMRs read only
    put(manager)
    assert kamr.get(f"/prevention-plans/{YEAR}/OA").status_code == 200
    assert (
        kamr.post(
            f"/prevention-plans/{YEAR}/OA/reports", json={"quarter": 1, "text": "x"}
        ).status_code
        == 403
    )
    listed = kamr.get(f"/prevention-plans?year={YEAR}").get_json()
    assert [p["office_code"] for p in listed["items"]] == ["OA"] and listed["pagination"][
        "total"
    ] == 1
    region = api(world.staff).get(f"/prevention-plans?year={YEAR}")
    assert [p["office_code"] for p in region.get_json()["items"]] == ["OA", "OB"]
    assert (
        api(world.staff)
        .get(f"/prevention-plans?year={YEAR}&office=OB")
        .get_json()["pagination"]["total"]
        == 1
    )
    assert kamr.get(f"/prevention-plans?year={YEAR}&office=OB").status_code == 404
    assert kamr.get("/prevention-plans").status_code == 422  # the year is required
    assert date.fromisoformat(listed["items"][0]["submitted_on"]) <= bangkok_today()
