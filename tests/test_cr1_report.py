"""The CR1 report (surveys 3.3) as JSON, HTML, XLSX and PDF, its command, its API and its page;
each format read back."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timezone

import openpyxl
import pytest

from kamcrm.extensions import db
from kamcrm.org.scope import office_scope, region_scope
from kamcrm.reports.cr1 import SECTIONS, cr1_report, render_cr1
from kamcrm.surveys.models import SmileBoxDay
from tests.pdfs import pdf_text

AS_OF = date(2021, 5, 15)
GENERATED = datetime(2021, 5, 16, 3, 15, tzinfo=timezone.utc)


@pytest.fixture
def world(make):
    region = make.region(name="การไฟฟ้าส่วนภูมิภาคเขต 2")
    cbi = make.office(code="CBI", name="กฟจ.ชลบุรี", parent=region)
    ryg = make.office(code="RYG", name="กฟจ.ระยอง", parent=region)
    q1 = date(2021, 2, 1)
    for kind, count in (("meter_install", 3), ("extension", 3), ("dedicated_transformer", 1)):
        for _ in range(count):
            job = make.service_job(cbi, kind=kind, completed_on=q1)
            make.survey_answer(cbi, channel="phone", score=5, answered_on=q1, job=job)
    make.survey_answer(ryg, score=4)  # an SMS answer: no quota, but counts for the mean
    db.session.add(
        SmileBoxDay(
            office_id=cbi.id, day=q1, served=100, score_1=1, score_2=1, score_3=68, followed_up=1
        )
    )
    db.session.flush()
    return cbi, ryg


def test_the_report_is_every_section_in_order(world):
    report = cr1_report(2021, AS_OF, region_scope())
    assert (
        SECTIONS
        and report["report"] == "CR1"
        and report["scope"] == "R2"
        and report["as_of"] == "2021-05-15"
    )
    keys = [row["key"] for row in report["rows"]]
    assert keys[:3] == [
        "survey_quota_meter_install",
        "survey_quota_extension",
        "survey_quota_dedicated_transformer",
    ]
    rows = {row["key"]: row for row in report["rows"]}
    # CBI met all three quotas in Q1, RYG none: 1 of 2 office-quarters each.
    assert rows["survey_quota_extension"]["cumulative"]["Q1"]["numerator"] == 1
    # 7 fives + one 4: 39 / 8 = 4.875.
    assert rows["survey_satisfaction"]["cumulative"]["Q1"] == {
        "value": 4.875,
        "numerator": 39,
        "denominator": 8,
        "target_met": True,
    }
    assert rows["smile_box_share"]["cumulative"]["Q1"] == {
        "value": 70.0,
        "numerator": 70,
        "denominator": 100,
        "target_met": True,
    }
    assert rows["smile_box_followed_up"]["cumulative"]["Q1"]["value"] == 50.0
    office = {row["key"]: row for row in cr1_report(2021, AS_OF, office_scope("RYG"))["rows"]}
    assert office["survey_quota_extension"]["cumulative"]["Q1"]["value"] == 0.0
    assert office["smile_box_share"]["cumulative"]["Q1"]["value"] is None


def test_json_html_xlsx_and_pdf_read_back(world):
    report = cr1_report(2021, AS_OF, region_scope())
    assert json.loads(render_cr1(report, "json")) == report
    html = render_cr1(report, "html", generated_at=GENERATED).decode("utf-8")
    assert "ประจำปี 2564" in html and "CR1" in html and "ค่าเฉลี่ยความพึงพอใจของลูกค้า" in html
    assert "4.8750" in html and "✓ ผ่านเป้าหมาย" in html and "ร้อยละ 50.00" in html
    book = openpyxl.load_workbook(io.BytesIO(render_cr1(report, "xlsx", generated_at=GENERATED)))
    form = book["CR1"]
    texts = [cell.value for row in form.iter_rows() for cell in row if cell.value]
    assert any("ประจำปี 2564" in str(text) for text in texts)
    assert "สำรวจทางโทรศัพท์ภายใน 15 วัน: ติดตั้งมิเตอร์" in texts
    data = list(book["ข้อมูล"].iter_rows(values_only=True))
    mean_q1 = next(row for row in data if row[1] == "survey_satisfaction" and row[5] == "Q1")
    assert mean_q1[6:] == (4.875, 39, 8, True)
    text = pdf_text(render_cr1(report, "pdf", generated_at=GENERATED))
    assert "2564" in text and "4.8750" in text and "Smile Box" in text


def test_the_command_writes_each_format(app, runner, world, tmp_path):
    result = runner.invoke(
        args=["report", "cr1", "--year", "2021", "--as-of", "2021-05-15", "--office", "CBI"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["scope"] == "CBI"
    target = tmp_path / "cr1.xlsx"
    result = runner.invoke(
        args=["report", "cr1", "--year", "2021", "--format", "xlsx", "--output", str(target)]
    )
    assert result.exit_code == 0 and target.read_bytes()[:2] == b"PK"
    result = runner.invoke(args=["report", "cr1", "--year", "2021", "--office", "NOPE"])
    assert result.exit_code != 0 and "NOPE" in result.output


def test_the_api_answers_the_callers_scope(client, make, world, api_token_for):
    cbi, ryg = world
    manager = make.user(role="office_manager", office=ryg)
    headers = {"Authorization": f"Bearer {api_token_for(manager)}"}
    response = client.get("/api/v1/reports/cr1?year=2021&as_of=2021-05-15", headers=headers)
    assert response.status_code == 200 and response.get_json()["scope"] == "RYG"
    assert response.get_data() == render_cr1(cr1_report(2021, AS_OF, office_scope("RYG")), "json")
    assert (
        client.get("/api/v1/reports/cr1?year=2021&office=CBI", headers=headers).status_code == 404
    )
    assert client.get("/api/v1/reports/cr1?year=20x1", headers=headers).status_code == 422


def test_the_page_and_its_downloads(client, login_as, world):
    login_as("regional_staff", office=world[0].parent)
    page = client.get("/surveys/cr1?year=2021&as_of=2021-05-15")
    assert page.status_code == 200 and "4.8750" in page.get_data(as_text=True)
    pdf = client.get("/surveys/cr1.pdf?year=2021&as_of=2021-05-15&office=CBI")
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"
    assert client.get("/surveys/cr1.json?year=2021&as_of=2021-05-15").get_json()["report"] == "CR1"
    assert client.get("/surveys/cr1.csv?year=2021").status_code == 404
    assert "/surveys/cr1" in client.get("/region/cr2?year=2021").get_data(as_text=True)
