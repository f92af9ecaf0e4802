"""Text that users typed comes back from every workbook as text, never as a formula or link."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone

import openpyxl

from kamcrm.org.scope import region_scope
from kamcrm.periods import BANGKOK
from kamcrm.reports.export.xlsx import ReportWorkbook
from kamcrm.reports.monthly import keep_reported_summaries, monthly_report
from kamcrm.reports.monthly_export import render_monthly

OFFICE_NAME = '=HYPERLINK("http://evil.example/","กฟฟ.ชลบุรี")'
ACCOUNT_NAME = "=1+2"
PERSON_NAME = "@SUM(A1:A9)"


def _cells(content: bytes):
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [
        cell
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    ]


def test_the_monthly_workbook_writes_names_that_look_like_formulas_as_text(make):
    office = make.office(code="CBI", name=OFFICE_NAME)
    account = make.account(office=office, name=ACCOUNT_NAME, account_no="020000000777")
    kamr = make.user(office=office, username="somchai", full_name=PERSON_NAME)
    make.activity(account, type="FMS", activity_date=date(2021, 1, 10), performed_by=kamr)
    keep_reported_summaries(2021, 1, datetime(2021, 2, 6, 0, 30, tzinfo=BANGKOK))
    make.activity(
        account,
        type="RBA",
        activity_date=date(2021, 1, 12),
        performed_by=kamr,
        recorded_at=datetime(2021, 2, 8, 2, tzinfo=timezone.utc),
        is_late=True,
    )
    view = monthly_report("2021-01", region_scope(), datetime(2021, 2, 20, 3, tzinfo=timezone.utc))

    cells = _cells(render_monthly(view, "xlsx"))

    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    texts = {cell.value for cell in cells if cell.data_type == "s"}
    assert {f"{OFFICE_NAME} (CBI)", ACCOUNT_NAME, f"{PERSON_NAME} (somchai)"} <= texts


def test_every_report_workbook_writes_text_as_text(app_ctx):
    """The CR2 and monthly workbooks are both ``ReportWorkbook``s: its cells are the rule."""
    book = ReportWorkbook()
    sheet = book.sheet("CR2")
    for row, text in enumerate(
        (OFFICE_NAME, ACCOUNT_NAME, "http://example.com/" + "x" * 3000, "+66 38 123 456")
    ):
        sheet.write(row, 0, text, book.formats["cell"])

    cells = _cells(book.close())

    assert [(cell.data_type, cell.value) for cell in cells] == [
        ("s", OFFICE_NAME),
        ("s", ACCOUNT_NAME),
        ("s", "http://example.com/" + "x" * 3000),
        ("s", "+66 38 123 456"),
    ]
