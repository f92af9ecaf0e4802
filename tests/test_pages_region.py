"""Regional-office pages that change things: targets, the tier roster, quarter close,
users and tokens; and the searchable audit log."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from kamcrm.accounts.models import TierAssignment
from kamcrm.compliance.targets import year_targets
from kamcrm.extensions import db
from kamcrm.org.models import ApiToken, User
from kamcrm.org.passwords import verify_password

FIRST_PASSWORD = "first-sign-in-2569"


@pytest.fixture
def staff(login_as, make):
    return login_as("regional_staff", office=make.region())


def test_a_rule_target_is_changed(client, staff):
    response = client.post(
        "/region/targets/2021",
        data={
            "RBA-STREAMLINE-period": "year",
            "RBA-STREAMLINE-min_count": "1",
            "RBA-STREAMLINE-target_pct": "55",
        },
    )
    assert response.status_code == 302
    assert year_targets(2021).rule("RBA", "STREAMLINE").target_pct == 55


@pytest.mark.parametrize("value", ["120", "abc", ""])
def test_a_refused_target_keeps_the_input_beside_its_field(client, staff, value):
    response = client.post(
        "/region/targets/2021",
        data={"FMS-STAR-period": "year", "FMS-STAR-min_count": "1", "FMS-STAR-target_pct": value},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="FMS-STAR-target_pct-error"' in html
    assert (
        'id="FMS-STAR-target_pct" name="FMS-STAR-target_pct" type="number"' in html or value in html
    )
    assert year_targets(2021).rule("FMS", "STAR").target_pct == 100


def test_a_quota_and_a_planned_population_are_changed(client, staff):
    client.post("/region/targets/2021", data={"office_manager-quota": "4"})
    client.post("/region/targets/2021", data={"STAR-planned": "120"})
    targets = year_targets(2021)
    assert targets.quota("office_manager") == 4 and targets.planned_population("STAR") == 120


def _tiers(account) -> list[tuple]:
    return [
        (t.tier, t.effective_from)
        for t in db.session.execute(
            sa.select(TierAssignment)
            .where(TierAssignment.account_id == account.id)
            .order_by(TierAssignment.effective_from)
        ).scalars()
    ]


def test_a_selection_is_re_tiered_from_a_date(client, make, staff):
    first, second = make.account(account_no="R-1"), make.account(account_no="R-2")
    response = client.post(
        "/region/tiers/selection",
        data={
            "pick-account_nos": "R-1\nR-2",
            "pick-tier": "STAR",
            "pick-effective_from": "2021-07-01",
        },
    )
    assert response.status_code == 302
    for account in (first, second):
        assert _tiers(account)[-1] == ("STAR", date(2021, 7, 1))


def test_a_selection_with_an_unknown_account_changes_nothing(client, make, staff):
    known = make.account(account_no="R-1")
    response = client.post(
        "/region/tiers/selection",
        data={
            "pick-account_nos": "R-1, NOPE-9",
            "pick-tier": "STAR",
            "pick-effective_from": "2021-07-01",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "NOPE-9" in html and "R-1, NOPE-9" in html
    assert _tiers(known) == [("STRATEGIC", date(2000, 1, 1))]


def test_a_tiers_file_is_imported(client, make, staff):
    account = make.account(account_no="F-1")
    data = {
        "file-file": (
            io.BytesIO(b"account_no,tier,effective_from\nF-1,STATUS,2021-04-01\n"),
            "tiers.csv",
        )
    }
    response = client.post("/region/tiers/file", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    assert _tiers(account)[-1] == ("STATUS", date(2021, 4, 1))


@pytest.fixture
def admin(login_as, make):
    return login_as("admin", office=make.region())


def test_an_admin_adds_a_user(client, make, admin):
    make.office(code="CBI")
    response = client.post(
        "/admin/users",
        data={
            "username": "somchai",
            "full_name": "สมชาย ขยัน",
            "role": "kamr",
            "office_code": "CBI",
            "exec_role": "",
            "password": FIRST_PASSWORD,
            "confirm": FIRST_PASSWORD,
        },
    )
    assert response.status_code == 302
    added = db.session.execute(sa.select(User).filter_by(username="somchai")).scalar_one()
    assert added.role == "kamr" and verify_password(added.password_hash, FIRST_PASSWORD)


def test_a_refused_user_keeps_the_input(client, admin):
    response = client.post(
        "/admin/users",
        data={
            "username": "somchai",
            "full_name": "สมชาย ขยัน",
            "role": "kamr",
            "office_code": "NOWHERE",
            "exec_role": "",
            "password": FIRST_PASSWORD,
            "confirm": FIRST_PASSWORD,
        },
    )
    html = response.get_data(as_text=True)
    assert (
        response.status_code == 422
        and 'id="office_code-error"' in html
        and 'value="สมชาย ขยัน"' in html
    )


def test_an_admin_deactivates_a_user(client, make, admin):
    someone = make.user(role="kamr")
    client.post(f"/admin/users/{someone.id}/active", data={})
    assert db.session.get(User, someone.id).active is False


def test_an_admin_issues_and_revokes_a_token(client, make, admin):
    someone = make.user(role="regional_staff")
    html = client.post(f"/admin/users/{someone.id}/tokens", data={"name": "etl"}).get_data(
        as_text=True
    )
    token = db.session.execute(sa.select(ApiToken).filter_by(user_id=someone.id)).scalar_one()
    assert 'id="raw-token"' in html and token.prefix in html
    client.post(f"/admin/tokens/{token.id}/revoke", data={})
    assert db.session.get(ApiToken, token.id).revoked_at is not None


def test_the_monthly_summary_page_shows_each_office(client, make, staff):
    office = make.office(code="CBI")
    make.activity(make.account(office=office), type="FMS", activity_date=date(2021, 2, 3))
    html = client.get("/region/monthly?month=2021-02").get_data(as_text=True)
    assert "CBI" in html and "1 ก.พ. 2564 – 28 ก.พ. 2564" in html
    assert "/region/monthly.xlsx?month=2021-02" in html


def test_the_monthly_page_counts_the_months_late_entries_not_the_years(client, make, staff):
    account = make.account(office=make.office(code="CBI"))
    for day in (date(2021, 1, 10), date(2021, 2, 3), date(2021, 2, 4)):
        make.activity(account, type="COM", activity_date=day, is_late=True)
    html = client.get("/region/monthly?month=2021-02").get_data(as_text=True)
    assert "กิจกรรมของเดือนนี้ 2 รายการ บันทึกหลังกำหนด" in html


@pytest.mark.parametrize(
    "query, expected", [("q=55", 1), ("entity=frequency_rules", 1), ("q=nothing-like-this", 0)]
)
def test_the_audit_log_is_searchable(client, staff, query, expected):
    client.post(
        "/region/targets/2021",
        data={
            "RBA-STREAMLINE-period": "year",
            "RBA-STREAMLINE-min_count": "1",
            "RBA-STREAMLINE-target_pct": "55",
        },
    )
    html = client.get(f"/region/audit?{query}").get_data(as_text=True)
    assert html.count("2021:RBA:STREAMLINE") == expected


@pytest.mark.parametrize("fmt, magic", [("xlsx", b"PK"), ("json", b"{"), ("pdf", b"%PDF")])
def test_the_monthly_summary_downloads(client, make, staff, fmt, magic):
    make.activity(
        make.account(office=make.office(code="CBI")), type="FMS", activity_date=date(2021, 2, 3)
    )
    response = client.get(f"/region/monthly.{fmt}?month=2021-02")
    assert response.status_code == 200 and response.data[: len(magic)] == magic
    assert 'filename="monthly-' in response.headers["Content-Disposition"]


def test_the_accounts_page_hands_its_accounts_to_the_roster(client, make, staff):
    make.account(account_no="L-1", name="บริษัท ก จำกัด")
    html = client.get("/accounts?q=L-1").get_data(as_text=True)
    assert 'name="accounts" value="L-1"' in html
    assert "L-1</textarea>" in client.get("/region/tiers?accounts=L-1").get_data(as_text=True)


def _options(html: str, select_id: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of each option of one <select>."""
    import re

    body = html.split(f'id="{select_id}"', 1)[1].split("</select>", 1)[0]
    return [
        (value, label.strip(), bool(selected))
        for value, selected, label in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', body
        )
    ]


def test_the_year_picker_reads_buddhist_era_on_thai_pages_and_sends_the_ce_year(client, staff):
    from kamcrm.periods import bangkok_today

    this_year = bangkok_today().year
    thai = _options(client.get("/region/cr2?year=2021").get_data(as_text=True), "pick-year")
    assert ("2021", "2564", True) in thai  # a year reached by URL stays selectable
    assert (str(this_year + 1), str(this_year + 544), False) == thai[0]  # the plan year first
    client.get("/language/en")
    english = _options(client.get("/region/cr2?year=2021").get_data(as_text=True), "pick-year")
    assert ("2021", "2021", True) in english


def test_the_month_picker_names_thai_months_and_keeps_the_chosen_one(client, staff):
    thai = _options(client.get("/region/monthly?month=2021-2").get_data(as_text=True), "month")
    assert ("2021-02", "กุมภาพันธ์ 2564", True) in thai
    assert [value for value, _label, selected in thai if selected] == ["2021-02"]
