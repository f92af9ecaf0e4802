"""The files an import reads: CSV with or without a BOM, XLSX, any column order."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from kamcrm.activities.models import Activity
from kamcrm.extensions import db
from kamcrm.imports.importer import import_file


@pytest.fixture
def region(make):
    office = make.office(code="CBI", parent=make.region("R2"))
    make.user(role="kamr", office=office, username="kamr1")
    make.account(office=office, account_no="020000000001")
    return office


def activities():
    return db.session.execute(
        sa.select(Activity.type, Activity.activity_date, Activity.summary).order_by(Activity.id)
    ).all()


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("prefix", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
def test_utf8_csv_is_read_with_or_without_a_bom(region, prefix):
    data = (
        prefix
        + "account_no,type,activity_date,performed_by,summary\n020000000001,COM,2021-02-01,kamr1,เยี่ยมลูกค้า\n".encode()
    )
    result = import_file("activities", io.BytesIO(data), "a.csv")
    assert result.ok, result.errors
    assert activities() == [("COM", date(2021, 2, 1), "เยี่ยมลูกค้า")]


def test_columns_may_come_in_any_order(region):
    data = "summary,performed_by,activity_date,type,account_no\nโทรติดตาม,kamr1,2021-02-01,com,020000000001\n"
    assert import_file("activities", io.BytesIO(data.encode()), "a.csv").ok
    assert activities() == [("COM", date(2021, 2, 1), "โทรติดตาม")]


def test_an_xlsx_sheet_is_read_with_its_date_and_number_cells(region):
    data = xlsx(
        [
            ["account_no", "type", "activity_date", "performed_by", "summary"],
            [20000000001, "FMS", datetime(2021, 3, 4), "kamr1", "ตรวจ thermoscan"],
        ]
    )
    # the account number cell holds a number; text would keep its leading zero
    result = import_file("activities", io.BytesIO(data), "a.xlsx")
    assert [(e.line, e.field) for e in result.errors] == [(2, "account_no")]
    data = xlsx(
        [
            ["account_no", "type", "activity_date", "performed_by", "summary"],
            ["020000000001", "FMS", datetime(2021, 3, 4), "kamr1", "ตรวจ thermoscan"],
            [None, None, None, None, None],
            ["020000000001", "COM", "2021-03-05", "kamr1", None],
        ]
    )
    result = import_file("activities", io.BytesIO(data), "a.xlsx")
    assert result.ok, result.errors
    assert activities() == [
        ("FMS", date(2021, 3, 4), "ตรวจ thermoscan"),
        ("COM", date(2021, 3, 5), None),
    ]


def test_xlsx_errors_name_the_spreadsheet_row(region):
    data = xlsx(
        [
            ["account_no", "type", "activity_date", "performed_by"],
            ["020000000001", "COM", "2021-02-01", "kamr1"],
            [None, None, None, None],
            ["020000000001", "XYZ", "2021-02-01", "kamr1"],
        ]
    )
    result = import_file("activities", io.BytesIO(data), "a.xlsx")
    assert [(e.line, e.field) for e in result.errors] == [(4, "type")]


def test_xlsx_numbers_and_booleans_fill_account_columns(region):
    data = xlsx(
        [
            [
                "account_no",
                "name",
                "office_code",
                "transformer_kva",
                "monthly_revenue_thb",
                "boi",
                "opened_on",
            ],
            ["020000000002", "Siam Steel", "CBI", 2500, 1234567.5, True, datetime(2019, 5, 1)],
        ]
    )
    assert import_file("accounts", io.BytesIO(data), "a.xlsx").ok
    from kamcrm.accounts.models import Account

    account = db.session.execute(
        sa.select(Account).filter_by(account_no="020000000002")
    ).scalar_one()
    assert (
        account.transformer_kva,
        str(account.monthly_revenue_thb),
        account.boi,
        account.opened_on,
    ) == (2500, "1234567.50", True, date(2019, 5, 1))


def test_a_quoted_field_over_several_lines_keeps_the_line_numbers_an_editor_shows(region):
    data = (
        "account_no,type,activity_date,performed_by,summary\n"
        '020000000001,COM,2021-02-01,kamr1,"line one\nline two"\n'
        "020000000001,XYZ,2021-02-01,kamr1,\n"
    )
    result = import_file("activities", io.BytesIO(data.encode()), "a.csv")
    assert [(e.line, e.field) for e in result.errors] == [(4, "type")]


def test_blank_lines_are_skipped_and_windows_line_ends_are_fine(region):
    data = "account_no,type,activity_date,performed_by\r\n\r\n020000000001,COM,2021-02-01,kamr1\r\n,,,\r\n"
    result = import_file("activities", io.BytesIO(data.encode()), "a.csv")
    assert result.ok and result.rows == 1


def test_a_header_without_rows_imports_nothing_and_is_not_an_error(region):
    result = import_file(
        "activities", io.BytesIO(b"account_no,type,activity_date,performed_by\n"), "a.csv"
    )
    assert result.ok and (result.rows, result.created) == (0, 0)


def test_the_result_names_the_file_by_its_digest(region):
    import hashlib

    data = b"account_no,type,activity_date,performed_by\n020000000001,COM,2021-02-01,kamr1\n"
    result = import_file("activities", io.BytesIO(data), "a.csv")
    assert result.as_dict() == {
        "kind": "activities",
        "filename": "a.csv",
        "sha256": hashlib.sha256(data).hexdigest(),
        "ok": True,
        "rows": 1,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "errors": [],
        "more_errors": 0,
    }
