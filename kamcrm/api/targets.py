"""A year's targets (SPEC section 4): everyone reads them; regional staff change them.

A year without targets of its own uses the defaults; the first change stores the defaults
of that year and then the change (``kamcrm.compliance.operations``).
"""

from __future__ import annotations

import marshmallow as ma

from kamcrm.accounts.models import TIERS
from kamcrm.api.blueprint import Blueprint, caller, may_answer
from kamcrm.api.fields import Int32, Number, Text
from kamcrm.complaints import operations as complaint_operations
from kamcrm.compliance import operations
from kamcrm.compliance.targets import RULE_TYPES, year_targets
from kamcrm.org.access import requires
from kamcrm.periods import PERIOD_KINDS

PATH = "/targets"
blp = Blueprint(
    "targets", __name__, description="Yearly rules, executive-visit quotas and planned populations."
)

#: Years in a URL: anything else is no resource at all (404).
_YEAR = "<year:year>"


class RuleSchema(ma.Schema):
    """At least ``min_count`` done activities of ``type`` per ``tier`` account per ``period``."""

    item = Text(doc={"example": "1.1.1", "maxLength": 10})
    type = Text(required=True, doc={"enum": list(RULE_TYPES)})
    tier = Text(required=True, doc={"enum": list(TIERS)})
    period = Text(required=True, doc={"enum": list(PERIOD_KINDS)})
    min_count = Int32()
    target_pct = Number(required=True, doc={"minimum": 0, "maximum": 100})


class RuleChangesSchema(ma.Schema):
    """Fields of a rule to change; those left out stay as they are."""

    item = Text(doc={"maxLength": 10})
    period = Text(doc={"enum": list(PERIOD_KINDS)})
    min_count = Int32()
    target_pct = Number(doc={"minimum": 0, "maximum": 100})


class YearTargetsSchema(ma.Schema):
    """Everything a year's CR2 report measures against."""

    year = ma.fields.Integer(required=True)
    stored = ma.fields.Boolean(
        required=True,
        metadata={"description": "False: the year uses the defaults of SPEC section 4."},
    )
    rules = ma.fields.List(ma.fields.Nested(RuleSchema), required=True)
    executive_visit_quotas = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        required=True,
        metadata={"description": "Distinct accounts per quarter per unit, by exec_role."},
    )
    planned_populations = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(allow_none=True),
        required=True,
        metadata={"description": "Planned accounts per tier (null: no figure)."},
    )


class QuotaSchema(ma.Schema):
    quota_per_quarter = Int32(required=True, metadata={"minimum": 0})


class PlannedSchema(ma.Schema):
    planned = Int32(required=True, allow_none=True, metadata={"minimum": 0})


def _answer(year: int) -> dict:
    return year_targets(year).as_dict()


@blp.route(f"/{_YEAR}", methods=["GET"])
@requires("targets.view")
@blp.response(200, YearTargetsSchema)
@may_answer(404)
def get_targets(year):
    """Read a year's targets (its own, or the defaults)."""
    return _answer(year)


@blp.route(f"/{_YEAR}", methods=["DELETE"])
@requires("targets.edit")
@blp.response(200, YearTargetsSchema)
@may_answer(404, 422)
def reset_targets(year):
    """Drop a year's own targets so that it uses the defaults again (regional staff)."""
    operations.reset_year(year, caller())
    return _answer(year)


@blp.route(f"/{_YEAR}/rules", methods=["POST"])
@requires("targets.edit")
@blp.arguments(RuleSchema)
@blp.response(201, YearTargetsSchema)
@may_answer(404)
def add_rule(data, year):
    """Add a frequency rule to a year (regional staff)."""
    values = {key: value for key, value in data.items() if key not in ("type", "tier")}
    operations.add_rule(year, data["type"], data["tier"], values, caller())
    return _answer(year)


@blp.route(f"/{_YEAR}/rules/<key:type>/<key:tier>", methods=["PATCH"])
@requires("targets.edit")
@blp.arguments(RuleChangesSchema)
@blp.response(200, YearTargetsSchema)
@may_answer(404)
def update_rule(changes, year, type, tier):
    """Change a year's rule for ``type`` and ``tier`` (regional staff)."""
    operations.update_rule(year, type, tier, changes, caller())
    return _answer(year)


@blp.route(f"/{_YEAR}/rules/<key:type>/<key:tier>", methods=["DELETE"])
@requires("targets.edit")
@blp.response(200, YearTargetsSchema)
@may_answer(404, 422)
def remove_rule(year, type, tier):
    """Drop a year's rule for ``type`` and ``tier`` (regional staff)."""
    operations.remove_rule(year, type, tier, caller())
    return _answer(year)


@blp.route(f"/{_YEAR}/quotas/<key:exec_role>", methods=["PUT"])
@requires("targets.edit")
@blp.arguments(QuotaSchema)
@blp.response(200, YearTargetsSchema)
@may_answer(404)
def set_quota(data, year, exec_role):
    """Set the per-quarter executive-visit quota of an exec_role (regional staff)."""
    operations.set_quota(year, exec_role, data["quota_per_quarter"], caller())
    return _answer(year)


@blp.route(f"/{_YEAR}/planned/<key:tier>", methods=["PUT"])
@requires("targets.edit")
@blp.arguments(PlannedSchema)
@blp.response(200, YearTargetsSchema)
@may_answer(404)
def set_planned(data, year, tier):
    """Set the planned population of a tier (null: the plan gives none) (regional staff)."""
    operations.set_planned(year, tier, data["planned"], caller())
    return _answer(year)


# --- complaint limits and targets (SPEC section 8) ---------------------------------------------


class ComplaintCategorySchema(ma.Schema):
    code = ma.fields.String(required=True)
    limit_days = ma.fields.Integer(required=True)


class ComplaintTierLimitSchema(ma.Schema):
    category = ma.fields.String(required=True)
    tier = ma.fields.String(required=True, metadata={"enum": list(TIERS)})
    limit_days = ma.fields.Integer(required=True)


class ComplaintItemTargetSchema(ma.Schema):
    item = ma.fields.String(required=True, metadata={"enum": ["2.1a", "2.1b", "2.1c", "2.1d"]})
    limit_days = ma.fields.Integer(required=True, allow_none=True)
    limit_hours = ma.fields.Integer(required=True, allow_none=True)
    target_pct = ma.fields.Float(required=True)


class ComplaintTargetsSchema(ma.Schema):
    """A year's complaint categories with their limits, the (category, tier) limits and the
    plan 2.1 item targets (SPEC section 8)."""

    year = ma.fields.Integer(required=True)
    stored = ma.fields.Boolean(
        required=True, metadata={"description": "False: the year uses SPEC 8's defaults."}
    )
    categories = ma.fields.List(ma.fields.Nested(ComplaintCategorySchema), required=True)
    tier_limits = ma.fields.List(ma.fields.Nested(ComplaintTierLimitSchema), required=True)
    items = ma.fields.List(ma.fields.Nested(ComplaintItemTargetSchema), required=True)


class CategoryLimitSchema(ma.Schema):
    limit_days = Int32(required=True, metadata={"minimum": 0, "maximum": 3660})


class TierLimitSchema(ma.Schema):
    limit_days = Int32(
        required=True,
        allow_none=True,
        metadata={"minimum": 0, "maximum": 3660, "description": "null: the category's own limit."},
    )


class ItemTargetChangesSchema(ma.Schema):
    """Fields of an item target to change; those left out stay as they are."""

    target_pct = Number(doc={"minimum": 0, "maximum": 100})
    limit_days = Int32(metadata={"minimum": 0, "maximum": 3660})
    limit_hours = Int32(metadata={"minimum": 0, "maximum": 3660})


def _complaint_answer(year: int) -> dict:
    from kamcrm.complaints.targets import complaint_targets

    return complaint_targets(year).as_dict()


@blp.route(f"/{_YEAR}/complaints", methods=["GET"])
@requires("targets.view")
@blp.response(200, ComplaintTargetsSchema)
@may_answer(404)
def get_complaint_targets(year):
    """Read a year's complaint limits and targets (its own, or the defaults)."""
    return _complaint_answer(year)


@blp.route(f"/{_YEAR}/complaints", methods=["DELETE"])
@requires("targets.edit")
@blp.response(200, ComplaintTargetsSchema)
@may_answer(404, 422)
def reset_complaint_targets(year):
    """Drop a year's own complaint limits and targets: it uses the defaults again (regional staff)."""
    complaint_operations.reset_complaint_year(year, caller())
    return _complaint_answer(year)


@blp.route(f"/{_YEAR}/complaints/categories/<key:category>", methods=["PUT"])
@requires("targets.edit")
@blp.arguments(CategoryLimitSchema)
@blp.response(200, ComplaintTargetsSchema)
@may_answer(404)
def set_category_limit(data, year, category):
    """Set a category's limit in days; a new code adds the category (regional staff)."""
    complaint_operations.set_category_limit(year, category, data["limit_days"], caller())
    return _complaint_answer(year)


@blp.route(f"/{_YEAR}/complaints/tier-limits/<key:category>/<key:tier>", methods=["PUT"])
@requires("targets.edit")
@blp.arguments(TierLimitSchema)
@blp.response(200, ComplaintTargetsSchema)
@may_answer(404)
def set_tier_limit(data, year, category, tier):
    """Set (or with null remove) a category's limit for accounts of a tier (regional staff)."""
    complaint_operations.set_tier_limit(
        year, category.upper(), tier.upper(), data["limit_days"], caller()
    )
    return _complaint_answer(year)


@blp.route(f"/{_YEAR}/complaints/items/<key:item>", methods=["PATCH"])
@requires("targets.edit")
@blp.arguments(ItemTargetChangesSchema)
@blp.response(200, ComplaintTargetsSchema)
@may_answer(404)
def update_item_target(changes, year, item):
    """Change a plan 2.1 item's target % and/or its limit in days or hours (regional staff)."""
    complaint_operations.set_item_target(year, item, actor=caller(), **changes)
    return _complaint_answer(year)
