"""The demo region: the FY plan's tiered populations, and the same ``today`` gives the same rows."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from kamcrm.accounts.models import Account, TierAssignment
from kamcrm.activities.models import Activity
from kamcrm.extensions import db
from kamcrm.org import passwords
from kamcrm.org.models import Office, User
from kamcrm.seed.demo import STREAMLINE_ACCOUNTS, seed_demo

#: Columns whose values are meant to differ between two seeds.
VOLATILE = {("users", "password_hash"), ("audit_entries", "occurred_at")}
#: Columns that hold the id of a row of another table named by a column beside them (the VOC
#: marks' source), rebased like foreign keys.
SOURCE_IDS = {
    ("voc_marks", "source_id"): ("source", {"activity": "activities", "complaint": "complaints"})
}


def tiers_on(day: date) -> dict[str, int]:
    """Accounts active on ``day`` per tier on ``day`` (SPEC section 2), counted in SQL."""
    latest = (
        sa.select(
            TierAssignment.account_id, sa.func.max(TierAssignment.effective_from).label("since")
        )
        .where(TierAssignment.effective_from <= day)
        .group_by(TierAssignment.account_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(TierAssignment.tier, sa.func.count())
        .join(
            latest,
            sa.and_(
                latest.c.account_id == TierAssignment.account_id,
                latest.c.since == TierAssignment.effective_from,
            ),
        )
        .join(Account, Account.id == TierAssignment.account_id)
        .where(
            sa.or_(Account.opened_on.is_(None), Account.opened_on <= day),
            sa.or_(Account.closed_on.is_(None), Account.closed_on > day),
            TierAssignment.tier.is_not(None),
        )
        .group_by(TierAssignment.tier)
    ).all()
    return dict(rows)


def digest() -> str:
    """A digest of every row of every table; ids are taken relative to each table's first id
    (PostgreSQL sequences do not roll back, so absolute ids differ between two seeds)."""
    first = {
        table.name: db.session.scalar(sa.select(sa.func.min(table.c.id))) or 0
        for table in db.metadata.sorted_tables
        if "id" in table.c
    }
    summary = hashlib.sha256()
    for table in db.metadata.sorted_tables:
        columns = [column for column in table.c if (table.name, column.name) not in VOLATILE]
        for row in db.session.execute(sa.select(*columns).order_by(*table.primary_key.columns)):
            values = []
            for column, value in zip(columns, row):
                if value is not None and column.name == "id":
                    value -= first[table.name]
                elif value is not None and column.foreign_keys:
                    value -= first[next(iter(column.foreign_keys)).column.table.name]
                elif value is not None and (table.name, column.name) in SOURCE_IDS:
                    kind, tables = SOURCE_IDS[(table.name, column.name)]
                    value -= first[tables[row._mapping[kind]]]
                values.append(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False))
            summary.update(f"{table.name}:{'|'.join(values)}\n".encode())
    return summary.hexdigest()


def seed_and_digest(today: date) -> str:
    with db.session.begin_nested() as savepoint:
        seed_demo(today, passwords=False, close_quarters=False)
        found = digest()
        savepoint.rollback()
    return found


@pytest.mark.parametrize("today", [date(2026, 11, 24), date(2021, 1, 4)])
def test_on_its_today_the_region_holds_the_plans_tiered_populations(app_ctx, today):
    result = seed_demo(today, passwords=False, close_quarters=False)
    counts = tiers_on(today)
    assert {tier: counts[tier] for tier in ("STRATEGIC", "STAR", "STATUS")} == {
        "STRATEGIC": 165,
        "STAR": 106,
        "STATUS": 272,
    }
    assert abs(counts["STREAMLINE"] - STREAMLINE_ACCOUNTS) <= 100
    assert result.tiers_today == counts


def test_the_same_today_gives_the_same_rows_and_another_today_other_rows(app_ctx):
    first = seed_and_digest(date(2026, 11, 24))
    assert seed_and_digest(date(2026, 11, 24)) == first
    assert seed_and_digest(date(2026, 11, 25)) != first


def test_the_demo_is_imperfect_the_way_a_real_region_is(app_ctx):
    today = date(2026, 11, 24)
    seed_demo(today, passwords=False, close_quarters=False)

    def count(*conditions):
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(Activity).where(*conditions)
        )

    assert count(Activity.is_late.is_(True)) > 0
    assert count(Activity.status == "planned", Activity.activity_date > today) > 0
    assert count(Activity.status == "cancelled") > 0
    assert count(Activity.status == "done", Activity.activity_date > today) == 0
    exec_roles = db.session.scalars(
        sa.select(Activity.exec_role).where(Activity.type == "EXV").distinct()
    ).all()
    assert sorted(exec_roles) == ["assistant_director", "office_manager", "region_director"]
    assert {kind for kind in db.session.scalars(sa.select(Activity.type).distinct())} == {
        "FMS",
        "RBA",
        "COM",
        "EXV",
        "SEM",
        "PLN",
        "BOI",
    }
    assert count(Activity.voc_kind.is_not(None)) > 0
    accounts_with_a_tier_change = db.session.scalar(
        sa.select(sa.func.count()).select_from(
            sa.select(TierAssignment.account_id)
            .group_by(TierAssignment.account_id)
            .having(sa.func.count() > 1)
            .subquery()
        )
    )
    assert accounts_with_a_tier_change > 0


def test_the_command_loads_the_region_and_leaves_sign_ins_for_the_owner_only(
    app, runner, monkeypatch
):
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    result = runner.invoke(args=["seed", "demo", "--today", "2026-11-24"])
    assert result.exit_code == 0, result.output
    assert "Loaded the demo region as of 2026-11-24" in result.stdout
    path = Path(app.instance_path) / "demo_logins.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    logins = dict(line.split(" ", 1) for line in path.read_text().splitlines())
    admin = db.session.execute(sa.select(User).filter_by(username="admin")).scalar_one()
    assert passwords.verify_password(admin.password_hash, logins["admin"])
    assert set(logins) == set(db.session.scalars(sa.select(User.username)))
    # The "as reported" view has something to show: each month whose deadline has passed.
    from kamcrm.reports.models import MonthlySummary

    kept = db.session.scalars(
        sa.select(MonthlySummary.month).where(
            MonthlySummary.kind == "reported", MonthlySummary.scope_code == "R2"
        )
    ).all()
    assert sorted(kept) == [date(2026, month, 1) for month in range(1, 11)]
    # And the complaint returns whose due day has passed: October's office returns fell due
    # on Nov 10 and the region's on Nov 20, so both are kept by Nov 24.
    from kamcrm.reports.models import ComplaintReturn

    returns = db.session.execute(
        sa.select(ComplaintReturn.scope_code, ComplaintReturn.month).where(
            ComplaintReturn.kind == "reported"
        )
    ).all()
    assert sorted(month for code, month in returns if code == "R2") == [
        date(2026, m, 1) for m in range(1, 11)
    ]
    assert len({code for code, _ in returns}) > 2 and max(month for _, month in returns) == date(
        2026, 10, 1
    )


@pytest.mark.parametrize(
    "options, exit_code, words",
    [
        ([], 1, "The database already holds 1 offices"),
        (["--if-empty"], 0, "the demo region was not loaded"),
    ],
)
def test_the_command_never_adds_the_demo_to_a_database_with_offices(
    make, runner, options, exit_code, words
):
    make.region("R9")
    db.session.commit()  # a command's refusal rolls back its own transaction, not the region
    result = runner.invoke(args=["seed", "demo", *options])
    assert (result.exit_code, words in result.output) == (exit_code, True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Office)) == 1


def test_the_demo_region_has_a_realistic_year_of_complaints(app_ctx):
    from kamcrm.complaints.models import Complaint
    from kamcrm.compliance.engine import cr2_report
    from kamcrm.org.scope import office_scope, region_scope
    from kamcrm.seed.demo import load_region

    today = date(2026, 11, 24)
    result = seed_demo(today, passwords=False, close_quarters=False)
    assert result.counts["complaints"] > 1000

    def count(*conditions):
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(Complaint).where(*conditions)
        )

    assert count(Complaint.urgent.is_(True), Complaint.channel == "chat") > 10
    assert count(Complaint.excluded == "misconduct") > 10
    assert count(Complaint.closed_at.is_(None)) > 0
    report = cr2_report(2026, today, region_scope())
    total = next(r for r in report["complaints"] if r["item"] == "2.1a" and r["category"] is None)
    assert total["cumulative"]["Q1-4"]["received"] > 500
    data = load_region()
    slow = next(o["code"] for o in data["offices"] if o.get("behind"))
    fast = next(o["code"] for o in data["offices"] if not o.get("behind"))

    def pct(code):
        rows = cr2_report(2026, today, office_scope(code))["complaints"]
        return next(r for r in rows if r["item"] == "2.1a" and r["category"] is None)["cumulative"][
            "Q1-4"
        ]["pct"]

    assert pct(slow) < pct(fast)  # some offices are slow

    # Plan 2.2: every class 1-3 office but one keeps a plan; some reports are late.
    prevention = report["complaint_prevention"]
    assert prevention["offices"] == len(data["offices"])
    year = prevention["cumulative"]["Q1-4"]
    assert year["with_plan"] == len(data["offices"]) - 1
    assert year["late"] > 0 and year["on_time"] > year["late"] and year["missing"] >= 3
    assert year["target_met"] is False
    assert result.counts["prevention_plans"] == 2 * (len(data["offices"]) - 1)


def test_the_demo_region_has_significant_voices_some_entered_in_the_voc_system(app_ctx):
    from kamcrm.org.scope import region_scope
    from kamcrm.voc.queries import cr1_rows

    today = date(2026, 11, 24)
    result = seed_demo(today, passwords=False, close_quarters=False)
    assert result.counts["voc_significant"] > 50
    rows = cr1_rows(db.session, year=2026, as_of=today, scope=region_scope())

    def q4(key, office=None):
        row = next(r for r in rows if r["key"] == key and r["office_code"] == office)
        return row["cumulative"]["Q1-4"]["value"]

    assert 0 < q4("voc_entered") < q4("voc_significant")
    by_office = sum(
        q4("voc_significant", r["office_code"])
        for r in rows
        if r["office_code"] and r["key"] == "voc_significant"
    )
    # the regional office's own accounts' voices count for the region only
    assert 0 < by_office <= q4("voc_significant")
