"""Who may do what: the holes a review reproduced against the running app, each through the
entry point it was found on (API, page, import), and the same rule through the others."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from kamcrm.activities.models import Activity
from kamcrm.audit.models import AuditEntry
from kamcrm.errors import Forbidden
from kamcrm.extensions import db
from kamcrm.imports.importer import import_file
from kamcrm.org.models import Office, User
from kamcrm.quarters.models import QuarterClose
from tests.test_api_support import api, world  # noqa: F401  (fixtures)


def _upload(caller, kind: str, text: str, query: str = ""):
    return caller.post(
        f"/imports/{kind}{query}", data={"file": (io.BytesIO(text.encode()), f"{kind}.csv")}
    )


def _import(kind: str, text: str, actor, reason: str | None = None):
    return import_file(kind, io.BytesIO(text.encode()), f"{kind}.csv", actor=actor, reason=reason)


def _activities() -> list[Activity]:
    return list(db.session.scalars(sa.select(Activity).order_by(Activity.id)))


def _close_2021_q1() -> None:
    db.session.add(
        QuarterClose(
            year=2021, quarter=1, closed_at=datetime(2021, 4, 16, tzinfo=timezone.utc), snapshot={}
        )
    )
    db.session.commit()


# --- privilege escalation through imports ---------------------------------------------------


def test_regional_staff_cannot_make_themselves_admin_with_a_users_file(api, world):
    caller = api(world.staff)
    response = _upload(
        caller, "users", "username,full_name,role,office_code\nstaff,Staff,admin,R2\n"
    )

    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(User, world.staff.id).role == "regional_staff"
    # ... and so still cannot create users, as the direct route says.
    created = caller.post(
        "/users",
        json={"username": "mine", "full_name": "Mine", "role": "admin", "office_code": "R2"},
    )
    assert created.status_code == 403


def test_regional_staff_cannot_rename_offices_with_an_offices_file(api, world):
    response = _upload(
        api(world.staff), "offices", "code,name,office_class,parent_code\nOA,Renamed,1,R2\n"
    )

    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Office, world.office_a.id).name != "Renamed"


def test_an_admin_and_the_cli_operator_still_import_users_and_offices(api, world, runner, tmp_path):
    response = _upload(
        api(world.admin), "users", "username,full_name,role,office_code\nnew.kamr,New,kamr,OA\n"
    )
    assert response.status_code == 201

    path = tmp_path / "offices.csv"
    path.write_text(
        "code,name,office_class,parent_code\nOA,Office A renamed,1,R2\n", encoding="utf-8"
    )
    result = runner.invoke(args=["import", "offices", str(path)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Office, world.office_a.id).name == "Office A renamed"


def test_a_tiers_file_needs_the_retiering_role(world):
    with pytest.raises(Forbidden):
        _import(
            "tiers", "account_no,tier,effective_from\nA-0001,STAR,2021-01-01\n", world.manager_a
        )


ACTIVITY_HEADER = "account_no,type,activity_date,performed_by,exec_role\n"


def test_an_activities_file_is_held_to_the_importers_scope_and_role_row_by_row(world):
    rows = (
        "A-0001,COM,2021-03-01,manager.a,\n"  # fine on its own
        "B-0001,COM,2021-03-01,manager.a,\n"  # another office's account
        "A-0001,COM,2021-03-02,kamr.a,\n"  # someone else's name
        "A-0002,EXV,2021-03-03,manager.a,region_director\n"
    )  # not the manager's exec_role
    result = _import("activities", ACTIVITY_HEADER + rows, world.manager_a)

    assert [(error.line, error.field) for error in result.errors] == [
        (3, "account_no"),
        (4, "performed_by"),
        (5, "exec_role"),
    ]
    assert _activities() == []


def test_staff_import_activities_in_the_performers_names(world):
    rows = "A-0001,COM,2021-03-01,kamr.a,\nB-0001,EXV,2021-03-01,exec,assistant_director\n"
    result = _import("activities", ACTIVITY_HEADER + rows, world.staff)

    assert result.ok, result.errors
    assert [(a.performed_by.username, a.exec_role) for a in _activities()] == [
        ("kamr.a", None),
        ("exec", "assistant_director"),
    ]


ACCOUNT_HEADER = "account_no,name,office_code,kamr_username,closed_on\n"


def test_an_accounts_file_is_held_to_the_importers_role_row_by_row(world):
    rows = (
        "A-0001,Alpha Steel,OA,manager.a,\n"  # reassigning in their office: an office manager may
        "N-0001,New Co,OA,,\n"  # creating an account: staff only
        "B-0001,Bravo Plastics,OB,kamr.b,\n"  # another office's account
        "A-0002,Alpha Foods,OB,kamr.a,\n"
    )  # an office they cannot see
    result = _import("accounts", ACCOUNT_HEADER + rows, world.manager_a)

    assert [(error.line, error.field) for error in result.errors] == [
        (3, "account_no"),
        (4, "office_code"),
        (5, "kamr_username"),
        (5, "office_code"),
    ]
    db.session.expire_all()
    assert world.account_a.kamr.username == "kamr.a"


# --- acting in someone else's name ----------------------------------------------------------


def test_an_office_manager_cannot_log_executive_visits_in_an_assistant_directors_name(api, world):
    caller = api(world.manager_a)
    as_director = caller.post(
        "/activities",
        json={
            "account_no": "A-0001",
            "type": "EXV",
            "activity_date": "2021-03-05",
            "performed_by": "exec",
            "exec_role": "assistant_director",
        },
    )
    as_region_director = caller.post(
        "/activities",
        json={
            "account_no": "A-0001",
            "type": "EXV",
            "activity_date": "2021-03-05",
            "exec_role": "region_director",
        },
    )

    assert as_director.status_code == 422
    assert "performed_by" in as_director.get_json()["errors"]
    assert as_region_director.status_code == 422
    assert "exec_role" in as_region_director.get_json()["errors"]
    assert _activities() == []


def test_an_executive_visit_counts_for_its_performers_own_role_whoever_records_it(api, world):
    caller = api(world.staff)
    wrong = caller.post(
        "/activities",
        json={
            "account_no": "A-0001",
            "type": "EXV",
            "activity_date": "2021-03-05",
            "performed_by": "exec",
            "exec_role": "region_director",
        },
    )
    right = caller.post(
        "/activities",
        json={
            "account_no": "A-0001",
            "type": "EXV",
            "activity_date": "2021-03-05",
            "performed_by": "exec",
            "exec_role": "assistant_director",
        },
    )

    assert (wrong.status_code, right.status_code) == (422, 201)
    assert "'exec' visits as assistant_director" in " ".join(
        wrong.get_json()["errors"]["exec_role"]
    )
    assert [a.exec_role for a in _activities()] == ["assistant_director"]


def test_a_kamr_cannot_move_an_activity_to_another_performer(api, world, make):
    activity = make.activity(world.account_a, performed_by=world.kamr_a)
    db.session.commit()

    response = api(world.kamr_a).patch(
        f"/activities/{activity.id}", json={"performed_by": "kamr.b"}
    )

    assert response.status_code == 422
    assert "performed_by" in response.get_json()["errors"]
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).performed_by_id == world.kamr_a.id


def test_an_edit_keeps_the_stored_performer_and_staff_may_correct_it(api, world, make):
    activity = make.activity(world.account_a, performed_by=world.kamr_a)
    db.session.commit()

    kept = api(world.manager_a).patch(f"/activities/{activity.id}", json={"summary": "checked"})
    corrected = api(world.staff).patch(
        f"/activities/{activity.id}", json={"performed_by": "manager.a"}
    )

    assert (kept.status_code, corrected.status_code) == (200, 200)
    assert corrected.get_json()["performed_by"] == "manager.a"


def test_the_log_page_refuses_an_exec_role_not_the_managers_own(client, login_as, world):
    login_as(world.manager_a)
    response = client.post(
        "/activities/new",
        data={
            "account": "A-0001",
            "type": "EXV",
            "exec_role": "region_director",
            "status": "done",
            "channel": "visit",
            "activity_date": "2021-03-05",
        },
    )

    assert response.status_code == 422
    assert 'id="exec_role-error"' in response.get_data(as_text=True)
    assert _activities() == []


def test_an_account_is_assigned_only_to_a_kamr_of_its_office_or_branches(api, world, make):
    branch_kamr = make.user("kamr", office=world.branch_a1, username="kamr.a1")
    db.session.commit()
    caller = api(world.staff)

    elsewhere = caller.patch("/accounts/A-0001", json={"kamr_username": "kamr.b"})
    in_a_branch = caller.patch("/accounts/A-0001", json={"kamr_username": branch_kamr.username})
    created = caller.post(
        "/accounts",
        json={"account_no": "N-1", "name": "N", "office_code": "OB", "kamr_username": "kamr.a"},
    )

    assert (elsewhere.status_code, in_a_branch.status_code, created.status_code) == (422, 200, 422)
    assert "kamr_username" in elsewhere.get_json()["errors"]


# --- gaming coverage ------------------------------------------------------------------------


def test_a_kamr_cannot_close_an_account(api, world):
    response = api(world.kamr_a).patch("/accounts/A-0001", json={"closed_on": "2021-02-01"})

    assert response.status_code == 403
    db.session.expire_all()
    assert world.account_a.closed_on is None


def test_opening_and_closing_dates_need_the_reassigning_role(api, world):
    opened = api(world.kamr_a).patch("/accounts/A-0001", json={"opened_on": "2021-02-01"})
    closed = api(world.manager_a).patch("/accounts/A-0001", json={"closed_on": "2021-05-01"})

    assert (opened.status_code, closed.status_code) == (403, 200)


def test_a_closing_date_in_a_closed_quarter_needs_staff_and_a_reason(api, world):
    _close_2021_q1()

    manager = api(world.manager_a).patch("/accounts/A-0001", json={"closed_on": "2021-02-01"})
    no_reason = api(world.staff).patch("/accounts/A-0001", json={"closed_on": "2021-02-01"})
    with_reason = api(world.staff).patch(
        "/accounts/A-0001", json={"closed_on": "2021-02-01", "reason": "closed in February"}
    )

    assert (manager.status_code, no_reason.status_code, with_reason.status_code) == (409, 422, 200)
    entry = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity == "accounts", AuditEntry.action == "update")
    ).one()
    assert (entry.after, entry.reason) == ({"closed_on": "2021-02-01"}, "closed in February")


def test_a_date_cannot_be_moved_out_of_a_closed_quarter_without_staff(api, world):
    world.account_a.opened_on = date(2021, 2, 1)
    _close_2021_q1()

    response = api(world.manager_a).patch("/accounts/A-0001", json={"opened_on": "2021-05-01"})

    assert response.status_code == 409
    db.session.expire_all()
    assert world.account_a.opened_on == date(2021, 2, 1)


def test_an_accounts_file_follows_the_quarter_lock_for_its_dates(world):
    _close_2021_q1()
    text = ACCOUNT_HEADER + "A-0001,Alpha Steel,OA,kamr.a,2021-02-01\n"

    refused = _import("accounts", text, world.staff)
    assert [(error.line, error.field) for error in refused.errors] == [(2, "closed_on")]
    assert "reason" in refused.errors[0].message

    assert _import("accounts", text, world.staff, reason="closed in February").ok
    db.session.expire_all()
    assert world.account_a.closed_on == date(2021, 2, 1)
