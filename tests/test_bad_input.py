"""Bad input of any kind gets a clear refusal and changes nothing, through every entry point.

The holes of "a hostile user" (part 3): dates in year 9999 or typed in the Buddhist era,
activities outside their account's life, unbounded text, NUL characters from a page form,
numbers of thousands of digits, page numbers beyond the database's integers.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from kamcrm import limits
from kamcrm.activities.models import Activity
from kamcrm.extensions import db
from kamcrm.imports.importer import import_file
from kamcrm.periods import bangkok_today
from tests.test_api_support import api, world  # noqa: F401  (fixtures)

ACTIVITY_HEADER = (
    "account_no,type,activity_date,performed_by,status,channel,exec_role,summary,ref,recorded_at\n"
)


def _activities() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Activity)).scalar_one()


def _import_activities(rows: str):
    return import_file(
        "activities", io.BytesIO((ACTIVITY_HEADER + rows).encode("utf-8")), "activities.csv"
    )


@pytest.fixture
def signed_in_kamr(login_as, world):
    return login_as(world.kamr_a)


def _page_form(**fields) -> dict:
    return {
        "account": "A-0001",
        "type": "COM",
        "activity_date": "2021-03-05",
        "status": "done",
        "channel": "visit",
        **fields,
    }


# --- dates: year 9999, Buddhist-era years, the account's life ---------------------------------


def test_a_planned_activity_in_year_9999_is_refused_by_the_api(api, world):
    response = api(world.kamr_a).post(
        "/activities",
        json={
            "account_no": "A-0001",
            "type": "COM",
            "activity_date": "9999-12-31",
            "status": "planned",
        },
    )

    assert response.status_code == 422
    assert "between the years 2000 and 2200" in response.get_json()["errors"]["activity_date"][0]
    assert _activities() == 0


def test_a_planned_activity_in_year_9999_is_refused_by_the_import(world):
    result = _import_activities("A-0001,COM,9999-12-31,kamr.a,planned,,,,,\n")

    assert not result.ok
    assert [(error.line, error.field) for error in result.errors] == [(2, "activity_date")]
    assert _activities() == 0


def test_a_planned_activity_in_year_9999_is_refused_by_the_page_form(client, signed_in_kamr):
    response = client.post(
        "/activities/new", data=_page_form(activity_date="9999-12-31", status="planned")
    )

    assert response.status_code == 422
    assert 'id="activity_date-error"' in response.get_data(as_text=True)
    assert _activities() == 0


def test_a_buddhist_era_year_in_a_plan_is_refused_with_the_ce_year_it_means(client, signed_in_kamr):
    response = client.post(
        "/accounts/A-0001/plan",
        data={"type": "FMS", "activity_date": "2569-12-20", "channel": "visit"},
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "2026" in html and 'id="activity_date-error"' in html
    assert _activities() == 0


def test_a_buddhist_era_year_is_named_as_such_by_the_api(api, world):
    response = api(world.kamr_a).post(
        "/activities", json={"account_no": "A-0001", "type": "FMS", "activity_date": "2564-03-05"}
    )

    assert response.status_code == 422
    assert response.get_json()["errors"]["activity_date"] == [
        "'2564-03-05' is in the year 2564, a Buddhist-era year? Write the CE year (2021)"
    ]


def test_a_done_activity_before_the_account_opened_is_refused(api, world):
    world.account_a.opened_on = date(2021, 6, 1)
    db.session.commit()

    response = api(world.kamr_a).post(
        "/activities", json={"account_no": "A-0001", "type": "COM", "activity_date": "2021-05-31"}
    )

    assert response.status_code == 422
    assert response.get_json()["errors"]["activity_date"] == [
        "2021-05-31 is before the account opened (2021-06-01)"
    ]
    assert _activities() == 0


def test_a_planned_visit_after_the_account_closed_is_refused(client, signed_in_kamr, world):
    world.account_a.closed_on = bangkok_today()
    db.session.commit()
    later = date.fromordinal(bangkok_today().toordinal() + 7)

    response = client.post(
        "/accounts/A-0001/plan",
        data={"type": "FMS", "activity_date": later.isoformat(), "channel": "visit"},
    )

    assert response.status_code == 422
    assert _activities() == 0


def test_the_import_refuses_an_activity_before_its_account_opened(world):
    world.account_a.opened_on = date(2021, 6, 1)
    db.session.commit()

    result = _import_activities("A-0001,COM,2021-05-31,kamr.a,done,,,,,\n")

    assert [(error.line, error.field) for error in result.errors] == [(2, "activity_date")]
    assert "before the account opened" in result.errors[0].message


# --- months, numbers, pages ------------------------------------------------------------------


def test_the_monthly_summary_of_month_9999_12_is_refused_by_the_api(api, world):
    response = api(world.staff).get("/reports/monthly?month=9999-12")

    assert response.status_code == 422
    assert "month" in response.get_json()["errors"]


def test_the_monthly_summary_of_month_9999_12_is_refused_by_the_command(runner, world):
    result = runner.invoke(args=["report", "monthly", "--month", "9999-12", "--format", "json"])

    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "between 2000 and 2200" in result.output


def test_the_monthly_page_of_month_9999_12_answers_without_an_error(client, login_as, world):
    login_as(world.staff)

    response = client.get("/region/monthly?month=9999-12")

    assert response.status_code < 500


@pytest.mark.parametrize("path", ["/accounts", "/activities"])
def test_a_json_number_of_5000_digits_is_malformed_input(api, world, path):
    body = (
        '{"account_no": "X-1", "name": "X", "office_code": "OA", "transformer_kva": %s}'
        % ("9" * 5000)
        if path == "/accounts"
        else '{"account_no": "A-0001", "type": "COM", "activity_date": "2021-03-05", "ref": %s}'
        % ("9" * 5000)
    )

    response = api(world.staff).post(path, data=body, content_type="application/json")

    assert response.status_code == 400
    assert "A number in the JSON body has far too many digits." in str(
        response.get_json()["errors"]
    )


@pytest.mark.parametrize(
    "path", ["/accounts?page=99999999999999999999", "/region/audit?page=99999999999999999999"]
)
def test_a_page_beyond_the_databases_integers_shows_an_empty_page(client, login_as, world, path):
    login_as(world.staff)

    response = client.get(path)

    assert response.status_code == 200


def test_the_audit_command_takes_a_page_beyond_the_databases_integers(runner, world):
    result = runner.invoke(args=["audit", "list", "--page", "99999999999999999999"])

    assert result.exception is None or isinstance(result.exception, SystemExit)


# --- text lengths and NUL ----------------------------------------------------------------------


def test_the_api_refuses_a_summary_longer_than_the_documented_maximum(api, world):
    response = api(world.kamr_a).post(
        "/activities",
        json={
            "account_no": "A-0001",
            "type": "COM",
            "activity_date": "2021-03-05",
            "summary": "x" * (limits.SUMMARY + 1),
        },
    )

    assert response.status_code == 422
    assert response.get_json()["errors"]["summary"] == [
        f"'{'x' * 57}...' is longer than {limits.SUMMARY} characters"
    ]
    assert _activities() == 0


def test_the_api_takes_a_summary_of_exactly_the_maximum(api, world):
    response = api(world.kamr_a).post(
        "/activities",
        json={
            "account_no": "A-0001",
            "type": "COM",
            "activity_date": "2021-03-05",
            "summary": "x" * limits.SUMMARY,
        },
    )

    assert response.status_code == 201


def test_the_import_refuses_a_summary_longer_than_the_maximum(world):
    result = _import_activities(
        f"A-0001,COM,2021-03-05,kamr.a,done,,,{'x' * (limits.SUMMARY + 1)},,\n"
    )

    assert [(error.line, error.field) for error in result.errors] == [(2, "summary")]
    assert _activities() == 0


def test_the_page_form_refuses_a_summary_longer_than_the_maximum(client, signed_in_kamr):
    response = client.post("/activities/new", data=_page_form(summary="x" * (limits.SUMMARY + 1)))

    assert response.status_code == 422
    assert 'id="summary-error"' in response.get_data(as_text=True)
    assert _activities() == 0


def test_the_api_refuses_account_notes_longer_than_the_maximum(api, world):
    response = api(world.staff).post(
        "/accounts",
        json={
            "account_no": "X-1",
            "name": "X",
            "office_code": "OA",
            "notes": "n" * (limits.ACCOUNT_NOTES + 1),
        },
    )

    assert response.status_code == 422
    assert "notes" in response.get_json()["errors"]


@pytest.mark.parametrize("field", ["summary", "voc_text", "follow_up_action"])
def test_the_page_form_refuses_a_nul_character(client, signed_in_kamr, field):
    extra = {"voc_kind": "feedback"} if field == "voc_text" else {}
    extra |= {"follow_up_due": "2021-03-20"} if field == "follow_up_action" else {}

    response = client.post(
        "/activities/new", data=_page_form(**{field: "before\x00after"}, **extra)
    )

    assert response.status_code == 422
    assert _activities() == 0


def test_the_import_refuses_a_nul_character(world):
    result = _import_activities("A-0001,COM,2021-03-05,kamr.a,done,,,bad\x00summary,,\n")

    assert [(error.line, error.field) for error in result.errors] == [(2, "summary")]


def test_a_follow_up_done_in_year_9999_is_refused(api, world, make):
    activity = make.activity(world.account_a, performed_by=world.kamr_a)
    caller = api(world.kamr_a)
    added = caller.post(
        f"/activities/{activity.id}/follow-ups",
        json={"action": "Send the quote", "due_on": "2021-02-10"},
    )

    response = caller.post(
        f"/activities/{activity.id}/follow-ups/{added.get_json()['id']}/complete",
        json={"done_on": "9999-12-31"},
    )

    assert response.status_code == 422
    assert "done_on" in response.get_json()["errors"]


def test_a_reason_longer_than_the_maximum_is_refused_before_the_audit_log_keeps_it(api, world):
    response = api(world.staff).post(
        "/activities",
        json={
            "account_no": "A-0001",
            "type": "COM",
            "activity_date": "2021-03-05",
            "performed_by": "kamr.a",
            "reason": "r" * (limits.REASON + 1),
        },
    )

    assert response.status_code == 422
    assert "reason" in response.get_json()["errors"]
    assert _activities() == 0


def test_the_import_command_refuses_a_reason_longer_than_the_maximum(runner, world, tmp_path):
    path = tmp_path / "activities.csv"
    path.write_text(ACTIVITY_HEADER + "A-0001,COM,2021-03-05,kamr.a,done,,,,,\n", encoding="utf-8")

    result = runner.invoke(
        args=["import", "activities", str(path), "--reason", "r" * (limits.REASON + 1)]
    )

    assert result.exit_code != 0
    assert f"is longer than {limits.REASON} characters" in result.output
    assert _activities() == 0


@pytest.mark.parametrize("query", ["to=9999-12-31", "from=0001-01-01"])
def test_the_audit_page_takes_filter_dates_beyond_any_entry(client, login_as, world, query):
    login_as(world.staff)

    response = client.get(f"/region/audit?{query}")

    assert response.status_code == 200


def test_the_audit_command_takes_a_last_date_of_9999_12_31(runner, world):
    result = runner.invoke(args=["audit", "list", "--to", "9999-12-31"])

    assert result.exit_code == 0
