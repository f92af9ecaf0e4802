"""Complaint pages: a KAMR records a complaint on the account page and closes it; the lists
show the time left; managers exclude and reassign; out of scope is out of sight."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from kamcrm.complaints.models import Complaint
from kamcrm.extensions import db
from kamcrm.periods import BANGKOK


def _complaint(ref):
    return db.session.execute(sa.select(Complaint).where(Complaint.ref == ref)).scalar_one_or_none()


def test_a_kamr_records_a_complaint_from_the_account_page_and_closes_it(client, login_as, make):
    office = make.office(code="CBI")
    account = make.account(office=office)
    kamr = login_as("kamr", office=office)
    client.get("/language/en")
    page = client.get(f"/accounts/{account.account_no}").get_data(as_text=True)
    assert f"/complaints/new?account={account.account_no}" in page
    form = client.get(f"/complaints/new?account={account.account_no}").get_data(as_text=True)
    assert f'value="{account.account_no}"' in form
    response = client.post(
        "/complaints/new",
        data={
            "ref": "K-1",
            "account": account.account_no,
            "office_code": "",
            "category": "METER_BILLING",
            "channel": "phone",
            "summary": "bill too high",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    complaint = _complaint("K-1")
    assert complaint.office_id == office.id and complaint.assigned_to_id == kamr.id
    mine = client.get("/complaints?view=mine").get_data(as_text=True)
    assert "K-1" in mine and "left" in mine
    refused = client.post("/complaints/K-1/close", data={"resolution": ""})
    assert refused.status_code == 422 and _complaint("K-1").closed_at is None
    closed = client.post("/complaints/K-1/close", data={"resolution": "re-read the meter"})
    assert closed.status_code == 302 and _complaint("K-1").closed_at is not None
    assert 'href="/complaints/K-1"' not in client.get("/complaints?view=mine").get_data(
        as_text=True
    )
    assert client.post("/complaints/K-1/reopen").status_code == 302
    assert _complaint("K-1").closed_at is None


def test_a_bad_complaint_is_shown_beside_its_field_and_nothing_is_stored(client, login_as, make):
    office = make.office(code="CBI")
    login_as("kamr", office=office)
    client.get("/language/en")
    response = client.post(
        "/complaints/new",
        data={"ref": "K-2", "account": "NOPE", "office_code": "", "category": "OTHER"},
    )
    assert response.status_code == 422
    assert (
        "NOPE" in response.get_data(as_text=True).split('id="account"')[1]
    )  # beside the account field
    assert _complaint("K-2") is None


def test_the_office_manager_sees_the_offices_overdue_complaints_and_not_others(
    client, login_as, make
):
    office, other = make.office(code="CBI"), make.office(code="RYG")
    branch = make.branch(office, code="CBI-B")
    long_ago = (datetime.now(timezone.utc) - timedelta(days=40)).astimezone(BANGKOK).isoformat()
    recent = (datetime.now(timezone.utc) - timedelta(hours=2)).astimezone(BANGKOK).isoformat()
    make.complaint(branch, ref="LATE-1", received_at=long_ago)
    make.complaint(office, ref="NEW-1", received_at=recent)
    make.complaint(other, ref="THEIRS-1", received_at=long_ago)
    login_as("office_manager", office=office)
    client.get("/language/en")
    overdue = client.get("/complaints?view=overdue").get_data(as_text=True)
    assert "LATE-1" in overdue and "overdue by" in overdue
    assert "NEW-1" not in overdue and "THEIRS-1" not in overdue
    everything = client.get("/complaints?view=open").get_data(as_text=True)
    assert "NEW-1" in everything and "THEIRS-1" not in everything
    assert client.get("/complaints/THEIRS-1").status_code == 404
    assert (
        client.post("/complaints/LATE-1/exclude", data={"excluded": "misconduct"}).status_code
        == 302
    )
    assert _complaint("LATE-1").excluded == "misconduct"


def test_regional_staff_see_the_region_and_thai_pages_show_be_years(client, login_as, make):
    region = make.region()
    make.complaint(make.office(code="CBI"), ref="R-1", received_at="2021-02-01T09:00:00+07:00")
    make.complaint(make.office(code="RYG"), ref="R-2", received_at="2021-02-01T09:00:00+07:00")
    login_as("regional_staff", office=region)
    client.get("/language/th")
    page = client.get("/complaints?view=open&lang=th").get_data(as_text=True)
    assert "R-1" in page and "R-2" in page
    assert "2564" in page  # received 1 Feb 2021 is shown in the Buddhist era


def test_a_kamr_may_not_exclude(client, login_as, make):
    office = make.office(code="CBI")
    make.complaint(office, ref="X-1")
    login_as("kamr", office=office)
    client.get("/language/en")
    assert client.post("/complaints/X-1/exclude", data={"excluded": "duplicate"}).status_code == 403
    assert _complaint("X-1").excluded is None


def test_the_due_list_shows_complaints_close_to_their_limit(client, login_as, make):
    office = make.office(code="CBI")
    kamr = login_as("kamr", office=office)
    client.get("/language/en")
    now = datetime.now(timezone.utc)
    # OTHER: 20 days. Received 18 days ago: 2 days left; 10 days ago: 10 days left.
    make.complaint(
        office,
        ref="SOON-1",
        category="OTHER",
        assigned_to=kamr.username,
        received_at=(now - timedelta(days=18)).astimezone(BANGKOK).isoformat(),
    )
    make.complaint(
        office,
        ref="LATER-1",
        category="OTHER",
        assigned_to=kamr.username,
        received_at=(now - timedelta(days=10)).astimezone(BANGKOK).isoformat(),
    )
    # Urgent, 24 hours: received 20 hours ago leaves 4.
    make.complaint(
        office,
        ref="URG-1",
        category="OTHER",
        urgent="yes",
        assigned_to=kamr.username,
        received_at=(now - timedelta(hours=20)).astimezone(BANGKOK).isoformat(),
    )
    make.complaint(
        office,
        ref="NOT-MINE",
        category="OTHER",
        received_at=(now - timedelta(days=18)).astimezone(BANGKOK).isoformat(),
    )
    page = client.get("/due").get_data(as_text=True)
    section = page.split('id="complaints-due-h"')[1].split("</section>")[0]
    assert "SOON-1" in section and "URG-1" in section
    assert "LATER-1" not in section and "NOT-MINE" not in section
