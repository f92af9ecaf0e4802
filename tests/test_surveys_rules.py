"""SPEC section 9's rules, hand-computed: the 15-day window (day 15 callable, day 16 not),
the quota per kind with branches rolled up, the mean at the 4.4718 edge, Smile Box shares
and the CR1 3.3 rows."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from kamcrm.extensions import db
from kamcrm.org.scope import office_scope, region_scope
from kamcrm.surveys import queries
from kamcrm.surveys.models import ServiceJob, SmileBoxDay, SurveyAnswer

_refs = iter(range(1, 10**9))


@pytest.fixture
def region(make):
    region = make.region("R2")
    office = make.office(code="CBI", parent=region)
    make.branch(office, code="LCB")
    make.office(code="RYG", parent=region)
    return region


def office_id(code):
    from kamcrm.org.models import Office

    return db.session.execute(sa.select(Office.id).where(Office.code == code)).scalar_one()


def job(code="CBI", kind="meter_install", completed_on=date(2021, 2, 1), **answers):
    """Add a job and its answers: ``sms=(day, score)``, ``phone=(day, score)``."""
    row = ServiceJob(
        ref=f"J{next(_refs)}", office_id=office_id(code), kind=kind, completed_on=completed_on
    )
    db.session.add(row)
    db.session.flush()
    for channel, (day, score) in answers.items():
        db.session.add(SurveyAnswer(job_id=row.id, channel=channel, answered_on=day, score=score))
    db.session.flush()
    return row


@pytest.mark.parametrize("elapsed, left", [(0, 15), (1, 14), (15, 0), (16, None), (-1, None)])
def test_the_window_is_open_through_day_15(elapsed, left):
    completed = date(2021, 2, 1)
    assert queries.window_days_left(completed, completed + timedelta(days=elapsed)) == left


@pytest.mark.parametrize("elapsed, counts", [(0, True), (15, True), (16, False)])
def test_a_phone_answer_counts_toward_the_quota_within_15_days(elapsed, counts):
    completed = date(2021, 2, 1)
    assert (
        queries.counts_for_quota(completed, "phone", completed + timedelta(days=elapsed)) is counts
    )
    assert queries.counts_for_quota(completed, "sms", completed) is False


def test_the_call_list_holds_unanswered_jobs_in_their_window_fewest_days_left_first(region):
    today = date(2021, 3, 20)
    day15 = job(completed_on=today - timedelta(days=15))  # 0 days left: first
    day16 = job(completed_on=today - timedelta(days=16))  # window shut
    fresh = job(code="LCB", completed_on=today)  # 15 days left, a branch's
    job(completed_on=today - timedelta(days=3), sms=(today, 5))  # answered by SMS
    job(code="RYG", completed_on=today - timedelta(days=2))  # another office
    listed = [
        row[0].ref for row in db.session.execute(queries.call_list(office_scope("CBI"), today))
    ]
    assert listed == [day15.ref, fresh.ref]
    everything = [
        row[0].ref for row in db.session.execute(queries.call_list(region_scope(), today))
    ]
    assert day16.ref not in everything and len(everything) == 3
    closing = [
        row[0].ref
        for row in db.session.execute(queries.closing_this_week(office_scope("CBI"), today))
    ]
    assert closing == [day15.ref]


def test_the_quota_counts_phone_answers_within_the_window_per_kind_branches_rolled_up(region):
    q1 = date(2021, 2, 1)
    job(kind="meter_install", completed_on=q1, phone=(q1 + timedelta(days=15), 5))  # counts
    job(
        code="LCB", kind="meter_install", completed_on=q1, phone=(q1 + timedelta(days=2), 4)
    )  # branch: counts for CBI
    job(kind="meter_install", completed_on=q1, phone=(q1 + timedelta(days=16), 5))  # too late
    job(kind="meter_install", completed_on=q1, sms=(q1, 5))  # SMS
    job(kind="extension", completed_on=q1, phone=(q1, 3))
    job(kind="dedicated_transformer", completed_on=q1, phone=(q1, 3))
    job(code="RYG", kind="extension", completed_on=q1, phone=(q1, 3))
    today = date(2021, 3, 1)
    lines = {
        (line.office.code, line.kind): line
        for line in queries.quota_progress(region_scope(), today)
    }
    cbi = lines[("CBI", "meter_install")]
    assert (cbi.done, cbi.missing, cbi.met) == (2, 1, False)
    # 31 days left in Q1 from March 1 (today included): 1 × 7 / 31 = 0.2258 → 0.23 a week.
    assert cbi.days_left == 31 and cbi.pace_per_week == Decimal("0.23")
    assert (lines[("CBI", "extension")].missing, lines[("CBI", "dedicated_transformer")].met) == (
        2,
        True,
    )
    assert lines[("RYG", "extension")].done == 1 and ("LCB", "extension") not in lines
    assert queries.missing_quota(region_scope(), today) == {
        "meter_install": 1 + 3,
        "extension": 2 + 2,
        "dedicated_transformer": 0 + 1,
    }
    # An office manager's scope holds only its own office (with its branch).
    assert queries.missing_quota(office_scope("CBI"), today) == {
        "meter_install": 1,
        "extension": 2,
        "dedicated_transformer": 0,
    }
    # A branch's scope: its own jobs only, against its parent office's quota.
    branch = {line.kind: line.done for line in queries.quota_progress(office_scope("LCB"), today)}
    assert branch == {"meter_install": 1, "extension": 0, "dedicated_transformer": 0}


def _answers(total: int, n: int, completed_on=date(2021, 2, 1)):
    """Bulk-add n SMS answers whose scores (fives and fours) sum to ``total``."""
    fives = total - 4 * n
    assert 0 <= fives <= n
    cbi = office_id("CBI")
    start = next(_refs) * 10_000
    db.session.execute(
        sa.insert(ServiceJob),
        [
            {
                "ref": f"B{start + i}",
                "office_id": cbi,
                "kind": "maintenance",
                "completed_on": completed_on,
            }
            for i in range(n)
        ],
    )
    ids = (
        db.session.execute(
            sa.select(ServiceJob.id).where(ServiceJob.ref.like("B%")).order_by(ServiceJob.id)
        )
        .scalars()
        .all()
    )
    db.session.execute(
        sa.insert(SurveyAnswer),
        [
            {
                "job_id": job_id,
                "channel": "sms",
                "answered_on": completed_on,
                "score": 5 if i < fives else 4,
            }
            for i, job_id in enumerate(ids)
        ],
    )


@pytest.mark.parametrize(
    "total, n, mean, met",
    [
        (17887, 4000, Decimal("4.4718"), True),  # 4.47175 exactly: half up to 4.4718, met
        (1820, 407, Decimal("4.4717"), False),  # 4.471744…: 4.4717, missed
    ],
)
def test_the_mean_is_rounded_half_up_to_4_decimals_before_the_target(region, total, n, mean, met):
    _answers(total, n)
    found = queries.satisfaction(
        region_scope(), date(2021, 1, 1), date(2021, 3, 31), date(2021, 3, 31)
    )
    assert (found.answers, found.total, found.mean, found.met) == (n, total, mean, met)


def test_the_mean_counts_every_answer_to_jobs_completed_in_the_window_by_the_as_of_day(region):
    job(
        completed_on=date(2021, 2, 1), sms=(date(2021, 2, 1), 5), phone=(date(2021, 2, 20), 2)
    )  # late phone: still counted
    job(code="LCB", completed_on=date(2021, 2, 2), sms=(date(2021, 2, 2), 4))
    job(code="RYG", completed_on=date(2021, 2, 3), sms=(date(2021, 2, 3), 1))
    job(completed_on=date(2021, 4, 1), sms=(date(2021, 4, 1), 1))  # completed after the window
    job(completed_on=date(2021, 3, 30), sms=(date(2021, 4, 2), 1))  # answered after as_of
    scope, start, end = region_scope(), date(2021, 1, 1), date(2021, 3, 31)
    total = queries.satisfaction(scope, start, end, end)
    assert (total.answers, total.total, total.mean) == (4, 12, Decimal("3.0000"))
    offices = {
        office.code: s for office, s in queries.satisfaction_by_office(scope, start, end, end)
    }
    assert (offices["CBI"].answers, offices["CBI"].mean) == (
        3,
        Decimal("3.6667"),
    )  # (5 + 2 + 4) / 3
    assert offices["RYG"].mean == Decimal("1.0000") and offices["RYG"].met is False


def test_smile_box_share_and_follow_ups(region):
    for code, day, served, s1, s2, s3, followed in [
        ("CBI", date(2021, 1, 4), 100, 2, 3, 65, 4),
        ("LCB", date(2021, 1, 4), 50, 0, 1, 4, 1),
        ("RYG", date(2021, 1, 4), 10, 0, 0, 9, 0),
        ("CBI", date(2021, 4, 1), 10, 0, 0, 0, 0),
    ]:
        db.session.add(
            SmileBoxDay(
                office_id=office_id(code),
                day=day,
                served=served,
                score_1=s1,
                score_2=s2,
                score_3=s3,
                followed_up=followed,
            )
        )
    db.session.flush()
    cbi = queries.smile_box(office_scope("CBI"), date(2021, 1, 1), date(2021, 3, 31))
    # (70 + 5) / 150 = 50.00 %; followed up 5 of the 6 low ratings = 83.33 %.
    assert (cbi.served, cbi.ratings, cbi.share_pct, cbi.share_met) == (
        150,
        75,
        Decimal("50.00"),
        False,
    )
    assert (cbi.low, cbi.followed_up, cbi.followed_up_pct) == (6, 5, Decimal("83.33"))
    offices = {
        o.code: s
        for o, s in queries.smile_box_by_office(region_scope(), date(2021, 1, 1), date(2021, 3, 31))
    }
    assert offices["RYG"].share_pct == Decimal("90.00") and offices["RYG"].share_met is True
    assert offices["CBI"].served == 150


def test_cr1_rows_follow_the_contract(region):
    q1 = date(2021, 2, 1)
    for _ in range(3):
        job(kind="meter_install", completed_on=q1, phone=(q1, 5))
    rows = queries.cr1_rows(db.session, year=2021, as_of=date(2021, 5, 15), scope=region_scope())
    by_key = {row["key"]: row for row in rows}
    assert len(by_key) == len(rows) == 7
    meter = by_key["survey_quota_meter_install"]
    assert meter["item"] == "3.3.1" and meter["unit"] == "pct" and meter["target"] == 100.0
    # Q1: CBI met, RYG not (1 of 2 office-quarters); Q1-2: 1 of 4.
    assert meter["cumulative"]["Q1"] == {
        "value": 50.0,
        "numerator": 1,
        "denominator": 2,
        "target_met": False,
    }
    assert meter["cumulative"]["Q1-2"]["denominator"] == 4 and meter["cumulative"]["Q1-3"] is None
    mean = by_key["survey_satisfaction"]
    assert mean["target"] == 4.4718 and mean["cumulative"]["Q1"] == {
        "value": 5.0,
        "numerator": 15,
        "denominator": 3,
        "target_met": True,
    }
    assert by_key["smile_box_share"]["cumulative"]["Q1"]["value"] is None
    assert all(row["office_code"] is None and row["label"] for row in rows)
