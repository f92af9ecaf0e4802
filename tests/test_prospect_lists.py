"""The prospect lists of SPEC section 10, hand-computed at every threshold: growth exactly
10 %, utilisation exactly 50 % and 70 %, 250 kVA exactly, missing months, and peak kVA from
``peak_kva`` or from ``peak_kw`` ÷ the power factor; snapshots, their diff, visits, coverage."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from kamcrm.activities import operations as activity_ops
from kamcrm.activities.models import Activity
from kamcrm.errors import Forbidden, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.scope import office_scope, region_scope
from kamcrm.prospects import operations, queries
from kamcrm.prospects.models import Consumption

YEAR = 2025
NOW = datetime(2025, 2, 3, 3, 0, tzinfo=timezone.utc)  # 2025-02-03 in Bangkok


def months(account, year, kwh, *, count=12, peak_kw=None, peak_kva=None, last_kwh=None):
    """Store ``count`` months of ``year`` for ``account``: ``kwh`` each (the last ``last_kwh``)."""
    for month in range(1, count + 1):
        energy = last_kwh if (last_kwh is not None and month == count) else kwh
        db.session.add(
            Consumption(
                account_id=account.id,
                month=date(year, month, 1),
                kwh=energy,
                peak_kw=peak_kw,
                peak_kva=peak_kva,
            )
        )
    db.session.flush()


@pytest.fixture
def world(make):
    region = make.region("R2")
    office = make.office(code="CBI", parent=region)
    branch = make.branch(office, code="LCB")
    other = make.office(code="RYG", parent=region)
    kamr = make.user(role="kamr", office=office, username="kamr1")
    staff = make.user(role="regional_staff", office=region, username="staff1")
    accounts = {}

    def account(key, kva, office=office, **fields):
        accounts[key] = make.account(
            office=office, account_no=key, transformer_kva=kva, kamr_id=kamr.id, **fields
        )
        return accounts[key]

    # growth exactly 10 % (12,000 → 13,200 kWh) and utilisation exactly 50 % (250 of 500 kVA)
    months(account("G10U50", 500), YEAR - 2, 1000)
    months(accounts["G10U50"], YEAR - 1, 1100, peak_kva=250)
    # growth 9.99 % (13,198.80 kWh): not High Value 1
    months(account("G999", 500), YEAR - 2, 1000)
    months(accounts["G999"], YEAR - 1, 1100, last_kwh=1098.8, peak_kva=250)
    # utilisation 49.99 % with growth 20 %: not High Value 1
    months(account("U4999", 1000, office=branch), YEAR - 2, 1000)
    months(accounts["U4999"], YEAR - 1, 1200, peak_kva=499.9)
    # utilisation exactly 70 % from kW only: 595 kW ÷ 0.85 = 700 kVA of 1,000
    months(account("KW70", 1000, office=other), YEAR - 2, 1000)
    months(accounts["KW70"], YEAR - 1, 1000, peak_kw=595)
    # 69.99 %: not High Value 2
    months(account("U6999", 1000), YEAR - 2, 1000)
    months(accounts["U6999"], YEAR - 1, 1000, peak_kva=699.9)
    # peak_kva wins over peak_kw: 300 kVA (not 400 ÷ 0.85 = 470.6) of 400 = 75 %
    months(account("KVA75", 400), YEAR - 2, 1000)
    months(accounts["KVA75"], YEAR - 1, 1000, peak_kw=400, peak_kva=300)
    # 11 months in Y-2: incomplete data (no growth), still 80 % utilised
    months(account("MISS", 100), YEAR - 2, 1000, count=11)
    months(accounts["MISS"], YEAR - 1, 1000, peak_kva=80)
    # transformers of exactly 250 kVA and just over, without consumption
    account("T250", 250)
    account("T251", 250.01)
    return {
        "office": office,
        "branch": branch,
        "other": other,
        "region": region,
        "kamr": kamr,
        "staff": staff,
        "accounts": accounts,
    }


def members(year=YEAR, **options):
    rows, _ = queries.list_rows(year, **options)
    found = {}
    for row in rows:
        found.setdefault(row["list_code"], set()).add(row["account_id"])
    return found


def numbers(world, ids):
    by_id = {account.id: key for key, account in world["accounts"].items()}
    return sorted(by_id[i] for i in ids)


def test_high_value_lists_at_their_thresholds(world):
    found = members()
    assert numbers(world, found.get("HV1", ())) == ["G10U50"]
    assert numbers(world, found.get("HV2", ())) == ["KVA75", "KW70", "MISS"]


def test_incomplete_data_lists_accounts_missing_months(world):
    assert numbers(world, members().get("INCOMPLETE", ())) == ["MISS"]


def test_the_figures_and_clauses_are_kept_with_each_member(world):
    rows, _ = queries.list_rows(YEAR)
    g10 = next(r for r in rows if r["list_code"] == "HV1")
    assert queries.rounded(g10["growth"]) == queries.rounded(10.0)
    assert g10["months_prev"] == g10["months_prev2"] == 12
    assert g10["clause"] == "growth 10.00% ≥ 10% and utilisation 50.00% ≥ 50%"
    kw70 = next(r for r in rows if r["account_id"] == world["accounts"]["KW70"].id)
    assert str(queries.rounded(kw70["peak_kva_prev"])) == "700.00"
    miss = next(r for r in rows if r["list_code"] == "INCOMPLETE")
    assert miss["growth"] is None
    assert miss["clause"].startswith("11 of 12 months in Y-2, 12 of 12 months in Y-1")


def test_the_power_factor_and_thresholds_are_the_years_settings(world):
    operations.save_settings(YEAR, {"power_factor": "0.8", "hv2_utilisation_pct": "75"})
    found = members()
    # 595 kW ÷ 0.8 = 743.75 kVA: 74.38 %, under the year's 75 %; KVA75 is exactly on it
    assert numbers(world, found.get("HV2", ())) == ["KVA75", "MISS"]
    assert (
        str(queries.settings_for(YEAR + 1).power_factor) == "0.85"
    )  # another year keeps the defaults


def test_settings_are_refused_out_of_range_and_need_targets_edit(world, make):
    with pytest.raises(ValidationFailed) as refused:
        operations.save_settings(YEAR, {"power_factor": "1.5", "hv1_growth_pct": "x"})
    assert set(refused.value.errors) == {"power_factor", "hv1_growth_pct"}
    with pytest.raises(Forbidden):
        operations.save_settings(YEAR, {"power_factor": "0.9"}, make.user(role="office_manager"))


@pytest.fixture
def service_jobs(world, make):
    """Add a service job (the surveys domain's) of an account's office, on that account."""
    from kamcrm.org.models import Office

    def add(account, kind, day):
        make.service_job(
            db.session.get(Office, account.office_id),
            kind=kind,
            completed_on=day,
            account_id=account.id,
        )

    return add


@pytest.fixture
def serviced(world, service_jobs):
    """Every account had a maintenance job before Y−2, so no Maintenance list takes it: a test
    of the High Value lists and their visits then counts those lists alone."""
    for account in world["accounts"].values():
        service_jobs(account, "maintenance", date(YEAR - 3, 6, 1))


def test_maintenance_lists(world, service_jobs):
    a = world["accounts"]
    service_jobs(a["G999"], "maintenance", date(YEAR - 2, 1, 1))  # in Y-2: Maintenance 1
    service_jobs(
        a["U6999"], "maintenance", date(YEAR - 3, 12, 31)
    )  # before Y-2: not MT1, but "ever"
    service_jobs(a["KW70"], "extension", date(YEAR - 1, 5, 1))  # not a maintenance job
    service_jobs(a["T251"], "maintenance", date(YEAR, 1, 5))  # in Y itself: not MT1, but "ever"
    found = members()
    assert numbers(world, found.get("MT1", ())) == ["G999"]
    # > 250 kVA and no maintenance job ever: T250 is exactly 250 kVA, U6999 and T251 had one
    assert numbers(world, found.get("MT2", ())) == ["G10U50", "KVA75", "KW70", "U4999"]


def test_a_snapshot_is_numbered_and_regenerating_shows_who_joined_and_left(world):
    first = operations.generate_snapshot(YEAR, world["staff"], now=NOW)
    assert (first.version, first.generated_on) == (1, date(2025, 2, 3))
    counts = queries.list_counts(first)
    assert (counts["HV1"], counts["HV2"], counts["INCOMPLETE"]) == (1, 3, 1)
    # KVA75's peak rises past nothing new; U6999 reaches 70 %; KVA75 drops to 50 %
    a = world["accounts"]
    db.session.execute(
        sa.update(Consumption)
        .where(Consumption.account_id == a["U6999"].id, Consumption.month == date(YEAR - 1, 6, 1))
        .values(peak_kva=700)
    )
    db.session.execute(
        sa.update(Consumption).where(Consumption.account_id == a["KVA75"].id).values(peak_kva=200)
    )
    later = datetime(2025, 5, 1, 3, 0, tzinfo=timezone.utc)
    second = operations.generate_snapshot(YEAR, world["staff"], now=later)
    assert second.version == 2
    diff = queries.snapshot_diff(first, second)
    assert diff == {
        "joined": [("HV2", "U6999", a["U6999"].name)],
        "left": [("HV2", "KVA75", a["KVA75"].name)],
    }
    listed_on = dict(
        db.session.execute(
            sa.text(
                "SELECT account_id, listed_on FROM prospect_members WHERE snapshot_id = :s AND list_code = 'HV2'"
            ),
            {"s": second.id},
        ).all()
    )
    # a member that stayed keeps the day it was first listed; a newcomer is listed on the day
    assert str(listed_on[a["KW70"].id]) == "2025-02-03"
    assert str(listed_on[a["U6999"].id]) == "2025-05-01"
    # the scope of an office sees its own members only (and its branches')
    office_diff = queries.snapshot_diff(first, second, office_scope("RYG"))
    assert office_diff == {"joined": [], "left": []}
    assert queries.list_counts(second, office_scope("RYG"))["HV2"] == 1


def test_only_staff_generate_lists(world):
    with pytest.raises(Forbidden):
        operations.generate_snapshot(YEAR, world["kamr"], now=NOW)


def test_planning_visits_is_idempotent_and_never_doubles_a_visit(world, serviced):
    snapshot = operations.generate_snapshot(YEAR, world["staff"], now=NOW)
    # KW70 already has a BIZ visit this year: it gets no second one
    activity_ops.create_activity(
        {
            "account_no": "KW70",
            "type": "BIZ",
            "activity_date": "2025-01-20",
            "performed_by": "kamr1",
            "channel": "visit",
        },
        None,
        now=NOW,
    )
    result = operations.plan_visits(snapshot, world["staff"], now=NOW)
    # listed (not incomplete-only): G10U50, KW70, KVA75, MISS
    assert (result["listed_accounts"], result["planned"], result["skipped"]) == (4, 3, 1)
    planned = db.session.scalars(
        sa.select(Activity)
        .where(Activity.type == "BIZ", Activity.status == "planned")
        .order_by(Activity.account_id)
    ).all()
    assert sorted(x.account.account_no for x in planned) == ["G10U50", "KVA75", "MISS"]
    assert {(x.performed_by.username, x.activity_date) for x in planned} == {
        ("kamr1", date(2025, 2, 3))
    }
    again = operations.plan_visits(snapshot, world["staff"], now=NOW)
    assert again["planned"] == 0
    assert db.session.scalar(sa.select(sa.func.count()).where(Activity.type == "BIZ")) == 4


def test_coverage_counts_done_visits_after_the_listing_per_list_and_office(world, serviced):
    snapshot = operations.generate_snapshot(YEAR, world["staff"], now=NOW)
    operations.plan_visits(snapshot, world["staff"], now=NOW)

    def done(number, day, **extra):
        activity_ops.create_activity(
            {
                "account_no": number,
                "type": "BIZ",
                "activity_date": day,
                "performed_by": "kamr1",
                "channel": "visit",
                **extra,
            },
            None,
            now=datetime(2025, 12, 31, tzinfo=timezone.utc),
        )

    done("KVA75", "2025-02-02")  # the day before the list was made: does not count
    done(
        "MISS", "2025-02-03", outcome="quoted", quoted_value_thb="150000"
    )  # the day it was made: counts (Q1)
    done("G10U50", "2025-05-10", outcome="won")  # Q2
    rows = queries.coverage(snapshot, date(2025, 6, 30))
    total = {r["list_code"]: r["cumulative"] for r in rows if r["office_code"] is None}
    assert total["HV2"]["Q1"] == {"visited": 1, "listed": 3, "pct": 33.33}
    assert total["HV2"]["Q1-2"] == {"visited": 1, "listed": 3, "pct": 33.33}
    assert total["HV1"]["Q1"] == {"visited": 0, "listed": 1, "pct": 0.0}
    assert total["HV1"]["Q1-2"] == {"visited": 1, "listed": 1, "pct": 100.0}
    assert total["ALL"]["Q1-2"] == {"visited": 2, "listed": 4, "pct": 50.0}
    assert total["HV2"]["Q1-3"] is None and total["HV2"]["Q1-4"] is None
    offices = {
        (r["list_code"], r["office_code"]): r["cumulative"]["Q1-2"]
        for r in rows
        if r["office_code"]
    }
    assert offices[("HV2", "RYG")] == {"visited": 0, "listed": 1, "pct": 0.0}
    assert offices[("HV2", "CBI")] == {"visited": 1, "listed": 2, "pct": 50.0}
    # an office's scope counts its own listed accounts only
    ryg = queries.coverage(snapshot, date(2025, 6, 30), office_scope("RYG"))
    assert next(r for r in ryg if r["list_code"] == "ALL" and r["office_code"] is None)[
        "cumulative"
    ]["Q1-2"] == {"visited": 0, "listed": 1, "pct": 0.0}


def test_cr1_rows_follow_the_section_contract(world):
    snapshot = operations.generate_snapshot(YEAR, world["staff"], now=NOW)
    activity_ops.create_activity(
        {
            "account_no": "KW70",
            "type": "BIZ",
            "activity_date": "2025-03-01",
            "performed_by": "kamr1",
        },
        None,
        now=datetime(2025, 3, 2, tzinfo=timezone.utc),
    )
    rows = queries.cr1_rows(db.session, year=YEAR, as_of=date(2025, 3, 31), scope=region_scope())
    by_key = {row["key"]: row for row in rows}
    assert [row["item"] for row in rows] == [
        "3.6.1",
        "3.6.1",
        "3.6.2",
        "3.6.2",
        "4.3",
        "4.3",
        "4.3",
        "4.3",
        "4.3",
    ]
    assert len(by_key) == len(rows)
    assert by_key["prospects_hv2"]["cumulative"]["Q1"] == {
        "value": 3,
        "numerator": None,
        "denominator": None,
        "target_met": None,
    }
    assert by_key["prospect_visits_hv2"]["cumulative"]["Q1"] == {
        "value": 33.33,
        "numerator": 1,
        "denominator": 3,
        "target_met": None,
    }
    assert by_key["prospect_visits_all"]["cumulative"]["Q1-2"] is None
    assert snapshot.version == 1
    # before any list was made: values are None
    early = queries.cr1_rows(db.session, year=YEAR, as_of=date(2025, 1, 31), scope=region_scope())
    assert early[0]["cumulative"]["Q1"]["value"] is None


def test_a_biz_outcome_belongs_to_a_biz_visit_only(world):
    with pytest.raises(ValidationFailed) as refused:
        activity_ops.create_activity(
            {
                "account_no": "KW70",
                "type": "COM",
                "activity_date": "2025-01-20",
                "performed_by": "kamr1",
                "outcome": "won",
            },
            None,
            now=NOW,
        )
    assert "outcome" in refused.value.errors
    with pytest.raises(ValidationFailed) as refused:
        activity_ops.create_activity(
            {
                "account_no": "KW70",
                "type": "BIZ",
                "activity_date": "2025-01-20",
                "performed_by": "kamr1",
                "outcome": "maybe",
            },
            None,
            now=NOW,
        )
    assert "outcome" in refused.value.errors


def test_planned_business_visits_are_a_kamrs_own_and_upcoming(world, serviced, make):
    snapshot = operations.generate_snapshot(YEAR, world["staff"], now=NOW)
    operations.plan_visits(snapshot, world["staff"], planned_on=date(YEAR, 6, 1), now=NOW)
    mine = queries.planned_business_visits(world["kamr"], date(YEAR, 5, 1))
    # KW70 is the KAMR's too, but in an office outside their scope: out of sight
    assert sorted(a.account.account_no for a in mine) == ["G10U50", "KVA75", "MISS"]
    assert queries.planned_business_visits(world["kamr"], date(YEAR, 6, 2)) == []
    other_kamr = make.user(role="kamr", office=world["office"])
    assert queries.planned_business_visits(other_kamr, date(YEAR, 5, 1)) == []
    manager = make.user(role="office_manager", office=world["other"])
    assert [
        a.account.account_no for a in queries.planned_business_visits(manager, date(YEAR, 5, 1))
    ] == ["KW70"]


@pytest.mark.parametrize(
    "values",
    [
        {"type": "COM", "outcome": "won"},
        {"type": "COM", "quoted_value_thb": 5},
        {"type": "BIZ", "outcome": "maybe"},
        {"type": "BIZ", "quoted_value_thb": -1},
    ],
    ids=["outcome-not-biz", "quote-not-biz", "unknown-outcome", "negative-quote"],
)
def test_the_database_refuses_impossible_business_visits(world, values):
    account, user = world["accounts"]["KW70"], world["kamr"]
    row = {
        "account_id": account.id,
        "activity_date": date(2025, 1, 5),
        "status": "done",
        "performed_by_id": user.id,
        "recorded_at": NOW,
        "is_late": False,
        "version": 1,
        "created_at": NOW,
        "updated_at": NOW,
        **values,
    }
    with pytest.raises(sa.exc.IntegrityError):
        with db.session.begin_nested():
            db.session.execute(sa.insert(Activity.__table__).values(**row))


def test_the_database_takes_a_business_visit(world):
    account, user = world["accounts"]["KW70"], world["kamr"]
    db.session.execute(
        sa.insert(Activity.__table__).values(
            account_id=account.id,
            type="BIZ",
            activity_date=date(2025, 1, 5),
            status="done",
            performed_by_id=user.id,
            recorded_at=NOW,
            is_late=False,
            version=1,
            created_at=NOW,
            updated_at=NOW,
            outcome="won",
            quoted_value_thb=100,
        )
    )
