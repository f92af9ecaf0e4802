"""``flask import service_jobs|surveys|smile_box`` (SPEC section 9): all or nothing,
line-numbered errors, a re-imported key updates, and the importer's scope holds."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from kamcrm.errors import Forbidden
from kamcrm.extensions import db
from kamcrm.imports.importer import import_file
from kamcrm.surveys.models import ServiceJob, SmileBoxDay, SurveyAnswer

NOW = datetime(2021, 3, 31, 5, 0, tzinfo=timezone.utc)
JOBS = "ref,office_code,kind,account_no,customer_name,phone,completed_on\n"
ANSWERS = "job_ref,channel,answered_on,score,comment,surveyed_by\n"
BOX = "office_code,day,served,score_1,score_2,score_3\n"


def run(kind: str, text: str, **options):
    options.setdefault("now", NOW)
    return import_file(kind, io.BytesIO(text.encode("utf-8")), f"{kind}.csv", **options)


@pytest.fixture
def region(make):
    region = make.region("R2")
    office = make.office(code="CBI", parent=region)
    make.branch(office, code="LCB")
    make.office(code="RYG", parent=region)
    make.account(office=office, account_no="020000000001")
    return office


def jobs():
    return {j.ref: j for j in db.session.execute(sa.select(ServiceJob)).scalars()}


def answers():
    return {
        (a.job.ref, a.channel): a for a in db.session.execute(sa.select(SurveyAnswer)).scalars()
    }


def errors_of(result):
    return [(e.line, e.field) for e in result.errors]


def test_service_jobs_are_imported_and_a_reimported_ref_updates(region):
    result = run(
        "service_jobs",
        JOBS + "J1,CBI,meter_install,020000000001,นาย ก,0812345678,2021-03-01\n"
        "J2,LCB,Extension,999,นาง ข,,2021-03-02\n",
    )
    assert result.ok, result.errors
    assert (result.created, result.updated) == (2, 0)
    found = jobs()
    assert found["J1"].account.account_no == "020000000001" and found["J1"].completed_on == date(
        2021, 3, 1
    )
    assert (
        found["J2"].kind == "extension"
        and found["J2"].account_id is None
        and found["J2"].account_no == "999"
    )
    result = run(
        "service_jobs", "ref,office_code,kind,completed_on\nJ1,CBI,meter_install,2021-03-05\n"
    )
    assert result.ok and (result.created, result.updated) == (0, 1)
    db.session.expire_all()
    job = jobs()["J1"]
    assert job.completed_on == date(2021, 3, 5) and job.phone == "0812345678"  # left out: kept


@pytest.mark.parametrize(
    "row, field",
    [
        ("J1,CBI,repair,,,,2021-03-01", "kind"),
        ("J1,XXX,meter_install,,,,2021-03-01", "office_code"),
        ("J1,CBI,meter_install,,,,2021-04-02", "completed_on"),  # the future
        ("J1,CBI,meter_install,,,,2564-03-01", "completed_on"),  # a BE year
        (",CBI,meter_install,,,,2021-03-01", "ref"),
    ],
)
def test_a_bad_job_row_refuses_the_whole_file(region, row, field):
    result = run("service_jobs", JOBS + "J0,CBI,extension,,,,2021-03-01\n" + row + "\n")
    assert not result.ok and errors_of(result) == [(3, field)]
    assert jobs() == {}


def test_a_duplicate_ref_in_one_file_stores_nothing(region):
    result = run(
        "service_jobs", JOBS + "J1,CBI,extension,,,,2021-03-01\nJ1,CBI,extension,,,,2021-03-02\n"
    )
    assert errors_of(result) == [(3, "ref")] and "first on line 2" in result.errors[0].message
    assert jobs() == {}


@pytest.fixture
def with_jobs(region):
    assert run(
        "service_jobs",
        JOBS + "J1,CBI,meter_install,,,,2021-03-01\nJ2,LCB,extension,,,,2021-03-02\n"
        "J3,RYG,extension,,,,2021-03-02\n",
    ).ok
    return region


def test_answers_are_keyed_by_job_and_channel(with_jobs):
    result = run(
        "surveys",
        ANSWERS + "J1,sms,2021-03-01,5,ดีมาก,\nJ1,phone,2021-03-10,2,ช้า,สมชาย\n"
        "J2,SMS,2021-03-03,4,,\n",
    )
    assert result.ok, result.errors
    assert result.created == 3
    found = answers()
    assert found[("J1", "phone")].score == 2 and found[("J1", "phone")].surveyed_by == "สมชาย"
    assert found[("J2", "sms")].score == 4
    result = run("surveys", ANSWERS + "J1,phone,2021-03-11,3,แก้แล้ว,สมชาย\n")
    assert result.ok and (result.created, result.updated) == (0, 1)
    db.session.expire_all()
    assert answers()[("J1", "phone")].score == 3


@pytest.mark.parametrize(
    "row, field",
    [
        ("J1,phone,2021-03-10,6,,", "score"),
        ("J1,phone,2021-03-10,0,,", "score"),
        ("J1,phone,2021-03-10,4.5,,", "score"),
        ("J1,phone,2021-03-10,five,,", "score"),
        ("J9,phone,2021-03-10,4,,", "job_ref"),
        ("J1,email,2021-03-10,4,,", "channel"),
        ("J1,phone,2021-02-28,4,,", "answered_on"),  # before the job was completed
        ("J1,phone,2021-04-01,4,,", "answered_on"),  # the future
    ],
)
def test_a_bad_answer_row_refuses_the_whole_file(with_jobs, row, field):
    result = run("surveys", ANSWERS + "J2,sms,2021-03-03,4,,\n" + row + "\n")
    assert not result.ok and errors_of(result) == [(3, field)]
    assert answers() == {}


def test_a_duplicate_answer_in_one_file_stores_nothing(with_jobs):
    result = run("surveys", ANSWERS + "J1,phone,2021-03-03,4,,\nJ1,Phone,2021-03-04,5,,\n")
    assert errors_of(result) == [(3, "job_ref")]
    assert answers() == {}


def test_smile_box_days_replace_on_reimport(region):
    result = run("smile_box", BOX + "CBI,2021-03-01,100,2,3,70\nLCB,2021-03-01,10,0,0,5\n")
    assert result.ok, result.errors
    result = run("smile_box", BOX + "CBI,2021-03-01,120,1,1,90\n")
    assert result.ok and result.updated == 1
    db.session.expire_all()
    day = db.session.execute(
        sa.select(SmileBoxDay).join(SmileBoxDay.office).where(SmileBoxDay.office.has(code="CBI"))
    ).scalar_one()
    assert (day.served, day.score_1, day.score_2, day.score_3) == (120, 1, 1, 90)


@pytest.mark.parametrize(
    "row, field",
    [
        ("CBI,2021-03-01,10,5,5,5", "served"),  # more ratings than served
        ("CBI,2021-03-01,-1,0,0,0", "served"),
        ("CBI,2021-03-01,10,x,0,0", "score_1"),
        ("CBI,2021-03-02,10,0,0,0", "day"),  # CBI 2021-03-02 again
    ],
)
def test_a_bad_smile_box_row_refuses_the_whole_file(region, row, field):
    result = run("smile_box", BOX + "CBI,2021-03-02,10,1,1,1\n" + row + "\n")
    assert not result.ok and errors_of(result) == [(3, field)]
    assert db.session.execute(sa.select(sa.func.count()).select_from(SmileBoxDay)).scalar() == 0


def test_followed_up_cannot_exceed_the_low_ratings(region):
    result = run("smile_box", BOX.strip() + ",followed_up\nCBI,2021-03-01,10,1,1,1,3\n")
    assert errors_of(result) == [(2, "followed_up")]


def test_an_office_manager_may_not_import_and_rows_out_of_scope_read_as_unknown(region, make):
    manager = make.user(role="office_manager", office=region)
    with pytest.raises(Forbidden):
        run("service_jobs", JOBS + "J1,CBI,extension,,,,2021-03-01\n", actor=manager)
    staff = make.user(role="regional_staff", office=make.region())
    assert run("service_jobs", JOBS + "J1,RYG,extension,,,,2021-03-01\n", actor=staff).ok
