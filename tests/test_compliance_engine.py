"""The compliance engine against hand-computed cases for every edge of SPEC section 5."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from kamcrm.activities.models import Activity
from kamcrm.compliance import operations as target_ops
from kamcrm.compliance.engine import (
    COLUMNS,
    Coverage,
    accounts_behind,
    cell_windows,
    coverage,
    cr2_report,
    frequency_coverage,
    percentage,
)
from kamcrm.compliance.targets import RuleTarget, year_targets
from kamcrm.extensions import db
from kamcrm.imports.importer import import_file
from kamcrm.org.scope import office_scope, region_scope
from kamcrm.periods import Window

YEAR = 2021


@pytest.fixture
def world(make):
    """A region R2 with office O1 (branch B1 under it) and office O2."""
    region = make.region()
    o1 = make.office(code="O1", office_class="1")
    b1 = make.branch(o1, code="B1")
    o2 = make.office(code="O2", office_class="2")
    return {"region": region, "O1": o1, "B1": b1, "O2": o2}


def rule_cell(report, type_, tier, column):
    entry = next(r for r in report["rules"] if r["type"] == type_ and r["tier"] == tier)
    return entry["cumulative"][column]


def figures(report, type_, tier, column):
    cell = rule_cell(report, type_, tier, column)
    return None if cell is None else (cell["population"], cell["met"])


def visits(report, role, column):
    entry = next(v for v in report["executive_visits"] if v["exec_role"] == role)
    return entry["cumulative"][column]


def count_cell(report, type_, column):
    entry = next(c for c in report["counts"] if c["type"] == type_)
    return entry["cumulative"][column]


def region_report(as_of=date(YEAR, 12, 31), year=YEAR):
    return cr2_report(year, as_of, region_scope())


# --- shape ------------------------------------------------------------------------------


def test_report_has_the_spec_shape(world, make):
    make.account(office=world["O1"], tier="STRATEGIC")
    report = region_report(as_of=date(YEAR, 6, 30))

    assert list(report) == [
        "report",
        "year",
        "as_of",
        "scope",
        "rules",
        "executive_visits",
        "counts",
        "complaints",
        "complaint_prevention",
    ]
    assert (report["report"], report["year"], report["as_of"], report["scope"]) == (
        "CR2",
        YEAR,
        "2021-06-30",
        "R2",
    )
    first = report["rules"][0]
    assert list(first) == [
        "item",
        "type",
        "tier",
        "period",
        "min_count",
        "target_pct",
        "planned_population",
        "cumulative",
    ]
    assert list(first["cumulative"]) == list(COLUMNS)
    assert list(first["cumulative"]["Q1"]) == ["population", "met", "pct", "target_met"]
    assert first["cumulative"]["Q1-3"] is None and first["cumulative"]["Q1-4"] is None
    exv = report["executive_visits"][0]
    assert list(exv) == ["item", "exec_role", "quota_per_quarter", "units", "cumulative"]
    assert list(exv["cumulative"]["Q1"]) == [
        "target",
        "achieved",
        "pct",
        "unit_quarters",
        "unit_quarters_met",
    ]
    assert [(c["item"], c["type"]) for c in report["counts"]] == [("1.1.3", "PLN"), ("1.5", "BOI")]
    assert list(report["counts"][0]["cumulative"]["Q1"]) == ["activities", "accounts"]


def test_rules_follow_the_section_4_table(world):
    report = region_report()
    assert [
        (r["item"], r["type"], r["tier"], r["period"], r["target_pct"], r["planned_population"])
        for r in report["rules"]
    ] == [
        ("1.1.1", "FMS", "STRATEGIC", "year", 100.0, 165),
        ("1.1.1", "FMS", "STAR", "year", 100.0, 106),
        ("1.1.1", "FMS", "STATUS", "year", 100.0, 272),
        ("1.1.2", "RBA", "STRATEGIC", "year", 100.0, 165),
        ("1.1.2", "RBA", "STAR", "year", 100.0, 106),
        ("1.1.2", "RBA", "STATUS", "year", 100.0, 272),
        ("1.1.2", "RBA", "STREAMLINE", "year", 40.0, None),
        ("1.1.3", "COM", "STRATEGIC", "quarter", 100.0, 165),
        ("1.1.3", "COM", "STAR", "quarter", 100.0, 106),
        ("1.1.3", "COM", "STATUS", "quarter", 100.0, 272),
        ("1.1.3", "COM", "STREAMLINE", "half", 100.0, None),
        ("1.3", "SEM", "STRATEGIC", "year", 100.0, 165),
    ]
    assert [(v["exec_role"], v["quota_per_quarter"]) for v in report["executive_visits"]] == [
        ("region_director", 1),
        ("assistant_director", 3),
        ("office_manager", 6),
    ]


def test_spec_example_figures(world, make):
    """165 STRATEGIC accounts in Q1, one more by June; 40 had FMS by March, 90 by June."""
    accounts = [make.account(office=world["O1"], tier="STRATEGIC") for _ in range(165)]
    late = make.account(office=world["O2"], tier=None, tier_from=None, opened_on=date(YEAR, 5, 1))
    make.tier(late, "STRATEGIC", date(YEAR, 5, 1))
    performer = make.user(office=world["O1"])
    for account in accounts[:40]:
        make.activity(account, "FMS", date(YEAR, 3, 1), performed_by=performer)
    for account in accounts[40:90]:
        make.activity(account, "FMS", date(YEAR, 6, 30), performed_by=performer)

    report = region_report(as_of=date(YEAR, 6, 30))

    assert rule_cell(report, "FMS", "STRATEGIC", "Q1") == {
        "population": 165,
        "met": 40,
        "pct": 24.24,
        "target_met": False,
    }
    assert rule_cell(report, "FMS", "STRATEGIC", "Q1-2") == {
        "population": 166,
        "met": 90,
        "pct": 54.22,
        "target_met": False,
    }


# --- tiers and activity on a day ----------------------------------------------------------


def test_tier_change_inside_a_window_moves_the_account_and_keeps_its_activity(world, make):
    account = make.account(office=world["O1"], tier="STAR")
    make.tier(account, "STRATEGIC", date(YEAR, 5, 10))
    make.activity(account, "FMS", date(YEAR, 2, 1))  # done while still STAR

    report = region_report()

    assert figures(report, "FMS", "STAR", "Q1") == (1, 1)
    assert figures(report, "FMS", "STRATEGIC", "Q1") == (0, 0)
    assert figures(report, "FMS", "STAR", "Q1-2") == (0, 0)
    assert figures(report, "FMS", "STRATEGIC", "Q1-2") == (1, 1)


def test_change_to_no_tier_leaves_every_population(world, make):
    account = make.account(office=world["O1"], tier="STATUS")
    make.tier(account, None, date(YEAR, 4, 1))
    make.activity(account, "FMS", date(YEAR, 1, 15))

    report = region_report()

    assert figures(report, "FMS", "STATUS", "Q1") == (1, 1)
    for column in ("Q1-2", "Q1-3", "Q1-4"):
        yearly = [r for r in report["rules"] if r["period"] == "year"]
        assert all(r["cumulative"][column]["population"] == 0 for r in yearly), column
        # The quarterly rule keeps Q1's window, and no later one.
        assert figures(report, "COM", "STATUS", column) == (1, 0), column


def test_tier_effective_on_the_window_end_counts(world, make):
    account = make.account(office=world["O1"], tier="STATUS")
    make.tier(account, "STAR", date(YEAR, 3, 31))

    report = region_report()

    assert figures(report, "FMS", "STAR", "Q1") == (1, 0)
    assert figures(report, "FMS", "STATUS", "Q1") == (0, 0)


def test_account_without_any_tier_history_is_in_no_population(world, make):
    make.account(office=world["O1"], tier=None, tier_from=None)
    report = region_report()
    assert all(r["cumulative"]["Q1-4"]["population"] == 0 for r in report["rules"])


@pytest.mark.parametrize(
    ("opened_on", "closed_on", "in_q1"),
    [
        (date(YEAR, 3, 31), None, True),  # opened on the window's last day: active that day
        (date(YEAR, 4, 1), None, False),  # opened the day after
        (None, date(YEAR, 3, 31), False),  # closed on the last day: not active that day
        (None, date(YEAR, 4, 1), True),  # closed the day after
        (date(YEAR, 3, 31), date(YEAR, 3, 31), False),  # opened and closed the same day
    ],
    ids=[
        "opened-on-last-day",
        "opened-after",
        "closed-on-last-day",
        "closed-after",
        "opened-and-closed",
    ],
)
def test_active_on_the_window_end(world, make, opened_on, closed_on, in_q1):
    account = make.account(
        office=world["O1"], tier="STRATEGIC", opened_on=opened_on, closed_on=closed_on
    )
    make.activity(account, "COM", date(YEAR, 1, 10))

    report = region_report()

    assert figures(report, "COM", "STRATEGIC", "Q1") == ((1, 1) if in_q1 else (0, 0))


def test_closed_account_keeps_counting_in_windows_it_was_active_at_the_end_of(world, make):
    account = make.account(office=world["O1"], tier="STRATEGIC", closed_on=date(YEAR, 5, 1))
    make.activity(account, "COM", date(YEAR, 2, 1))

    report = region_report()

    # Quarterly: Q1 window counted (active on Mar 31), Q2..Q4 windows not.
    assert figures(report, "COM", "STRATEGIC", "Q1") == (1, 1)
    assert figures(report, "COM", "STRATEGIC", "Q1-4") == (1, 1)
    # Yearly: the one window ends after the close.
    assert figures(report, "FMS", "STRATEGIC", "Q1-4") == (0, 0)


# --- activity dates and statuses --------------------------------------------------------


@pytest.mark.parametrize(
    ("activity_date", "expected"),
    [
        (date(YEAR - 1, 12, 31), {"Q1": 0, "Q1-2": 0}),
        (date(YEAR, 1, 1), {"Q1": 1, "Q1-2": 1}),
        (date(YEAR, 3, 31), {"Q1": 1, "Q1-2": 1}),
        (date(YEAR, 4, 1), {"Q1": 0, "Q1-2": 1}),
        (date(YEAR, 6, 30), {"Q1": 0, "Q1-2": 1}),
        (date(YEAR, 12, 31), {"Q1": 0, "Q1-2": 0, "Q1-4": 1}),
        (date(YEAR + 1, 1, 1), {"Q1": 0, "Q1-4": 0}),
    ],
)
def test_yearly_rule_counts_activities_from_jan_1_to_the_column_end(
    world, make, activity_date, expected
):
    account = make.account(office=world["O1"], tier="STRATEGIC")
    make.activity(account, "FMS", activity_date)

    report = region_report()

    for column, met in expected.items():
        assert figures(report, "FMS", "STRATEGIC", column) == (1, met), column


@pytest.mark.parametrize(
    ("activity_date", "met_by_column"),
    [
        (date(YEAR, 3, 31), [1, 1, 1, 1]),  # Q1's window only
        (date(YEAR, 4, 1), [0, 1, 1, 1]),  # Q2's window only
        (date(YEAR, 9, 30), [0, 0, 1, 1]),
        (date(YEAR, 10, 1), [0, 0, 0, 1]),
        (date(YEAR, 12, 31), [0, 0, 0, 1]),
        (date(YEAR - 1, 12, 31), [0, 0, 0, 0]),
    ],
)
def test_quarterly_rule_sums_each_quarter_of_the_column(world, make, activity_date, met_by_column):
    account = make.account(office=world["O1"], tier="STAR")
    make.activity(account, "COM", activity_date)

    report = region_report()

    for k, column in enumerate(COLUMNS, start=1):
        assert figures(report, "COM", "STAR", column) == (k, met_by_column[k - 1]), column


def test_quarterly_rule_needs_a_communication_in_every_quarter(world, make):
    account = make.account(office=world["O1"], tier="STRATEGIC")
    for day in (date(YEAR, 1, 5), date(YEAR, 2, 5), date(YEAR, 7, 5)):  # two in Q1, none in Q2
        make.activity(account, "COM", day)

    report = region_report()

    assert rule_cell(report, "COM", "STRATEGIC", "Q1-2") == {
        "population": 2,
        "met": 1,
        "pct": 50.0,
        "target_met": False,
    }
    assert figures(report, "COM", "STRATEGIC", "Q1-3") == (3, 2)
    assert rule_cell(report, "COM", "STRATEGIC", "Q1-4")["pct"] == 50.0


def test_half_yearly_rule_adds_the_second_half_from_q3(world, make):
    account = make.account(office=world["O1"], tier="STREAMLINE")
    make.activity(account, "COM", date(YEAR, 6, 30))

    report = region_report()

    assert figures(report, "COM", "STREAMLINE", "Q1") == (1, 0)
    assert figures(report, "COM", "STREAMLINE", "Q1-2") == (1, 1)
    assert figures(report, "COM", "STREAMLINE", "Q1-3") == (2, 1)
    assert figures(report, "COM", "STREAMLINE", "Q1-4") == (2, 1)


@pytest.mark.parametrize("status", ["planned", "cancelled"])
def test_only_done_activities_count(world, make, status):
    account = make.account(office=world["O1"], tier="STRATEGIC")
    for type_ in ("FMS", "RBA", "COM", "SEM", "PLN", "BOI"):
        make.activity(account, type_, date(YEAR, 2, 1), status=status)
    make.activity(account, "EXV", date(YEAR, 2, 1), status=status, exec_role="region_director")

    report = region_report()

    assert all(r["cumulative"]["Q1-4"]["met"] == 0 for r in report["rules"])
    assert all(v["cumulative"]["Q1-4"]["achieved"] == 0 for v in report["executive_visits"])
    assert all(
        c["cumulative"]["Q1-4"] == {"activities": 0, "accounts": 0} for c in report["counts"]
    )


def test_another_type_does_not_meet_a_rule(world, make):
    account = make.account(office=world["O1"], tier="STRATEGIC")
    make.activity(account, "RBA", date(YEAR, 2, 1))

    report = region_report()

    assert figures(report, "FMS", "STRATEGIC", "Q1") == (1, 0)
    assert figures(report, "RBA", "STRATEGIC", "Q1") == (1, 1)


def test_min_count_above_one(world, make):
    target_ops.update_rule(YEAR, "FMS", "STAR", {"min_count": 2})
    once = make.account(office=world["O1"], tier="STAR")
    twice = make.account(office=world["O1"], tier="STAR")
    make.activity(once, "FMS", date(YEAR, 2, 1))
    make.activity(twice, "FMS", date(YEAR, 2, 1))
    make.activity(twice, "FMS", date(YEAR, 5, 1))

    report = region_report()

    assert figures(report, "FMS", "STAR", "Q1") == (2, 0)
    assert figures(report, "FMS", "STAR", "Q1-2") == (2, 1)


# --- as_of ---------------------------------------------------------------------------------


def test_as_of_in_the_middle_of_a_quarter_cuts_the_column(world, make):
    account = make.account(office=world["O1"], tier="STRATEGIC")
    make.tier(account, "STAR", date(YEAR, 5, 16))  # after as_of: not seen yet
    make.activity(account, "COM", date(YEAR, 5, 15))
    make.activity(account, "FMS", date(YEAR, 5, 16))

    report = cr2_report(YEAR, date(YEAR, 5, 15), region_scope())

    assert report["as_of"] == "2021-05-15"
    assert figures(report, "COM", "STRATEGIC", "Q1-2") == (2, 1)
    assert figures(report, "FMS", "STRATEGIC", "Q1-2") == (1, 0)
    assert figures(report, "FMS", "STAR", "Q1-2") == (0, 0)
    for column in ("Q1-3", "Q1-4"):
        assert rule_cell(report, "FMS", "STRATEGIC", column) is None
        assert visits(report, "office_manager", column) is None
        assert count_cell(report, "PLN", column) is None


def test_as_of_on_a_quarter_start_opens_that_column(world, make):
    account = make.account(office=world["O1"], tier="STRATEGIC")
    make.activity(account, "COM", date(YEAR, 7, 1))

    report = cr2_report(YEAR, date(YEAR, 7, 1), region_scope())

    assert figures(report, "COM", "STRATEGIC", "Q1-3") == (3, 1)
    assert rule_cell(report, "COM", "STRATEGIC", "Q1-4") is None


def test_as_of_before_the_year_nulls_every_column(world, make):
    account = make.account(office=world["O1"], tier="STRATEGIC")
    make.activity(account, "COM", date(YEAR, 1, 1))

    report = cr2_report(YEAR, date(YEAR - 1, 12, 31), region_scope())

    assert all(value is None for r in report["rules"] for value in r["cumulative"].values())
    assert all(
        value is None for v in report["executive_visits"] for value in v["cumulative"].values()
    )
    assert all(value is None for c in report["counts"] for value in c["cumulative"].values())


def test_as_of_after_the_year_is_the_whole_year(world, make):
    account = make.account(office=world["O1"], tier="STRATEGIC")
    make.activity(account, "COM", date(YEAR, 12, 31))
    make.activity(account, "COM", date(YEAR + 1, 1, 2))

    after = cr2_report(YEAR, date(YEAR + 1, 3, 1), region_scope())
    year_end = cr2_report(YEAR, date(YEAR, 12, 31), region_scope())

    assert after["as_of"] == "2022-03-01"
    assert after["rules"] == year_end["rules"]
    assert figures(after, "COM", "STRATEGIC", "Q1-4") == (4, 1)


def test_as_of_defaults_to_today_capped_at_the_year_end(world):
    assert cr2_report(2000, None, region_scope())["as_of"] == "2000-12-31"


# --- scope ---------------------------------------------------------------------------------


def test_office_scope_rolls_up_branches_and_leaves_out_other_offices_and_the_region(world, make):
    at_office = make.account(office=world["O1"], tier="STRATEGIC")
    at_branch = make.account(office=world["B1"], tier="STRATEGIC")
    make.account(office=world["O2"], tier="STRATEGIC")
    at_region = make.account(office=world["region"], tier="STRATEGIC")
    for account in (at_office, at_branch, at_region):
        make.activity(account, "FMS", date(YEAR, 2, 1))

    office = cr2_report(YEAR, date(YEAR, 12, 31), office_scope("O1"))
    branch = cr2_report(YEAR, date(YEAR, 12, 31), office_scope("B1"))
    other = cr2_report(YEAR, date(YEAR, 12, 31), office_scope("O2"))
    region = region_report()

    assert office["scope"] == "O1"
    assert figures(office, "FMS", "STRATEGIC", "Q1") == (2, 2)
    assert figures(branch, "FMS", "STRATEGIC", "Q1") == (1, 1)
    assert figures(other, "FMS", "STRATEGIC", "Q1") == (1, 0)
    assert figures(region, "FMS", "STRATEGIC", "Q1") == (4, 3)


def test_office_manager_units_are_class_1_to_3_offices_with_branch_visits_rolled_up(world, make):
    manager = make.user(role="office_manager", office=world["O1"], exec_role="office_manager")
    at_branch = [make.account(office=world["B1"], tier="STREAMLINE") for _ in range(4)]
    at_office = [make.account(office=world["O1"], tier=None, tier_from=None) for _ in range(2)]
    at_region = make.account(office=world["region"], tier="STAR")
    for account in at_branch + at_office + [at_region]:
        make.activity(
            account, "EXV", date(YEAR, 2, 1), performed_by=manager, exec_role="office_manager"
        )

    region = region_report()
    office = cr2_report(YEAR, date(YEAR, 12, 31), office_scope("O1"))
    branch = cr2_report(YEAR, date(YEAR, 12, 31), office_scope("B1"))

    # Region: units O1 and O2; O1 met its 6 in Q1, the regional office's account counts for nobody.
    assert visits(region, "office_manager", "Q1") == {
        "target": 12,
        "achieved": 6,
        "pct": 50.0,
        "unit_quarters": 2,
        "unit_quarters_met": 1,
    }
    assert (
        next(v for v in office["executive_visits"] if v["exec_role"] == "office_manager")["units"]
        == 1
    )
    assert visits(office, "office_manager", "Q1") == {
        "target": 6,
        "achieved": 6,
        "pct": 100.0,
        "unit_quarters": 1,
        "unit_quarters_met": 1,
    }
    # A branch's scope counts its own accounts for its parent office's one unit.
    assert visits(branch, "office_manager", "Q1")["achieved"] == 4
    assert visits(branch, "office_manager", "Q1-2") == {
        "target": 12,
        "achieved": 4,
        "pct": 33.33,
        "unit_quarters": 2,
        "unit_quarters_met": 0,
    }


def test_region_director_counts_the_region_as_one_unit(world, make):
    director = make.user(role="executive", office=world["region"], exec_role="region_director")
    account = make.account(office=world["O2"], tier="STAR")
    at_region = make.account(office=world["region"], tier="STAR")
    make.activity(
        account, "EXV", date(YEAR, 4, 2), performed_by=director, exec_role="region_director"
    )
    make.activity(
        at_region, "EXV", date(YEAR, 4, 3), performed_by=director, exec_role="region_director"
    )

    region = region_report()
    office = cr2_report(YEAR, date(YEAR, 12, 31), office_scope("O1"))

    assert visits(region, "region_director", "Q1") == {
        "target": 1,
        "achieved": 0,
        "pct": 0.0,
        "unit_quarters": 1,
        "unit_quarters_met": 0,
    }
    assert visits(region, "region_director", "Q1-2") == {
        "target": 2,
        "achieved": 2,
        "pct": 100.0,
        "unit_quarters": 2,
        "unit_quarters_met": 1,
    }
    assert visits(office, "region_director", "Q1-2")["target"] == 2
    assert visits(office, "region_director", "Q1-2")["achieved"] == 0


def test_several_assistant_directors_are_one_unit_each(world, make):
    first = make.user(role="executive", office=world["region"], exec_role="assistant_director")
    second = make.user(role="executive", office=world["region"], exec_role="assistant_director")
    make.user(
        role="executive", office=world["region"], exec_role="assistant_director", active=False
    )
    stand_in = make.user(role="regional_staff", office=world["region"])
    accounts = [make.account(office=world["O1"], tier="STAR") for _ in range(4)]
    for account in accounts[:3]:
        make.activity(
            account, "EXV", date(YEAR, 1, 20), performed_by=first, exec_role="assistant_director"
        )
    make.activity(
        accounts[3], "EXV", date(YEAR, 2, 20), performed_by=second, exec_role="assistant_director"
    )
    make.activity(
        accounts[3], "EXV", date(YEAR, 2, 21), performed_by=stand_in, exec_role="assistant_director"
    )

    report = region_report()
    entry = next(v for v in report["executive_visits"] if v["exec_role"] == "assistant_director")

    assert entry["units"] == 2
    assert visits(report, "assistant_director", "Q1") == {
        "target": 6,
        "achieved": 4,
        "pct": 66.67,
        "unit_quarters": 2,
        "unit_quarters_met": 1,
    }


def test_a_deactivated_assistant_director_counts_in_a_year_they_visited(world, make):
    gone = make.user(
        role="executive", office=world["region"], exec_role="assistant_director", active=False
    )
    account = make.account(office=world["O1"], tier="STAR")
    make.activity(
        account, "EXV", date(YEAR, 1, 20), performed_by=gone, exec_role="assistant_director"
    )

    assert region_report()["executive_visits"][1]["units"] == 1
    assert (
        region_report(year=YEAR + 1, as_of=date(YEAR + 1, 12, 31))["executive_visits"][1]["units"]
        == 0
    )


def test_same_account_visited_twice_in_a_quarter_counts_once(world, make):
    manager = make.user(role="office_manager", office=world["O2"], exec_role="office_manager")
    account = make.account(office=world["O2"], tier="STAR")
    make.activity(
        account, "EXV", date(YEAR, 1, 3), performed_by=manager, exec_role="office_manager"
    )
    make.activity(
        account, "EXV", date(YEAR, 3, 31), performed_by=manager, exec_role="office_manager"
    )
    make.activity(
        account, "EXV", date(YEAR, 4, 1), performed_by=manager, exec_role="office_manager"
    )

    report = cr2_report(YEAR, date(YEAR, 12, 31), office_scope("O2"))

    assert visits(report, "office_manager", "Q1")["achieved"] == 1
    assert visits(report, "office_manager", "Q1-2")["achieved"] == 2


def test_visits_after_as_of_do_not_count(world, make):
    manager = make.user(role="office_manager", office=world["O2"], exec_role="office_manager")
    account = make.account(office=world["O2"], tier="STAR")
    make.activity(
        account, "EXV", date(YEAR, 5, 16), performed_by=manager, exec_role="office_manager"
    )

    report = cr2_report(YEAR, date(YEAR, 5, 15), office_scope("O2"))

    assert visits(report, "office_manager", "Q1-2")["achieved"] == 0
    assert visits(report, "office_manager", "Q1-2")["target"] == 12


def test_seed_figures_for_item_1_2(world, make):
    """The seed reads "target 6, done 6" for Q1 and "target 12, done 12" for Q1-2."""
    manager = make.user(role="office_manager", office=world["O2"], exec_role="office_manager")
    accounts = [make.account(office=world["O2"], tier="STAR") for _ in range(6)]
    for account in accounts:
        make.activity(
            account, "EXV", date(YEAR, 2, 1), performed_by=manager, exec_role="office_manager"
        )
        make.activity(
            account, "EXV", date(YEAR, 5, 1), performed_by=manager, exec_role="office_manager"
        )

    report = cr2_report(YEAR, date(YEAR, 6, 30), office_scope("O2"))

    assert (
        visits(report, "office_manager", "Q1")["target"],
        visits(report, "office_manager", "Q1")["achieved"],
    ) == (6, 6)
    assert (
        visits(report, "office_manager", "Q1-2")["target"],
        visits(report, "office_manager", "Q1-2")["achieved"],
    ) == (12, 12)


def test_counts_of_planning_and_boi_contacts(world, make):
    first = make.account(office=world["O1"], tier="STRATEGIC")
    second = make.account(office=world["B1"], tier=None, tier_from=None)
    elsewhere = make.account(office=world["O2"], tier="STAR")
    make.activity(first, "PLN", date(YEAR, 1, 1))
    make.activity(first, "PLN", date(YEAR, 3, 31))
    make.activity(second, "PLN", date(YEAR, 4, 1))
    make.activity(elsewhere, "PLN", date(YEAR, 2, 1))
    make.activity(first, "PLN", date(YEAR - 1, 12, 31))
    make.activity(second, "BOI", date(YEAR, 8, 1))

    report = cr2_report(YEAR, date(YEAR, 12, 31), office_scope("O1"))

    assert count_cell(report, "PLN", "Q1") == {"activities": 2, "accounts": 1}
    assert count_cell(report, "PLN", "Q1-2") == {"activities": 3, "accounts": 2}
    assert count_cell(report, "BOI", "Q1-2") == {"activities": 0, "accounts": 0}
    assert count_cell(report, "BOI", "Q1-3") == {"activities": 1, "accounts": 1}
    assert count_cell(region_report(), "PLN", "Q1-4") == {"activities": 4, "accounts": 3}


# --- changes to activities and targets ------------------------------------------------------


def test_reimported_ref_moves_an_activity_out_of_a_window(world, make):
    make.account(office=world["O1"], tier="STRATEGIC", account_no="020000000001")
    make.user(office=world["O1"], username="kamr.o1")

    def import_activity(day):
        text = (
            "account_no,type,activity_date,performed_by,ref\n"
            f"020000000001,COM,{day.isoformat()},kamr.o1,CRM-0001\n"
        )
        result = import_file("activities", io.BytesIO(text.encode("utf-8")), "activities.csv")
        assert result.ok, result.errors

    import_activity(date(YEAR, 3, 31))
    assert figures(region_report(), "COM", "STRATEGIC", "Q1") == (1, 1)

    import_activity(date(YEAR, 4, 1))  # the same ref again: updated, never duplicated

    assert figures(region_report(), "COM", "STRATEGIC", "Q1") == (1, 0)
    assert figures(region_report(), "COM", "STRATEGIC", "Q1-2") == (2, 1)
    assert (
        db.session.execute(
            sa.select(sa.func.count()).select_from(Activity).where(Activity.ref == "CRM-0001")
        ).scalar()
        == 1
    )


def test_changed_target_decides_target_met(world, make):
    accounts = [make.account(office=world["O1"], tier="STREAMLINE") for _ in range(5)]
    for account in accounts[:2]:
        make.activity(account, "RBA", date(YEAR, 2, 1))

    assert rule_cell(region_report(), "RBA", "STREAMLINE", "Q1") == {
        "population": 5,
        "met": 2,
        "pct": 40.0,
        "target_met": True,
    }
    target_ops.update_rule(YEAR, "RBA", "STREAMLINE", {"target_pct": "40.01"})
    assert rule_cell(region_report(), "RBA", "STREAMLINE", "Q1")["target_met"] is False


def test_empty_population_has_null_pct_and_target_met(world):
    assert rule_cell(region_report(), "SEM", "STRATEGIC", "Q1") == {
        "population": 0,
        "met": 0,
        "pct": None,
        "target_met": None,
    }


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (1, 800, "0.13"),
        (1, 3, "33.33"),
        (2, 3, "66.67"),
        (1, 8, "12.50"),
        (5, 4, "125.00"),
        (0, 7, "0.00"),
    ],
)
def test_percentage_rounds_half_up_to_two_decimals(part, whole, expected):
    assert percentage(part, whole) == Decimal(expected)


def test_percentage_of_nothing_is_none():
    assert percentage(0, 0) is None


# --- building blocks ---------------------------------------------------------------------


def test_frequency_coverage_by_unit_rolls_branches_into_their_office(world, make):
    rule = RuleTarget("1.1.1", "FMS", "STAR", "year", 1, Decimal(100))
    window = Window(date(YEAR, 1, 1), date(YEAR, 3, 31))
    for office in ("O1", "B1", "O2", "region"):
        account = make.account(office=world[office], tier="STAR")
        if office != "O2":
            make.activity(account, "FMS", date(YEAR, 3, 1))

    found = frequency_coverage(region_scope(), [window], [rule], by_unit=True)

    assert found[world["O1"].id][(rule, window)] == Coverage(population=2, met=2)
    assert found[world["O2"].id][(rule, window)] == Coverage(population=1, met=0)
    assert found[None][(rule, window)] == Coverage(population=1, met=1)


def test_frequency_coverage_of_one_kamr(world, make):
    rule = RuleTarget("1.1.3", "COM", "STATUS", "quarter", 1, Decimal(100))
    window = Window(date(YEAR, 4, 1), date(YEAR, 6, 30))
    kamr = make.user(office=world["O1"])
    mine = make.account(office=world["O1"], tier="STATUS", kamr=kamr)
    make.account(office=world["O1"], tier="STATUS")
    make.activity(mine, "COM", date(YEAR, 4, 1))

    found = frequency_coverage(region_scope(), [window], [rule], kamr_id=kamr.id)

    assert found[(rule, window)] == Coverage(population=1, met=1)


def test_coverage_by_kamr_groups_each_account_under_its_kamr(world, make):
    rule = RuleTarget("1.1.3", "COM", "STATUS", "quarter", 1, Decimal(100))
    window = Window(date(YEAR, 4, 1), date(YEAR, 6, 30))
    first, second = make.user(office=world["O1"]), make.user(office=world["B1"])
    covered = make.account(office=world["O1"], tier="STATUS", kamr=first)
    make.account(office=world["O1"], tier="STATUS", kamr=first)
    make.account(office=world["B1"], tier="STATUS", kamr=second)
    make.account(office=world["O2"], tier="STATUS")
    make.account(office=world["O1"], tier="STAR", kamr=second)
    make.activity(covered, "COM", date(YEAR, 5, 2))

    found = coverage(region_scope(), [(rule, window)], by_kamr=True)

    assert found[first.id][(rule, window)] == Coverage(population=2, met=1)
    assert found[second.id][(rule, window)] == Coverage(population=1, met=0)
    assert found[None][(rule, window)] == Coverage(population=1, met=0)


def test_coverage_by_kamr_matches_the_accounts_behind_each_figure(world, make):
    rules = [year_targets(YEAR).rule(type_, "STAR") for type_ in ("COM", "FMS", "RBA")]
    window = Window(date(YEAR, 1, 1), date(YEAR, 9, 30))
    kamrs = [make.user(office=world["O1"]), make.user(office=world["O1"])]
    for n in range(6):
        account = make.account(office=world["O1"], tier="STAR", kamr=kamrs[n % 2])
        for k in range(n % 3):
            make.activity(account, ("COM", "FMS", "RBA")[n % 3], date(YEAR, 2 + k, 10))
    scope = office_scope("O1")

    found = coverage(scope, [(rule, window) for rule in rules], by_kamr=True)

    for rule in rules:
        for kamr in kamrs:
            behind = db.session.execute(accounts_behind(scope, rule, window)).all()
            mine = [done for account, done in behind if account.kamr_id == kamr.id]
            expected = Coverage(
                population=len(mine), met=sum(done >= rule.min_count for done in mine)
            )
            assert found[kamr.id][(rule, window)] == expected


def test_coverage_is_grouped_by_unit_or_by_kamr_not_both(world):
    rule = RuleTarget("1.1.3", "COM", "STATUS", "quarter", 1, Decimal(100))
    pair = (rule, Window(date(YEAR, 1, 1), date(YEAR, 3, 31)))
    with pytest.raises(ValueError):
        coverage(region_scope(), [pair], by_unit=True, by_kamr=True)


@pytest.mark.parametrize(
    ("met", "expected"), [(True, ["met"]), (False, ["missed"]), (None, ["met", "missed"])]
)
def test_accounts_behind_a_cell(world, make, met, expected):
    rule = year_targets(YEAR).rule("COM", "STAR")
    accounts = {
        "met": make.account(office=world["O1"], tier="STAR", name="met"),
        "missed": make.account(office=world["B1"], tier="STAR", name="missed"),
    }
    make.account(office=world["O2"], tier="STAR", name="elsewhere")
    make.account(office=world["O1"], tier="STATUS", name="other tier")
    make.activity(accounts["met"], "COM", date(YEAR, 5, 1))
    make.activity(accounts["missed"], "COM", date(YEAR, 3, 1))

    windows = cell_windows(rule, YEAR, "Q1-2", date(YEAR, 12, 31))
    rows = db.session.execute(
        accounts_behind(office_scope("O1"), rule, windows[-1], met=met).order_by("name")
    ).all()

    assert windows == [
        Window(date(YEAR, 1, 1), date(YEAR, 3, 31)),
        Window(date(YEAR, 4, 1), date(YEAR, 6, 30)),
    ]
    assert [row.Account.name for row in rows] == expected
