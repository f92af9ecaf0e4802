"""The weekly digest tells each office manager the call quota still missing this quarter and
the jobs whose 15-day window shuts this week."""

from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa

from kamcrm.extensions import db
from kamcrm.jobs.digests import send_weekly_digests, weekly_digests
from kamcrm.jobs.models import Notification

MONDAY = date(2021, 3, 1)  # 2021-W09


def test_office_managers_hear_of_their_quota_and_closing_windows(make):
    region = make.region()
    cbi = make.office(code="CBI", parent=region)
    branch = make.branch(cbi, code="LCB")
    ryg = make.office(code="RYG", parent=region)
    manager = make.user(role="office_manager", office=cbi)
    other = make.user(role="office_manager", office=ryg)
    closing = make.service_job(
        branch, ref="J-SHUT", completed_on=date(2021, 2, 14), phone="0811111111"
    )  # day 15: 0 days left
    make.service_job(
        cbi, ref="J-FRESH", completed_on=date(2021, 2, 27)
    )  # 13 days left: not this week
    done = make.service_job(cbi, kind="dedicated_transformer", completed_on=date(2021, 2, 1))
    make.survey_answer(cbi, channel="phone", answered_on=date(2021, 2, 2), job=done)
    digests = {d.user.id: d for d in weekly_digests("2021-W09")}
    mine = digests[manager.id]
    assert mine.survey_quota == {"meter_install": 3, "extension": 3, "dedicated_transformer": 0}
    assert [item["ref"] for item in mine.survey_closing] == ["J-SHUT"] and mine.survey_closing[0][
        "days_left"
    ] == 0
    assert (
        digests[other.id].survey_closing == [] and digests[other.id].survey_quota == {}
    )  # no job this quarter
    assert closing.ref == "J-SHUT"
    send_weekly_digests("2021-W09", datetime(2021, 3, 1, 1, tzinfo=timezone.utc))
    body = db.session.execute(
        sa.select(Notification.body).where(Notification.user_id == manager.id)
    ).scalar_one()
    assert "ติดตั้งมิเตอร์: อีก 3 ราย" in body and "หม้อแปลงเฉพาะราย" not in body
    assert "- J-SHUT (LCB) โทร 0811111111: เหลือ 0 วัน" in body
