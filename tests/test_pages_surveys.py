"""Survey pages: the call list and its phone-answer form, quota, satisfaction and its
follow-ups, Smile Box; each within the viewer's scope, every change one operation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from kamcrm.audit.models import AuditEntry
from kamcrm.extensions import db
from kamcrm.periods import bangkok_today
from kamcrm.surveys.models import SurveyAnswer


@pytest.fixture
def world(make):
    region = make.region()
    cbi = make.office(code="CBI", parent=region)
    branch = make.branch(cbi, code="LCB")
    ryg = make.office(code="RYG", parent=region)
    today = bangkok_today()
    jobs = {
        "mine": make.service_job(
            cbi, ref="J-CBI", completed_on=today - timedelta(days=15), customer_name="นาย ก"
        ),
        "branch": make.service_job(branch, ref="J-LCB", kind="extension", completed_on=today),
        "late": make.service_job(cbi, ref="J-OLD", completed_on=today - timedelta(days=16)),
        "theirs": make.service_job(ryg, ref="J-RYG", completed_on=today),
    }
    return region, cbi, ryg, jobs


def text(response) -> str:
    return response.get_data(as_text=True)


def test_an_office_manager_sees_their_call_list_only(client, login_as, world):
    _, cbi, _, _ = world
    login_as("office_manager", office=cbi)
    page = client.get("/surveys/calls")
    assert page.status_code == 200
    body = text(page)
    assert "J-CBI" in body and "J-LCB" in body and "J-OLD" not in body and "J-RYG" not in body
    assert body.index("J-CBI") < body.index("J-LCB")  # 0 days left before 15
    assert client.get("/surveys/calls?office=RYG").status_code == 404


def test_regional_staff_choose_an_office(client, login_as, world):
    region, *_ = world
    login_as("regional_staff", office=region)
    assert "J-RYG" in text(client.get("/surveys/calls?office=RYG"))
    assert "J-CBI" not in text(client.get("/surveys/calls?office=RYG"))


def test_a_phone_answer_is_recorded_from_the_call_list_in_one_post(client, login_as, world):
    region, cbi, _, jobs = world
    staff = login_as("regional_staff", office=region)
    today = bangkok_today()
    response = client.post(
        "/surveys/jobs/J-CBI/phone?office=CBI",
        data={"score": "2", "answered_on": today.isoformat(), "comment": "รอนาน"},
    )
    assert response.status_code == 302 and "/surveys/calls" in response.headers["Location"]
    answer = db.session.execute(sa.select(SurveyAnswer)).scalar_one()
    assert (answer.score, answer.channel, answer.comment, answer.surveyed_by) == (
        2,
        "phone",
        "รอนาน",
        staff.full_name,
    )
    assert db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.entity == "survey_answers")
    ).scalar_one()
    assert "<td>J-CBI</td>" not in text(
        client.get("/surveys/calls?office=CBI")
    )  # answered: off the list
    # The low score is now a follow-up for the office.
    assert "<td>J-CBI</td>" in text(client.get("/surveys/satisfaction"))
    again = client.post(
        "/surveys/jobs/J-CBI/phone", data={"score": "4", "answered_on": today.isoformat()}
    )
    assert again.status_code == 303
    assert db.session.execute(sa.select(sa.func.count()).select_from(SurveyAnswer)).scalar() == 1


@pytest.mark.parametrize("data", [{"score": "6"}, {"score": "4", "answered_on": "2999-01-01"}])
def test_a_bad_phone_answer_stores_nothing(client, login_as, world, data):
    region, *_ = world
    login_as("regional_staff", office=region)
    response = client.post("/surveys/jobs/J-CBI/phone", data=data)
    assert response.status_code == 303
    assert db.session.execute(sa.select(sa.func.count()).select_from(SurveyAnswer)).scalar() == 0


def test_a_job_out_of_scope_is_not_found(client, login_as, world):
    _, cbi, _, _ = world
    login_as("office_manager", office=cbi)
    assert client.post("/surveys/jobs/J-RYG/phone", data={"score": "5"}).status_code == 404


def test_a_low_score_is_followed_up(client, login_as, make, world):
    _, cbi, ryg, jobs = world
    _, low = make.survey_answer(cbi, score=1, job=jobs["mine"], answered_on=bangkok_today())
    _, theirs = make.survey_answer(ryg, score=1, job=jobs["theirs"], answered_on=bangkok_today())
    login_as("office_manager", office=cbi)
    assert client.post(f"/surveys/answers/{theirs.id}/follow-up", data={}).status_code == 404
    response = client.post(
        f"/surveys/answers/{low.id}/follow-up",
        data={"followed_up_on": bangkok_today().isoformat(), "note": "โทรขอโทษแล้ว"},
    )
    assert response.status_code == 302
    db.session.refresh(low)
    assert low.followed_up_on == bangkok_today() and low.follow_up_note == "โทรขอโทษแล้ว"
    assert "<td>J-CBI</td>" not in text(client.get("/surveys/satisfaction"))


def test_a_kamr_sees_the_pages_but_records_nothing(client, login_as, world):
    _, cbi, _, _ = world
    login_as("kamr", office=cbi)
    assert client.get("/surveys/calls").status_code == 200
    assert client.post("/surveys/jobs/J-CBI/phone", data={"score": "5"}).status_code == 403


@pytest.mark.parametrize(
    "path", ["/surveys/quota", "/surveys/satisfaction", "/surveys/smile-box", "/surveys/cr1"]
)
def test_the_figure_pages_answer_in_thai(client, login_as, world, path):
    region, *_ = world
    login_as("regional_staff", office=region)
    page = client.get(path)
    assert page.status_code == 200 and 'lang="th"' in text(page)


def test_the_quota_page_shows_what_is_missing(client, login_as, world):
    _, cbi, _, _ = world
    login_as("office_manager", office=cbi)
    body = text(client.get("/surveys/quota"))
    assert "CBI" in body and "RYG" not in body and "ติดตั้งมิเตอร์" in body


def test_the_survey_targets_are_edited_on_the_targets_page_and_audited(client, login_as, world):
    from decimal import Decimal

    from kamcrm.surveys.targets import survey_targets

    region, *_ = world
    login_as("regional_staff", office=region)
    page = text(client.get("/region/targets?year=2021"))
    assert 'id="survey-targets"' in page and 'value="4.4718"' in page
    response = client.post(
        "/region/targets/2021",
        data={
            "surveys-quota_meter_install": "4",
            "surveys-quota_extension": "3",
            "surveys-quota_dedicated_transformer": "1",
            "surveys-satisfaction_target": "4.5000",
            "surveys-smile_box_share_pct": "75",
        },
    )
    assert response.status_code == 302
    targets = survey_targets(2021)
    assert (
        targets.quotas["meter_install"] == 4
        and targets.satisfaction == Decimal("4.5000")
        and targets.stored
    )
    entry = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.entity == "survey_targets")
    ).scalar_one()
    assert (
        entry.after["quotas"]["meter_install"] == 4 and entry.before["quotas"]["meter_install"] == 3
    )
    assert survey_targets(2022).quotas["meter_install"] == 3  # other years keep the defaults
    refused = client.post(
        "/region/targets/2021",
        data={
            "surveys-quota_meter_install": "-1",
            "surveys-quota_extension": "3",
            "surveys-quota_dedicated_transformer": "1",
            "surveys-satisfaction_target": "6",
            "surveys-smile_box_share_pct": "75",
            "RBA-STREAMLINE-period": "year",
            "RBA-STREAMLINE-min_count": "1",
            "RBA-STREAMLINE-target_pct": "55",
        },
    )
    assert refused.status_code == 422 and 'id="surveys-satisfaction_target-error"' in text(refused)
    assert survey_targets(2021).quotas["meter_install"] == 4  # nothing of the form was saved
    assert 'value="-1"' in text(refused)  # what was typed is kept


def test_an_office_records_its_smile_box_follow_ups(client, login_as, world):
    from datetime import date

    from kamcrm.surveys.models import SmileBoxDay

    _, cbi, ryg, _ = world
    for office in (cbi, ryg):
        db.session.add(
            SmileBoxDay(
                office_id=office.id,
                day=date(2021, 3, 1),
                served=50,
                score_1=2,
                score_2=1,
                score_3=40,
                followed_up=0,
            )
        )
    db.session.flush()
    login_as("office_manager", office=cbi)
    assert 'id="smile-box-follow-ups"' in text(client.get("/surveys/smile-box"))
    response = client.post(
        "/surveys/smile-box/follow-ups",
        data={"office_code": "CBI", "day": "2021-03-01", "followed_up": "3"},
    )
    assert response.status_code == 302
    too_many = client.post(
        "/surveys/smile-box/follow-ups",
        data={"office_code": "CBI", "day": "2021-03-01", "followed_up": "4"},
    )
    assert too_many.status_code == 303
    theirs = client.post(
        "/surveys/smile-box/follow-ups",
        data={"office_code": "RYG", "day": "2021-03-01", "followed_up": "1"},
    )
    assert theirs.status_code == 303  # another office reads as unknown
    days = {
        row.office_id: row.followed_up
        for row in db.session.execute(sa.select(SmileBoxDay)).scalars()
    }
    assert days == {cbi.id: 3, ryg.id: 0}
    assert db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.entity == "smile_box_days")
    ).scalar_one()
