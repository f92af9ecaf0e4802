"""Complaint prevention pages (CR2 plan 2.2): an office manager records the plan and the
quarter reports; due days and on-time/late marks; the region's overview; out of scope is
out of sight; refusals keep the form and store nothing."""

from __future__ import annotations

import sqlalchemy as sa

from kamcrm.extensions import db
from kamcrm.periods import bangkok_today
from kamcrm.prevention.models import PreventionPlan, PreventionReport
from kamcrm.prevention.operations import record_plan

YEAR = bangkok_today().year - 1  # every quarter of it has ended


def _plans():
    return db.session.execute(sa.select(PreventionPlan)).scalars().all()


def test_an_office_manager_records_the_plan_and_reports(client, login_as, make):
    office = make.office(code="CBI")
    login_as("office_manager", office=office)
    client.get("/language/en")
    landing = client.get(f"/prevention?year={YEAR}")
    assert landing.status_code == 302 and landing.headers["Location"].endswith(
        f"/prevention/CBI?year={YEAR}"
    )
    page = client.get(f"/prevention/CBI?year={YEAR}").get_data(as_text=True)
    assert "Complaint prevention plan" in page and "No plan for this year yet." in page
    assert f"/prevention/CBI/reports/1?year={YEAR}" not in page  # no plan: no report forms
    saved = client.post(
        f"/prevention/CBI/plan?year={YEAR}",
        data={
            "title": "ลดข้อร้องเรียนด้านแรงดันไฟฟ้า",
            "summary": "ตรวจหม้อแปลง",
            "submitted_on": f"{YEAR}-01-20",
        },
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert [(p.title, p.submitted_on.isoformat()) for p in _plans()] == [
        ("ลดข้อร้องเรียนด้านแรงดันไฟฟ้า", f"{YEAR}-01-20")
    ]
    on_time = client.post(
        f"/prevention/CBI/reports/1?year={YEAR}",
        data={"q1-text": "ทำครบ", "q1-submitted_on": f"{YEAR}-04-10"},
    )
    assert on_time.status_code == 302
    late = client.post(
        f"/prevention/CBI/reports/2?year={YEAR}",
        data={"q2-text": "ช้า", "q2-submitted_on": f"{YEAR}-07-11"},
    )
    assert late.status_code == 302
    page = client.get(f"/prevention/CBI?year={YEAR}").get_data(as_text=True)
    assert "✓ on time" in page and "✗ late" in page and "✗ missing" in page  # Q3 and Q4: nothing
    assert f"10 April {YEAR}" in page  # Q1's due day
    client.get("/language/th")
    thai = client.get(f"/prevention/CBI?year={YEAR}").get_data(as_text=True)
    assert "แผนป้องกันการเกิดข้อร้องเรียน" in thai and f"1/{YEAR + 543}" in thai and "ทันกำหนด" in thai


def test_refusals_keep_the_form_and_store_nothing(client, login_as, make):
    office = make.office(code="CBI")
    login_as("office_manager", office=office)
    client.get("/language/en")
    future = client.post(
        f"/prevention/CBI/plan?year={YEAR}",
        data={"title": "x", "submitted_on": f"{YEAR + 2}-01-01"},
    )
    assert future.status_code == 422 and "is in the future" in future.get_data(as_text=True)
    assert client.post(f"/prevention/CBI/plan?year={YEAR}", data={"title": ""}).status_code == 422
    assert _plans() == []
    record_plan("CBI", YEAR, {"title": "plan", "submitted_on": f"{YEAR}-01-05"})
    inside = client.post(
        f"/prevention/CBI/reports/1?year={YEAR}",
        data={"q1-text": "x", "q1-submitted_on": f"{YEAR}-03-31"},
    )
    assert inside.status_code == 422 and f"is submitted after {YEAR}-03-31" in inside.get_data(
        as_text=True
    )
    this_year = bangkok_today().year
    record_plan("CBI", this_year, {"title": "plan", "submitted_on": f"{this_year}-01-05"})
    not_over = client.post(f"/prevention/CBI/reports/4?year={this_year}", data={"q4-text": "x"})
    assert not_over.status_code == 422 and "has not ended yet" in not_over.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(PreventionReport.id))).scalar_one() == 0


def test_scope_and_roles(client, login_as, make):
    cbi = make.office(code="CBI")
    make.office(code="RYG", office_class="2")
    make.branch(cbi, code="CBI-B")
    record_plan("RYG", YEAR, {"title": "plan", "submitted_on": f"{YEAR}-01-05"})
    login_as("office_manager", office=cbi)
    assert client.get(f"/prevention/RYG?year={YEAR}").status_code == 404
    assert client.post(f"/prevention/RYG/plan?year={YEAR}", data={"title": "x"}).status_code == 404
    assert client.get(f"/prevention/CBI-B?year={YEAR}").status_code == 404  # a branch keeps no plan
    login_as("kamr", office=cbi)
    page = client.get(f"/prevention/CBI?year={YEAR}").get_data(as_text=True)
    assert f"/prevention/CBI/plan?year={YEAR}" not in page  # KAMRs read only
    assert client.post(f"/prevention/CBI/plan?year={YEAR}", data={"title": "x"}).status_code == 403


def test_the_region_overview_lists_every_class_1_to_3_office(client, login_as, make):
    region = make.region()
    cbi, ryg = make.office(code="CBI"), make.office(code="RYG", office_class="2")
    make.branch(cbi, code="CBI-B")
    record_plan("RYG", YEAR, {"title": "plan", "submitted_on": f"{YEAR}-01-05"})
    login_as("regional_staff", office=region)
    client.get("/language/en")
    page = client.get(f"/prevention?year={YEAR}").get_data(as_text=True)
    table = page[page.index('id="prevention-overview"') :]
    assert "CBI" in table and "RYG" in table and "CBI-B" not in table
    assert "✗ no plan" in table and f"✓ 5 Jan {YEAR}" in table
    assert cbi.id != ryg.id
