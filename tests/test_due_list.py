"""The due list: what each account still needs this period, most urgent first."""

from __future__ import annotations

import json
from datetime import date

import pytest

from kamcrm.compliance import operations as target_ops
from kamcrm.compliance.due import due_count, due_list
from kamcrm.compliance.engine import cr2_report
from kamcrm.org.scope import office_scope, region_scope

TODAY = date(2021, 5, 20)  # Q2, H1


@pytest.fixture
def world(make):
    region = make.region()
    o1 = make.office(code="O1", office_class="1")
    return {
        "region": region,
        "O1": o1,
        "B1": make.branch(o1, code="B1"),
        "O2": make.office(code="O2"),
    }


def needs(items, account=None):
    return sorted(
        (i.type, i.needed) for i in items if account is None or i.account_no == account.account_no
    )


def test_each_tier_gets_its_rules_in_their_current_period(world, make):
    strategic = make.account(office=world["O1"], tier="STRATEGIC")
    star = make.account(office=world["O1"], tier="STAR")
    streamline = make.account(office=world["O1"], tier="STREAMLINE")

    items = due_list(region_scope(), TODAY)

    assert needs(items, strategic) == [("COM", 1), ("FMS", 1), ("RBA", 1), ("SEM", 1)]
    assert needs(items, star) == [("COM", 1), ("FMS", 1), ("RBA", 1)]
    assert needs(items, streamline) == [("COM", 1), ("RBA", 1)]
    periods = {(i.account_no, i.type): (i.period_start, i.period_end) for i in items}
    assert periods[(star.account_no, "COM")] == (date(2021, 4, 1), date(2021, 6, 30))
    assert periods[(streamline.account_no, "COM")] == (date(2021, 1, 1), date(2021, 6, 30))
    assert periods[(star.account_no, "FMS")] == (date(2021, 1, 1), date(2021, 12, 31))


def test_done_activities_in_the_period_clear_the_need(world, make):
    account = make.account(office=world["O1"], tier="STAR")
    make.activity(account, "FMS", date(2021, 1, 2))  # this year: counts
    make.activity(account, "COM", date(2021, 3, 31))  # last quarter: does not
    make.activity(account, "RBA", TODAY)  # today counts
    make.activity(account, "COM", date(2021, 5, 1), status="planned")

    items = due_list(region_scope(), TODAY)

    assert needs(items, account) == [("COM", 1)]
    assert items[0].planned == 0  # the planned one lies before today


def test_planned_activities_ahead_are_shown(world, make):
    account = make.account(office=world["O1"], tier="STAR")
    make.activity(account, "COM", date(2021, 6, 2), status="planned")
    item = next(i for i in due_list(region_scope(), TODAY) if i.type == "COM")
    assert (item.done, item.planned, item.needed) == (0, 1, 1)


def test_needed_is_min_count_minus_done(world, make):
    target_ops.update_rule(2021, "RBA", "STAR", {"min_count": 3})
    account = make.account(office=world["O1"], tier="STAR")
    make.activity(account, "RBA", date(2021, 2, 1))
    item = next(i for i in due_list(region_scope(), TODAY) if i.type == "RBA")
    assert (item.min_count, item.done, item.needed) == (3, 1, 2)


def test_most_urgent_first(world, make):
    target_ops.update_rule(2021, "FMS", "STATUS", {"min_count": 2})
    strategic = make.account(office=world["O1"], tier="STRATEGIC", account_no="A-STRATEGIC")
    status = make.account(office=world["O1"], tier="STATUS", account_no="A-STATUS")

    items = due_list(region_scope(), TODAY)
    order = [(i.days_left, i.needed, i.tier, i.type) for i in items]

    # The quarter ends first (41 days), COM for the higher tier before the lower one; then
    # the half (STREAMLINE: none here); then the year, the STATUS FMS needing 2 first.
    assert order == sorted(
        order,
        key=lambda o: (o[0], -o[1], ["STRATEGIC", "STAR", "STATUS", "STREAMLINE"].index(o[2])),
    )
    assert (
        items[0].account_no == strategic.account_no
        and items[0].type == "COM"
        and items[0].days_left == 41
    )
    assert items[1].account_no == status.account_no and items[1].type == "COM"
    assert (items[2].account_no, items[2].type, items[2].needed) == (status.account_no, "FMS", 2)


def test_days_left_is_zero_on_the_last_day(world, make):
    make.account(office=world["O1"], tier="STAR")
    items = due_list(region_scope(), date(2021, 6, 30))
    assert next(i for i in items if i.type == "COM").days_left == 0


@pytest.mark.parametrize(
    ("opened_on", "closed_on", "due"),
    [
        (None, None, True),
        (date(2021, 5, 21), None, False),
        (None, TODAY, False),
        (None, date(2021, 5, 21), True),
    ],
)
def test_only_accounts_active_today(world, make, opened_on, closed_on, due):
    make.account(office=world["O1"], tier="STAR", opened_on=opened_on, closed_on=closed_on)
    assert bool(due_list(region_scope(), TODAY)) is due


def test_tier_today_decides_the_rules(world, make):
    account = make.account(office=world["O1"], tier="STRATEGIC")
    make.tier(account, "STREAMLINE", TODAY)
    untiered = make.account(office=world["O1"], tier="STAR")
    make.tier(untiered, None, date(2021, 5, 1))

    items = due_list(region_scope(), TODAY)

    assert needs(items, account) == [("COM", 1), ("RBA", 1)]
    assert needs(items, untiered) == []


def test_scope_kamr_and_office(world, make):
    kamr = make.user(office=world["O1"], username="somchai", full_name="สมชาย ใจดี")
    mine = make.account(office=world["B1"], tier="STREAMLINE", kamr=kamr)
    make.account(office=world["O1"], tier="STREAMLINE")
    make.account(office=world["O2"], tier="STREAMLINE")
    make.account(office=world["region"], tier="STREAMLINE")

    assert {i.account_no for i in due_list(region_scope(), TODAY, kamr_id=kamr.id)} == {
        mine.account_no
    }
    assert len({i.account_no for i in due_list(office_scope("O1"), TODAY)}) == 2
    assert len({i.account_no for i in due_list(region_scope(), TODAY)}) == 4
    item = due_list(region_scope(), TODAY, kamr_id=kamr.id)[0]
    assert (item.kamr_username, item.kamr_name, item.office_code) == ("somchai", "สมชาย ใจดี", "B1")


def test_paging_and_count(world, make):
    for _ in range(3):
        make.account(office=world["O1"], tier="STREAMLINE")
    everything = due_list(region_scope(), TODAY)
    assert due_count(region_scope(), TODAY) == len(everything) == 6
    assert due_list(region_scope(), TODAY, limit=2, offset=2) == everything[2:4]


def test_due_list_agrees_with_the_cr2_report_as_of_today(world, make):
    accounts = [
        make.account(office=world["O1"], tier=tier)
        for tier in ("STRATEGIC", "STAR", "STATUS", "STREAMLINE")
    ]
    make.activity(accounts[0], "FMS", date(2021, 2, 1))
    make.activity(accounts[1], "COM", date(2021, 4, 1))
    make.activity(accounts[3], "COM", date(2021, 2, 1))
    report = cr2_report(2021, TODAY, region_scope())
    items = due_list(region_scope(), TODAY)

    for rule in report["rules"]:
        if rule["period"] == "year":
            cell = rule["cumulative"]["Q1-2"]
            missing = sum(1 for i in items if i.type == rule["type"] and i.tier == rule["tier"])
            assert cell["population"] - cell["met"] == missing, (rule["type"], rule["tier"])


# --- CLI ------------------------------------------------------------------------------------


def test_cli_text_for_an_office(runner, world, make):
    make.account(office=world["O1"], tier="STAR", account_no="ACC-1")
    result = runner.invoke(args=["report", "due", "--office", "O1", "--today", "2021-05-20"])
    assert result.exit_code == 0, result.output
    assert "ACC-1" in result.output and "3 item(s)" in result.output


def test_cli_json_for_a_kamr(runner, world, make):
    kamr = make.user(office=world["O1"], username="kamr1")
    make.account(office=world["O1"], tier="STREAMLINE", account_no="ACC-2", kamr=kamr)
    make.account(office=world["O1"], tier="STREAMLINE", account_no="ACC-3")
    result = runner.invoke(
        args=["report", "due", "--user", "kamr1", "--today", "2021-05-20", "--format", "json"]
    )
    data = json.loads(result.output)
    assert data["total"] == 2
    assert {item["account_no"] for item in data["items"]} == {"ACC-2"}
    assert data["items"][0]["period_end"] == "2021-06-30"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--office", "NOPE"], "no office has the code"),
        (["--user", "nobody"], "no user is called"),
        (["--today", "2021-13-01"], "not a date"),
        (["--office", "O1", "--user", "x"], "not both"),
    ],
)
def test_cli_bad_input(runner, world, args, message):
    result = runner.invoke(args=["report", "due", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
