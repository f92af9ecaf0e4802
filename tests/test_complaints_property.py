"""The CR2 complaint rows agree with a brute-force reading of SPEC section 8 on random
small worlds (SQLite, and PostgreSQL with KAMCRM_TEST_DATABASE_URL)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamcrm.complaints.operations import set_category_limit, set_item_target, set_tier_limit
from kamcrm.complaints.targets import complaint_targets
from kamcrm.compliance.engine import cr2_report
from kamcrm.extensions import db
from kamcrm.org.scope import office_scope, region_scope

YEAR = 2021
BKK = ZoneInfo("Asia/Bangkok")
CATEGORIES = (
    "POWER_QUALITY",
    "SERVICE_QUALITY",
    "METER_BILLING",
    "DISCONNECTION",
    "NETWORK",
    "OTHER",
)
TIERS = ("STRATEGIC", "STAR", "STATUS", "STREAMLINE", None)
COLUMNS = ("Q1", "Q1-2", "Q1-3", "Q1-4")
QUARTER_ENDS = (date(YEAR, 3, 31), date(YEAR, 6, 30), date(YEAR, 9, 30), date(YEAR, 12, 31))
QUARTER_STARTS = (date(YEAR, 1, 1), date(YEAR, 4, 1), date(YEAR, 7, 1), date(YEAR, 10, 1))
NOW = datetime(2022, 2, 1, tzinfo=timezone.utc)
DAYS = [date(YEAR - 1, 12, 20) + timedelta(days=n) for n in range(400)]
EDGE_DAYS = (
    list(QUARTER_STARTS) + list(QUARTER_ENDS) + [date(YEAR - 1, 12, 31), date(YEAR + 1, 1, 1)]
)
# The times of day where Bangkok and UTC dates part, and the first and last instants of a day.
EDGE_TIMES = (time(0, 0), time(0, 30), time(6, 59, 59), time(7, 0), time(23, 30), time(23, 59, 59))


def random_moment(rng) -> datetime:
    day = rng.choice(EDGE_DAYS) if rng.random() < 0.3 else rng.choice(DAYS)
    moment = (
        rng.choice(EDGE_TIMES) if rng.random() < 0.5 else time(rng.randrange(24), rng.randrange(60))
    )
    return datetime.combine(day, moment, BKK)


def random_close(rng, received: datetime) -> datetime | None:
    if rng.random() < 0.25:
        return None
    choice = rng.random()
    if choice < 0.2:  # around the 24 hours
        delta = timedelta(hours=24) + timedelta(seconds=rng.choice((-1, 0, 1)))
    elif choice < 0.6:  # around a limit in days, at an awkward time of day
        closed_day = received.date() + timedelta(
            days=rng.choice((14, 15, 16, 19, 20, 21, 24, 25, 26, 29, 30, 31))
        )
        return min(datetime.combine(closed_day, rng.choice(EDGE_TIMES), BKK), NOW)
    else:
        delta = timedelta(minutes=rng.randrange(60 * 24 * 60))
    return min(received + delta, NOW)


def random_world(rng):
    accounts = [
        {
            "office": rng.randrange(5),
            "tiers": {
                rng.choice(DAYS + EDGE_DAYS): rng.choice(TIERS) for _ in range(rng.randint(0, 3))
            },
        }
        for _ in range(rng.randint(1, 4))
    ]
    complaints = []
    for _ in range(rng.randint(5, 30)):
        received = random_moment(rng)
        complaints.append(
            {
                "office": rng.randrange(5),
                "account": rng.randrange(len(accounts)) if rng.random() < 0.5 else None,
                "category": rng.choice(CATEGORIES),
                "urgent": rng.random() < 0.3,
                "received_at": received,
                "closed_at": random_close(rng, received),
                "excluded": rng.choice(
                    (None, None, None, None, "misconduct", "duplicate", "withdrawn")
                ),
            }
        )
    settings_ = {
        "categories": {
            code: rng.choice((0, 1, 15, 20, 25)) for code in CATEGORIES if rng.random() < 0.3
        },
        "tier_limits": {
            (rng.choice(CATEGORIES), rng.choice(TIERS[:4])): rng.choice((0, 3, 5, 10))
            for _ in range(rng.randint(0, 3))
        },
        "hours": rng.choice((None, 1, 24, 48)),
    }
    as_of = rng.choice(EDGE_DAYS + DAYS[:380] + [date(YEAR + 1, 1, 20)])
    return accounts, complaints, settings_, as_of


# --- the reference: SPEC section 8 read literally, one complaint at a time -------------------


def tier_on(tiers: dict, day: date):
    starts = [start for start in tiers if start <= day]
    return tiers[max(starts)] if starts else None


def reference(world, targets, as_of, in_scope):
    accounts, complaints = world
    t_end = datetime.combine(as_of + timedelta(days=1), time(0), BKK) - timedelta(microseconds=1)

    def status(c, days=None, hours=None):
        r = c["received_at"].astimezone(BKK).date()
        closed = c["closed_at"] is not None and c["closed_at"] <= t_end
        if closed:
            if hours is not None:
                return (
                    "met"
                    if c["closed_at"] - c["received_at"] <= timedelta(hours=hours)
                    else "missed"
                )
            return "met" if (c["closed_at"].astimezone(BKK).date() - r).days <= days else "missed"
        if hours is not None:
            return "missed" if t_end - c["received_at"] > timedelta(hours=hours) else "pending"
        return "missed" if (as_of - r).days > days else "pending"

    def category_limit(c):
        tier = None
        if c["account"] is not None:
            tier = tier_on(accounts[c["account"]]["tiers"], c["received_at"].astimezone(BKK).date())
        for (category, t), days in targets.tier_limits:
            if category == c["category"] and t == tier and tier is not None:
                return days
        return dict(targets.categories)[c["category"]]

    def row_cells(select, limit):
        cumulative = {}
        for k, column in enumerate(COLUMNS):
            if QUARTER_STARTS[k] > as_of:
                cumulative[column] = None
                continue
            end = min(QUARTER_ENDS[k], as_of)
            chosen = [
                c
                for c in complaints
                if in_scope(c["office_id"])
                and select(c)
                and date(YEAR, 1, 1) <= c["received_at"].astimezone(BKK).date() <= end
            ]
            counts = {"met": 0, "missed": 0, "pending": 0}
            for c in chosen:
                if c["excluded"] is None:
                    counts[status(c, **limit(c))] += 1
            judged = counts["met"] + counts["missed"]
            pct = (
                None
                if not judged
                else (Decimal(100) * counts["met"] / judged).quantize(
                    Decimal("0.01"), ROUND_HALF_UP
                )
            )
            cumulative[column] = {
                "received": sum(counts.values()),
                "excluded": sum(1 for c in chosen if c["excluded"] is not None),
                **counts,
                "pct": None if pct is None else float(pct),
                "target_met": None if pct is None else pct >= rows_target[0],
                "final": counts["pending"] == 0,
            }
        return cumulative

    rows = []
    rows_target = [targets.item("2.1a").target_pct]
    for code, _ in targets.categories:
        rows.append(
            row_cells(
                lambda c, code=code: c["category"] == code, lambda c: {"days": category_limit(c)}
            )
        )
    rows.append(row_cells(lambda c: True, lambda c: {"days": category_limit(c)}))
    for item in ("2.1b", "2.1c", "2.1d"):
        target = targets.item(item)
        rows_target[0] = target.target_pct
        urgent_only = item == "2.1b"
        rows.append(
            row_cells(
                lambda c, u=urgent_only: c["urgent"] or not u,
                lambda c, t=target: {"days": t.limit_days, "hours": t.limit_hours},
            )
        )
    return rows


# --- building the world in the database -----------------------------------------------------


def build_world(make, accounts_spec, complaints_spec, settings_):
    region = make.region()
    first, third = make.office(office_class="1"), make.office(office_class="3")
    offices = [region, first, third, make.branch(first), make.branch(third)]
    accounts = []
    for spec in accounts_spec:
        account = make.account(office=offices[spec["office"]], tier=None, tier_from=None)
        for start, tier in spec["tiers"].items():
            make.tier(account, tier, start)
        accounts.append(account)
    for code, days in settings_["categories"].items():
        set_category_limit(YEAR, code, days)
    for (category, tier), days in settings_["tier_limits"].items():
        set_tier_limit(YEAR, category, tier, days)
    if settings_["hours"] is not None:
        set_item_target(YEAR, "2.1b", limit_hours=settings_["hours"])
    from kamcrm.complaints.operations import create_complaint

    complaints = []
    for n, spec in enumerate(complaints_spec):
        row = {
            "ref": f"P{n}",
            "category": spec["category"],
            "urgent": spec["urgent"],
            "received_at": spec["received_at"],
            "closed_at": spec["closed_at"],
            "resolution": "done" if spec["closed_at"] else None,
            "excluded": spec["excluded"],
        }
        if spec["account"] is not None:
            row["account_no"] = accounts[spec["account"]].account_no
            office_id = accounts[spec["account"]].office_id
        else:
            row["office_code"] = offices[spec["office"]].code
            office_id = offices[spec["office"]].id
        create_complaint(row, None, now=NOW)
        complaints.append({**spec, "office_id": office_id})
    return offices, complaints


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), scope_index=st.integers(0, 4))
def test_complaint_rows_match_the_brute_force_reference(make, seed, scope_index):
    rng = random.Random(seed)
    accounts_spec, complaints_spec, settings_, as_of = random_world(rng)
    savepoint = db.session.begin_nested()
    try:
        offices, complaints = build_world(make, accounts_spec, complaints_spec, settings_)
        chosen = offices[scope_index]
        if scope_index == 0:
            scope = region_scope()

            def in_scope(office_id):
                return True
        else:
            scope = office_scope(chosen.code)
            family = {chosen.id} | {o.id for o in offices if o.parent_id == chosen.id}

            def in_scope(office_id):
                return office_id in family

        targets = complaint_targets(YEAR)
        expected = reference((accounts_spec, complaints), targets, as_of, in_scope)
        report = cr2_report(YEAR, as_of, scope)
        assert [r["cumulative"] for r in report["complaints"]] == expected
    finally:
        savepoint.rollback()
