"""The monthly CRM-Plus-style summary (SPEC section 6.2): figures, snapshots and differences."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from kamcrm.compliance.engine import cr2_report
from kamcrm.errors import NotFound
from kamcrm.extensions import db
from kamcrm.org.scope import office_scope, region_scope
from kamcrm.periods import BANGKOK, is_late_entry
from kamcrm.reports.monthly import (
    build_summary,
    keep_reported_summaries,
    kept_summary,
    monthly_report,
    monthly_report_for,
    narrow_to_office,
)

REPORTED_AT = datetime(2021, 2, 6, 0, 30, tzinfo=BANGKOK)


@pytest.fixture
def world(make):
    """Region R2: office CBI with branch CBI-B, office RYG; one KAMR per office."""
    region = make.region()
    cbi = make.office(code="CBI", office_class="1")
    branch = make.branch(cbi, code="CBI-B")
    ryg = make.office(code="RYG", office_class="2")
    return {
        "region": region,
        "CBI": cbi,
        "CBI-B": branch,
        "RYG": ryg,
        "kamr_cbi": make.user(office=cbi, username="somchai"),
        "kamr_ryg": make.user(office=ryg, username="suda"),
    }


def logged(
    make, account, performer, type_="COM", day=date(2021, 1, 15), recorded_at=None, **fields
):
    """An activity recorded at ``recorded_at`` (default: on its own day), late or not by the rule."""
    recorded_at = recorded_at or datetime.combine(
        day, datetime.min.time(), tzinfo=BANGKOK
    ) + timedelta(hours=10)
    return make.activity(
        account,
        type=type_,
        activity_date=day,
        performed_by=performer,
        recorded_at=recorded_at,
        is_late=is_late_entry(day, recorded_at),
        **fields,
    )


def row(summary, code):
    return next(r for r in summary["offices"] if r["code"] == code)


def cell(part, type_, tier):
    return next(c for c in part["coverage"] if c["type"] == type_ and c["tier"] == tier)


# --- figures -----------------------------------------------------------------------------------


def test_branch_accounts_roll_up_into_their_office_and_the_total_adds_the_offices(world, make):
    make.account(office=world["CBI"], tier="STRATEGIC")
    make.account(office=world["CBI-B"], tier="STRATEGIC")
    make.account(office=world["RYG"], tier="STAR")
    summary = build_summary(2021, 1, region_scope())
    assert [r["code"] for r in summary["offices"]] == ["CBI", "RYG"]
    assert row(summary, "CBI")["accounts"]["STRATEGIC"] == 2
    assert summary["total"]["accounts"] == {"STRATEGIC": 2, "STAR": 1, "STATUS": 0, "STREAMLINE": 0}


@pytest.mark.parametrize(
    "month, tier",
    [(1, "STAR"), (2, "STATUS"), (3, None)],
    ids=["before-the-change", "after-the-change", "after-closing"],
)
def test_accounts_are_counted_by_their_tier_on_the_months_last_day(world, make, month, tier):
    account = make.account(office=world["CBI"], tier="STAR", closed_on=date(2021, 3, 10))
    make.tier(account, "STATUS", date(2021, 2, 1))
    accounts = build_summary(2021, month, region_scope())["total"]["accounts"]
    assert {name: n for name, n in accounts.items() if n} == ({tier: 1} if tier else {})


@pytest.mark.parametrize(
    "status, day, counted",
    [
        ("done", date(2021, 1, 31), 1),
        ("planned", date(2021, 1, 20), 0),
        ("cancelled", date(2021, 1, 20), 0),
        ("done", date(2021, 2, 1), 0),
        ("done", date(2020, 12, 31), 0),
    ],
)
def test_only_done_activities_dated_in_the_month_are_counted(world, make, status, day, counted):
    account = make.account(office=world["RYG"])
    logged(make, account, world["kamr_ryg"], "FMS", day, status=status)
    assert (
        row(build_summary(2021, 1, region_scope()), "RYG")["activities"]["FMS"]["activities"]
        == counted
    )


def test_activities_per_type_count_activities_and_distinct_accounts(world, make):
    first, second = make.account(office=world["CBI"]), make.account(office=world["CBI-B"])
    for account, day in (
        (first, date(2021, 1, 4)),
        (first, date(2021, 1, 20)),
        (second, date(2021, 1, 9)),
    ):
        logged(make, account, world["kamr_cbi"], "COM", day)
    assert row(build_summary(2021, 1, region_scope()), "CBI")["activities"]["COM"] == {
        "activities": 3,
        "accounts": 2,
    }


@pytest.mark.parametrize("month", [1, 2, 3, 5, 12])
@pytest.mark.parametrize("scope_code", [None, "CBI", "RYG"])
def test_year_to_date_fms_and_rba_coverage_is_the_engines_cr2_cell_at_the_months_end(
    world, make, month, scope_code
):
    accounts = [
        make.account(office=world[code], tier=tier)
        for code, tier in (
            ("CBI", "STRATEGIC"),
            ("CBI-B", "STAR"),
            ("RYG", "STRATEGIC"),
            ("RYG", "STREAMLINE"),
        )
    ]
    logged(make, accounts[0], world["kamr_cbi"], "FMS", date(2021, 1, 5))
    logged(make, accounts[1], world["kamr_cbi"], "RBA", date(2021, 2, 5))
    logged(make, accounts[2], world["kamr_ryg"], "FMS", date(2021, 4, 30))
    logged(make, accounts[3], world["kamr_ryg"], "RBA", date(2021, 3, 3))
    scope = office_scope(scope_code) if scope_code else region_scope()
    summary = build_summary(2021, month, scope)
    month_end = date(2021, month + 1, 1) - timedelta(days=1) if month < 12 else date(2021, 12, 31)
    cr2 = cr2_report(2021, month_end, scope)
    column = ("Q1", "Q1-2", "Q1-3", "Q1-4")[(month - 1) // 3]
    for rule in cr2["rules"]:
        if rule["type"] in ("FMS", "RBA"):
            expected = rule["cumulative"][column]
            got = cell(summary["total"], rule["type"], rule["tier"])
            assert (got["population"], got["met"], got["pct"]) == (
                expected["population"],
                expected["met"],
                expected["pct"],
            )


@pytest.mark.parametrize("month, met", [(3, 1), (4, 0), (5, 1)])
def test_com_coverage_counts_the_quarter_to_date_only(world, make, month, met):
    account = make.account(office=world["RYG"], tier="STAR")
    logged(make, account, world["kamr_ryg"], "COM", date(2021, 2, 10))
    logged(make, account, world["kamr_ryg"], "COM", date(2021, 5, 10))
    com = cell(row(build_summary(2021, month, region_scope()), "RYG"), "COM", "STAR")
    assert (com["population"], com["met"]) == (1, met)
    assert com["window"] == "period_to_date"


def test_executive_visits_show_the_month_and_the_quarter_against_the_office_quota(world, make):
    first, second = make.account(office=world["CBI"]), make.account(office=world["CBI-B"])
    manager = make.user(role="office_manager", office=world["CBI"], exec_role="office_manager")
    logged(make, first, manager, "EXV", date(2021, 1, 10), exec_role="office_manager")
    logged(make, first, manager, "EXV", date(2021, 2, 10), exec_role="office_manager")
    logged(make, second, manager, "EXV", date(2021, 2, 12), exec_role="office_manager")
    visits = row(build_summary(2021, 2, region_scope()), "CBI")["executive_visits"][
        "office_manager"
    ]
    assert visits == {"visits": 2, "accounts": 2, "quarter_accounts": 2, "quarter_target": 6}


@pytest.mark.parametrize(
    "scope", [region_scope, lambda: office_scope("CBI")], ids=["region", "office"]
)
def test_an_account_visited_by_two_executives_is_one_exv_account(world, make, scope):
    account = make.account(office=world["CBI"])
    manager = make.user(role="office_manager", office=world["CBI"], exec_role="office_manager")
    director = make.user(role="executive", office=world["region"], exec_role="region_director")
    logged(make, account, manager, "EXV", date(2021, 2, 3), exec_role="office_manager")
    logged(make, account, director, "EXV", date(2021, 2, 17), exec_role="region_director")
    summary = build_summary(2021, 2, scope())
    assert row(summary, "CBI")["activities"]["EXV"] == {"activities": 2, "accounts": 1}
    assert summary["total"]["activities"]["EXV"] == {"activities": 2, "accounts": 1}
    visits = row(summary, "CBI")["executive_visits"]
    assert (visits["office_manager"]["accounts"], visits["region_director"]["accounts"]) == (1, 1)


def test_late_entries_are_listed_with_their_accounts_and_people(world, make):
    account = make.account(
        office=world["CBI-B"], account_no="020000000777", name="บริษัท ไทยสตีล จำกัด"
    )
    on_time = datetime(2021, 2, 5, 23, 59, tzinfo=BANGKOK)
    late = datetime(2021, 2, 6, 0, 1, tzinfo=BANGKOK)
    logged(make, account, world["kamr_cbi"], "FMS", date(2021, 1, 20), recorded_at=on_time)
    logged(make, account, world["kamr_cbi"], "RBA", date(2021, 1, 21), recorded_at=late)
    summary = build_summary(2021, 1, region_scope())
    assert row(summary, "CBI")["late"] == {"month": 1, "year_to_date": 1}
    [entry] = summary["late_entries"]
    assert (entry["type"], entry["account_no"], entry["office"], entry["performed_by"]) == (
        "RBA",
        "020000000777",
        "CBI",
        "somchai",
    )
    assert entry["deadline"] == "2021-02-05"
    assert summary["late_by_user"] == [
        {
            "username": "somchai",
            "full_name": world["kamr_cbi"].full_name,
            "offices": ["CBI"],
            "entries": 1,
            "in_month": 1,
            "accounts": ["020000000777"],
        }
    ]


def test_an_office_scope_shows_only_that_office(world, make):
    make.account(office=world["CBI"])
    make.account(office=world["RYG"], tier="STAR")
    summary = build_summary(2021, 1, office_scope("RYG"))
    assert [r["code"] for r in summary["offices"]] == ["RYG"]
    assert (
        summary["total"]["accounts"]["STRATEGIC"] == 0 and summary["total"]["accounts"]["STAR"] == 1
    )


@pytest.mark.parametrize("code", ["RYG", "CBI-B"])
def test_an_office_with_nothing_to_report_still_has_its_row_of_zeros(world, code):
    summary = build_summary(2021, 1, office_scope(code))
    assert [r["code"] for r in summary["offices"]] == [code]
    assert summary["total"]["accounts"] == {"STRATEGIC": 0, "STAR": 0, "STATUS": 0, "STREAMLINE": 0}


def test_accounts_of_the_regional_office_get_a_row_of_their_own(world, make):
    make.account(office=world["region"], tier="STATUS")
    summary = build_summary(2021, 1, region_scope())
    assert row(summary, "R2")["accounts"]["STATUS"] == 1
    assert summary["total"]["accounts"]["STATUS"] == 1


def test_each_offices_part_of_the_region_summary_is_its_own_summary(world, make):
    manager = make.user(role="office_manager", office=world["RYG"])
    for code, tier in (("CBI", "STRATEGIC"), ("CBI-B", "STATUS"), ("RYG", "STREAMLINE")):
        account = make.account(office=world[code], tier=tier)
        logged(make, account, manager, "COM", date(2021, 1, 3))
        logged(make, account, manager, "EXV", date(2021, 1, 4), exec_role="office_manager")
        logged(
            make,
            account,
            manager,
            "RBA",
            date(2021, 1, 5),
            recorded_at=datetime(2021, 3, 1, tzinfo=timezone.utc),
        )
    region = build_summary(2021, 1, region_scope())
    for code in ("CBI", "RYG"):
        assert narrow_to_office(region, code) == build_summary(2021, 1, office_scope(code))


# --- as reported, and as of now ----------------------------------------------------------------


def test_the_job_keeps_the_region_and_every_class_1_to_3_office_once(world):
    first = keep_reported_summaries(2021, 1, REPORTED_AT)
    second = keep_reported_summaries(2021, 1, REPORTED_AT + timedelta(days=1))
    assert first.startswith("kept 3 ") and second.startswith("kept 0 ")
    assert kept_summary(2021, 1, "CBI-B", "reported") is None
    assert kept_summary(2021, 1, "CBI", "reported").generated_at == REPORTED_AT


def test_a_late_entry_changes_as_of_now_but_not_as_reported(world, make):
    account = make.account(office=world["CBI"], tier="STAR")
    logged(make, account, world["kamr_cbi"], "COM", date(2021, 1, 8))
    keep_reported_summaries(2021, 1, REPORTED_AT)
    late = logged(
        make,
        account,
        world["kamr_cbi"],
        "FMS",
        date(2021, 1, 28),
        recorded_at=datetime(2021, 2, 12, 9, tzinfo=BANGKOK),
    )
    now = datetime(2021, 2, 15, tzinfo=BANGKOK)

    as_reported = monthly_report("2021-01", region_scope(), now, as_reported=True)
    as_of_now = monthly_report("2021-01", region_scope(), now)

    assert as_reported["total"]["activities"]["FMS"]["activities"] == 0
    assert as_reported["total"]["late"]["month"] == 0
    assert as_of_now["total"]["activities"]["FMS"]["activities"] == 1
    assert as_of_now["total"]["late"]["month"] == 1
    assert cell(as_of_now["total"], "FMS", "STAR")["met"] == 1
    for view in (as_reported, as_of_now):
        assert datetime.fromisoformat(view["reported_at"]) == REPORTED_AT
        [change] = view["changes"]["activities"]
        assert (change["id"], change["change"], change["is_late"]) == (late.id, "added", True)
        moved = {
            (f["office"], f["figure"]): (f["reported"], f["now"])
            for f in view["changes"]["figures"]
        }
        assert moved[("CBI", "activities.FMS.activities")] == (0, 1)
        assert moved[("R2", "late.month")] == (0, 1)


@pytest.mark.parametrize("edit", ["cancel", "redate", "delete", "change"])
def test_changes_since_reported_list_every_activity_that_changed_or_went_away(world, make, edit):
    account = make.account(office=world["RYG"])
    activity = logged(make, account, world["kamr_ryg"], "COM", date(2021, 1, 8))
    keep_reported_summaries(2021, 1, REPORTED_AT)
    if edit == "cancel":
        activity.status = "cancelled"
    elif edit == "redate":
        activity.activity_date = date(2021, 2, 8)
    elif edit == "change":
        activity.summary = "แก้ไขรายละเอียด"
    else:
        db.session.delete(activity)
    db.session.flush()
    changes = monthly_report("2021-01", region_scope(), REPORTED_AT + timedelta(days=9))["changes"][
        "activities"
    ]
    expected = {"cancel": "removed", "redate": "removed", "delete": "deleted", "change": "changed"}[
        edit
    ]
    assert [(c["id"], c["change"]) for c in changes] == [(activity.id, expected)]


@pytest.mark.parametrize("as_reported", [False, True])
def test_without_changes_the_figures_are_the_same_and_nothing_is_compared(world, make, as_reported):
    account = make.account(office=world["CBI"], tier="STAR")
    logged(make, account, world["kamr_cbi"], "COM", date(2021, 1, 8))
    keep_reported_summaries(2021, 1, REPORTED_AT)
    late = datetime(2021, 2, 12, 9, tzinfo=BANGKOK)
    logged(make, account, world["kamr_cbi"], "FMS", date(2021, 1, 28), recorded_at=late)
    now = datetime(2021, 2, 15, tzinfo=BANGKOK)

    full = monthly_report("2021-01", region_scope(), now, as_reported=as_reported)
    plain = monthly_report("2021-01", region_scope(), now, as_reported=as_reported, changes=False)

    assert full["changes"]["activities"] and plain["changes"] is None
    assert {**full, "changes": None} == plain


def test_a_summary_without_counted_has_the_same_figures(world, make):
    account = make.account(office=world["RYG"], tier="STATUS")
    logged(make, account, world["kamr_ryg"], "RBA", date(2021, 1, 20))

    summary = build_summary(2021, 1, region_scope())
    lighter = build_summary(2021, 1, region_scope(), with_counted=False)

    assert summary["counted"] and "counted" not in lighter
    assert {key: value for key, value in summary.items() if key != "counted"} == lighter


def test_as_reported_before_the_job_ran_is_not_found(world):
    with pytest.raises(NotFound, match="2021-02-05"):
        monthly_report("2021-01", region_scope(), REPORTED_AT, as_reported=True)


def test_an_on_demand_summary_is_kept_when_asked(world):
    user = world["kamr_cbi"]
    view = monthly_report("2021-01", office_scope("CBI"), REPORTED_AT, keep=True, actor=user)
    kept = kept_summary(2021, 1, "CBI", "on_demand")
    assert (view["kind"], view["changes"]) == ("on_demand", None)
    assert (kept.generated_at, kept.generated_by_id) == (REPORTED_AT, user.id)
    assert "counted" not in view and "counted" in kept.data


def test_a_kamr_sees_their_office_and_nothing_outside_it(world, make):
    kamr = world["kamr_ryg"]
    assert monthly_report_for(kamr, "2021-01", None, REPORTED_AT)["scope"] == "RYG"
    with pytest.raises(NotFound):
        monthly_report_for(kamr, "2021-01", "CBI", REPORTED_AT)
