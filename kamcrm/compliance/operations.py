"""Changing a year's targets (regional staff). Every change is audited; callers commit."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from kamcrm.accounts.models import TIERS
from kamcrm.audit.operations import record, snapshot
from kamcrm.compliance.models import ExecutiveVisitQuota, FrequencyRule, PlannedPopulation
from kamcrm.compliance.targets import (
    ITEM_OF_TYPE,
    RULE_TYPES,
    default_targets,
    has_stored_targets,
    rule_order,
    year_targets,
)
from kamcrm.errors import Message, NotFound, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.models import EXEC_ROLES
from kamcrm.periods import FIRST_YEAR, LAST_YEAR, PERIOD_KINDS, year_in_range

#: Fields of a frequency rule that may be changed.
RULE_FIELDS = ("period", "min_count", "target_pct", "item")
#: Years a target may be set for: those of every business date.

_RULE_AUDIT_FIELDS = ("year", "item", "type", "tier", "period", "min_count", "target_pct")


def materialise_year(year: int, actor=None) -> bool:
    """Write the default targets of ``year`` as stored rows unless it has some already.

    Returns whether rows were written. Called before the first change to a year, so that
    a change to one figure keeps every other default as it was.
    """
    _check_year(year)
    if has_stored_targets(year):
        return False
    targets = default_targets(year)
    for position, rule in enumerate(targets.rules):
        db.session.add(
            FrequencyRule(
                year=year,
                item=rule.item,
                type=rule.type,
                tier=rule.tier,
                period=rule.period,
                min_count=rule.min_count,
                target_pct=rule.target_pct,
                position=position,
            )
        )
    for quota in targets.quotas:
        db.session.add(
            ExecutiveVisitQuota(
                year=year, exec_role=quota.exec_role, quota_per_quarter=quota.quota_per_quarter
            )
        )
    for tier, planned in targets.planned:
        db.session.add(PlannedPopulation(year=year, tier=tier, planned=planned))
    db.session.flush()
    record("create", "year_targets", year, actor=actor, after=targets.as_dict())
    return True


def update_rule(year: int, type_: str, tier: str, changes: dict, actor=None) -> FrequencyRule:
    """Change fields (period, min_count, target_pct, item) of the rule ``type_``/``tier``."""
    unknown = sorted(set(changes) - set(RULE_FIELDS))
    if unknown:
        raise ValidationFailed({"rule": [_unknown_field(name) for name in unknown]})
    values = _clean_rule_values(changes)
    materialise_year(year, actor)
    rule = _stored_rule(year, type_, tier)
    if rule is None:
        raise NotFound(_no_rule(year, type_, tier))
    before = snapshot(rule, _RULE_AUDIT_FIELDS)
    for name, value in values.items():
        setattr(rule, name, value)
    _renumber(year)
    db.session.flush()
    after = snapshot(rule, _RULE_AUDIT_FIELDS)
    if before != after:
        record(
            "update",
            "frequency_rules",
            f"{year}:{type_}:{tier}",
            actor=actor,
            before=before,
            after=after,
        )
    return rule


def add_rule(year: int, type_: str, tier: str, values: dict, actor=None) -> FrequencyRule:
    """Add a rule for ``type_``/``tier`` (period and target_pct required; min_count default 1)."""
    errors = {}
    if type_ not in RULE_TYPES:
        errors["type"] = [
            Message(
                "%(value)s is not a rule type; use one of %(choices)s",
                value=repr(type_),
                choices=", ".join(RULE_TYPES),
            )
        ]
    if tier not in TIERS:
        errors["tier"] = [_not_a_tier(tier)]
    unknown = sorted(set(values) - set(RULE_FIELDS))
    if unknown:
        errors["rule"] = [_unknown_field(name) for name in unknown]
    for required in ("period", "target_pct"):
        if required not in values:
            errors.setdefault(required, []).append(
                Message("a new rule needs %(field)s", field=required)
            )
    if errors:
        raise ValidationFailed(errors)
    cleaned = _clean_rule_values(values)
    materialise_year(year, actor)
    if _stored_rule(year, type_, tier) is not None:
        raise ValidationFailed(
            {
                "rule": [
                    Message(
                        "%(year)s already has a rule %(type)s:%(tier)s",
                        year=year,
                        type=type_,
                        tier=tier,
                    )
                ]
            }
        )
    rule = FrequencyRule(
        year=year,
        type=type_,
        tier=tier,
        item=cleaned.get("item", ITEM_OF_TYPE[type_]),
        period=cleaned["period"],
        min_count=cleaned.get("min_count", 1),
        target_pct=cleaned["target_pct"],
        position=0,
    )
    db.session.add(rule)
    _renumber(year)
    db.session.flush()
    record(
        "create",
        "frequency_rules",
        f"{year}:{type_}:{tier}",
        actor=actor,
        after=snapshot(rule, _RULE_AUDIT_FIELDS),
    )
    return rule


def remove_rule(year: int, type_: str, tier: str, actor=None) -> None:
    """Drop the rule ``type_``/``tier`` from ``year``."""
    materialise_year(year, actor)
    rule = _stored_rule(year, type_, tier)
    if rule is None:
        raise NotFound(_no_rule(year, type_, tier))
    before = snapshot(rule, _RULE_AUDIT_FIELDS)
    db.session.delete(rule)
    db.session.flush()
    record("delete", "frequency_rules", f"{year}:{type_}:{tier}", actor=actor, before=before)


def set_quota(year: int, exec_role: str, quota: int | str, actor=None) -> ExecutiveVisitQuota:
    """Set the per-quarter executive-visit quota of ``exec_role``."""
    if exec_role not in EXEC_ROLES:
        raise ValidationFailed(
            {
                "exec_role": [
                    Message(
                        "%(value)s is not an executive role; use one of %(choices)s",
                        value=repr(exec_role),
                        choices=", ".join(EXEC_ROLES),
                    )
                ]
            }
        )
    value = _whole_number("quota", quota, allow_none=False)
    materialise_year(year, actor)
    row = db.session.execute(
        sa.select(ExecutiveVisitQuota).filter_by(year=year, exec_role=exec_role)
    ).scalar_one_or_none()
    if row is None:
        row = ExecutiveVisitQuota(year=year, exec_role=exec_role, quota_per_quarter=value)
        db.session.add(row)
        before = None
    else:
        before = {"quota_per_quarter": row.quota_per_quarter}
        row.quota_per_quarter = value
    db.session.flush()
    if before != {"quota_per_quarter": value}:
        record(
            "update",
            "executive_visit_quotas",
            f"{year}:{exec_role}",
            actor=actor,
            before=before,
            after={"quota_per_quarter": value},
        )
    return row


def set_planned(year: int, tier: str, planned: int | str | None, actor=None) -> PlannedPopulation:
    """Set the planned population of ``tier`` (None: the plan gives no figure)."""
    if tier not in TIERS:
        raise ValidationFailed({"tier": [_not_a_tier(tier)]})
    value = _whole_number("planned", planned, allow_none=True)
    materialise_year(year, actor)
    row = db.session.execute(
        sa.select(PlannedPopulation).filter_by(year=year, tier=tier)
    ).scalar_one_or_none()
    if row is None:
        row = PlannedPopulation(year=year, tier=tier, planned=value)
        db.session.add(row)
        before = None
    else:
        before = {"planned": row.planned}
        row.planned = value
    db.session.flush()
    if before != {"planned": value}:
        record(
            "update",
            "planned_populations",
            f"{year}:{tier}",
            actor=actor,
            before=before,
            after={"planned": value},
        )
    return row


def reset_year(year: int, actor=None) -> bool:
    """Delete ``year``'s stored targets so that it uses the defaults again."""
    _check_year(year)
    if not has_stored_targets(year):
        return False
    before = year_targets(year).as_dict()
    for model in (FrequencyRule, ExecutiveVisitQuota, PlannedPopulation):
        db.session.execute(sa.delete(model).where(model.year == year))
    db.session.flush()
    record("delete", "year_targets", year, actor=actor, before=before)
    return True


def _unknown_field(name: str) -> Message:
    return Message(
        "unknown field %(name)s; use one of %(choices)s",
        name=repr(name),
        choices=", ".join(RULE_FIELDS),
    )


def _not_a_tier(tier) -> Message:
    return Message(
        "%(value)s is not a tier; use one of %(choices)s",
        value=repr(tier),
        choices=", ".join(TIERS),
    )


def _no_rule(year: int, type_: str, tier: str) -> Message:
    return Message("%(year)s has no rule %(type)s:%(tier)s", year=year, type=type_, tier=tier)


def _check_year(year: int) -> None:
    low, high = FIRST_YEAR, LAST_YEAR
    if not isinstance(year, int) or not year_in_range(year):
        raise ValidationFailed(
            {
                "year": [
                    Message(
                        "the year must be between %(low)s and %(high)s (CE)", low=low, high=high
                    )
                ]
            }
        )


def _stored_rule(year: int, type_: str, tier: str) -> FrequencyRule | None:
    return db.session.execute(
        sa.select(FrequencyRule).filter_by(year=year, type=type_, tier=tier)
    ).scalar_one_or_none()


def _renumber(year: int) -> None:
    # ``position`` mirrors the section 4 order so that any reader ordering by it agrees.
    rules = db.session.execute(sa.select(FrequencyRule).filter_by(year=year)).scalars().all()
    for position, rule in enumerate(
        sorted(rules, key=lambda r: rule_order(r.item, r.type, r.tier))
    ):
        rule.position = position


def _clean_rule_values(values: dict) -> dict:
    cleaned, errors = {}, {}
    for name, raw in values.items():
        try:
            if name == "period":
                if raw not in PERIOD_KINDS:
                    raise ValueError(
                        Message(
                            "%(value)s is not a period; use one of %(choices)s",
                            value=repr(raw),
                            choices=", ".join(PERIOD_KINDS),
                        )
                    )
                cleaned[name] = raw
            elif name == "min_count":
                number = _whole_number(name, raw, allow_none=False)
                if number < 1:
                    raise ValueError(Message("min_count must be at least 1"))
                cleaned[name] = number
            elif name == "target_pct":
                cleaned[name] = _percentage(raw)
            elif name == "item":
                text = str(raw).strip()
                parts = text.split(".")
                if not (1 <= len(text) <= 10 and all(part.isdigit() for part in parts)):
                    raise ValueError(
                        Message("%(value)s is not an item number such as 1.1.3", value=repr(raw))
                    )
                cleaned[name] = text
        except ValidationFailed as error:
            errors.update(error.errors)
        except ValueError as error:
            # The Message itself, not str(error): pages translate it.
            errors.setdefault(name, []).append(error.args[0])
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _whole_number(name: str, raw, allow_none: bool) -> int | None:
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in {"", "none", "null"}):
        if allow_none:
            return None
        raise ValidationFailed({name: [Message("%(field)s needs a whole number", field=name)]})
    if isinstance(raw, bool):
        raise ValidationFailed({name: [Message("%(field)s needs a whole number", field=name)]})
    try:
        number = int(str(raw).strip())
    except ValueError:
        raise ValidationFailed(
            {name: [Message("%(value)s is not a whole number", value=repr(raw))]}
        ) from None
    if number < 0:
        raise ValidationFailed({name: [Message("%(field)s cannot be negative", field=name)]})
    if number > 1_000_000:
        raise ValidationFailed({name: [Message("%(field)s is implausibly large", field=name)]})
    return number


def _percentage(raw) -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError(Message("%(value)s is not a percentage", value=repr(raw))) from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise ValueError(Message("target_pct must be between 0 and 100"))
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(Message("target_pct has at most 2 decimals"))
    return value.quantize(Decimal("0.01"))
