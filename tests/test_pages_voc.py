"""The VOC register's pages: the register in scope with its filters, an entry's forms, a list
of references pasted or uploaded (all or nothing), the complaint link both ways and the
VOC-CRM-001 export with Thai headers and BE dates."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest

from kamcrm.extensions import db
from kamcrm.voc.queries import entry_for, mark_of
from tests.test_api_support import world  # noqa: F401  (fixture)


@pytest.fixture
def voices(make, world):
    """A complaint voice on office A's account (Mar 31), a request on office B's (Apr 1)."""
    a = make.activity(
        world.account_a,
        "COM",
        date(2021, 3, 31),
        performed_by=world.kamr_a,
        voc_kind="complaint",
        voc_category="OTHER",
        voc_text="the bill is twice the usual",
    )
    b = make.activity(
        world.account_b,
        "COM",
        date(2021, 4, 1),
        performed_by=world.kamr_b,
        voc_kind="request",
        voc_category="SERVICE",
        voc_text="a second feeder please",
    )
    db.session.commit()
    return f"A{a.id}", f"A{b.id}"


def link(key: str) -> str:
    return f'href="/voc/{key}"'


def test_the_register_shows_only_the_scope(client, login_as, world, voices):
    on_a, on_b = voices
    login_as(world.manager_a)
    page = client.get("/voc").get_data(as_text=True)
    assert link(on_a) in page and link(on_b) not in page
    assert client.get(f"/voc/{on_b}").status_code == 404

    login_as(world.staff)
    page = client.get("/voc?kind=request").get_data(as_text=True)
    assert link(on_b) in page and link(on_a) not in page
    page = client.get("/voc?office=OA&significant=no&from=2021-03-01&to=2021-03-31").get_data(
        as_text=True
    )
    assert link(on_a) in page and link(on_b) not in page


def test_the_register_page_is_thai_with_be_dates(client, login_as, world, voices):
    login_as(world.staff)
    page = client.get("/voc").get_data(as_text=True)
    assert "2564" in page  # 31 Mar 2021 in the Buddhist era


def test_a_manager_marks_significant_and_records_the_reference(client, login_as, world, voices):
    on_a, _ = voices
    login_as(world.manager_a)
    assert client.post(f"/voc/{on_a}/significant", data={"significant": "y"}).status_code == 302
    assert entry_for(world.staff, on_a).significant is True
    refused = client.post(
        f"/voc/{on_a}/voc-ref", data={"voc_ref": "VOC-1", "voc_ref_on": "2021-03-01"}
    )
    assert refused.status_code == 422  # before the voice was heard
    assert (
        client.post(
            f"/voc/{on_a}/voc-ref", data={"voc_ref": "VOC-1", "voc_ref_on": "2021-04-02"}
        ).status_code
        == 302
    )
    assert entry_for(world.staff, on_a).voc_ref == "VOC-1"
    assert client.post(f"/voc/{on_a}/significant", data={}).status_code == 302
    assert entry_for(world.staff, on_a).significant is False


def test_a_kamr_may_not_mark(client, login_as, world, voices):
    on_a, _ = voices
    login_as(world.kamr_a)
    page = client.get(f"/voc/{on_a}").get_data(as_text=True)
    assert f"/voc/{on_a}/significant" not in page
    assert client.post(f"/voc/{on_a}/significant", data={"significant": "y"}).status_code == 403


def test_turning_into_a_complaint_links_both_pages(client, login_as, world, voices):
    on_a, _ = voices
    login_as(world.kamr_a)
    assert f"/voc/{on_a}/complaint" in client.get(f"/voc/{on_a}").get_data(as_text=True)
    answer = client.post(
        f"/voc/{on_a}/complaint", data={"ref": "VC-1", "category": "METER_BILLING"}
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/complaints/VC-1")
    complaint_page = client.get("/complaints/VC-1").get_data(as_text=True)
    assert f"/voc/{on_a}" in complaint_page
    entry_page = client.get(f"/voc/{on_a}").get_data(as_text=True)
    assert "/complaints/VC-1" in entry_page and f"/voc/{on_a}/complaint" not in entry_page
    assert (
        client.post(f"/voc/{on_a}/complaint", data={"ref": "VC-2", "category": "OTHER"}).status_code
        == 409
    )


def test_pasted_references_all_or_nothing(client, login_as, world, voices):
    on_a, on_b = voices
    login_as(world.staff)
    bad = client.post(
        "/voc/refs",
        data={"lines": f"key,voc_ref,voc_ref_on\n{on_a},V-1,2021-04-02\n{on_b},V-2,2021-02-30\n"},
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "line 3" in text and "line 2" not in text
    assert mark_of("activity", int(on_a[1:])) is None

    good = client.post(
        "/voc/refs", data={"lines": f"{on_a},V-1,2021-04-02\n\n{on_b},V-2,2021-04-03"}
    )
    assert good.status_code == 302
    assert (
        mark_of("activity", int(on_b[1:])).voc_ref,
        mark_of("activity", int(on_b[1:])).voc_ref_on,
    ) == ("V-2", date(2021, 4, 3))


def _xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_uploaded_list_csv_or_xlsx(client, login_as, world, voices):
    on_a, on_b = voices
    login_as(world.manager_a)
    csv_file = f"key,voc_ref,voc_ref_on\n{on_a},V-9,2021-04-05\n{on_b},V-8,2021-04-05\n".encode()
    refused = client.post(
        "/voc/refs",
        data={"file": (io.BytesIO(csv_file), "refs.csv")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "line 3" in refused.get_data(
        as_text=True
    )  # B is not the manager's
    assert mark_of("activity", int(on_a[1:])) is None

    book = _xlsx([["key", "voc_ref", "voc_ref_on"], [on_a, "V-9", date(2021, 4, 5)]])
    done = client.post(
        "/voc/refs",
        data={"file": (io.BytesIO(book), "refs.xlsx")},
        content_type="multipart/form-data",
    )
    assert done.status_code == 302
    assert mark_of("activity", int(on_a[1:])).voc_ref == "V-9"

    wrong = client.post(
        "/voc/refs",
        data={"file": (io.BytesIO(b"account,ref\nx,y\n"), "refs.csv")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 422 and "line 1" in wrong.get_data(as_text=True)
    junk = client.post(
        "/voc/refs",
        data={"file": (io.BytesIO(b"PK\x03\x04junk"), "refs.xlsx")},
        content_type="multipart/form-data",
    )
    assert junk.status_code == 422


def test_the_export_in_the_layout_of_voc_crm_001(client, login_as, world, voices):
    on_a, on_b = voices
    login_as(world.staff)
    client.post(f"/voc/{on_a}/significant", data={"significant": "y"})
    client.post(
        f"/voc/{on_a}/voc-ref", data={"voc_ref": "=HYPERLINK(1)", "voc_ref_on": "2021-04-02"}
    )
    answer = client.get("/voc/export.xlsx?office=OA")
    assert answer.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(answer.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[3][:3] == ("ลำดับ", "วันที่", "รหัส")
    assert rows[4][:3] == (1, "31 มี.ค. 2564", on_a)
    assert rows[4][9:12] == ("✓", "=HYPERLINK(1)", "2 เม.ย. 2564")
    assert len(rows) == 5  # office B's voice is filtered out
    assert client.get("/voc/export.pdf").status_code == 404


def test_a_complaints_entry_links_to_the_complaint(client, login_as, world, make):
    complaint = make.complaint(world.office_a, ref="CA-42", summary="no power since noon")
    db.session.commit()
    login_as(world.manager_a)
    page = client.get(f"/voc/C{complaint.id}").get_data(as_text=True)
    assert 'href="/complaints/CA-42"' in page and "no power since noon" in page
