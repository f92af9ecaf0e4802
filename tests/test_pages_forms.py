"""The page forms as a user meets them: no guessed defaults, no silent losses, wording that
says what happened. (The same behaviours in Chromium: tests/test_browser_forms.py.)"""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from kamcrm.accounts.models import TierAssignment
from kamcrm.activities.models import Activity
from kamcrm.compliance.targets import year_targets
from kamcrm.extensions import db
from kamcrm.org.models import User
from kamcrm.org.passwords import verify_password
from kamcrm.periods import bangkok_today
from kamcrm.reports.cr2 import PLAN_TITLE

PASSWORD = "first-sign-in-2569"


def _selected(html: str, select_id: str) -> list[str]:
    """Return the values of the selected options of one <select>."""
    body = html.split(f'id="{select_id}"', 1)[1].split("</select>", 1)[0]
    return [
        value
        for attributes in re.findall(r"<option([^>]*)>", body)
        if " selected" in attributes
        for value in re.findall(r'value="([^"]*)"', attributes)
    ]


def _options(html: str, select_id: str) -> list[str]:
    body = html.split(f'id="{select_id}"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option (?:selected )?value="([^"]*)"', body)


def _activities(account) -> list[Activity]:
    return list(
        db.session.execute(
            sa.select(Activity).where(Activity.account_id == account.id).order_by(Activity.id)
        ).scalars()
    )


@pytest.fixture
def office(make):
    return make.office(code="CBI", name="กฟฟ. ชลบุรี", name_en="PEA Chonburi")


@pytest.fixture
def account(make, office):
    return make.account(office=office, account_no="020001234567", name="บริษัท ไทยสตีล จำกัด")


# --- the log and plan forms ----------------------------------------------------------------


def test_the_log_form_starts_on_no_type_and_no_channel(client, login_as, office):
    login_as("kamr", office=office)
    html = client.get("/activities/new").get_data(as_text=True)
    assert _selected(html, "type") == [""] and _selected(html, "channel") == [""]


def test_a_phone_call_sent_without_a_channel_is_refused_not_saved_as_a_visit(
    client, login_as, office, account
):
    login_as("kamr", office=office)
    response = client.post(
        "/activities/new",
        data={
            "account": account.account_no,
            "type": "COM",
            "activity_date": bangkok_today().isoformat(),
            "status": "done",
        },
    )
    assert response.status_code == 422 and 'id="channel-error"' in response.get_data(as_text=True)
    assert _activities(account) == []


@pytest.mark.parametrize("type_, channel", [("FMS", "visit"), ("COM", "")])
def test_a_link_naming_a_type_presets_only_the_channel_it_implies(
    client, login_as, office, type_, channel
):
    login_as("kamr", office=office)
    html = client.get(f"/activities/new?type={type_}").get_data(as_text=True)
    assert _selected(html, "type") == [type_] and _selected(html, "channel") == [channel]


def test_the_plan_form_starts_on_no_type_and_refuses_none(client, login_as, office, account):
    login_as("kamr", office=office)
    html = client.get(f"/accounts/{account.account_no}").get_data(as_text=True)
    assert _selected(html, "type") == [""] and _selected(html, "channel") == [""]
    day = (bangkok_today() + timedelta(days=7)).isoformat()
    response = client.post(f"/accounts/{account.account_no}/plan", data={"activity_date": day})
    assert response.status_code == 422 and 'id="type-error"' in response.get_data(as_text=True)
    assert _activities(account) == []


def test_an_executive_is_offered_only_the_types_their_role_may_log(client, login_as, make):
    login_as("executive", office=make.region(), exec_role="assistant_director")
    html = client.get("/activities/new").get_data(as_text=True)
    assert _options(html, "type") == ["EXV"] and _selected(html, "type") == ["EXV"]


def test_a_kamr_is_not_offered_executive_visits(client, login_as, office):
    login_as("kamr", office=office)
    assert "EXV" not in _options(client.get("/activities/new").get_data(as_text=True), "type")


# --- a done activity and its plan ----------------------------------------------------------


@pytest.fixture
def planned(make, account):
    return make.activity(
        account,
        type="FMS",
        status="planned",
        channel="visit",
        activity_date=bangkok_today() + timedelta(days=3),
        summary="ตรวจหม้อแปลงประจำปี",
    )


def _done_fms(account, **extra) -> dict:
    return {
        "account": account.account_no,
        "type": "FMS",
        "activity_date": bangkok_today().isoformat(),
        "status": "done",
        "channel": "visit",
        "summary": "ตรวจแล้ว",
        **extra,
    }


def test_logging_a_done_activity_asks_about_the_matching_plan_before_saving(
    client, login_as, office, account, planned
):
    login_as("kamr", office=office)
    response = client.post("/activities/new", data=_done_fms(account))
    html = response.get_data(as_text=True)
    assert 'id="plan-question"' in html and f'value="{planned.id}"' in html
    assert [a.id for a in _activities(account)] == [planned.id]  # nothing saved yet


def test_answering_mark_done_records_the_activity_on_the_plan(
    client, login_as, office, account, planned
):
    user = login_as("kamr", office=office)
    response = client.post("/activities/new", data=_done_fms(account, plan=str(planned.id)))
    assert response.status_code == 302
    [only] = _activities(account)
    assert (only.id, only.status, only.activity_date, only.performed_by_id) == (
        planned.id,
        "done",
        bangkok_today(),
        user.id,
    )


def test_answering_new_keeps_the_plan_open(client, login_as, office, account, planned):
    login_as("kamr", office=office)
    assert client.post("/activities/new", data=_done_fms(account, plan="new")).status_code == 302
    assert [a.status for a in _activities(account)] == ["planned", "done"]


# --- the tier roster -----------------------------------------------------------------------


def _tiers(account) -> list[tuple]:
    return [
        (t.tier, t.effective_from)
        for t in db.session.execute(
            sa.select(TierAssignment)
            .where(TierAssignment.account_id == account.id)
            .order_by(TierAssignment.effective_from)
        ).scalars()
    ]


@pytest.fixture
def staff(login_as, make):
    return login_as("regional_staff", office=make.region())


def test_the_roster_starts_on_no_choice_and_shows_each_listed_accounts_tier(client, staff, make):
    make.account(account_no="T-1", tier="STAR")
    make.account(account_no="T-2", tier=None, tier_from=None)
    html = client.get("/region/tiers?accounts=T-1,T-2").get_data(as_text=True)
    assert _selected(html, "pick-tier") == [""]
    rows = re.findall(
        r"<tr><td>(T-\d)</td><td>[^<]*</td><td class=\"tier\">([^<]*)</td></tr>", html
    )
    assert rows == [("T-1", "Star"), ("T-2", "ไม่มีกลุ่ม")]


def test_a_re_tier_without_a_chosen_tier_is_refused(client, staff, make):
    account = make.account(account_no="T-1")
    response = client.post(
        "/region/tiers/selection",
        data={"pick-account_nos": "T-1", "pick-tier": "", "pick-effective_from": "2021-07-01"},
    )
    assert response.status_code == 422 and 'id="pick-tier-error"' in response.get_data(as_text=True)
    assert _tiers(account) == [("STRATEGIC", date(2000, 1, 1))]


def test_removing_a_tier_needs_the_ticked_confirmation(client, staff, make):
    account = make.account(account_no="T-1")
    data = {"pick-account_nos": "T-1", "pick-tier": "NONE", "pick-effective_from": "2021-07-01"}
    response = client.post("/region/tiers/selection", data=data)
    assert response.status_code == 422 and 'id="pick-confirm_removal-error"' in response.get_data(
        as_text=True
    )
    assert _tiers(account) == [("STRATEGIC", date(2000, 1, 1))]

    response = client.post(
        "/region/tiers/selection", data={**data, "pick-confirm_removal": "y"}, follow_redirects=True
    )
    assert _tiers(account)[-1] == (None, date(2021, 7, 1))
    assert "ลูกค้า 1 ราย ไม่มีกลุ่มลูกค้าตั้งแต่" in response.get_data(as_text=True)


def test_a_re_tier_says_what_changed(client, staff, make):
    client.get("/language/en")
    make.account(account_no="T-1", tier="STATUS")
    make.account(account_no="T-2", tier="STAR")
    response = client.post(
        "/region/tiers/selection",
        data={
            "pick-account_nos": "T-1\nT-2",
            "pick-tier": "STAR",
            "pick-effective_from": "2021-07-01",
        },
        follow_redirects=True,
    )
    html = unescape(response.get_data(as_text=True))
    assert (
        "1 account re-tiered to Star from" in html and "1 already had it and is unchanged." in html
    )
    assert "new, " not in html


# --- users -----------------------------------------------------------------------------------


@pytest.fixture
def admin(login_as, make):
    return login_as("admin", office=make.region())


def test_a_user_added_on_the_page_can_sign_in_with_the_first_password(client, admin, office):
    client.post(
        "/admin/users",
        data={
            "username": "somchai",
            "full_name": "สมชาย ขยัน",
            "role": "kamr",
            "office_code": "CBI",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    client.post("/logout")
    with client.session_transaction() as session:
        session.clear()
    response = client.post("/login", data={"username": "somchai", "password": PASSWORD})
    assert response.status_code == 302 and "/login" not in response.headers["Location"]


def test_differing_first_passwords_add_nobody(client, admin, office):
    response = client.post(
        "/admin/users",
        data={
            "username": "somchai",
            "full_name": "สมชาย ขยัน",
            "role": "kamr",
            "office_code": "CBI",
            "password": PASSWORD,
            "confirm": "other",
        },
    )
    assert response.status_code == 422 and 'id="confirm-error"' in response.get_data(as_text=True)
    assert (
        db.session.execute(sa.select(User).filter_by(username="somchai")).scalar_one_or_none()
        is None
    )


def test_an_admin_sets_a_password_for_a_user_without_one(client, admin, make):
    someone = make.user(role="kamr", username="nopass")
    listed = client.get("/admin/users?q=nopass").get_data(as_text=True)
    assert f'href="/admin/users/{someone.id}/tokens#password">ยังไม่มีรหัสผ่าน' in listed
    assert "ยังไม่มีรหัสผ่าน" in client.get(f"/admin/users/{someone.id}/tokens").get_data(as_text=True)
    response = client.post(
        f"/admin/users/{someone.id}/password", data={"password": PASSWORD, "confirm": PASSWORD}
    )
    assert response.status_code == 302
    assert verify_password(db.session.get(User, someone.id).password_hash, PASSWORD)


def test_a_too_short_password_is_refused_beside_the_field(client, admin, make):
    someone = make.user(role="kamr")
    response = client.post(
        f"/admin/users/{someone.id}/password", data={"password": "abc", "confirm": "abc"}
    )
    assert response.status_code == 422 and 'id="password-error"' in response.get_data(as_text=True)
    assert db.session.get(User, someone.id).password_hash is None


def test_the_admins_own_row_offers_no_deactivate(client, admin, make):
    other = make.user(role="kamr")
    html = client.get("/admin/users").get_data(as_text=True)
    row_of = {
        name: next(row for row in html.split("<tr>") if f">{name}</td>" in row)
        for name in (admin.username, other.username)
    }
    assert f"/admin/users/{admin.id}/active" not in row_of[admin.username]
    assert f"/admin/users/{other.id}/active" in row_of[other.username]


def test_a_refused_self_deactivation_says_why_in_thai(client, admin):
    response = client.post(f"/admin/users/{admin.id}/active", data={}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "คุณระงับบัญชีผู้ใช้ของตนเองไม่ได้" in html and "The input is not valid." not in html
    assert db.session.get(User, admin.id).active


# --- reports and wording ---------------------------------------------------------------------


def test_in_an_offices_view_the_region_directors_row_names_the_office(client, staff, office):
    html = client.get("/office/executive-visits?office=CBI&year=2021").get_data(as_text=True)
    section = html.split("ผู้อำนวยการเขต", 1)[1].split("</section>", 1)[0]
    assert "CBI" in section and "ทั้งเขต" not in section


def test_a_quota_of_one_reads_singular_in_english(client, staff, office):
    client.get("/language/en")
    html = client.get("/office/executive-visits?office=CBI&year=2021").get_data(as_text=True)
    assert "Region director · 1 distinct account per quarter per unit" in html
    assert not re.search(r"\b1 distinct accounts\b", html)


def test_in_the_regions_view_the_region_directors_row_is_the_region(client, staff, office):
    html = client.get("/office/executive-visits?year=2021").get_data(as_text=True)
    assert "ทั้งเขต" in html.split("ผู้อำนวยการเขต", 1)[1].split("</section>", 1)[0]


def test_one_save_keeps_every_edited_target_row(client, staff):
    response = client.post(
        "/region/targets/2021",
        data={
            "RBA-STREAMLINE-period": "year",
            "RBA-STREAMLINE-min_count": "1",
            "RBA-STREAMLINE-target_pct": "55",
            "FMS-STAR-period": "year",
            "FMS-STAR-min_count": "1",
            "FMS-STAR-target_pct": "90",
            "office_manager-quota": "4",
            "STAR-planned": "120",
        },
    )
    assert response.status_code == 302
    targets = year_targets(2021)
    assert (
        targets.rule("RBA", "STREAMLINE").target_pct == 55
        and targets.rule("FMS", "STAR").target_pct == 90
    )
    assert targets.quota("office_manager") == 4 and targets.planned_population("STAR") == 120


def test_one_refused_target_row_saves_none_and_keeps_every_edit(client, staff):
    response = client.post(
        "/region/targets/2021",
        data={
            "RBA-STREAMLINE-period": "year",
            "RBA-STREAMLINE-min_count": "1",
            "RBA-STREAMLINE-target_pct": "55",
            "FMS-STAR-period": "year",
            "FMS-STAR-min_count": "1",
            "FMS-STAR-target_pct": "120",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="FMS-STAR-target_pct-error"' in html
    assert (
        'id="RBA-STREAMLINE-target_pct" max="100" min="0" name="RBA-STREAMLINE-target_pct" step="0.01" '
        'type="number" value="55"'
        in html
        or 'value="55"' in html
    )
    assert year_targets(2021).rule("RBA", "STREAMLINE").target_pct != 55


def test_the_targets_page_has_one_form_and_one_save_button(client, staff):
    html = client.get("/region/targets?year=2021").get_data(as_text=True)
    main = html.split("<main", 1)[1]
    # The complaint limits and targets are a section of their own, with their own one form.
    activity_targets, complaint_targets = main.split('id="complaint-targets"', 1)
    assert (
        activity_targets.count('method="post"') == 1
        and activity_targets.count('type="submit"') == 2
    )  # and Show
    assert (
        complaint_targets.count('method="post"') == 1
        and complaint_targets.count('type="submit"') == 1
    )


def test_english_counts_of_one_are_singular(client, staff, make, office):
    account = make.account(office=office)
    make.activity(account, type="PLN", activity_date=date(2021, 2, 1))
    client.get("/language/en")
    html = client.get("/region/cr2?year=2021&as_of=2021-12-31").get_data(as_text=True)
    assert "1 activity, 1 account" in html
    assert not re.search(r"\b1 (activities|accounts|units)\b", html)


def test_the_cr2_page_titles_plan_1_with_the_forms_text(client, staff):
    assert PLAN_TITLE in client.get("/region/cr2?year=2021").get_data(as_text=True)


def test_the_monthly_summary_opens_on_the_last_complete_month(client, staff):
    today = bangkok_today()
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    html = client.get("/region/monthly").get_data(as_text=True)
    assert _selected(html, "month") == [f"{year:04d}-{month:02d}"]
