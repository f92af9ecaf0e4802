"""Logging an activity from a page, planning a visit, completing a follow-up."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from kamcrm.activities.models import Activity, FollowUp
from kamcrm.extensions import db
from kamcrm.periods import bangkok_today


@pytest.fixture
def office(make):
    return make.office(code="CBI")


@pytest.fixture
def kamr(login_as, make, office):
    return login_as("kamr", office=office)


@pytest.fixture
def account(make, office, kamr):
    return make.account(
        office=office, account_no="020001234567", name="บริษัท ไทยสตีล จำกัด", kamr=kamr
    )


def _activities(account) -> list[Activity]:
    return list(
        db.session.execute(sa.select(Activity).where(Activity.account_id == account.id)).scalars()
    )


def _form(**fields) -> dict:
    base = {
        "type": "FMS",
        "activity_date": bangkok_today().isoformat(),
        "status": "done",
        "channel": "visit",
    }
    base.update(fields)
    return base


@pytest.mark.parametrize("typed", ["020001234567", "ไทยสตีล"])
def test_an_activity_is_logged_with_the_account_found_by_number_or_name(client, account, typed):
    response = client.post("/activities/new", data=_form(account=typed))
    assert response.status_code == 302
    [saved] = _activities(account)
    assert (saved.type, saved.status, saved.activity_date) == ("FMS", "done", bangkok_today())


def test_after_saving_the_user_goes_back_where_they_came_from_with_a_message(client, account):
    response = client.post(
        "/activities/new",
        data=_form(account=account.account_no, next="/accounts"),
        follow_redirects=True,
    )
    assert response.request.path == "/accounts"
    assert "flash-success" in response.get_data(as_text=True)


def test_the_new_form_has_sensible_defaults(client, kamr):
    html = client.get("/activities/new?account=020001234567").get_data(as_text=True)
    assert f'value="{bangkok_today().isoformat()}"' in html
    assert 'value="020001234567"' in html
    # The type and the channel are the user's choice: nothing but the blank is preselected.
    assert '<option selected value="">' in html
    assert not re.search(r'<option selected value="[A-Za-z]', html.split('id="status"')[0])


@pytest.mark.parametrize(
    "fields, field_id, kept",
    [
        ({"account": "no such account"}, "account", "no such account"),
        (
            {
                "activity_date": (bangkok_today() + timedelta(days=3)).isoformat(),
                "summary": "ตรวจหม้อแปลง",
            },
            "activity_date",
            "ตรวจหม้อแปลง",
        ),
        ({"type": "FMS", "exec_role": "office_manager", "summary": "x"}, None, None),
    ],
)
def test_a_refused_form_keeps_the_input_and_shows_the_error_beside_the_field(
    client, account, fields, field_id, kept
):
    data = _form(**{"account": account.account_no, **fields})
    response = client.post("/activities/new", data=data)
    if field_id is None:  # exec_role is ignored for a non-EXV type: it saves
        assert response.status_code == 302
        return
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field_id}-error"' in html and 'aria-invalid="true"' in html
    assert kept in html
    assert _activities(account) == []


def test_an_ambiguous_name_lists_the_candidates(client, make, office, kamr, account):
    make.account(office=office, account_no="020009999999", name="บริษัท ไทยสตีล พาร์ท จำกัด", kamr=kamr)
    html = client.post("/activities/new", data=_form(account="ไทยสตีล")).get_data(as_text=True)
    assert 'id="account-error"' in html and "020009999999" in html and "020001234567" in html


def test_a_follow_up_is_saved_with_the_activity(client, account):
    due = bangkok_today() + timedelta(days=7)
    client.post(
        "/activities/new",
        data=_form(
            account=account.account_no, follow_up_action="ส่งรายงาน", follow_up_due=due.isoformat()
        ),
    )
    [saved] = _activities(account)
    assert [(f.action, f.due_on) for f in saved.follow_ups] == [("ส่งรายงาน", due)]


def test_an_executive_visit_counts_for_the_executive_role(client, login_as, make, office, account):
    login_as("executive", office=office, exec_role="assistant_director")
    html = client.get("/activities/new").get_data(as_text=True)
    assert '<option selected value="EXV">' in html
    assert '<option selected value="assistant_director">' in html
    client.post(
        "/activities/new",
        data=_form(account=account.account_no, type="EXV", exec_role="assistant_director"),
    )
    assert [(a.type, a.exec_role) for a in _activities(account)] == [("EXV", "assistant_director")]


def test_an_executive_may_not_log_other_types(client, login_as, office, account):
    login_as("executive", office=office, exec_role="assistant_director")
    response = client.post("/activities/new", data=_form(account=account.account_no, type="FMS"))
    assert 'id="type-error"' in response.get_data(as_text=True)
    assert _activities(account) == []


def test_the_account_search_answers_number_and_name_matches(client, account):
    assert (
        client.get("/accounts/search?q=0200012").get_json()["results"][0]["account_no"]
        == account.account_no
    )
    assert client.get("/accounts/search?q=สตีล").get_json()["results"][0]["name"] == account.name


def test_planning_the_next_visit_adds_a_planned_activity(client, account):
    day = bangkok_today() + timedelta(days=10)
    response = client.post(
        f"/accounts/{account.account_no}/plan",
        data={"type": "RBA", "activity_date": day.isoformat(), "channel": "visit"},
    )
    assert response.status_code == 302
    [planned] = _activities(account)
    assert (planned.type, planned.status, planned.activity_date) == ("RBA", "planned", day)
    assert "RBA" in client.get(f"/accounts/{account.account_no}").get_data(as_text=True)


def test_a_refused_plan_shows_the_error_on_the_account_page(client, account):
    response = client.post(
        f"/accounts/{account.account_no}/plan", data={"type": "RBA", "activity_date": ""}
    )
    assert response.status_code == 422
    assert 'id="activity_date-error"' in response.get_data(as_text=True)


def test_a_follow_up_is_marked_done(client, make, account, kamr):
    activity = make.activity(account, performed_by=kamr)
    follow_up = FollowUp(activity=activity, action="โทรกลับ", due_on=date(2021, 2, 8))
    db.session.add(follow_up)
    db.session.flush()
    client.post(f"/follow-ups/{follow_up.id}/done")
    assert db.session.get(FollowUp, follow_up.id).done_on == bangkok_today()


def test_the_account_page_shows_profile_contacts_tiers_and_timeline(client, make, account, kamr):
    make.contact(account, name="คุณวิไล", phone="038-123456")
    make.tier(account, "STAR", date(2021, 1, 1))
    make.activity(
        account,
        type="COM",
        performed_by=kamr,
        summary="แจ้งแผนดับไฟ",
        voc_kind="request",
        voc_text="ขอแจ้งล่วงหน้า 7 วัน",
    )
    html = client.get(f"/accounts/{account.account_no}").get_data(as_text=True)
    for expected in (
        "คุณวิไล",
        "038-123456",
        "Star",
        "แจ้งแผนดับไฟ",
        "ขอแจ้งล่วงหน้า 7 วัน",
        "1 ม.ค. 2564",
        "1 กุมภาพันธ์ 2564",
    ):
        assert expected in html


@pytest.mark.parametrize(
    "language, message", [("th", "วันที่ไม่ถูกต้อง"), ("en", "Not a valid date value.")]
)
def test_form_messages_come_in_the_page_language(client, account, language, message):
    client.set_cookie("lang", language)
    html = client.post(
        "/activities/new", data=_form(account=account.account_no, activity_date="31/02/2564")
    ).get_data(as_text=True)
    assert message in html


def test_a_done_activity_dated_in_the_future_is_refused_in_thai_with_thai_dates(client, account):
    future = bangkok_today() + timedelta(days=3)
    response = client.post(
        "/activities/new", data=_form(account=account.account_no, activity_date=future.isoformat())
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "กิจกรรมที่ทำแล้วต้องไม่อยู่ในอนาคต" in html
    assert str(future.year + 543) in html and "cannot lie in the future" not in html


def test_a_kamr_logging_an_executive_visit_is_told_in_thai_that_the_role_may_not(client, account):
    response = client.post(
        "/activities/new",
        data=_form(account=account.account_no, type="EXV", exec_role="office_manager"),
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "บทบาทของคุณไม่มีสิทธิ์ทำรายการนี้กับกิจกรรมประเภท EXV" in html
    assert _activities(account) == []


def test_an_account_out_of_sight_answers_a_thai_not_found_page(client, make, kamr):
    other = make.account(office=make.office(code="RYG"), account_no="020009999999")

    response = client.get(f"/accounts/{other.account_no}")

    assert response.status_code == 404
    assert "ไม่พบลูกค้าหมายเลข '020009999999'" in unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("typed", ["", "no-such-account"])
def test_one_submit_shows_every_problem_not_the_accounts_alone(client, account, typed):
    tomorrow = (bangkok_today() + timedelta(days=1)).isoformat()
    response = client.post("/activities/new", data=_form(account=typed, activity_date=tomorrow))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="account-error"' in html and 'id="activity_date-error"' in html
    assert html.count('id="activity_date-error"') == 1 and _activities(account) == []


def test_a_date_in_a_closed_quarter_is_refused_beside_the_date(client, account):
    from kamcrm.reports.closing import close_quarter

    last_year = bangkok_today().year - 1
    close_quarter(last_year, 1, None)
    response = client.post(
        "/activities/new", data=_form(account="020001234567", activity_date=f"{last_year}-02-03")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    error = html.split('id="activity_date-error"', 1)[1].split("</p>", 1)[0]
    assert f"1/{last_year + 543}" in error and _activities(account) == []
