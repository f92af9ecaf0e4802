"""Activities over the API: record, list, change, delete, bulk, follow-ups, the quarter lock."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from kamcrm.activities.models import Activity, FollowUp
from kamcrm.extensions import db
from kamcrm.quarters.models import QuarterClose
from tests.test_api_support import api, world  # noqa: F401  (fixtures)


def _count() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Activity)).scalar_one()


def _close(year: int, quarter: int) -> None:
    db.session.add(
        QuarterClose(
            year=year,
            quarter=quarter,
            closed_at=datetime(year, 12, 31, tzinfo=timezone.utc),
            snapshot={},
        )
    )
    db.session.commit()


# --- recording ---------------------------------------------------------------------------


def test_a_kamr_records_an_activity_performed_by_themselves(api, world):
    response = api(world.kamr_a).post(
        "/activities",
        json={
            "account_no": "A-0002",
            "type": "FMS",
            "activity_date": "2021-03-05",
            "channel": "visit",
            "summary": "Thermoscan of the main transformer",
        },
    )

    body = response.get_json()
    activity = db.session.get(Activity, body["id"])
    assert response.status_code == 201
    assert response.headers["Location"] == f"/api/v1/activities/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    assert (body["performed_by"], body["status"], body["type"]) == ("kamr.a", "done", "FMS")
    assert (activity.account_id, activity.recorded_by_id) == (world.account_a1.id, world.kamr_a.id)


@pytest.mark.parametrize("account_no", ["B-0001", "Z-9999"], ids=["other-office", "unknown"])
def test_an_account_out_of_scope_is_refused_like_an_unknown_one(api, world, account_no):
    response = api(world.kamr_a).post(
        "/activities", json={"account_no": account_no, "type": "COM", "activity_date": "2021-03-05"}
    )

    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "account_no": [f"No account has the number '{account_no}'."]
    }


@pytest.mark.parametrize(
    "body, field",
    [
        ({"type": "XYZ"}, "type"),
        ({"activity_date": "2021-02-30"}, "activity_date"),
        ({"type": "EXV", "exec_role": None}, "exec_role"),
        ({"exec_role": "office_manager"}, "exec_role"),
        ({"performed_by": "nobody"}, "performed_by"),
        ({"activity_date": "2999-01-01"}, "activity_date"),
    ],
)
def test_the_operations_validation_answers_422_by_field(api, world, body, field):
    response = api(world.manager_a).post(
        "/activities",
        json={"account_no": "A-0001", "type": "COM", "activity_date": "2021-03-05", **body},
    )

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize("role, status", [("kamr", 403), ("office_manager", 201)])
def test_executive_visits_are_logged_by_those_who_make_them(api, world, role, status):
    user = world.kamr_a if role == "kamr" else world.manager_a

    response = api(user).post(
        "/activities",
        json={
            "account_no": "A-0001",
            "type": "EXV",
            "exec_role": "office_manager",
            "activity_date": "2021-03-05",
        },
    )

    assert response.status_code == status


def test_a_reused_ref_is_a_conflict(api, world):
    caller = api(world.kamr_a)
    body = {"account_no": "A-0001", "type": "COM", "activity_date": "2021-03-05", "ref": "CRM-1"}

    statuses = [caller.post("/activities", json=body).status_code for _ in range(2)]

    assert statuses == [201, 409]


# --- the quarter lock --------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, reason, status",
    [
        ("kamr", None, 409),
        ("kamr", "late paperwork", 409),
        ("regional_staff", None, 422),
        ("regional_staff", "late paperwork", 201),
    ],
)
def test_a_closed_quarter_takes_activities_only_from_staff_with_a_reason(
    api, world, role, reason, status
):
    _close(2021, 1)
    user = world.kamr_a if role == "kamr" else world.staff
    body = {
        "account_no": "A-0001",
        "type": "COM",
        "activity_date": "2021-03-05",
        "performed_by": "kamr.a",
    }

    response = api(user).post(
        "/activities", json={**body, **({"reason": reason} if reason else {})}
    )

    assert response.status_code == status
    assert response.get_json()["code" if status != 201 else "type"] == (
        status if status != 201 else "COM"
    )


def test_deleting_in_a_closed_quarter_takes_the_reason_from_the_query(api, world, make):
    activity = make.activity(
        world.account_a, activity_date=date(2021, 2, 1), performed_by=world.kamr_a
    )
    _close(2021, 1)

    refused = api(world.staff).delete(f"/activities/{activity.id}")
    accepted = api(world.staff).delete(f"/activities/{activity.id}?reason=duplicate%20entry")

    assert (refused.status_code, accepted.status_code) == (422, 204)


# --- listing -----------------------------------------------------------------------------


@pytest.fixture
def logged(world, make):
    """Four activities: three on office A's accounts (one in its branch), one on office B's."""
    return {
        "a-com": make.activity(
            world.account_a, "COM", date(2021, 1, 10), performed_by=world.kamr_a
        ),
        "a-fms": make.activity(
            world.account_a, "FMS", date(2021, 5, 20), performed_by=world.manager_a
        ),
        "a1-plan": make.activity(
            world.account_a1, "RBA", date(2021, 9, 1), performed_by=world.kamr_a, status="planned"
        ),
        "b-com": make.activity(world.account_b, "COM", date(2021, 2, 2), performed_by=world.kamr_b),
    }


@pytest.mark.parametrize(
    "query, names",
    [
        ("", ["a1-plan", "a-fms", "b-com", "a-com"]),
        ("account_no=A-0001", ["a-fms", "a-com"]),
        ("type=COM", ["b-com", "a-com"]),
        ("status=planned", ["a1-plan"]),
        ("from=2021-02-01&to=2021-06-30", ["a-fms", "b-com"]),
        ("office=OA", ["a1-plan", "a-fms", "a-com"]),
        ("office=OA1", ["a1-plan"]),
        ("performed_by=manager.a", ["a-fms"]),
    ],
)
def test_staff_list_activities_newest_first_with_filters(api, world, logged, query, names):
    response = api(world.staff).get(f"/activities?{query}")

    ids = [item["id"] for item in response.get_json()["items"]]
    assert ids == [logged[name].id for name in names]
    assert response.get_json()["pagination"]["total"] == len(names)


def test_a_kamr_never_lists_activities_of_another_office(api, world, logged):
    ids = {
        item["id"] for item in api(world.kamr_b).get("/activities?per_page=100").get_json()["items"]
    }

    assert ids == {logged["b-com"].id}


# --- changing and deleting ---------------------------------------------------------------


def test_patch_with_the_current_etag_changes_and_answers_the_next_one(api, world, logged):
    caller = api(world.kamr_a)
    activity_id = logged["a-com"].id
    etag = caller.get(f"/activities/{activity_id}").headers["ETag"]

    response = caller.patch(
        f"/activities/{activity_id}",
        json={"summary": "Called the plant"},
        headers={"If-Match": etag},
    )

    assert response.status_code == 200
    assert response.get_json()["summary"] == "Called the plant"
    assert response.headers["ETag"] == f'"{int(etag.strip(chr(34))) + 1}"'


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_a_stale_if_match_is_412_and_leaves_the_activity(api, world, logged, method):
    caller = api(world.kamr_a)
    activity_id = logged["a-com"].id
    caller.patch(f"/activities/{activity_id}", json={"summary": "someone else"})

    response = getattr(caller, method)(
        f"/activities/{activity_id}",
        headers={"If-Match": '"1"'},
        **({"json": {"summary": "mine"}} if method == "patch" else {}),
    )

    db.session.expire_all()
    assert response.status_code == 412
    assert db.session.get(Activity, activity_id).summary == "someone else"


def test_moving_an_activity_to_an_account_out_of_scope_is_refused(api, world, logged):
    response = api(world.kamr_a).patch(
        f"/activities/{logged['a-com'].id}", json={"account_no": "B-0001"}
    )

    assert response.status_code == 422
    assert "account_no" in response.get_json()["errors"]


def test_delete_removes_the_activity(api, world, logged):
    response = api(world.kamr_a).delete(
        f"/activities/{logged['a-com'].id}", headers={"If-Match": '"1"'}
    )

    db.session.expire_all()
    assert response.status_code == 204
    assert db.session.get(Activity, logged["a-com"].id) is None


# --- bulk --------------------------------------------------------------------------------


def test_bulk_records_every_item(api, world):
    items = [
        {"account_no": number, "type": "COM", "activity_date": "2021-03-0" + str(day)}
        for day, number in enumerate(["A-0001", "A-0002"], start=1)
    ]

    response = api(world.kamr_a).post("/activities/bulk", json={"items": items})

    assert response.status_code == 201
    assert [item["account_no"] for item in response.get_json()["items"]] == ["A-0001", "A-0002"]
    assert _count() == 2


def test_bulk_with_one_bad_item_records_nothing_and_names_the_item(api, world):
    items = [
        {"account_no": "A-0001", "type": "COM", "activity_date": "2021-03-01"},
        {"account_no": "A-0002", "type": "COM", "activity_date": "2021-13-01"},
        {"account_no": "B-0001", "type": "COM", "activity_date": "2021-03-01"},
    ]

    response = api(world.kamr_a).post("/activities/bulk", json={"items": items})

    assert response.status_code == 422
    assert sorted(response.get_json()["errors"]) == ["items.1.activity_date", "items.2.account_no"]
    assert _count() == 0


@pytest.mark.parametrize("count", [0, 501])
def test_bulk_takes_one_to_five_hundred_items(api, world, count):
    items = [{"account_no": "A-0001", "type": "COM", "activity_date": "2021-03-01"}] * count

    response = api(world.kamr_a).post("/activities/bulk", json={"items": items})

    assert response.status_code == 422
    assert "items" in response.get_json()["errors"]


# --- follow-ups --------------------------------------------------------------------------


def test_follow_ups_are_added_listed_and_completed(api, world, logged):
    caller = api(world.kamr_a)
    base = f"/activities/{logged['a-com'].id}/follow-ups"

    added = caller.post(base, json={"action": "Send the capacitor quote", "due_on": "2021-01-20"})
    follow_up_id = added.get_json()["id"]
    completed = caller.post(f"{base}/{follow_up_id}/complete", json={"done_on": "2021-01-18"})
    listed = caller.get(base).get_json()["items"]

    assert (added.status_code, completed.status_code) == (201, 200)
    assert listed == [
        {
            "id": follow_up_id,
            "activity_id": logged["a-com"].id,
            "action": "Send the capacitor quote",
            "due_on": "2021-01-20",
            "done_on": "2021-01-18",
            "assignee": "kamr.a",
        }
    ]
    assert db.session.get(FollowUp, follow_up_id).done_on == date(2021, 1, 18)


def test_a_follow_up_of_another_activity_is_not_found(api, world, logged):
    other = (
        api(world.kamr_a)
        .post(
            f"/activities/{logged['a-fms'].id}/follow-ups",
            json={"action": "x", "due_on": "2021-06-01"},
        )
        .get_json()["id"]
    )

    response = api(world.kamr_a).post(
        f"/activities/{logged['a-com'].id}/follow-ups/{other}/complete", json={}
    )

    assert response.status_code == 404


def test_recording_an_activity_reads_the_token_account_and_quarter_once_each(api, world, app):
    client = api(world.kamr_a)
    db.session.commit()  # the token issued: a transaction that changed tokens keeps nothing
    body = {"account_no": "A-0002", "type": "COM", "activity_date": "2021-03-05"}
    client.post("/activities", json=body)  # the token's last use is written once a minute
    statements = []

    def remember(conn, cursor, statement, *args):
        statements.append(statement.split()[0].upper())

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        response = client.post("/activities", json=body)
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)

    assert response.status_code == 201
    # The token (with its user and office) and the quarter lock were read by the first call
    # and are taken on trust for a few seconds; the account in scope, the activity and its
    # audit entry. The operation reuses the caller's user and account instead of reading them
    # again.
    assert [s for s in statements if s not in ("SAVEPOINT", "RELEASE", "ROLLBACK")] == [
        "SELECT",
        "INSERT",
        "INSERT",
    ]


def test_a_first_write_reads_the_token_account_and_quarter_once_each(api, world, app):
    client = api(world.kamr_a)
    db.session.commit()
    statements = []

    def remember(conn, cursor, statement, *args):
        statements.append(statement.split()[0].upper())

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        response = client.post(
            "/activities",
            json={"account_no": "A-0002", "type": "COM", "activity_date": "2021-03-05"},
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)

    assert response.status_code == 201
    # token + user + office in one query and the token's use (once a minute), committed on
    # its own; the user and office again (the commit expired them), the account in scope,
    # the quarter lock, the activity, its audit entry.
    assert [s for s in statements if s not in ("SAVEPOINT", "RELEASE", "ROLLBACK")] == [
        "SELECT",
        "UPDATE",
        "SELECT",
        "SELECT",
        "SELECT",
        "SELECT",
        "INSERT",
        "INSERT",
    ]


def test_a_kamr_cannot_set_recorded_at_over_the_api(api, world):
    response = api(world.kamr_a).post(
        "/activities",
        json={
            "account_no": "A-0002",
            "type": "COM",
            "activity_date": "2021-03-05",
            "recorded_at": "2021-03-06T09:00:00+07:00",
        },
    )

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["recorded_at"]
    assert _count() == 0
