"""Prospect lists (SPEC section 10): a year's lists in your scope, generating the next
version, planning its business visits, and the year's thresholds.

Office managers read their own office's members (with its branches); executives and regional
staff the region's. An office outside your scope answers 404, like an unknown code.
"""

from __future__ import annotations

import marshmallow as ma

from kamcrm.api.blueprint import Blueprint, caller, may_answer
from kamcrm.api.fields import Text
from kamcrm.org.access import requires, scope_for
from kamcrm.prospects import operations, queries
from kamcrm.reports.prospects import prospects_report

PATH = "/prospects"
blp = Blueprint(
    "prospects", __name__, description="Prospect lists and their business visits (SPEC section 10)."
)
_YEAR = "<year:year>"


class ProspectReportArgs(ma.Schema):
    office = Text(
        validate=ma.validate.Length(max=20),
        metadata={"description": "Office code: that office with its branches; default your scope."},
    )
    version = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=1_000_000),
        metadata={"description": "The snapshot's version; default the newest."},
    )
    as_of = ma.fields.Date(
        metadata={"description": "Coverage up to this day; default today, capped at Dec 31."}
    )


class ProspectReportSchema(ma.Schema):
    """The lists of one snapshot in a scope (the ``report prospects --format json`` document)."""

    report = Text()
    year = ma.fields.Integer()
    version = ma.fields.Integer()
    generated_at = Text()
    generated_on = Text()
    scope = Text()
    as_of = Text()
    settings = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    maintenance_available = ma.fields.Boolean()
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    members = ma.fields.List(ma.fields.Dict())
    changes = ma.fields.Dict()
    coverage = ma.fields.List(ma.fields.Dict())


class ProspectSnapshotCreatedSchema(ma.Schema):
    year = ma.fields.Integer()
    version = ma.fields.Integer()
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    joined = ma.fields.Integer()
    left = ma.fields.Integer()
    maintenance_available = ma.fields.Boolean()


class PlanVisitsSchema(ma.Schema):
    version = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=1_000_000),
        metadata={"description": "The snapshot; default the newest."},
    )
    planned_on = ma.fields.Date(
        metadata={"description": "Default: today, or Jan 1 of the year when later."}
    )


class PlannedVisitsSchema(ma.Schema):
    year = ma.fields.Integer()
    version = ma.fields.Integer()
    listed_accounts = ma.fields.Integer()
    planned = ma.fields.Integer()
    skipped = ma.fields.Integer(
        metadata={
            "description": "Listed accounts that already have a BIZ visit this year "
            "or are not open on the planned day."
        }
    )
    without_kamr = ma.fields.List(ma.fields.String())


class ProspectSettingsSchema(ma.Schema):
    """A year's list thresholds (percent, kVA) and power factor, as decimal strings."""

    year = ma.fields.Integer(dump_only=True)
    stored = ma.fields.Boolean(dump_only=True)
    hv1_growth_pct = Text()
    hv1_utilisation_pct = Text()
    hv2_utilisation_pct = Text()
    mt2_transformer_kva = Text()
    power_factor = Text()


def _settings(year: int) -> dict:
    settings = queries.settings_for(year)
    return {"year": year, "stored": settings.stored, **settings.as_dict()}


@blp.route(f"/{_YEAR}", methods=["GET"])
@requires("prospects.view")
@blp.arguments(ProspectReportArgs, location="query")
@blp.response(200, ProspectReportSchema)
@may_answer(404, 422)
def get_lists(args, year):
    """Read a snapshot's lists in your scope, who joined and left since the version before, and the coverage."""
    user = caller()
    scope = scope_for(user, args.get("office"))
    return prospects_report(year, scope, version=args.get("version"), as_of=args.get("as_of"))


@blp.route(f"/{_YEAR}/snapshots", methods=["POST"])
@requires("prospects.generate")
@blp.response(201, ProspectSnapshotCreatedSchema)
@may_answer(404, 422)
def generate(year):
    """Generate the year's lists as its next numbered version (regional staff)."""
    snapshot = operations.generate_snapshot(year, caller())
    diff = queries.snapshot_diff(queries.previous_snapshot(snapshot), snapshot)
    answer = {
        "year": year,
        "version": snapshot.version,
        "counts": queries.list_counts(snapshot),
        "joined": len(diff["joined"]),
        "left": len(diff["left"]),
        "maintenance_available": snapshot.maintenance_available,
    }
    return answer


@blp.route(f"/{_YEAR}/visits", methods=["POST"])
@requires("prospects.plan_visits")
@blp.arguments(PlanVisitsSchema)
@blp.response(200, PlannedVisitsSchema)
@may_answer(404, 422)
def plan_visits(data, year):
    """Plan a BIZ visit for each listed account without one this year, for its KAMR (regional staff)."""
    snapshot = queries.snapshot_for(year, data.get("version"))
    result = operations.plan_visits(snapshot, caller(), planned_on=data.get("planned_on"))
    return result


@blp.route(f"/{_YEAR}/settings", methods=["GET"])
@requires("prospects.view", "targets.edit")
@blp.response(200, ProspectSettingsSchema)
@may_answer(404)
def get_settings(year):
    """Read the year's thresholds and power factor (its own, or the defaults)."""
    return _settings(year)


@blp.route(f"/{_YEAR}/settings", methods=["PATCH"])
@requires("targets.edit")
@blp.arguments(ProspectSettingsSchema)
@blp.response(200, ProspectSettingsSchema)
@may_answer(404, 422)
def update_settings(changes, year):
    """Change the year's thresholds or power factor; the others keep their values (regional staff)."""
    operations.save_settings(year, changes, caller())
    return _settings(year)
