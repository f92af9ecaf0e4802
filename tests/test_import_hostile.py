"""Imports under hostile files: bounded errors, sizes, workbook members, cell lengths, row widths.

Each refusal is quick and small, and all or nothing still holds: a refused file stores nothing.
"""

from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from kamcrm import config as config_module
from kamcrm.accounts.models import TierAssignment
from kamcrm.activities.models import Activity
from kamcrm.errors import FileTooLarge
from kamcrm.extensions import db
from kamcrm.imports import readers
from kamcrm.imports.importer import MAX_REPORTED_ERRORS, import_file
from tests.test_api_support import api, world  # noqa: F401  (fixtures)
from tests.test_import_errors import ACTIVITY_HEADER, region  # noqa: F401  (fixture)

TIERS_HEADER = "account_no,tier,effective_from\n"


def _count(model) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def _bad_activities(rows: int) -> bytes:
    """An activities file whose every row names an unknown activity type."""
    return (
        ACTIVITY_HEADER
        + "".join(f"020000000001,XYZ,2021-02-01,kamr1,,,,,R{n},\n" for n in range(rows))
    ).encode()


def _workbook(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _with_member(workbook: bytes, name: str, content: bytes) -> bytes:
    """Return ``workbook`` with its member ``name`` replaced by ``content`` (deflated)."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            target.writestr(
                member.filename, content if member.filename == name else source.read(member)
            )
    return out.getvalue()


# --- 1. the first 1,000 errors, and how many more -------------------------------------------------


def test_a_file_of_1500_bad_rows_reports_the_first_1000_and_counts_500_more(region):
    result = import_file("activities", io.BytesIO(_bad_activities(1500)), "bad.csv")

    assert not result.ok
    assert len(result.errors) == MAX_REPORTED_ERRORS == 1000
    assert result.more_errors == 500
    assert [error.line for error in result.errors] == list(range(2, 1002))
    assert result.as_dict()["more_errors"] == 500
    assert _count(Activity) == 0


def test_the_command_prints_the_first_1000_errors_and_how_many_more(region, runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(_bad_activities(1500))

    result = runner.invoke(args=["import", "activities", str(path)])

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert sum(1 for line in lines if line.startswith("line ")) == 1000
    assert "… and 500 more errors." in lines
    assert lines[-1].startswith("Nothing was imported: 1,500 rows read in bad.csv")
    assert _count(Activity) == 0


def test_the_api_answers_1000_errors_and_more_errors(api, world):
    rows = "".join(f"A-0001,XYZ,2021-03-01,kamr.a,R{n}\n" for n in range(1500))
    content = f"account_no,type,activity_date,performed_by,ref\n{rows}".encode()

    response = api(world.staff).post(
        "/imports/activities", data={"file": (io.BytesIO(content), "bad.csv")}
    )

    assert response.status_code == 422
    body = response.get_json()
    assert len(body["errors"]) == 1000 and body["more_errors"] == 500
    assert "500 more errors" in body["message"]
    assert _count(Activity) == 0


def test_the_tier_roster_page_lists_1000_problems_and_says_how_many_more(client, login_as, make):
    login_as("regional_staff", office=make.region())
    rows = "".join(f"NOPE-{n},STAR,2021-01-01\n" for n in range(1500))

    response = client.post(
        "/region/tiers/file",
        data={"file-file": (io.BytesIO((TIERS_HEADER + rows).encode()), "tiers.csv")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert page.count("NOPE-") == 1000
    assert "… และข้อผิดพลาดอีก 500 รายการ (แสดงเฉพาะ 1,000 รายการแรก)" in page
    assert _count(TierAssignment) == 0


# --- 2. a file's size is capped -----------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(region):
    data = _bad_activities(50)
    with pytest.raises(FileTooLarge) as refused:
        import_file("activities", io.BytesIO(data), "big.csv", max_bytes=len(data) - 1)
    assert refused.value.status == 413
    assert "big.csv is larger than" in refused.value.message


class _Unsized(io.RawIOBase):
    """A stream whose size cannot be known in advance (no fileno, no seek)."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_stream_of_unknown_size_is_stopped_once_it_passes_the_limit(region):
    data = b"account_no,tier,effective_from\n" + b"020000000001,STAR,2021-01-01\n" * 100_000
    before = _count(TierAssignment)
    with pytest.raises(FileTooLarge):
        import_file("tiers", _Unsized(data), "endless.csv", max_bytes=1_000_000)
    assert _count(TierAssignment) == before


def test_the_limit_comes_from_the_environment_and_sets_the_upload_limit(monkeypatch):
    monkeypatch.setenv("KAMCRM_IMPORT_MAX_BYTES", "1000")
    found = config_module.from_environment()
    assert found["IMPORT_MAX_BYTES"] == 1000
    assert config_module.max_content_length(
        {"IMPORT_MAX_BYTES": 1000, "MAX_CONTENT_LENGTH": None}
    ) == (1000 + config_module.UPLOAD_OVERHEAD_BYTES)
    assert config_module.defaults("/tmp")["IMPORT_MAX_BYTES"] == 50 * 1024 * 1024


def test_the_command_refuses_a_file_over_the_limit(region, runner, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 100)
    path = tmp_path / "big.csv"
    path.write_bytes(_bad_activities(10))
    result = runner.invoke(args=["import", "activities", str(path)])
    assert result.exit_code == 1
    assert "big.csv is larger than" in result.output


def test_the_request_limit_follows_the_import_limit_on_the_api_and_the_pages(extra_app):
    from kamcrm.org.tokens import issue_token
    from tests import factories

    application = extra_app({"IMPORT_MAX_BYTES": 10_000})
    make = factories.Factories()
    staff = make.user("regional_staff", office=make.region())
    token = issue_token(staff, "t", actor=None)[1]
    client = application.test_client()
    oversized = b"x" * (10_000 + config_module.UPLOAD_OVERHEAD_BYTES + 1)

    answer = client.post(
        "/api/v1/imports/activities",
        headers={"Authorization": f"Bearer {token}"},
        data={"file": (io.BytesIO(oversized), "big.csv")},
    )
    assert answer.status_code == 413 and answer.get_json()["code"] == 413

    factories.sign_in(client, staff)
    page = client.post(
        "/region/tiers/file",
        data={"file-file": (io.BytesIO(oversized), "tiers.csv")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 413 and "<html" in page.get_data(as_text=True)


def test_an_api_upload_over_the_import_limit_answers_413_json(api, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1000)
    response = api(world.staff).post(
        "/imports/activities", data={"file": (io.BytesIO(_bad_activities(40)), "big.csv")}
    )
    assert response.status_code == 413
    body = response.get_json()
    assert body["code"] == 413 and "big.csv is larger than" in body["message"]


def test_a_page_upload_over_the_import_limit_answers_413_on_the_roster(
    client, login_as, make, app, monkeypatch
):
    login_as("regional_staff", office=make.region())
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 10_000)
    response = client.post(
        "/region/tiers/file",
        data={"file-file": (io.BytesIO(b"x" * 20_000), "tiers.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "tiers.csv ใหญ่เกิน" in response.get_data(as_text=True)


# --- 3. workbooks: members' sizes and ratios, long texts ---------------------------------------------


def test_a_zip_bomb_workbook_is_refused_before_its_xml_is_parsed(region):
    good = _workbook(
        [["account_no", "tier", "effective_from"], ["020000000001", "STAR", "2021-01-01"]]
    )
    # 20 MB of one repeated byte deflates about a thousandfold.
    padding = b"<!--" + b" " * (20 * 1024 * 1024) + b"-->"
    sheet = zipfile.ZipFile(io.BytesIO(good)).read("xl/worksheets/sheet1.xml")
    bomb = _with_member(
        good, "xl/worksheets/sheet1.xml", sheet.replace(b"<sheetData>", padding + b"<sheetData>", 1)
    )
    assert len(bomb) < 100_000
    before = _count(TierAssignment)

    result = import_file("tiers", io.BytesIO(bomb), "bomb.xlsx")

    assert [(error.line, error.field) for error in result.errors] == [(1, "file")]
    assert "xl/worksheets/sheet1.xml expands" in result.errors[0].message
    assert _count(TierAssignment) == before


def test_a_workbook_expanding_beyond_the_total_limit_is_refused(region, monkeypatch):
    monkeypatch.setattr(readers, "XLSX_MAX_UNCOMPRESSED_BYTES", 4000)
    data = _workbook(
        [["account_no", "tier", "effective_from"], ["020000000001", "STAR", "2021-01-01"]]
    )
    result = import_file("tiers", io.BytesIO(data), "wide.xlsx")
    assert "the workbook expands to more than" in result.errors[0].message


SUMMARY_ROW = [
    ["account_no", "type", "activity_date", "performed_by", "summary"],
    ["020000000001", "COM", "2021-02-01", "kamr1", "PLACEHOLDER"],
]


def _with_shared_string(item: bytes) -> bytes:
    """A workbook whose summary cell is the shared string item ``<si>item</si>`` (openpyxl
    itself writes inline strings)."""
    data = _workbook(SUMMARY_ROW)
    archive = zipfile.ZipFile(io.BytesIO(data))
    sheet = archive.read("xl/worksheets/sheet1.xml").replace(
        b't="inlineStr"><is><t>PLACEHOLDER</t></is>', b't="s"><v>0</v>'
    )
    rels = archive.read("xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>",
        (
            b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
            b'Target="sharedStrings.xml" Id="rId9" /></Relationships>'
        ),
    )
    types = archive.read("[Content_Types].xml").replace(
        b"</Types>",
        (
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            b'spreadsheetml.sharedStrings+xml" /></Types>'
        ),
    )
    strings = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        b"<si>" + item + b"</si></sst>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for member in archive.infolist():
            content = {
                "xl/worksheets/sheet1.xml": sheet,
                "xl/_rels/workbook.xml.rels": rels,
                "[Content_Types].xml": types,
            }.get(member.filename) or archive.read(member)
            target.writestr(member.filename, content)
        target.writestr("xl/sharedStrings.xml", strings)
    return out.getvalue()


def test_a_shared_string_within_the_cell_cap_reaches_the_fields_own_maximum(region):
    result = import_file(
        "activities", io.BytesIO(_with_shared_string(b"<t>" + b"s" * 5000 + b"</t>")), "long.xlsx"
    )
    assert [(error.line, error.field) for error in result.errors] == [(2, "summary")]


@pytest.mark.parametrize(
    "item",
    [
        b"<t>" + b"x" * 150_000 + b"</t>",  # one long text
        b"".join([b"<r><t>" + b"y" * 30_000 + b"</t></r>"] * 5),
    ],
)  # the second: rich text, five runs of one string, none of them long on its own
def test_a_shared_string_longer_than_the_cell_cap_is_refused_while_scanning(region, item):
    result = import_file("activities", io.BytesIO(_with_shared_string(item)), "long.xlsx")
    assert [(error.line, error.field) for error in result.errors] == [(1, "file")]
    assert "longer than 100,000 characters" in result.errors[0].message
    assert _count(Activity) == 0


def test_an_inline_string_longer_than_the_cell_cap_is_refused_before_parsing(region):
    data = _workbook(SUMMARY_ROW)
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    data = _with_member(
        data, "xl/worksheets/sheet1.xml", sheet.replace(b"PLACEHOLDER", b"z" * 500_000)
    )
    result = import_file("activities", io.BytesIO(data), "long.xlsx")
    assert [(error.line, error.field) for error in result.errors] == [(1, "file")]
    assert "longer than 100,000 characters" in result.errors[0].message


def test_a_csv_cell_longer_than_the_cell_cap_is_that_lines_problem(region):
    text = ACTIVITY_HEADER + "020000000001,COM,2021-02-01,kamr1,,,," + "y" * 120_000 + ",,\n"
    result = import_file("activities", io.BytesIO(text.encode()), "long.csv")
    assert [(error.line, error.field) for error in result.errors] == [(2, "file")]
    assert "a cell holds 120,000 characters" in result.errors[0].message


def test_a_csv_line_longer_than_a_megabyte_stops_the_reading_at_that_line(region):
    text = (
        ACTIVITY_HEADER
        + "020000000001,COM,2021-02-01,kamr1,,,,,,\n"
        + "z" * (2 * 1024 * 1024)
        + "\n"
    )
    result = import_file("activities", io.BytesIO(text.encode()), "long.csv")
    assert [(error.line, error.field) for error in result.errors] == [(3, "file")]
    assert "the line is longer than" in result.errors[0].message


# --- 4. rows wider than the header -------------------------------------------------------------------


def _xfd_workbook(rows: int) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["account_no", "tier", "effective_from"])
    for n in range(rows):
        sheet.append(["020000000001", "STAR", "2021-01-01"])
        sheet.cell(row=n + 2, column=16384, value="stray")
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def test_a_workbook_cell_in_column_xfd_is_an_error_on_its_line(region):
    before = _count(TierAssignment)
    result = import_file("tiers", io.BytesIO(_xfd_workbook(3)), "xfd.xlsx")
    assert [(error.line, error.field, error.message) for error in result.errors] == [
        (line, "file", "the row has 16384 cells but the header names only 3 columns")
        for line in (2, 3, 4)
    ]
    assert _count(TierAssignment) == before


def test_a_workbook_row_is_read_to_the_headers_width_not_the_sheets_dimension():
    table = readers.TableFile(
        io.BytesIO(_workbook([["a", "b"], ["1", "2"], ["3", None]])), "t.xlsx"
    )
    assert [(line, cells) for line, cells, _problem in table.rows(2)] == [
        (2, ["1", "2"]),
        (3, ["3", None]),
    ]
    wide = readers.TableFile(io.BytesIO(_xfd_workbook(2)), "xfd.xlsx")
    rows = list(wide.rows(3))
    assert [len(cells) for _line, cells, _problem in rows] == [0, 0]  # never 16,384 cells
    assert all(problem is not None for _line, _cells, problem in rows)


def test_a_header_naming_more_than_100_columns_is_refused(region):
    header = ",".join(["account_no", "tier", "effective_from"] + [""] * 200 + ["far"])
    result = import_file("tiers", io.BytesIO((header + "\n").encode()), "wide.csv")
    assert [(error.line, error.field) for error in result.errors] == [(1, "file")]
    assert "more than 100 columns" in result.errors[0].message
