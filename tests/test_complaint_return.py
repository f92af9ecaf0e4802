"""The monthly complaint return kept "as reported" (SPEC section 8): due days, the job that
keeps each office's and the region's copy, the difference with "as of now" after a late
close, every format (read back), the CLI's refusals, the page and the API within scope.

The world: office CBI (a branch CBI-B rolls up into it) and office RYG, in region R2. March
2021, hand-computed as of Mar 31:

* A, CBI-B, METER_BILLING (15 days), received Mar 1, open: Mar 31 − Mar 1 = 30 > 15, missed;
* B, CBI, a STAR account's, OTHER (20 days), received Mar 1, closed Mar 5: met;
* D, CBI, OTHER, received Mar 20, open: 11 days ≤ 20, pending;
* R, RYG, OTHER, received Mar 3, closed Mar 4: met (RYG's return only).

CBI reports received 3, closed 1, open at month end 2; 2.1a total met 1, missed 1, pending
1: 50.00 %, provisional. Then D is closed on Mar 25, recorded after the due day (a late
close): now closed 2, open 1, met 2 of 3 = 66.67 %, final; the kept copy keeps 50.00 %.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from types import SimpleNamespace

import openpyxl
import pytest
import sqlalchemy as sa

from kamcrm.db import utcnow
from kamcrm.extensions import db
from kamcrm.jobs.runner import PeriodNotDue, run_job
from kamcrm.jobs.schedule import job_named
from kamcrm.org.scope import office_scope, region_scope
from kamcrm.periods import BANGKOK
from kamcrm.reports.complaint_return import (
    NotReportedYet,
    complaint_return_report,
    due_on,
    kept_return,
)
from kamcrm.reports.complaint_return_export import render_return
from kamcrm.reports.models import ComplaintReturn
from tests.factories import sign_in
from tests.pdfs import pdf_text
from tests.test_jobs_race import race, separate_app  # noqa: F401  (a database committed for real)


def bangkok(*parts) -> datetime:
    return datetime(*parts, tzinfo=BANGKOK)


@pytest.fixture
def world(make):
    region = make.region()
    cbi = make.office(code="CBI", name="กฟฟ. ชลบุรี")
    branch = make.branch(cbi, code="CBI-B")
    ryg = make.office(code="RYG", name="กฟฟ. ระยอง")
    star = make.account(office=cbi, tier="STAR")
    a = make.complaint(
        branch, ref="A", category="METER_BILLING", received_at="2021-03-01T09:00:00+07:00"
    )
    b = make.complaint(
        account=star,
        ref="B",
        category="OTHER",
        received_at="2021-03-01T09:00:00+07:00",
        closed_at="2021-03-05T09:00:00+07:00",
    )
    d = make.complaint(cbi, ref="D", category="OTHER", received_at="2021-03-20T09:00:00+07:00")
    make.complaint(
        ryg,
        ref="R",
        category="OTHER",
        received_at="2021-03-03T09:00:00+07:00",
        closed_at="2021-03-04T09:00:00+07:00",
    )
    db.session.commit()
    return SimpleNamespace(region=region, cbi=cbi, branch=branch, ryg=ryg, a=a, b=b, d=d)


def total_row(view: dict) -> dict:
    return next(
        row["month"] for row in view["rows"] if row["item"] == "2.1a" and row["category"] is None
    )


def late_close(complaint) -> None:
    """Close ``complaint`` on Mar 25 2021, recorded now: long after the due day."""
    from kamcrm.complaints.operations import close_complaint

    close_complaint(complaint, "fixed", closed_at=bangkok(2021, 3, 25, 10, 0))
    db.session.commit()


# --- due days ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "year, month, office_day, region_day",
    [
        (2021, 3, date(2021, 4, 10), date(2021, 4, 20)),
        (2021, 12, date(2022, 1, 10), date(2022, 1, 20)),
        (2024, 2, date(2024, 3, 10), date(2024, 3, 20)),  # Feb 29 + 10 days
    ],
)
def test_a_return_falls_due_on_the_10th_or_20th_day_after_the_month(
    year, month, office_day, region_day
):
    assert due_on(year, month, region=False) == office_day
    assert due_on(year, month, region=True) == region_day
    key = f"{year:04d}-{month:02d}"
    for name, day in (
        ("complaint_return_offices", office_day),
        ("complaint_return_region", region_day),
    ):
        cadence = job_named(name).cadence
        assert cadence.due_at(cadence.parse(key)) == datetime.combine(
            day, datetime.min.time(), BANGKOK
        ).replace(hour=23, minute=30)


@pytest.mark.parametrize(
    "name, now, latest",
    [
        ("complaint_return_offices", bangkok(2021, 4, 10, 23, 29), "2021-02"),
        ("complaint_return_offices", bangkok(2021, 4, 10, 23, 30), "2021-03"),
        ("complaint_return_region", bangkok(2021, 4, 20, 23, 29), "2021-02"),
        ("complaint_return_region", bangkok(2021, 4, 20, 23, 30), "2021-03"),
        ("complaint_return_offices", bangkok(2022, 1, 11, 8, 0), "2021-12"),
    ],
)
def test_the_job_falls_due_on_the_bangkok_due_day(name, now, latest):
    cadence = job_named(name).cadence
    assert cadence.key(cadence.latest_due(now)) == latest


def test_a_return_cannot_be_kept_before_its_due_day(app_ctx):
    with pytest.raises(PeriodNotDue, match="not due until 2021-04-20"):
        run_job("complaint_return_region", bangkok(2021, 4, 15, 12, 0), "2021-03")


# --- kept as reported -------------------------------------------------------------------------


def test_the_job_keeps_each_office_and_the_region_once(world):
    now = utcnow()
    offices = run_job("complaint_return_offices", now, "2021-03")
    assert offices.outcome == "done", offices.message
    assert "kept 2 reported office complaint returns of 2021-03" in offices.message
    kept = db.session.execute(sa.select(ComplaintReturn.scope_code, ComplaintReturn.kind)).all()
    assert sorted(kept) == [
        ("CBI", "reported"),
        ("RYG", "reported"),
    ]  # the branch rolls up into CBI
    # A second scheduler (or the same one again) does not double it.
    assert run_job("complaint_return_offices", now, "2021-03").outcome == "skipped"
    forced = run_job("complaint_return_offices", now, "2021-03", force=True)
    assert "kept 0 reported" in forced.message and "(2 were kept already)" in forced.message

    with pytest.raises(NotReportedYet):
        complaint_return_report("2021-03", region_scope(), now, as_reported=True)
    assert "kept 1 reported region" in run_job("complaint_return_region", now, "2021-03").message
    region = kept_return(2021, 3, "R2", "reported").data
    assert (region["received"], region["closed"], region["open_at_month_end"]) == (4, 2, 2)
    assert region["due_on"] == "2021-04-20"


def test_the_kept_copy_stays_after_a_late_close_and_now_moves(world):
    run_job("complaint_return_offices", utcnow(), "2021-03")
    reported = complaint_return_report("2021-03", office_scope("CBI"), utcnow(), as_reported=True)
    assert (reported["kind"], reported["due_on"], reported["scope_name"]) == (
        "reported",
        "2021-04-10",
        "กฟฟ. ชลบุรี",
    )
    assert (reported["received"], reported["closed"], reported["open_at_month_end"]) == (3, 1, 2)
    assert {k: total_row(reported)[k] for k in ("met", "missed", "pending", "pct", "final")} == {
        "met": 1,
        "missed": 1,
        "pending": 1,
        "pct": 50.0,
        "final": False,
    }
    assert reported["changes"] == {"figures": [], "complaints": []}

    late_close(world.d)
    now = complaint_return_report("2021-03", office_scope("CBI"), utcnow())
    assert (now["kind"], now["closed"], now["open_at_month_end"]) == ("on_demand", 2, 1)
    assert {k: total_row(now)[k] for k in ("met", "missed", "pending", "pct", "final")} == {
        "met": 2,
        "missed": 1,
        "pending": 0,
        "pct": 66.67,
        "final": True,
    }
    moved = {
        change["figure"]: (change["reported"], change["now"])
        for change in now["changes"]["figures"]
    }
    assert moved["closed"] == (1, 2) and moved["open_at_month_end"] == (2, 1)
    assert moved["2.1a.total.pct"] == (50.0, 66.67) and moved["2.1a.OTHER.pending"] == (1, 0)
    assert moved["group.none.met"] == (0, 1)  # D has no key account
    assert "group.STAR.met" not in moved and "received" not in moved
    assert [item["ref"] for item in now["changes"]["complaints"]] == ["D"]

    # What was reported is what was reported.
    again = complaint_return_report("2021-03", office_scope("CBI"), utcnow(), as_reported=True)
    assert (again["closed"], total_row(again)["pct"]) == (1, 50.0)
    assert kept_return(2021, 3, "CBI", "reported").data["closed"] == 1
    assert again["changes"] == now["changes"]


def test_the_customer_groups_use_the_tier_on_the_day_received(world, make):
    view = complaint_return_report("2021-03", office_scope("CBI"), utcnow())
    groups = {group["tier"]: group["month"] for group in view["customer_groups"]}
    assert (groups["STAR"]["received"], groups["STAR"]["met"]) == (1, 1)
    assert (groups[None]["received"], groups[None]["missed"], groups[None]["pending"]) == (2, 1, 1)


# --- formats ----------------------------------------------------------------------------------


@pytest.fixture
def late_view(world):
    run_job("complaint_return_offices", utcnow(), "2021-03")
    late_close(world.d)
    return complaint_return_report("2021-03", office_scope("CBI"), utcnow())


def test_the_xlsx_reads_back_with_the_figures_and_the_changes(late_view):
    book = openpyxl.load_workbook(io.BytesIO(render_return(late_view, "xlsx")), read_only=True)
    assert book.sheetnames == ["รายงานประจำเดือน", "เปลี่ยนแปลง"]
    sheet = [list(row) for row in book["รายงานประจำเดือน"].iter_rows(values_only=True)]
    assert sheet[0][0] == "รายงานผลการแก้ไขข้อร้องเรียนของลูกค้า ประจำเดือนมีนาคม 2564"
    assert "กำหนดส่งรายงานภายใน 10 เม.ย. 2564" in sheet[1][0]
    by_label = {row[0]: row[1:] for row in sheet if row and row[0]}
    assert (by_label["รับในเดือน"][0], by_label["ปิดในเดือน"][0], by_label["ค้าง ณ สิ้นเดือน"][0]) == (
        3,
        2,
        1,
    )
    total = next(row for label, row in by_label.items() if label.startswith("2.1 (ก) รวมทุกประเภท"))
    assert total[:7] == [3, 0, 2, 1, 0, "66.67%", "✗ ไม่ผ่าน"]  # below the 85 % target
    star = by_label["Star"]
    assert star[:6] == [1, 0, 1, 0, 0, "100.00%"]
    changes = [list(row) for row in book["เปลี่ยนแปลง"].iter_rows(values_only=True)]
    assert ["ปิดในเดือน", 1, 2] in [row[:3] for row in changes]
    assert any(row[0] == "D" for row in changes)


def test_the_pdf_is_thai_with_buddhist_era_years(late_view):
    content = render_return(late_view, "pdf")
    assert content[:4] == b"%PDF"
    text = pdf_text(content)
    assert "ประจำเดือนมีนาคม 2564" in text and "กำหนดส่งรายงานภายใน 10 เม.ย. 2564" in text
    assert "66.67%" in text and "ตัวเลขที่เปลี่ยนไปจากที่รายงาน" in text
    assert "2021" not in text.replace("2021-", "")  # no CE year printed as such


def test_the_html_and_json_say_the_same(late_view):
    html = render_return(late_view, "html").decode("utf-8")
    assert (
        "ประจำเดือนมีนาคม 2564" in html and "66.67%" in html and "4. ตัวเลขที่เปลี่ยนไปจากที่รายงาน" in html
    )
    assert json.loads(render_return(late_view, "json"))["changes"]["complaints"][0]["ref"] == "D"


# --- the command ------------------------------------------------------------------------------


def test_the_command_writes_every_format(world, runner, tmp_path):
    for fmt, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        target = tmp_path / f"r.{fmt}"
        result = runner.invoke(
            args=[
                "report",
                "complaints",
                "--month",
                "2021-03",
                "--office",
                "CBI",
                "--format",
                fmt,
                "--output",
                str(target),
            ]
        )
        assert result.exit_code == 0, result.output
        assert target.read_bytes()[: len(magic)] == magic
    html = runner.invoke(args=["report", "complaints", "--month", "2021-03", "--format", "html"])
    assert html.exit_code == 0 and "ประจำเดือนมีนาคม 2564" in html.output
    shown = json.loads(
        runner.invoke(args=["report", "complaints", "--month", "2021-03", "--office", "CBI"]).output
    )
    assert (shown["scope"], shown["received"], shown["kind"], shown["reported_at"]) == (
        "CBI",
        3,
        "on_demand",
        None,
    )
    # Each one made now is kept on demand, as the monthly summary's are.
    assert (
        db.session.execute(
            sa.select(sa.func.count())
            .select_from(ComplaintReturn)
            .where(ComplaintReturn.kind == "on_demand")
        ).scalar()
        == 4
    )


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--month", "2021-13"], 2, "not a month"),
        (["--month", "March"], 2, "not a month"),
        (["--month", "2021-03", "--office", "NOPE"], 2, "no office has the code 'NOPE'"),
        (["--month", "2021-03", "--format", "pdf"], 2, "give --output FILE"),
        (["--month", "2021-03", "--format", "docx"], 2, "docx"),
        (["--month", "2021-03", "--as-reported"], 1, "was reported yet"),
    ],
)
def test_the_command_refuses_bad_input_clearly(world, runner, args, code, message):
    result = runner.invoke(args=["report", "complaints", *args])
    assert result.exit_code == code and message in result.output, result.output
    assert db.session.execute(sa.select(sa.func.count()).select_from(ComplaintReturn)).scalar() == 0


# --- the page and the API, within scope -------------------------------------------------------


def test_an_office_manager_sees_their_office_and_not_another(world, make, client):
    manager = make.user(role="office_manager", office=world.cbi)
    sign_in(client, manager)
    db.session.commit()
    page = client.get("/complaints/return?month=2021-03")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert (
        'id="return-rows"' in html
        and "CBI" in html
        and "/complaints/return.xlsx?month=2021-03" in html
    )
    assert client.get("/complaints/return?month=2021-03&office=RYG").status_code == 404
    assert client.get("/complaints/return.pdf?month=2021-03&office=RYG").status_code == 404
    download = client.get("/complaints/return.xlsx?month=2021-03")
    assert download.status_code == 200 and download.data[:2] == b"PK"
    assert (
        'filename="complaints-CBI-2021-03-on_demand.xlsx"'
        in download.headers["Content-Disposition"]
    )


def test_regional_staff_see_the_region_and_the_changes(world, make, client):
    staff = make.user(role="regional_staff", office=world.region)
    sign_in(client, staff)
    db.session.commit()
    missing = client.get("/complaints/return?month=2021-03&view=reported").get_data(as_text=True)
    assert 'id="return-rows"' not in missing
    run_job("complaint_return_offices", utcnow(), "2021-03")
    late_close(world.d)
    html = client.get("/complaints/return?month=2021-03&office=CBI").get_data(as_text=True)
    assert (
        'id="return-changes"' in html
        and 'id="return-changed-complaints"' in html
        and ">D</a>" in html
    )
    reported = client.get("/complaints/return?month=2021-03&office=CBI&view=reported").get_data(
        as_text=True
    )
    assert 'id="return-rows"' in reported
    region = client.get("/complaints/return?month=2021-03").get_data(as_text=True)
    assert "R2" in region and 'id="return-changes"' not in region  # the region is not reported yet
    assert client.get("/complaints/return.docx?month=2021-03").status_code == 404


def test_the_page_reads_in_thai_with_be_years_and_in_english(world, make, client):
    sign_in(client, make.user(role="regional_staff", office=world.region))
    db.session.commit()
    run_job("complaint_return_offices", utcnow(), "2021-03")
    late_close(world.d)
    thai = client.get("/complaints/return?month=2021-03&office=CBI").get_data(as_text=True)
    assert "รายงานข้อร้องเรียนประจำเดือน" in thai and "1 มี.ค. 2564 – 31 มี.ค. 2564" in thai
    assert "กำหนดส่ง 10 เม.ย. 2564" in thai and "การเปลี่ยนแปลงหลังส่งรายงาน" in thai
    client.get("/language/en")
    english = client.get("/complaints/return?month=2021-03&office=CBI").get_data(as_text=True)
    assert "Monthly complaint return" in english and "due on 10 Apr 2021" in english
    assert "Changes since the return was reported" in english and "Closed in the month" in english


def test_the_api_answers_each_format_within_the_callers_scope(world, make, client, api_token_for):
    manager = make.user(role="office_manager", office=world.cbi)
    headers = {"Authorization": f"Bearer {api_token_for(manager)}"}
    db.session.commit()
    body = client.get("/api/v1/reports/complaints?month=2021-03", headers=headers)
    assert body.status_code == 200 and body.get_json()["scope"] == "CBI"
    assert body.get_json()["changes"] is None
    assert (
        client.get(
            "/api/v1/reports/complaints?month=2021-03&office=RYG", headers=headers
        ).status_code
        == 404
    )
    xlsx = client.get("/api/v1/reports/complaints?month=2021-03&format=xlsx", headers=headers)
    assert (
        xlsx.status_code == 200
        and xlsx.data[:2] == b"PK"
        and "attachment" in xlsx.headers["Content-Disposition"]
    )
    pdf = client.get(
        "/api/v1/reports/complaints?month=2021-03", headers={**headers, "Accept": "application/pdf"}
    )
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data[:4] == b"%PDF"
    assert (
        client.get(
            "/api/v1/reports/complaints?month=2021-03&format=docx", headers=headers
        ).status_code
        == 422
    )
    assert (
        client.get(
            "/api/v1/reports/complaints?month=2021-03&as_reported=true", headers=headers
        ).status_code
        == 404
    )


# --- two hosts ------------------------------------------------------------------------------


def test_two_schedulers_racing_for_the_office_returns_keep_each_once(separate_app):
    """On a database committed for real: two scheduler hosts fire at the same due moment."""
    from kamcrm.jobs.models import JobRun
    from tests import factories

    with separate_app.app_context():
        make = factories.Factories()
        make.complaint(make.office(code="CBI"), received_at="2021-03-02T09:00:00+07:00")
        make.office(code="RYG")
        db.session.commit()
    due = bangkok(2021, 4, 10, 23, 30)
    results = race(separate_app, lambda: run_job("complaint_return_offices", due, "2021-03"))
    assert sorted(result.outcome for result in results) == ["done", "skipped"]
    with separate_app.app_context():
        kept = db.session.execute(
            sa.select(ComplaintReturn.scope_code, sa.func.count()).group_by(
                ComplaintReturn.scope_code
            )
        ).all()
        assert dict(kept) == {"CBI": 1, "RYG": 1}
        assert db.session.execute(sa.select(JobRun.state)).scalars().all() == ["done"]


def test_the_api_document_lists_every_format_of_the_return(client):
    operation = client.get("/api/v1/openapi.json").get_json()["paths"][
        "/api/v1/reports/complaints"
    ]["get"]
    assert set(operation["responses"]["200"]["content"]) == {
        "application/json",
        "text/html",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    assert {"month", "office", "as_reported", "format"} <= {
        p["name"] for p in operation["parameters"]
    }
