"""``flask prospects generate --year Y`` and ``flask prospects plan-visits --year Y``."""

from __future__ import annotations

import json
from datetime import date

import click
from flask.cli import with_appcontext

from kamcrm.transactions import CommandGroup


@click.group("prospects", cls=CommandGroup)
def prospects_cli() -> None:
    """Generate the prospect lists of a plan year and plan their business visits (SPEC 10)."""


@prospects_cli.command("generate")
@click.option(
    "--year", required=True, type=int, help="The plan year (CE): its lists read Y-1 and Y-2."
)
@with_appcontext
def generate_command(year: int) -> None:
    """Compute the year's lists and keep them as its next numbered version."""
    from kamcrm.prospects import operations, queries

    snapshot = operations.generate_snapshot(year)
    counts = queries.list_counts(snapshot)
    diff = queries.snapshot_diff(queries.previous_snapshot(snapshot), snapshot)
    click.echo(
        json.dumps(
            {
                "year": year,
                "version": snapshot.version,
                "counts": counts,
                "joined": len(diff["joined"]),
                "left": len(diff["left"]),
                "maintenance_available": snapshot.maintenance_available,
            }
        )
    )


@prospects_cli.command("plan-visits")
@click.option("--year", required=True, type=int, help="The plan year.")
@click.option("--version", type=int, help="The snapshot (default: the newest).")
@click.option(
    "--on",
    "planned_on",
    help="The planned date, YYYY-MM-DD (default: today, or Jan 1 of the year).",
)
@with_appcontext
def plan_visits_command(year: int, version: int | None, planned_on: str | None) -> None:
    """Plan a BIZ visit for every listed account that has none this year, for its KAMR."""
    from kamcrm.prospects import operations, queries

    try:
        day = date.fromisoformat(planned_on) if planned_on else None
    except ValueError:
        raise click.BadParameter(
            f"{planned_on!r} is not a date; write YYYY-MM-DD", param_hint="--on"
        ) from None
    result = operations.plan_visits(queries.snapshot_for(year, version), planned_on=day)
    click.echo(json.dumps(result))
