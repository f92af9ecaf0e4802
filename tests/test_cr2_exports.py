"""The CR2 report as JSON, HTML, XLSX and PDF, and its command."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timezone

import openpyxl
import pytest

from kamcrm.compliance.engine import cr2_report
from kamcrm.org.scope import office_scope, region_scope
from kamcrm.prevention.operations import record_plan, submit_quarter_report
from kamcrm.reports.cr2 import (
    cr2_items,
    render_cr2,
    render_cr2_html,
    render_cr2_pdf,
    render_cr2_xlsx,
)
from kamcrm.reports.export.pdf import FONT_DIR
from tests.pdfs import embedded_fonts, pdf_text

AS_OF = date(2021, 6, 30)
GENERATED = datetime(2021, 7, 5, 3, 15, tzinfo=timezone.utc)  # 10:15 in Bangkok
TITLE = "แบบฟอร์มรายงานผลการดำเนินงานตามแผนปฏิบัติ ประจำปี 2564"


@pytest.fixture
def report(make):
    """Two STRATEGIC accounts, one with an FMS in Q1; six office-manager visits in Q1."""
    region = make.region(name="การไฟฟ้าส่วนภูมิภาคเขต 2")
    office = make.office(code="CBI", name="กฟจ.ชลบุรี", office_class="1")
    done = make.account(office=office, tier="STRATEGIC")
    make.account(office=office, tier="STRATEGIC")
    make.activity(done, "FMS", date(2021, 2, 1))
    manager = make.user(role="office_manager", office=office, exec_role="office_manager")
    for _ in range(6):
        account = make.account(office=office, tier="STREAMLINE")
        make.activity(
            account, "EXV", date(2021, 3, 1), performed_by=manager, exec_role="office_manager"
        )
    make.activity(done, "BOI", date(2021, 5, 1))
    make.complaint(
        office,
        category="METER_BILLING",
        received_at="2021-02-01T09:00:00+07:00",
        closed_at="2021-02-04T09:00:00+07:00",
    )
    make.complaint(office, category="METER_BILLING", received_at="2021-06-25T09:00:00+07:00")
    # Plan 2.2: a plan in January, the Q1 report on Apr 12 (day 12 after the quarter: late).
    record_plan(
        "CBI", 2021, {"title": "แผนป้องกันข้อร้องเรียน", "submitted_on": "2021-01-10"}, today=AS_OF
    )
    submit_quarter_report("CBI", 2021, 1, {"text": "ผล", "submitted_on": "2021-04-12"}, today=AS_OF)
    assert region.code == "R2"
    return cr2_report(2021, AS_OF, office_scope("CBI"))


def test_items_in_the_form_order(report):
    items = cr2_items(report)
    assert [item.number for item in items] == [
        "1.1.1",
        "1.1.2",
        "1.1.3",
        "1.2",
        "1.3",
        "1.5",
        "2.1a",
        "2.1b",
        "2.1c",
        "2.1d",
        "2.2",
    ]
    assert [item.plan_heading is not None for item in items].index(
        True
    ) == 6  # plan 2 opens at 2.1a


def test_complaint_cells_mark_met_and_pending_as_provisional(report):
    by_category = next(item for item in cr2_items(report) if item.number == "2.1a")
    meter = by_category.lines[2]
    assert meter.plan == "ด้านการจดหน่วยและแจ้งค่าไฟฟ้า ภายใน 15 วัน (ร้อยละ 85)"
    assert meter.cells[0].lines == ["แล้วเสร็จภายในกำหนด 1 จาก 1 เรื่อง", "ร้อยละ 100.00 ✓ ผ่านเป้าหมาย"]
    assert meter.cells[0].state == "met"
    assert meter.cells[1].lines == [
        "แล้วเสร็จภายในกำหนด 1 จาก 1 เรื่อง",
        "ร้อยละ 100.00 ✓ ผ่านเป้าหมาย",
        "รอผล 1 เรื่อง (ผลเบื้องต้น)",
    ]
    assert meter.cells[2].lines == ["—"]
    assert by_category.lines[0].cells[0].state == "neutral"  # no power-quality complaint


PREVENTION_Q1 = [
    "มีแผน 1 จาก 1 กฟฟ.",
    "รายงานทันกำหนด 0 จาก 1 ฉบับ",
    "ร้อยละ 0.00",
    "ล่าช้า 1 ฉบับ",
    "✗ ไม่ผ่านเป้าหมาย",
]


def test_row_2_2_follows_2_1d_with_plans_and_late_reports(report):
    prevention = cr2_items(report)[-1]
    assert (prevention.number, prevention.lead_unit) == ("2.2", "กฟฟ.ชั้น 1-3")
    assert prevention.title.startswith("การจัดทำแผนป้องกันการเกิดข้อร้องเรียน")
    line = prevention.lines[0]
    assert line.plan == (
        "กฟฟ.ชั้น 1-3 ทุกแห่ง (1 กฟฟ.) จัดทำแผนป้องกันการเกิดข้อร้องเรียนประจำปี "
        "และรายงานผลภายใน 10 วันหลังสิ้นไตรมาส"
    )
    assert line.cells[0].lines == PREVENTION_Q1 and line.cells[0].state == "missed"
    assert line.cells[1].lines == PREVENTION_Q1  # Q2 has not ended by Jun 30
    assert line.cells[2].lines == ["—"] and line.cells[3].lines == ["—"]


def test_result_cells_show_figures_and_verdict(report):
    fms = cr2_items(report)[0]
    cell = fms.lines[0].cells[0]  # STRATEGIC, Q1
    assert cell.state == "missed"
    assert cell.lines == ["ดำเนินการได้ 1 จาก 2 ราย", "ร้อยละ 50.00 ✗ ไม่ผ่านเป้าหมาย"]
    assert fms.lines[0].cells[2].lines == ["—"]  # Q1-3 is after as_of
    visits = cr2_items(report)[3]
    manager = visits.lines[2].cells[0]
    assert manager.lines[0] == "เป้าหมาย 6 ราย / ดำเนินการได้ 6 ราย"
    assert manager.state == "met" and "✓" in manager.text


def test_json_is_the_engine_report(report):
    assert json.loads(render_cr2(report, "json")) == report


def test_html_has_the_form(report):
    html = render_cr2_html(report, generated_at=GENERATED)
    assert TITLE in html and "กฟจ.ชลบุรี" in html
    for heading in (
        "แผนงาน / โครงการ / งาน",
        "ผลการดำเนินงานสะสม",
        "ไตรมาสที่ 1/2564",
        "ไตรมาสที่ 1-4/2564",
    ):
        assert heading in html
    assert "ข้อมูล ณ วันที่ 30 มิถุนายน 2564" in html
    assert "5 กรกฎาคม 2564 เวลา 10:15 น." in html
    assert "แผนงานที่ 2 การบริหารจัดการข้อร้องเรียน" in html and "รอผล 1 เรื่อง (ผลเบื้องต้น)" in html
    assert "2.2</b> การจัดทำแผนป้องกันการเกิดข้อร้องเรียน" in html and "ล่าช้า 1 ฉบับ" in html
    assert html.index("2.1d</b>") < html.index("2.2</b>")
    assert "size: A4 landscape" in html
    assert FONT_DIR.as_uri() in html  # the shipped font, never a remote one
    # The charts' SVG namespace is a name, not an address anything fetches.
    addresses = html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in addresses and "https://" not in addresses


def test_html_can_take_the_font_from_a_page_url(report):
    html = render_cr2_html(report, generated_at=GENERATED, font_base_url="/static/fonts/")
    assert "url('/static/fonts/Laksaman.ttf')" in html


def test_xlsx_holds_the_thai_headings_and_figures(report):
    book = openpyxl.load_workbook(io.BytesIO(render_cr2_xlsx(report, generated_at=GENERATED)))
    sheet = book["CR2"]
    texts = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert any(text.startswith(TITLE) for text in texts)
    assert "ด้าน CUSTOMER — CR2" in texts
    for heading in (
        "แผนงาน / โครงการ / งาน",
        "แผนปฏิบัติ (และเป้าหมาย)",
        "ช่วงเวลา",
        "หน่วยงานหลัก",
        "ไตรมาสที่ 1-2/2564",
    ):
        assert heading in texts
    assert "ดำเนินการได้ 1 จาก 2 ราย\nร้อยละ 50.00 ✗ ไม่ผ่านเป้าหมาย" in texts
    assert any(text.startswith("เป้าหมาย 6 ราย / ดำเนินการได้ 6 ราย") for text in texts)
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9

    data = [row for row in book["ข้อมูล"].iter_rows(values_only=True)]
    assert ("1.1.1", "FMS", "STRATEGIC", "Q1", 2, 1, 50.0, 100.0, False, None, None) in data
    assert ("1.5", "BOI", None, "Q1-2", 1, 1, None, None, None, None, None) in data
    assert any(text.startswith("แผนงานที่ 2 การบริหารจัดการข้อร้องเรียน") for text in texts)
    assert (
        "แล้วเสร็จภายในกำหนด 1 จาก 1 เรื่อง\nร้อยละ 100.00 ✓ ผ่านเป้าหมาย\nรอผล 1 เรื่อง (ผลเบื้องต้น)" in texts
    )
    assert (
        "2.1a",
        "complaints",
        "METER_BILLING",
        "Q1-2",
        1,
        1,
        100.0,
        85.0,
        True,
        None,
        None,
    ) in data
    assert "\n".join(PREVENTION_Q1) in texts
    assert ("2.2", "prevention_plans", None, "Q1", 1, 1, 100.0, None, None, None, None) in data
    assert ("2.2", "prevention_reports", None, "Q1-2", 1, 0, 0.0, 100.0, False, None, None) in data


def test_xlsx_colours_met_and_missed_cells(report):
    sheet = openpyxl.load_workbook(io.BytesIO(render_cr2_xlsx(report, generated_at=GENERATED)))[
        "CR2"
    ]
    results = [
        c for row in sheet.iter_rows(min_row=8, min_col=5) for c in row if isinstance(c.value, str)
    ]
    fills = {c.value: c.fill.fgColor.rgb for c in results if "✓" in c.value or "✗" in c.value}
    assert fills
    assert {rgb for text, rgb in fills.items() if "✗" in text} == {"FFF8D7DA"}
    assert {rgb for text, rgb in fills.items() if "✓" in text} == {"FFDFF0D8"}


def test_pdf_is_a_pdf_with_thai_text(report, tmp_path):
    pdf = render_cr2_pdf(report, generated_at=GENERATED)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert TITLE in text  # SARA AM (ำ) survives: see kamcrm/reports/export/fontbuild.py
    assert "ด้าน CUSTOMER — CR2" in text
    assert "ไตรมาสที่ 1-2/2564" in text
    assert "ข้อมูล ณ วันที่ 30 มิถุนายน 2564" in text
    assert "ร้อยละ 50.00" in text
    assert "แผนงานที่ 2" in text and "ผลเบื้องต้น" in text
    assert "2.2 การจัดทำแผนป้องกันการ" in text and "มีแผน 1 จาก 1 กฟฟ." in text and "ล่าช้า 1 ฉบับ" in text


def test_pdf_embeds_the_shipped_font(report, tmp_path):
    assert {"KamcrmThai", "KamcrmThai-Bold"} <= embedded_fonts(
        render_cr2_pdf(report, generated_at=GENERATED)
    )


# --- CLI ------------------------------------------------------------------------------------


@pytest.fixture
def region_world(make):
    make.region()
    office = make.office(code="O1")
    account = make.account(office=office, tier="STAR")
    make.activity(account, "FMS", date(2021, 1, 4))


def test_cli_json_to_stdout(runner, region_world, app_ctx):
    result = runner.invoke(
        args=["report", "cr2", "--year", "2021", "--as-of", "2021-06-30", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == cr2_report(2021, AS_OF, region_scope())


def test_cli_html_to_stdout_for_an_office(runner, region_world):
    result = runner.invoke(
        args=["report", "cr2", "--year", "2021", "--office", "O1", "--format", "html"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("<!doctype html>") and TITLE in result.output


@pytest.mark.parametrize(("fmt", "magic"), [("xlsx", b"PK"), ("pdf", b"%PDF")])
def test_cli_writes_binary_formats_to_the_output(runner, region_world, tmp_path, fmt, magic):
    target = tmp_path / f"cr2.{fmt}"
    result = runner.invoke(
        args=["report", "cr2", "--year", "2021", "--format", fmt, "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(magic)
    assert str(target) in result.output


def test_cli_binary_without_output_writes_a_default_file(
    runner, region_world, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        args=["report", "cr2", "--year", "2021", "--as-of", "2021-03-31", "--format", "xlsx"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "CR2_R2_2021_as-of_2021-03-31.xlsx").exists()
    assert "CR2_R2_2021_as-of_2021-03-31.xlsx" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--year", "21x"], "not a year"),
        (["--year", "1066"], "out of range"),
        (["--year", "2021", "--as-of", "2021-02-30"], "not a date"),
        (["--year", "2021", "--office", "NOPE"], "no office has the code"),
        (["--year", "2021", "--format", "docx"], "docx"),
        ([], "--year"),
    ],
)
def test_cli_refuses_bad_input(runner, region_world, args, message):
    result = runner.invoke(args=["report", "cr2", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_shipped_font_draws_sara_am_with_its_own_sara_aa():
    from fontTools.ttLib import TTFont

    for name in ("Laksaman.ttf", "Laksaman-Bold.ttf"):
        font = TTFont(FONT_DIR / name)
        assert "uni0E32.am" in font.getGlyphOrder()
        gsub = font["GSUB"].table
        substituted = {
            target
            for lookup in gsub.LookupList.Lookup
            if lookup.LookupType == 1
            for sub in lookup.SubTable
            for target in sub.mapping.values()
        }
        assert "uni0E32.am" in substituted
    assert (FONT_DIR / "LICENSE-Laksaman.txt").read_text().count("GPL") >= 1
