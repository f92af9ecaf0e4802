"""Uploading a file: the CLI's all-or-nothing import, with its errors by line number."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from kamcrm.activities.models import Activity
from kamcrm.extensions import db
from tests.test_api_support import api, world  # noqa: F401  (fixtures)

HEADER = "account_no,type,activity_date,performed_by,ref"


def _activities() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Activity)).scalar_one()


def _upload(caller, kind: str, content: bytes, filename: str, query: str = ""):
    return caller.post(f"/imports/{kind}{query}", data={"file": (io.BytesIO(content), filename)})


def test_a_good_csv_is_imported(api, world):
    rows = "A-0001,COM,2021-03-01,kamr.a,R1\nB-0001,FMS,2021-03-02,kamr.b,R2\n"
    content = f"\ufeff{HEADER}\n{rows}".encode()

    response = _upload(api(world.staff), "activities", content, "march.csv")

    assert response.status_code == 201
    assert {key: response.get_json()[key] for key in ("kind", "rows", "created", "ok")} == {
        "kind": "activities",
        "rows": 2,
        "created": 2,
        "ok": True,
    }
    assert _activities() == 2


def test_a_good_xlsx_is_imported(api, world):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(["A-0002", "RBA", "2021-04-01", "kamr.a", "X1"])
    data = io.BytesIO()
    book.save(data)

    response = _upload(api(world.staff), "activities", data.getvalue(), "april.xlsx")

    assert response.status_code == 201
    assert _activities() == 1


def test_a_file_with_bad_rows_imports_nothing_and_names_each_line(api, world):
    content = (
        f"{HEADER}\nA-0001,COM,2021-03-01,kamr.a,R1\nA-0001,XYZ,2021-03-01,kamr.a,R2\n"
        "Z-9,COM,2021-02-30,kamr.a,R3\n"
    ).encode()

    response = _upload(api(world.staff), "activities", content, "bad.csv")

    errors = response.get_json()["errors"]
    assert response.status_code == 422
    assert sorted(errors) == ["line.3.type", "line.4.account_no", "line.4.activity_date"]
    assert _activities() == 0


@pytest.mark.parametrize(
    "content, filename, field",
    [
        (b"", "empty.csv", "line.1.file"),
        (b"account_no,colour\nA-0001,red\n", "cols.csv", "line.1.colour"),
        (b"a,b\n", "notes.txt", "line.1.file"),
        (b"PK\x03\x04 not really a workbook", "broken.xlsx", "line.1.file"),
    ],
)
def test_unreadable_files_are_422_with_the_reason(api, world, content, filename, field):
    response = _upload(api(world.staff), "activities", content, filename)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_a_request_without_a_file_is_422(api, world):
    response = api(world.staff).post("/imports/activities", data={})

    assert response.status_code == 422
    assert "file" in response.get_json()["errors"]


def test_an_unknown_kind_is_404(api, world):
    assert _upload(api(world.staff), "planets", b"x\n", "x.csv").status_code == 404
