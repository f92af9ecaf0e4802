"""The monthly summary in every format reads as a Thai document: Thai month names, BE years."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timezone

import openpyxl
import pytest

from kamcrm.org.scope import region_scope
from kamcrm.periods import BANGKOK
from kamcrm.reports.monthly import keep_reported_summaries, kept_summary, monthly_report
from kamcrm.reports.monthly_export import MONTHLY_FORMATS, figure_name, render_monthly
from tests.pdfs import pdf_text

REPORTED_AT = datetime(2021, 2, 6, 0, 30, tzinfo=BANGKOK)
NOW = datetime(2021, 2, 20, 3, 0, tzinfo=timezone.utc)
#: Words chosen so that every extractor gives them back as written (pdftotext maps some
#: Thai vowel and tone-mark glyphs back to look-alikes; the page itself is right).
OFFICE_NAME = "กฟฟ.ชลบุรี"
ACCOUNT_NAME = "ไทยสตีล"


@pytest.fixture
def view(make):
    office = make.office(code="CBI", name=OFFICE_NAME)
    account = make.account(office=office, name=ACCOUNT_NAME, account_no="020000000777")
    kamr = make.user(office=office, username="somchai", full_name="สมชาย ใจดี")
    make.activity(account, type="FMS", activity_date=date(2021, 1, 10), performed_by=kamr)
    keep_reported_summaries(2021, 1, REPORTED_AT)
    make.activity(
        account,
        type="RBA",
        activity_date=date(2021, 1, 12),
        performed_by=kamr,
        recorded_at=datetime(2021, 2, 8, 2, tzinfo=timezone.utc),
        is_late=True,
    )
    return monthly_report("2021-01", region_scope(), NOW)


def xlsx_text(content: bytes) -> str:
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(
        " | ".join(str(value) for value in row if value is not None)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
    )


def text_of(fmt: str, content: bytes, tmp_path) -> str:
    if fmt == "pdf":
        return pdf_text(content)
    if fmt == "xlsx":
        return xlsx_text(content)
    return content.decode("utf-8")


@pytest.mark.parametrize("fmt", MONTHLY_FORMATS)
def test_every_format_names_the_month_in_thai_with_the_be_year_and_the_office(view, fmt, tmp_path):
    text = text_of(fmt, render_monthly(view, fmt), tmp_path)
    expected = (
        ["2021-01", OFFICE_NAME] if fmt == "json" else ["มกราคม 2564", OFFICE_NAME, "CRM Plus"]
    )
    for words in expected:
        assert words in text


@pytest.mark.parametrize("fmt", ["html", "xlsx", "pdf"])
def test_every_document_lists_the_late_entry_with_its_account_and_person(view, fmt, tmp_path):
    text = text_of(fmt, render_monthly(view, fmt), tmp_path)
    for words in (ACCOUNT_NAME, "020000000777", "somchai", "12 ม.ค. 2564"):
        assert words in text


def test_the_workbook_carries_the_figures_as_numbers(view):
    workbook = openpyxl.load_workbook(io.BytesIO(render_monthly(view, "xlsx")))
    rows = list(workbook["สรุป"].iter_rows(values_only=True))
    office_row = next(row for row in rows if row[0] == f"{OFFICE_NAME} (CBI)")
    assert office_row[1:6] == (1, 0, 0, 0, 1)


def test_json_keeps_thai_readable_and_the_changes_since_reported(view):
    content = render_monthly(view, "json")
    data = json.loads(content)
    assert OFFICE_NAME.encode("utf-8") in content
    assert data["kind"] == "on_demand" and data["changes"]["activities"][0]["change"] == "added"


def test_html_says_whether_it_is_as_reported_or_as_of_now(view):
    reported = monthly_report("2021-01", region_scope(), NOW, as_reported=True)
    assert "ตามที่รายงาน" in render_monthly(reported, "html").decode()
    assert "ข้อมูล ณ ปัจจุบัน" in render_monthly(view, "html").decode()


@pytest.mark.parametrize(
    "name, words",
    [
        ("accounts.STAR", "จำนวนลูกค้า Star"),
        ("coverage.FMS.STRATEGIC.pct", "ความครอบคลุม FMS Strategic: ร้อยละ"),
        ("late.month", "บันทึกล่าช้าในเดือน"),
        ("executive_visits.office_manager.visits", "ผู้จัดการ กฟฟ. (ครั้ง)"),
    ],
)
def test_changed_figures_are_named_in_thai(name, words):
    assert figure_name(name) == words


# --- the command ------------------------------------------------------------------------------


def test_report_monthly_writes_a_pdf_and_keeps_an_on_demand_snapshot(runner, view, tmp_path):
    target = tmp_path / "r2.pdf"
    result = runner.invoke(
        args=["report", "monthly", "--month", "2021-01", "--format", "pdf", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"%PDF")
    assert kept_summary(2021, 1, "R2", "on_demand") is not None


def test_report_monthly_as_reported_prints_the_kept_json(runner, view):
    result = runner.invoke(
        args=["report", "monthly", "--month", "2021-01", "--office", "CBI", "--as-reported"]
    )
    data = json.loads(result.output)
    assert (data["kind"], data["scope"]) == ("reported", "CBI")
    assert data["total"]["activities"]["RBA"]["activities"] == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--month", "2021-13"], "YYYY-MM"),
        (["--month", "2021-01", "--office", "NOPE"], "NOPE"),
        (["--month", "2021-03", "--as-reported"], "was reported yet"),
        (["--month", "2021-01", "--format", "xlsx"], "--output"),
    ],
)
def test_report_monthly_explains_a_bad_request(runner, view, args, message):
    result = runner.invoke(args=["report", "monthly", *args])
    assert result.exit_code != 0 and message in result.output
