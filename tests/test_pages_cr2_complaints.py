"""The CR2 page shows plan 2 (complaints), pending figures marked provisional."""

from __future__ import annotations


def test_the_cr2_page_shows_plan_2_with_pending_marked_provisional(client, login_as, make):
    office = make.office(code="CBI")
    make.complaint(
        office,
        category="METER_BILLING",
        received_at="2021-02-01T09:00:00+07:00",
        closed_at="2021-02-03T09:00:00+07:00",
    )
    make.complaint(office, category="METER_BILLING", received_at="2021-06-29T09:00:00+07:00")
    login_as("regional_staff", office=make.region())
    client.get("/language/en")
    page = client.get("/region/cr2?year=2021&as_of=2021-06-30").get_data(as_text=True)
    assert "Plan 2: complaints closed within their time limits" in page
    assert "Meter reading and billing" in page
    assert "1 of 1 within the limit" in page
    assert "provisional: 1 pending" in page
    client.get("/language/th")
    thai = client.get("/region/cr2?year=2021&as_of=2021-06-30").get_data(as_text=True)
    assert "แผนงานที่ 2: แก้ไขข้อร้องเรียนแล้วเสร็จภายในระยะเวลาที่กำหนด" in thai
    assert "ผลเบื้องต้น: รอผล 1 เรื่อง" in thai and "1-2/2564" in thai


def test_the_cr2_page_shows_row_2_2_after_plan_2_1(client, login_as, make):
    from kamcrm.prevention.operations import record_plan, submit_quarter_report

    region = make.region()
    make.office(code="CBI")
    make.office(code="RYG", office_class="2")
    # CBI: plan in January, Q1 report on day 10 (on time); RYG: no plan, no report.
    record_plan("CBI", 2021, {"title": "แผน", "submitted_on": "2021-01-10"})
    submit_quarter_report("CBI", 2021, 1, {"text": "ผล", "submitted_on": "2021-04-10"})
    login_as("regional_staff", office=region)
    client.get("/language/en")
    page = client.get("/region/cr2?year=2021&as_of=2021-06-30").get_data(as_text=True)
    row = page[page.index('id="plan2-2"') :]
    assert page.index('id="plan2"') < page.index('id="plan2-2"')
    assert (
        "Complaint prevention plans of the class 1-3 offices (2), and their quarter reports within 10 days"
        in row
    )
    assert (
        "1 of 2 offices have a plan" in row
        and "1 of 2 reports on time" in row
        and "1 missing" in row
    )
    client.get("/language/th")
    thai = client.get("/region/cr2?year=2021&as_of=2021-06-30").get_data(as_text=True)
    assert "มีแผน 1 จาก 2 กฟฟ." in thai and "ไม่ได้รายงาน 1 ฉบับ" in thai
