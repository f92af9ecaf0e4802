"""Yearly targets: the SPEC section 4 defaults, per-year changes, their audit and their CLI."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from kamcrm.audit.models import AuditEntry
from kamcrm.compliance import operations
from kamcrm.compliance.models import ExecutiveVisitQuota, FrequencyRule, PlannedPopulation
from kamcrm.compliance.targets import default_targets, year_targets
from kamcrm.errors import NotFound, ValidationFailed
from kamcrm.extensions import db

YEAR = 2021


def audit_entries(entity=None):
    query = sa.select(AuditEntry).order_by(AuditEntry.id)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    return db.session.execute(query).scalars().all()


def stored_rows(year):
    return sum(
        db.session.execute(
            sa.select(sa.func.count()).select_from(model).where(model.year == year)
        ).scalar()
        for model in (FrequencyRule, ExecutiveVisitQuota, PlannedPopulation)
    )


def test_a_year_without_rows_uses_the_defaults(app_ctx):
    targets = year_targets(YEAR)
    assert targets == default_targets(YEAR)
    assert not targets.stored
    assert [q.quota_per_quarter for q in targets.quotas] == [1, 3, 6]
    assert dict(targets.planned) == {
        "STRATEGIC": 165,
        "STAR": 106,
        "STATUS": 272,
        "STREAMLINE": None,
    }
    assert len(targets.rules) == 12


def test_first_change_copies_the_defaults_and_changes_one_figure(app_ctx):
    operations.update_rule(YEAR, "FMS", "STAR", {"target_pct": "95"})

    changed = year_targets(YEAR)
    defaults = default_targets(YEAR)
    assert changed.stored
    assert changed.rule("FMS", "STAR").target_pct == Decimal("95.00")
    assert [r for r in changed.rules if r.key != "FMS:STAR"] == [
        r for r in defaults.rules if r.key != "FMS:STAR"
    ]
    assert changed.quotas == defaults.quotas and changed.planned == defaults.planned


def test_a_change_to_one_year_leaves_other_years_on_the_defaults(app_ctx):
    operations.set_quota(YEAR, "office_manager", 8)
    assert year_targets(YEAR).quota("office_manager") == 8
    assert year_targets(YEAR + 1) == default_targets(YEAR + 1)


def test_every_change_is_audited(app_ctx, make):
    staff = make.user(role="regional_staff", office=make.region())
    operations.update_rule(
        YEAR, "COM", "STREAMLINE", {"period": "quarter", "min_count": "2"}, actor=staff
    )
    operations.set_planned(YEAR, "STAR", "110", actor=staff)

    entries = audit_entries()
    assert [(e.action, e.entity, e.entity_key) for e in entries] == [
        ("create", "year_targets", str(YEAR)),
        ("update", "frequency_rules", f"{YEAR}:COM:STREAMLINE"),
        ("update", "planned_populations", f"{YEAR}:STAR"),
    ]
    assert entries[1].before["period"] == "half" and entries[1].after["period"] == "quarter"
    assert entries[1].after["min_count"] == 2
    assert entries[2].before == {"planned": 106} and entries[2].after == {"planned": 110}
    assert {e.actor_name for e in entries} == {staff.username}


def test_added_and_removed_rules_keep_section_4_order(app_ctx):
    operations.add_rule(YEAR, "SEM", "STAR", {"period": "year", "target_pct": "50"})
    operations.remove_rule(YEAR, "RBA", "STREAMLINE")

    keys = [r.key for r in year_targets(YEAR).rules]
    assert keys[-2:] == ["SEM:STRATEGIC", "SEM:STAR"]
    assert "RBA:STREAMLINE" not in keys
    assert year_targets(YEAR).rule("SEM", "STAR").item == "1.3"


def test_planned_population_can_be_none(app_ctx):
    operations.set_planned(YEAR, "STRATEGIC", "none")
    assert year_targets(YEAR).planned_population("STRATEGIC") is None


def test_reset_returns_a_year_to_the_defaults(app_ctx):
    operations.set_quota(YEAR, "region_director", 2)
    assert operations.reset_year(YEAR)
    assert year_targets(YEAR) == default_targets(YEAR)
    assert stored_rows(YEAR) == 0


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: operations.update_rule(YEAR, "FMS", "STAR", {"target_pct": "101"}), "target_pct"),
        (lambda: operations.update_rule(YEAR, "FMS", "STAR", {"target_pct": "abc"}), "target_pct"),
        (
            lambda: operations.update_rule(YEAR, "FMS", "STAR", {"target_pct": "99.999"}),
            "target_pct",
        ),
        (lambda: operations.update_rule(YEAR, "FMS", "STAR", {"min_count": "0"}), "min_count"),
        (lambda: operations.update_rule(YEAR, "FMS", "STAR", {"period": "month"}), "period"),
        (lambda: operations.update_rule(YEAR, "FMS", "STAR", {"colour": "red"}), "rule"),
        (
            lambda: operations.add_rule(YEAR, "EXV", "STAR", {"period": "year", "target_pct": "1"}),
            "type",
        ),
        (
            lambda: operations.add_rule(YEAR, "SEM", "GOLD", {"period": "year", "target_pct": "1"}),
            "tier",
        ),
        (lambda: operations.add_rule(YEAR, "SEM", "STAR", {"period": "year"}), "target_pct"),
        (
            lambda: operations.add_rule(YEAR, "FMS", "STAR", {"period": "year", "target_pct": "1"}),
            "rule",
        ),
        (lambda: operations.set_quota(YEAR, "ceo", 1), "exec_role"),
        (lambda: operations.set_quota(YEAR, "office_manager", "-1"), "quota"),
        (lambda: operations.set_planned(YEAR, "STAR", "many"), "planned"),
        (lambda: operations.set_planned(1800, "STAR", "1"), "year"),
    ],
)
def test_bad_changes_are_refused_with_the_field(app_ctx, call, field):
    with pytest.raises(ValidationFailed) as raised:
        call()
    assert field in raised.value.errors


def test_changing_a_rule_the_year_does_not_have(app_ctx):
    with pytest.raises(NotFound):
        operations.update_rule(YEAR, "SEM", "STAR", {"min_count": 2})


# --- CLI ------------------------------------------------------------------------------------


def test_cli_show_prints_the_defaults(runner):
    result = runner.invoke(args=["targets", "show", "--year", "2021"])
    assert result.exit_code == 0, result.output
    assert "the defaults" in result.output
    assert "FMS:STRATEGIC" in result.output and "office_manager" in result.output


def test_cli_show_as_json(runner):
    result = runner.invoke(args=["targets", "show", "--year", "2021", "--format", "json"])
    data = json.loads(result.output)
    assert data["executive_visit_quotas"] == {
        "region_director": 1,
        "assistant_director": 3,
        "office_manager": 6,
    }
    assert data["rules"][10] == {
        "item": "1.1.3",
        "type": "COM",
        "tier": "STREAMLINE",
        "period": "half",
        "min_count": 1,
        "target_pct": 100.0,
    }


def test_cli_set_changes_rules_quotas_and_plans(runner, app_ctx):
    result = runner.invoke(
        args=[
            "targets",
            "set",
            "--year",
            "2022",
            "--rule",
            "FMS:STAR:target_pct=95",
            "--rule",
            "com:streamline:period=quarter,min_count=2",
            "--quota",
            "office_manager=5",
            "--planned",
            "STAR=110",
            "--planned",
            "STRATEGIC=none",
            "--add-rule",
            "SEM:STAR:period=year,target_pct=50",
            "--remove-rule",
            "RBA:STREAMLINE",
        ]
    )
    assert result.exit_code == 0, result.output
    targets = year_targets(2022)
    assert targets.rule("FMS", "STAR").target_pct == Decimal("95.00")
    assert (
        targets.rule("COM", "STREAMLINE").period,
        targets.rule("COM", "STREAMLINE").min_count,
    ) == ("quarter", 2)
    assert targets.quota("office_manager") == 5
    assert (
        targets.planned_population("STAR") == 110
        and targets.planned_population("STRATEGIC") is None
    )
    assert targets.rule("SEM", "STAR") is not None and targets.rule("RBA", "STREAMLINE") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rule", "FMS:STAR:target_pct=150"], "target_pct"),
        (["--rule", "FMS:STAR"], "FMS:STAR:target_pct=95"),
        (["--quota", "boss=3"], "exec_role"),
        (["--planned", "STAR"], "NAME=VALUE"),
        (["--remove-rule", "SEM:STAR"], "no rule SEM:STAR"),
    ],
)
def test_cli_set_refuses_bad_input_and_changes_nothing(runner, app_ctx, args, message):
    # A good change given together with the bad one must not be applied either.
    result = runner.invoke(
        args=["targets", "set", "--year", "2023", "--quota", "office_manager=9", *args]
    )
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert stored_rows(2023) == 0
    assert not audit_entries()


@pytest.mark.parametrize("year", ["20x1", "1999", "abc"])
def test_cli_refuses_a_bad_year(runner, year):
    result = runner.invoke(args=["targets", "show", "--year", year])
    assert result.exit_code == 2
    assert "--year" in result.output


def test_cli_set_needs_something_to_change(runner):
    result = runner.invoke(args=["targets", "set", "--year", "2021"])
    assert result.exit_code == 2
    assert "nothing to change" in result.output


def test_cli_reset(runner, app_ctx):
    runner.invoke(args=["targets", "set", "--year", "2024", "--quota", "office_manager=9"])
    result = runner.invoke(args=["targets", "reset", "--year", "2024"])
    assert result.exit_code == 0 and "defaults again" in result.output
    assert stored_rows(2024) == 0


def test_cli_sets_and_shows_a_years_complaint_limits_and_targets(runner, app_ctx):
    result = runner.invoke(
        args=[
            "targets",
            "set",
            "--year",
            "2022",
            "--complaint-limit",
            "METER_BILLING=10",
            "--complaint-tier-limit",
            "METER_BILLING:STRATEGIC=5",
            "--complaint-target",
            "2.1d=75",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "METER_BILLING     10 d  (STRATEGIC 5 d)" in result.output
    shown = json.loads(
        runner.invoke(args=["targets", "show", "--year", "2022", "--format", "json"]).output
    )
    assert shown["complaints"]["tier_limits"] == [
        {"category": "METER_BILLING", "tier": "STRATEGIC", "limit_days": 5}
    ]
    assert shown["complaints"]["items"][3] == {
        "item": "2.1d",
        "limit_days": 15,
        "limit_hours": None,
        "target_pct": 75.0,
    }
    bad = runner.invoke(
        args=["targets", "set", "--year", "2022", "--complaint-tier-limit", "WEATHER:STAR=3"]
    )
    assert bad.exit_code != 0 and "nothing was changed" in bad.output
