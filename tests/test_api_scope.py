"""Out of scope is out of sight: a KAMR of office B, asked about office A, learns nothing.

Every API route is walked. A route naming a record (an account, activity, contact, office,
user …) must answer the KAMR of office B about office A's record exactly as it answers
about a record that does not exist; lists and reports must leave office A out entirely.
"""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

from kamcrm.compliance.engine import cr2_report
from kamcrm.extensions import db
from kamcrm.org.scope import office_scope
from tests.test_api_support import PREFIX, api, world  # noqa: F401  (fixtures)

#: URL parameters that name a record, with a value naming nothing.
MISSING = {
    "account_no": "Z-404",
    "activity_id": "999999",
    "contact_id": "999999",
    "follow_up_id": "999999",
    "code": "ZZ",
    "username": "nobody",
    "ref": "CMP-404",
    "voc_key": "A999999",
    "office_code": "ZZ",
}
#: URL parameters that name no record of anyone's scope.
UNSCOPED = {
    "year": "2021",
    "type": "FMS",
    "tier": "STAR",
    "exec_role": "office_manager",
    "kind": "activities",
}

#: A valid body for each write, so that the scope (not the shape) decides the answer.
BODIES = {
    ("PATCH", "/accounts/<account_no>"): {"notes": "x"},
    ("POST", "/accounts/<account_no>/tiers"): {"tier": "STAR", "effective_from": "2021-01-01"},
    ("POST", "/accounts/<account_no>/contacts"): {"name": "X"},
    ("PATCH", "/accounts/<account_no>/contacts/<contact_id>"): {"phone": "1"},
    ("PATCH", "/activities/<activity_id>"): {"summary": "x"},
    ("POST", "/activities/<activity_id>/follow-ups"): {"action": "x", "due_on": "2021-06-01"},
    ("POST", "/activities/<activity_id>/follow-ups/<follow_up_id>/complete"): {},
    ("PATCH", "/offices/<code>"): {"name": "X"},
    ("PATCH", "/users/<username>"): {"full_name": "X"},
    ("PATCH", "/complaints/<ref>"): {"summary": "x"},
    ("POST", "/complaints/<ref>/close"): {"resolution": "fixed"},
    ("POST", "/complaints/<ref>/reopen"): None,
    ("PATCH", "/voc/<voc_key>"): {"significant": True},
    ("POST", "/voc/<voc_key>/complaint"): {},
    ("PUT", "/prevention-plans/<year>/<office_code>"): {"title": "x", "submitted_on": "2021-01-10"},
    ("POST", "/prevention-plans/<year>/<office_code>/reports"): {
        "quarter": 1,
        "text": "x",
        "submitted_on": "2021-04-05",
    },
}
#: Routes without a record in the URL, and the test below that covers each.
COVERED_ELSEWHERE = {
    ("GET", "/accounts"): "test_lists_leave_other_offices_out",
    ("POST", "/accounts"): "test_writes_into_another_office_are_refused",
    ("GET", "/activities"): "test_lists_leave_other_offices_out",
    ("POST", "/activities"): "test_writes_into_another_office_are_refused",
    ("POST", "/activities/bulk"): "test_writes_into_another_office_are_refused",
    ("GET", "/complaints"): "test_lists_leave_other_offices_out",
    ("GET", "/prevention-plans"): "tests/test_api_prevention.py::test_roles_and_scope",
    ("POST", "/complaints"): "test_writes_into_another_office_are_refused",
    ("GET", "/offices"): "test_lists_leave_other_offices_out",
    ("POST", "/offices"): "test_region_wide_routes_refuse_a_kamr",
    ("GET", "/users"): "test_region_wide_routes_refuse_a_kamr",
    ("POST", "/users"): "test_region_wide_routes_refuse_a_kamr",
    ("GET", "/reports/cr2"): "test_reports_count_only_the_callers_scope",
    ("GET", "/reports/due"): "test_reports_count_only_the_callers_scope",
    ("GET", "/reports/monthly"): "test_reports_count_only_the_callers_scope",
    (
        "GET",
        "/reports/complaints",
    ): "test_the_monthly_complaint_return_answers_for_the_callers_scope",
    ("GET", "/reports/cr1"): "tests/test_cr1_report.py::test_the_api_answers_the_callers_scope",
    # The year's targets are the region's, not an office's: readable by all, changed by staff.
    ("GET", "/targets/<year>"): "test_region_wide_routes_refuse_a_kamr",
    ("DELETE", "/targets/<year>"): "test_region_wide_routes_refuse_a_kamr",
    ("POST", "/targets/<year>/rules"): "test_region_wide_routes_refuse_a_kamr",
    ("PATCH", "/targets/<year>/rules/<type>/<tier>"): "test_region_wide_routes_refuse_a_kamr",
    ("DELETE", "/targets/<year>/rules/<type>/<tier>"): "test_region_wide_routes_refuse_a_kamr",
    ("PUT", "/targets/<year>/quotas/<exec_role>"): "test_region_wide_routes_refuse_a_kamr",
    ("PUT", "/targets/<year>/planned/<tier>"): "test_region_wide_routes_refuse_a_kamr",
    ("GET", "/targets/<year>/complaints"): "test_region_wide_routes_refuse_a_kamr",
    ("DELETE", "/targets/<year>/complaints"): "test_region_wide_routes_refuse_a_kamr",
    (
        "PUT",
        "/targets/<year>/complaints/categories/<category>",
    ): "test_region_wide_routes_refuse_a_kamr",
    (
        "PUT",
        "/targets/<year>/complaints/tier-limits/<category>/<tier>",
    ): "test_region_wide_routes_refuse_a_kamr",
    ("PATCH", "/targets/<year>/complaints/items/<item>"): "test_region_wide_routes_refuse_a_kamr",
    ("POST", "/imports/<kind>"): "test_region_wide_routes_refuse_a_kamr",
    # A background run is its uploader's alone (anyone else, staff included, gets 404).
    (
        "GET",
        "/imports/<run_id>",
    ): "tests/test_import_background.py::test_only_the_uploader_sees_a_run",
    ("GET", "/voc"): "tests/test_api_voc.py::test_the_list_leaves_other_offices_out",
    (
        "POST",
        "/voc/refs",
    ): "tests/test_api_voc.py::test_a_list_naming_another_offices_entry_is_refused_whole",
    # A year's prospect lists: an office manager reads their own office's members only.
    (
        "GET",
        "/prospects/<year>",
    ): "tests/test_prospect_pages.py::test_the_api_generates_plans_and_reads_in_scope",
    (
        "POST",
        "/prospects/<year>/snapshots",
    ): "tests/test_prospect_pages.py::test_the_api_generates_plans_and_reads_in_scope",
    (
        "POST",
        "/prospects/<year>/visits",
    ): "tests/test_prospect_pages.py::test_the_api_generates_plans_and_reads_in_scope",
    (
        "GET",
        "/prospects/<year>/settings",
    ): "tests/test_prospect_pages.py::test_the_api_generates_plans_and_reads_in_scope",
    (
        "PATCH",
        "/prospects/<year>/settings",
    ): "tests/test_prospect_pages.py::test_the_api_generates_plans_and_reads_in_scope",
}


def _api_routes(app):
    """Yield (method, rule without the prefix) for every API operation."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/") or rule.endpoint.startswith(
            ("api-docs.", "api_docs.")
        ):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"<\1>", rule.rule[len(PREFIX) :])
            yield method, path


def _names(path: str) -> list[str]:
    return re.findall(r"<([^<>]+)>", path)


def _fill(path: str, values: dict) -> str:
    return re.sub(r"<([^<>]+)>", lambda match: values[match.group(1)], path)


@pytest.fixture
def office_a_records(world, make):
    """Keys of office A's records: an account, its activity, contact and follow-up."""
    from kamcrm.activities.models import FollowUp

    activity = make.activity(
        world.account_a,
        "COM",
        date(2021, 2, 1),
        performed_by=world.kamr_a,
        voc_kind="complaint",
        voc_category="OTHER",
        voc_text="the meter is wrong",
    )
    contact = make.contact(world.account_a)
    follow_up = FollowUp(activity=activity, action="Call back", due_on=date(2021, 2, 15))
    db.session.add(follow_up)
    make.complaint(world.office_a, ref="CA-1", received_at="2021-02-01T09:00:00+07:00")
    from kamcrm.prevention.operations import record_plan

    record_plan("OA", 2021, {"title": "แผน", "submitted_on": "2021-01-10"})
    db.session.commit()
    return {
        "account_no": "A-0001",
        "activity_id": str(activity.id),
        "contact_id": str(contact.id),
        "follow_up_id": str(follow_up.id),
        "code": "OA",
        "username": "kamr.a",
        "ref": "CA-1",
        "voc_key": f"A{activity.id}",
        "office_code": "OA",
        **UNSCOPED,
    }


#: Every route whose URL names a record.
KEYED_ROUTES = [
    ("GET", "/accounts/<account_no>"),
    ("PATCH", "/accounts/<account_no>"),
    ("GET", "/accounts/<account_no>/tiers"),
    ("POST", "/accounts/<account_no>/tiers"),
    ("GET", "/accounts/<account_no>/contacts"),
    ("POST", "/accounts/<account_no>/contacts"),
    ("PATCH", "/accounts/<account_no>/contacts/<contact_id>"),
    ("DELETE", "/accounts/<account_no>/contacts/<contact_id>"),
    ("GET", "/activities/<activity_id>"),
    ("PATCH", "/activities/<activity_id>"),
    ("DELETE", "/activities/<activity_id>"),
    ("GET", "/activities/<activity_id>/follow-ups"),
    ("POST", "/activities/<activity_id>/follow-ups"),
    ("POST", "/activities/<activity_id>/follow-ups/<follow_up_id>/complete"),
    ("GET", "/offices/<code>"),
    ("PATCH", "/offices/<code>"),
    ("GET", "/users/<username>"),
    ("PATCH", "/users/<username>"),
    ("GET", "/complaints/<ref>"),
    ("PATCH", "/complaints/<ref>"),
    ("POST", "/complaints/<ref>/close"),
    ("POST", "/complaints/<ref>/reopen"),
    ("GET", "/voc/<voc_key>"),
    ("PATCH", "/voc/<voc_key>"),
    ("POST", "/voc/<voc_key>/complaint"),
    ("GET", "/prevention-plans/<year>/<office_code>"),
    ("PUT", "/prevention-plans/<year>/<office_code>"),
    ("POST", "/prevention-plans/<year>/<office_code>/reports"),
]


def test_every_api_route_is_walked_here(app):
    routes = set(_api_routes(app))
    keyed = {route for route in routes if set(_names(route[1])) & set(MISSING)}

    assert keyed == set(KEYED_ROUTES)
    assert routes - keyed - set(COVERED_ELSEWHERE) == set()
    assert {route for route in keyed if route[0] in ("POST", "PATCH", "PUT")} <= set(BODIES)


@pytest.mark.parametrize("method, path", KEYED_ROUTES)
def test_a_record_of_another_office_answers_like_no_record(
    api, world, office_a_records, method, path
):
    stranger = api(world.kamr_b)
    body = BODIES.get((method, path))
    missing = {
        **office_a_records,
        **{name: MISSING[name] for name in _names(path) if name in MISSING},
    }

    theirs = stranger._call(method, _fill(path, office_a_records), json=body)
    nothing = stranger._call(method, _fill(path, missing), json=body)
    control = api(world.admin)._call(method, _fill(path, office_a_records), json=body)

    assert theirs.status_code in (403, 404)
    assert (theirs.status_code, sorted(theirs.get_json()["errors"])) == (
        nothing.status_code,
        sorted(nothing.get_json()["errors"]),
    )
    assert control.status_code != 404  # the record exists: region-wide staff reach it


def test_lists_leave_other_offices_out(api, world, office_a_records):
    stranger = api(world.kamr_b)

    accounts = stranger.get("/accounts?per_page=100").get_json()["items"]
    activities = stranger.get("/activities?per_page=100").get_json()["items"]
    complaints = stranger.get("/complaints?per_page=100").get_json()["items"]
    assert complaints == []
    assert stranger.get("/complaints?account_no=A-0001").get_json()["items"] == []
    offices = stranger.get("/offices?per_page=100").get_json()["items"]

    assert [item["account_no"] for item in accounts] == ["B-0001"]
    assert activities == []
    assert [item["code"] for item in offices] == ["OB"]
    for query in ("q=A-0001", "kamr=kamr.a", "sector=steel"):
        assert stranger.get(f"/accounts?{query}").get_json()["items"] == []
    for query in ("account_no=A-0001", "performed_by=kamr.a"):
        assert stranger.get(f"/activities?{query}").get_json()["items"] == []


@pytest.mark.parametrize("query", ["office=OA", "office=OA1"])
def test_naming_another_office_in_a_filter_answers_404(api, world, query):
    stranger = api(world.kamr_b)

    assert stranger.get(f"/accounts?{query}").status_code == 404
    assert stranger.get(f"/activities?{query}").status_code == 404
    assert stranger.get(f"/complaints?{query}").status_code == 404


def test_writes_into_another_office_are_refused(api, world):
    stranger = api(world.kamr_b)
    activity = {"account_no": "A-0001", "type": "COM", "activity_date": "2021-03-01"}

    single = stranger.post("/activities", json=activity)
    bulk = stranger.post("/activities/bulk", json={"items": [activity]})
    account = stranger.post(
        "/accounts", json={"account_no": "N-1", "name": "New", "office_code": "OA"}
    )

    assert single.get_json()["errors"] == {"account_no": ["No account has the number 'A-0001'."]}
    assert bulk.get_json()["errors"] == {
        "items.0.account_no": ["No account has the number 'A-0001'."]
    }
    assert account.status_code == 403
    on_account = stranger.post(
        "/complaints", json={"ref": "N-1", "account_no": "A-0001", "category": "OTHER"}
    )
    in_office = stranger.post(
        "/complaints", json={"ref": "N-2", "office_code": "OA", "category": "OTHER"}
    )
    assert (on_account.status_code, on_account.get_json()["errors"]) == (
        422,
        {"account_no": ["unknown account 'A-0001'"]},
    )
    assert (in_office.status_code, in_office.get_json()["errors"]) == (
        422,
        {"office_code": ["unknown office 'OA'"]},
    )


def test_region_wide_routes_refuse_a_kamr(api, world):
    stranger = api(world.kamr_b)
    csv = io.BytesIO(b"account_no,type,activity_date,performed_by\nA-0001,COM,2021-03-01,kamr.b\n")

    assert stranger.get("/users").status_code == 403
    assert (
        stranger.post(
            "/users", json={"username": "x", "full_name": "X", "role": "kamr", "office_code": "OA"}
        ).status_code
        == 403
    )
    assert (
        stranger.post("/offices", json={"code": "X", "name": "X", "office_class": "1"}).status_code
        == 403
    )
    assert stranger.post("/imports/activities", data={"file": (csv, "a.csv")}).status_code == 403
    assert stranger.get("/targets/2021").status_code == 200
    assert stranger.get("/targets/2021/complaints").status_code == 200
    for method, path, body in [
        ("DELETE", "/targets/2021", None),
        (
            "POST",
            "/targets/2021/rules",
            {"type": "BOI", "tier": "STAR", "period": "year", "target_pct": 50},
        ),
        ("PATCH", "/targets/2021/rules/FMS/STAR", {"target_pct": 50}),
        ("DELETE", "/targets/2021/rules/FMS/STAR", None),
        ("PUT", "/targets/2021/quotas/office_manager", {"quota_per_quarter": 1}),
        ("PUT", "/targets/2021/planned/STAR", {"planned": 1}),
        ("DELETE", "/targets/2021/complaints", None),
        ("PUT", "/targets/2021/complaints/categories/OTHER", {"limit_days": 1}),
        ("PUT", "/targets/2021/complaints/tier-limits/OTHER/STAR", {"limit_days": 1}),
        ("PATCH", "/targets/2021/complaints/items/2.1d", {"target_pct": 50}),
    ]:
        assert stranger._call(method, path, json=body).status_code == 403, path


def test_reports_count_only_the_callers_scope(api, world, make):
    stranger = api(world.kamr_b)
    before = stranger.get("/reports/cr2?year=2021&as_of=2021-12-31").get_json()
    make.activity(world.account_a, "FMS", date(2021, 3, 1), performed_by=world.kamr_a)
    db.session.commit()

    after = stranger.get("/reports/cr2?year=2021&as_of=2021-12-31").get_json()
    monthly = stranger.get("/reports/monthly?month=2021-03").get_data(as_text=True)
    due = stranger.get("/reports/due").get_data(as_text=True)

    assert before == after == cr2_report(2021, date(2021, 12, 31), office_scope("OB"))
    for path in (
        "/reports/cr2?year=2021&office=OA",
        "/reports/monthly?month=2021-03&office=OA",
        "/reports/due?office=OA",
        "/reports/due?user=kamr.a",
    ):
        assert stranger.get(path).status_code == 404, path
    assert "A-0001" not in due and "A-0001" not in monthly and '"OA"' not in monthly
