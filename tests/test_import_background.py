"""Large uploads are imported in the background: queued, claimed, run by the scheduler, polled.

The API answers 202 with a ``Location``; the page shows the run's progress and refreshes
itself; the run is the same all-or-nothing import as the CLI's, held to the uploader's rights.
"""

from __future__ import annotations

import io
import os
from datetime import timedelta

import pytest
import sqlalchemy as sa

from kamcrm.activities.models import Activity
from kamcrm.db import utcnow
from kamcrm.extensions import db
from kamcrm.imports.importer import ImportProgress
from kamcrm.imports.models import ImportRun
from kamcrm.imports.operations import progress_of, queue_import
from kamcrm.imports.runner import STALE_AFTER, _ProgressWriter, claim_next_run, run_queued_imports
from tests.test_api_support import api, world  # noqa: F401  (fixtures)

HEADER = "account_no,type,activity_date,performed_by,ref"


@pytest.fixture
def in_background(app, monkeypatch):
    """Every upload is large enough to go to the background."""
    monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_BYTES", 0)


def _activities() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Activity)).scalar_one()


def _upload(caller, content: bytes, filename: str = "march.csv", kind: str = "activities"):
    return caller.post(f"/imports/{kind}", data={"file": (io.BytesIO(content), filename)})


GOOD = f"{HEADER}\nA-0001,COM,2021-03-01,kamr.a,R1\nB-0001,FMS,2021-03-02,kamr.b,R2\n".encode()


def test_a_large_upload_answers_202_and_is_imported_by_the_runner(api, world, in_background):
    staff = api(world.staff)

    response = _upload(staff, GOOD)

    assert response.status_code == 202
    location = response.headers["Location"]
    assert location.startswith("/api/v1/imports/")
    assert response.get_json()["status"] == "queued"
    assert _activities() == 0  # nothing imported inside the request
    polled = staff.get(location.removeprefix("/api/v1"))
    assert polled.status_code == 200 and polled.get_json()["status"] == "queued"

    assert len(run_queued_imports()) == 1

    done = staff.get(location.removeprefix("/api/v1")).get_json()
    assert done["status"] == "done"
    assert (done["rows_done"], done["rows_total"], done["percent"]) == (2, 2, 100.0)
    assert {key: done["result"][key] for key in ("ok", "rows", "created")} == {
        "ok": True,
        "rows": 2,
        "created": 2,
    }
    assert _activities() == 2
    assert db.session.get(ImportRun, done["id"]).content is None  # the file is not kept


def test_an_upload_up_to_the_background_threshold_is_imported_inside_the_request(
    api, world, app, monkeypatch
):
    monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_BYTES", len(GOOD))
    staff = api(world.staff)
    assert _upload(staff, GOOD).status_code == 201
    assert _activities() == 2
    one_byte_more = GOOD.replace(b"R1", b"R10").replace(b"R2", b"R20")[: len(GOOD) + 1]
    assert _upload(staff, one_byte_more).status_code == 202


def test_a_refused_background_import_stores_nothing_and_reports_its_first_errors(
    api, world, in_background
):
    rows = "".join(f"A-0001,XYZ,2021-03-01,kamr.a,R{n}\n" for n in range(1500))
    staff = api(world.staff)
    location = (
        _upload(staff, f"{HEADER}\n{rows}".encode()).headers["Location"].removeprefix("/api/v1")
    )

    run_queued_imports()

    body = staff.get(location).get_json()
    assert body["status"] == "failed"
    assert len(body["result"]["errors"]) == 1000 and body["result"]["more_errors"] == 500
    assert (
        body["result"]["errors"][0]
        == {"line": 2, "field": "type", "message": body["result"]["errors"][0]["message"]}
        and "XYZ" in body["result"]["errors"][0]["message"]
    )
    assert _activities() == 0


def test_rows_are_held_to_the_uploaders_rights_when_the_run_happens(
    api, world, in_background, make
):
    # Staff queue a file, then become an executive, whose role may not create COM or FMS visits.
    uploader = make.user("regional_staff", office=world.region, username="staff2")
    run = queue_import("activities", io.BytesIO(GOOD), "m.csv", actor=uploader)
    db.session.commit()
    uploader.role = "executive"
    db.session.commit()

    run_queued_imports()

    run = db.session.get(ImportRun, run.id)
    assert run.status == "failed"
    assert [error["message"] for error in run.result["import"]["errors"]] == [
        "Your role may not create COM activities.",
        "Your role may not create FMS activities.",
    ]
    assert _activities() == 0


def test_a_kind_the_uploader_may_not_import_is_refused_before_queueing(api, world, in_background):
    response = _upload(
        api(world.staff), b"code,name,office_class\nX,Y,1\n", "offices.csv", kind="offices"
    )
    assert response.status_code == 403
    assert db.session.execute(sa.select(sa.func.count()).select_from(ImportRun)).scalar_one() == 0


def test_only_the_uploader_sees_a_run(api, world, in_background, make):
    location = _upload(api(world.staff), GOOD).headers["Location"].removeprefix("/api/v1")
    other = make.user("regional_staff", office=world.region, username="staff3")
    assert api(other).get(location).status_code == 404
    assert api(world.staff).get("/imports/999999").status_code == 404


def test_a_queued_run_is_claimed_once(app, world):
    run = queue_import("activities", io.BytesIO(GOOD), "m.csv", actor=world.staff)
    db.session.commit()
    now = utcnow()
    assert claim_next_run(now, claimed_by="host-a:1") == run.id
    assert claim_next_run(now, claimed_by="host-b:2") is None
    # Its runner died: after STALE_AFTER without a sign of life another runner takes it over.
    assert claim_next_run(now + STALE_AFTER + timedelta(minutes=1), claimed_by="host-b:2") == run.id


def test_a_run_whose_process_on_this_host_is_gone_is_taken_over_at_once(app, world):
    import socket

    run = queue_import("activities", io.BytesIO(GOOD), "m.csv", actor=world.staff)
    db.session.commit()
    now = utcnow()
    host = socket.gethostname()
    # 4194305 is above Linux's largest pid: no such process can exist.
    assert claim_next_run(now, claimed_by=f"{host}:4194305") == run.id
    assert claim_next_run(now, claimed_by=f"other-host:{os.getpid()}") is None  # another host: wait
    assert claim_next_run(now, claimed_by=f"{host}:{os.getpid()}") == run.id
    assert claim_next_run(now, claimed_by=f"{host}:1") is None  # this process lives: never taken


def test_a_running_imports_progress_is_readable_by_other_requests(app, world):
    run = queue_import("activities", io.BytesIO(GOOD), "m.csv", actor=world.staff)
    db.session.commit()
    claim_next_run(utcnow())
    writer = _ProgressWriter(run.id)
    writer(ImportProgress(rows=500, fraction=0.25, seconds=3.0))
    db.session.expire_all()

    progress = progress_of(db.session.get(ImportRun, run.id))

    assert (progress.rows_done, progress.rows_total, progress.percent) == (500, 2000, 25.0)
    writer.close()


def test_the_jobs_command_runs_queued_imports(app, world, runner):
    queue_import("activities", io.BytesIO(GOOD), "m.csv", actor=world.staff)
    db.session.commit()
    result = runner.invoke(args=["jobs", "imports"])
    assert result.exit_code == 0, result.output
    assert "(activities, m.csv): done, 2 rows" in result.output
    assert _activities() == 2


# --- the page ------------------------------------------------------------------------------------


TIERS = b"account_no,tier,effective_from\nA-0001,STAR,2021-07-01\n"


def test_a_large_tiers_file_on_the_page_goes_to_a_progress_page(
    client, login_as, world, in_background
):
    login_as(world.staff)

    response = client.post(
        "/region/tiers/file",
        data={"file-file": (io.BytesIO(TIERS), "tiers.csv")},
        content_type="multipart/form-data",
    )

    assert response.status_code == 302
    page_url = response.headers["Location"]
    assert page_url.startswith("/region/imports/")
    queued = client.get(page_url).get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in queued
    assert "tiers.csv" in queued

    run = db.session.get(ImportRun, int(page_url.rsplit("/", 1)[1]))
    run.status, run.rows_done, run.rows_total = "running", 50, 200
    db.session.commit()
    running = client.get(page_url).get_data(as_text=True)
    assert '<progress max="100" value="25.0">' in running
    assert "25%" in running and '<meta http-equiv="refresh"' in running

    run.status = "queued"
    db.session.commit()
    run_queued_imports()
    done = client.get(page_url).get_data(as_text=True)
    assert '<progress max="100" value="100">' in done
    assert '<meta http-equiv="refresh"' not in done


def test_the_progress_page_of_a_refused_file_lists_its_problems(
    client, login_as, world, in_background
):
    login_as(world.staff)
    rows = "".join(f"NOPE-{n},STAR,2021-07-01\n" for n in range(1200)).encode()
    page_url = client.post(
        "/region/tiers/file",
        data={"file-file": (io.BytesIO(b"account_no,tier,effective_from\n" + rows), "tiers.csv")},
        content_type="multipart/form-data",
    ).headers["Location"]

    run_queued_imports()

    page = client.get(page_url).get_data(as_text=True)
    assert page.count("NOPE-") == 1000
    assert "… และข้อผิดพลาดอีก 200 รายการ" in page


def test_another_users_progress_page_is_not_found(client, login_as, world, in_background, make):
    run = queue_import("tiers", io.BytesIO(TIERS), "tiers.csv", actor=world.staff)
    db.session.commit()
    login_as(make.user("regional_staff", office=world.region, username="staff4"))
    assert client.get(f"/region/imports/{run.id}").status_code == 404
