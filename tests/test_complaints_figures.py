"""The CR2 plan 2.1 figures (SPEC section 8), each worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from kamcrm.complaints.operations import set_tier_limit
from kamcrm.compliance.engine import cr2_report
from kamcrm.org.scope import office_scope, region_scope

YEAR = 2021


def row(report, item, category=None):
    return next(r for r in report["complaints"] if r["item"] == item and r["category"] == category)


def cell(report, item, category=None, column="Q1"):
    return row(report, item, category)["cumulative"][column]


def region(as_of):
    return cr2_report(YEAR, as_of, region_scope())


def figures(c):
    return (c["received"], c["excluded"], c["met"], c["missed"], c["pending"])


def test_the_rows_have_the_spec_shape_in_the_years_order(make):
    report = region(date(YEAR, 6, 30))
    keys = [(r["item"], r["category"]) for r in report["complaints"]]
    assert keys == [
        ("2.1a", "POWER_QUALITY"),
        ("2.1a", "SERVICE_QUALITY"),
        ("2.1a", "METER_BILLING"),
        ("2.1a", "DISCONNECTION"),
        ("2.1a", "NETWORK"),
        ("2.1a", "OTHER"),
        ("2.1a", None),
        ("2.1b", None),
        ("2.1c", None),
        ("2.1d", None),
    ]
    meter = row(report, "2.1a", "METER_BILLING")
    assert list(meter) == [
        "item",
        "category",
        "urgent_only",
        "limit_days",
        "limit_hours",
        "target_pct",
        "cumulative",
    ]
    assert (
        meter["urgent_only"],
        meter["limit_days"],
        meter["limit_hours"],
        meter["target_pct"],
    ) == (False, 15, None, 85.0)
    assert [
        (r["limit_days"], r["limit_hours"], r["urgent_only"], r["target_pct"])
        for r in report["complaints"][6:]
    ] == [
        (None, None, False, 85.0),
        (None, 24, True, 100.0),
        (30, None, False, 100.0),
        (15, None, False, 70.0),
    ]
    assert list(meter["cumulative"]) == ["Q1", "Q1-2", "Q1-3", "Q1-4"]
    assert meter["cumulative"]["Q1-3"] is None and meter["cumulative"]["Q1-4"] is None
    assert meter["cumulative"]["Q1"] == {
        "received": 0,
        "excluded": 0,
        "met": 0,
        "missed": 0,
        "pending": 0,
        "pct": None,
        "target_met": None,
        "final": True,
    }


def test_day_n_is_within_a_limit_of_n_days_and_day_n_plus_1_is_not(make):
    office = make.office()
    make.complaint(
        office,
        category="METER_BILLING",
        received_at="2021-02-01T10:00:00+07:00",
        closed_at="2021-02-16T20:00:00+07:00",
    )  # c - r = 15
    make.complaint(
        office,
        category="METER_BILLING",
        received_at="2021-02-01T10:00:00+07:00",
        closed_at="2021-02-17T08:00:00+07:00",
    )  # c - r = 16
    make.complaint(
        office,
        category="METER_BILLING",
        received_at="2021-02-03T10:00:00+07:00",
        closed_at="2021-02-03T11:00:00+07:00",
    )  # the same day: 0 days
    c = cell(region(date(YEAR, 3, 31)), "2.1a", "METER_BILLING")
    assert figures(c) == (3, 0, 2, 1, 0)
    assert (c["pct"], c["target_met"], c["final"]) == (66.67, False, True)


def test_days_are_bangkok_calendar_days(make):
    office = make.office()
    # Received 23:30 in Bangkok (16:30 UTC, the same date); closed 06:00 Bangkok on the 17th,
    # which is still the 16th in UTC: 16 Bangkok days, over the limit.
    make.complaint(
        office,
        category="METER_BILLING",
        received_at="2021-02-01T23:30:00+07:00",
        closed_at="2021-02-17T06:00:00+07:00",
    )
    # Closed at 23:59 Bangkok on day 15: within.
    make.complaint(
        office,
        category="METER_BILLING",
        received_at="2021-02-01T23:30:00+07:00",
        closed_at="2021-02-16T23:59:00+07:00",
    )
    # Received 00:30 Bangkok on Apr 1 (Mar 31 in UTC): a Q2 complaint.
    make.complaint(
        office,
        category="METER_BILLING",
        received_at="2021-04-01T00:30:00+07:00",
        closed_at="2021-04-01T09:00:00+07:00",
    )
    report = region(date(YEAR, 6, 30))
    assert figures(cell(report, "2.1a", "METER_BILLING", "Q1")) == (2, 0, 1, 1, 0)
    assert figures(cell(report, "2.1a", "METER_BILLING", "Q1-2")) == (3, 0, 2, 1, 0)


def test_urgent_at_exactly_24_hours_is_met_and_one_second_over_is_missed(make):
    office = make.office()
    make.complaint(
        office,
        urgent="yes",
        channel="chat",
        received_at="2021-02-01T10:00:00+07:00",
        closed_at="2021-02-02T10:00:00+07:00",
    )
    make.complaint(
        office,
        urgent="yes",
        channel="chat",
        received_at="2021-02-01T10:00:00+07:00",
        closed_at="2021-02-02T10:00:01+07:00",
    )
    make.complaint(
        office,
        urgent="no",
        received_at="2021-02-01T10:00:00+07:00",
        closed_at="2021-02-05T10:00:00+07:00",
    )  # not urgent: not in 2.1b
    report = region(date(YEAR, 3, 31))
    c = cell(report, "2.1b")
    assert figures(c) == (2, 0, 1, 1, 0)
    assert (c["pct"], c["target_met"]) == (50.0, False)
    assert figures(cell(report, "2.1c")) == (3, 0, 3, 0, 0)


def test_an_urgent_complaint_open_at_the_end_of_as_of(make):
    office = make.office()
    # Received 23:00 on Feb 9: at the end of Feb 10 (T) it has been open 25 hours.
    make.complaint(office, urgent="yes", received_at="2021-02-09T23:00:00+07:00")
    # Received 00:00:01 on Feb 10: open 23:59:59 at T, within 24 hours.
    make.complaint(office, urgent="yes", received_at="2021-02-10T00:00:01+07:00")
    assert figures(cell(region(date(YEAR, 2, 10)), "2.1b")) == (2, 0, 0, 1, 1)


def test_an_open_complaint_is_pending_until_its_limit_has_passed(make):
    office = make.office()
    make.complaint(office, category="OTHER", received_at="2021-01-01T09:00:00+07:00")  # 20 days
    on_day_20 = cell(region(date(YEAR, 1, 21)), "2.1a", "OTHER")
    assert figures(on_day_20) == (1, 0, 0, 0, 1)
    assert (on_day_20["pct"], on_day_20["target_met"], on_day_20["final"]) == (None, None, False)
    on_day_21 = cell(region(date(YEAR, 1, 22)), "2.1a", "OTHER")
    assert figures(on_day_21) == (1, 0, 0, 1, 0)
    assert (on_day_21["pct"], on_day_21["final"]) == (0.0, True)


def test_a_close_after_as_of_does_not_count_yet(make):
    office = make.office()
    make.complaint(
        office,
        category="OTHER",
        received_at="2021-02-01T09:00:00+07:00",
        closed_at="2021-02-05T09:00:00+07:00",
    )
    make.complaint(
        office,
        category="OTHER",
        received_at="2021-01-01T09:00:00+07:00",
        closed_at="2021-02-15T09:00:00+07:00",
    )
    assert figures(cell(region(date(YEAR, 2, 3)), "2.1a", "OTHER")) == (2, 0, 0, 1, 1)
    assert figures(cell(region(date(YEAR, 2, 5)), "2.1a", "OTHER")) == (2, 0, 1, 1, 0)


def test_excluded_complaints_take_no_further_part(make):
    office = make.office()
    make.complaint(
        office, category="NETWORK", excluded="misconduct", received_at="2021-02-01T09:00:00+07:00"
    )
    make.complaint(
        office,
        category="NETWORK",
        urgent="yes",
        excluded="duplicate",
        received_at="2021-02-01T09:00:00+07:00",
    )
    make.complaint(
        office,
        category="NETWORK",
        received_at="2021-02-01T09:00:00+07:00",
        closed_at="2021-02-02T09:00:00+07:00",
    )
    report = region(date(YEAR, 3, 31))
    assert figures(cell(report, "2.1a", "NETWORK")) == (1, 2, 1, 0, 0)
    assert figures(cell(report, "2.1a", None)) == (1, 2, 1, 0, 0)
    assert figures(cell(report, "2.1b")) == (0, 1, 0, 0, 0)
    assert figures(cell(report, "2.1c")) == (1, 2, 1, 0, 0)


def test_the_total_row_holds_each_complaint_to_its_own_limit_and_2_1c_d_to_theirs(make):
    office = make.office()
    # 18 days: within OTHER (20) and 2.1c (30), over METER_BILLING (15) and 2.1d (15).
    make.complaint(
        office,
        category="OTHER",
        received_at="2021-02-01T09:00:00+07:00",
        closed_at="2021-02-19T09:00:00+07:00",
    )
    make.complaint(
        office,
        category="METER_BILLING",
        received_at="2021-02-01T09:00:00+07:00",
        closed_at="2021-02-19T09:00:00+07:00",
    )
    report = region(date(YEAR, 3, 31))
    assert figures(cell(report, "2.1a", None)) == (2, 0, 1, 1, 0)
    assert figures(cell(report, "2.1c")) == (2, 0, 2, 0, 0)
    d = cell(report, "2.1d")
    assert figures(d) == (2, 0, 0, 2, 0) and (d["pct"], d["target_met"]) == (0.0, False)


def test_a_tier_limit_applies_to_the_accounts_tier_on_the_day_received(make):
    office = make.office()
    account = make.account(office=office, tier="STAR", tier_from=date(2000, 1, 1))
    make.tier(account, "STRATEGIC", date(2021, 2, 10))
    set_tier_limit(YEAR, "METER_BILLING", "STRATEGIC", 5)
    # STAR on Feb 1: the category's 15 days; 10 days taken → met.
    make.complaint(
        account=account,
        category="METER_BILLING",
        received_at="2021-02-01T09:00:00+07:00",
        closed_at="2021-02-11T09:00:00+07:00",
    )
    # STRATEGIC on Feb 15: 5 days; 10 taken → missed.
    make.complaint(
        account=account,
        category="METER_BILLING",
        received_at="2021-02-15T09:00:00+07:00",
        closed_at="2021-02-25T09:00:00+07:00",
    )
    assert figures(cell(region(date(YEAR, 3, 31)), "2.1a", "METER_BILLING")) == (2, 0, 1, 1, 0)


def test_a_branchs_complaints_roll_up_to_its_office_and_scope_keeps_others_out(make):
    first, second = make.office(code="OF1"), make.office(code="OF2")
    branch = make.branch(first, code="BR1")
    make.complaint(
        first, received_at="2021-02-01T09:00:00+07:00", closed_at="2021-02-02T09:00:00+07:00"
    )
    make.complaint(
        branch, received_at="2021-02-01T09:00:00+07:00", closed_at="2021-02-02T09:00:00+07:00"
    )
    make.complaint(second, received_at="2021-02-01T09:00:00+07:00")
    as_of = date(YEAR, 3, 31)
    assert figures(cell(cr2_report(YEAR, as_of, office_scope("OF1")), "2.1c")) == (2, 0, 2, 0, 0)
    assert figures(cell(cr2_report(YEAR, as_of, office_scope("BR1")), "2.1c")) == (1, 0, 1, 0, 0)
    assert figures(cell(cr2_report(YEAR, as_of, office_scope("OF2")), "2.1c")) == (1, 0, 0, 1, 0)
    assert figures(cell(region(as_of), "2.1c")) == (3, 0, 2, 1, 0)


def test_other_years_complaints_stay_out(make):
    office = make.office()
    make.complaint(
        office, received_at="2020-12-31T23:30:00+07:00", closed_at="2021-01-01T09:00:00+07:00"
    )
    make.complaint(
        office, received_at="2022-01-01T00:10:00+07:00", closed_at="2022-01-01T09:00:00+07:00"
    )
    # as_of after the year's end is kept: a late close still counts.
    make.complaint(
        office, received_at="2021-12-20T09:00:00+07:00", closed_at="2022-01-05T09:00:00+07:00"
    )
    report = cr2_report(YEAR, date(2022, 1, 31), region_scope())
    assert figures(cell(report, "2.1c", column="Q1-4")) == (1, 0, 1, 0, 0)
    assert figures(
        cell(cr2_report(YEAR, date(YEAR, 12, 31), region_scope()), "2.1c", column="Q1-4")
    ) == (1, 0, 0, 0, 1)


@pytest.mark.parametrize("pct_case", [(2, 1, 66.67), (1, 2, 33.33), (5, 1, 83.33), (17, 3, 85.0)])
def test_pct_is_rounded_half_up_and_target_met_compares_it(make, pct_case):
    met, missed, pct = pct_case
    office = make.office()
    for _ in range(met):
        make.complaint(
            office, received_at="2021-02-01T09:00:00+07:00", closed_at="2021-02-02T09:00:00+07:00"
        )
    for _ in range(missed):
        make.complaint(
            office, received_at="2021-02-01T09:00:00+07:00", closed_at="2021-03-15T09:00:00+07:00"
        )
    c = cell(region(date(YEAR, 3, 31)), "2.1a", "OTHER")
    assert (c["pct"], c["target_met"]) == (pct, pct >= 85)
