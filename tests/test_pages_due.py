"""The due list page: what each account still needs this period, most urgent first, overdue
items marked, and logging an activity takes the item off."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from kamcrm.periods import bangkok_today, period_containing


@pytest.fixture
def office(make):
    return make.office(code="CBI")


@pytest.fixture
def kamr(login_as, office):
    return login_as("kamr", office=office)


@pytest.fixture
def account(make, office, kamr):
    return make.account(office=office, account_no="D-0001", tier="STRATEGIC", kamr=kamr)


def _rows(html: str) -> list[str]:
    table = re.search(r'<table class="cards due">.*?</table>', html, re.S)
    return re.findall(r"<tr.*?</tr>", table.group(0), re.S)[1:] if table else []


def _due_types(html: str, account_no: str) -> list[str]:
    return [
        re.search(r"<strong>(\w+)</strong>", row).group(1)
        for row in _rows(html)
        if account_no in row
    ]


def test_a_kamr_sees_what_each_account_still_needs(client, account):
    assert sorted(_due_types(client.get("/due").get_data(as_text=True), "D-0001")) == [
        "COM",
        "FMS",
        "RBA",
        "SEM",
    ]


def test_the_most_urgent_comes_first_with_days_left(client, account):
    html = client.get("/due").get_data(as_text=True)
    today = bangkok_today()
    days = [int(re.search(r"อีก (\d+) วัน", row).group(1)) for row in _rows(html)]
    assert days == sorted(days)
    assert days[0] == min(
        (period_containing(kind, today).end - today).days for kind in ("quarter", "year")
    )


def test_logging_an_activity_takes_it_off_the_due_list(client, account):
    client.post(
        "/activities/new",
        data={
            "account": "D-0001",
            "type": "FMS",
            "status": "done",
            "channel": "visit",
            "activity_date": bangkok_today().isoformat(),
        },
    )
    assert "FMS" not in _due_types(client.get("/due").get_data(as_text=True), "D-0001")


def test_another_kamrs_accounts_are_not_on_my_list(client, make, office, account):
    make.account(office=office, account_no="D-OTHER", kamr=make.user(role="kamr", office=office))
    assert _due_types(client.get("/due").get_data(as_text=True), "D-OTHER") == []


def test_the_office_manager_sees_the_office(client, login_as, make, office, account):
    login_as("office_manager", office=office)
    assert "FMS" in _due_types(client.get("/due").get_data(as_text=True), "D-0001")


def test_an_overdue_plan_is_marked(client, make, account, kamr):
    make.activity(
        account,
        type="RBA",
        status="planned",
        activity_date=bangkok_today() - timedelta(days=3),
        performed_by=kamr,
        summary="เลี้ยงขอบคุณลูกค้า",
    )
    html = client.get("/due").get_data(as_text=True)
    overdue = re.search(r'id="overdue-h".*?</table>', html, re.S).group(0)
    assert "เลี้ยงขอบคุณลูกค้า" in overdue and "badge-overdue" in overdue


def test_an_overdue_follow_up_is_marked_done_from_the_due_list(client, make, account, kamr):
    from kamcrm.activities.models import FollowUp
    from kamcrm.extensions import db

    activity = make.activity(
        account, performed_by=kamr, activity_date=bangkok_today() - timedelta(days=10)
    )
    follow_up = FollowUp(
        activity=activity, action="ส่งใบเสนอราคา", due_on=bangkok_today() - timedelta(days=2)
    )
    db.session.add(follow_up)
    db.session.flush()
    overdue = re.search(
        r'id="overdue-h".*?</table>', client.get("/due").get_data(as_text=True), re.S
    ).group(0)
    action = (
        re.search(r'<form method="post" action="([^"]+)"', overdue).group(1).replace("&amp;", "&")
    )

    response = client.post(action)

    assert response.status_code == 302 and response.headers["Location"].endswith("/due")
    assert db.session.get(FollowUp, follow_up.id).done_on == bangkok_today()
    assert 'id="overdue-h"' not in client.get("/due").get_data(as_text=True)
