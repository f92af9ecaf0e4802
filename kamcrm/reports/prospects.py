"""The prospect lists report (SPEC section 10): a snapshot's lists in a scope, who joined and
who left since the version before, and the visit coverage (CR1 4.3) — as JSON, HTML and XLSX,
and the ``flask report prospects`` command."""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import click
from flask.cli import with_appcontext

from kamcrm.extensions import db
from kamcrm.periods import bangkok_today
from kamcrm.prospects import queries
from kamcrm.prospects.models import LISTS, ProspectSnapshot

#: The members' columns, in the order of every export.
MEMBER_FIELDS = (
    "list_code",
    "account_no",
    "account_name",
    "office_code",
    "kamr_username",
    "listed_on",
    "kwh_prev2",
    "kwh_prev",
    "months_prev2",
    "months_prev",
    "peak_kva_prev",
    "transformer_kva",
    "utilisation_pct",
    "growth_pct",
    "last_maintenance_on",
    "clause",
)


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def member_rows(snapshot: ProspectSnapshot, scope=None):
    """Yield the members of ``snapshot`` in ``scope`` as dicts of ``MEMBER_FIELDS`` (streamed)."""
    result = db.session.execute(
        queries.members_of(snapshot, scope).execution_options(yield_per=1000)
    )
    for member, account_no, account_name, office_code, kamr_username in result:
        values = {
            "account_no": account_no,
            "account_name": account_name,
            "office_code": office_code,
            "kamr_username": kamr_username,
        }
        yield {
            name: _plain(values[name] if name in values else getattr(member, name))
            for name in MEMBER_FIELDS
        }


def prospects_report(
    year: int, scope, *, version: int | None = None, as_of: date | None = None
) -> dict:
    """Return the report of ``year``'s snapshot ``version`` (default: the newest) in ``scope``."""
    snapshot = queries.snapshot_for(year, version)
    as_of = as_of or min(bangkok_today(), date(year, 12, 31))
    previous = queries.previous_snapshot(snapshot)
    diff = queries.snapshot_diff(previous, snapshot, scope)
    members = list(member_rows(snapshot, scope))
    return {
        "report": "prospects",
        "year": year,
        "version": snapshot.version,
        "generated_at": snapshot.generated_at.isoformat(),
        "generated_on": snapshot.generated_on.isoformat(),
        "scope": scope.code,
        "settings": snapshot.settings,
        "maintenance_available": snapshot.maintenance_available,
        "as_of": as_of.isoformat(),
        "counts": queries.list_counts(snapshot, scope),
        "members": members,
        "changes": {
            "since_version": previous.version if previous else None,
            "joined": [
                {"list_code": c, "account_no": n, "account_name": a} for c, n, a in diff["joined"]
            ],
            "left": [
                {"list_code": c, "account_no": n, "account_name": a} for c, n, a in diff["left"]
            ],
        },
        "coverage": queries.coverage(snapshot, as_of, scope),
    }


def render_prospects(report: dict, fmt: str) -> bytes:
    """Return the report as ``json``, ``html`` or ``xlsx`` bytes."""
    if fmt == "json":
        return (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt == "html":
        from kamcrm.reports.export.html import render_report_template

        return render_report_template("reports/prospects.html", report=report, lists=LISTS).encode(
            "utf-8"
        )
    if fmt == "xlsx":
        return _xlsx(report)
    raise ValueError(f"unknown format {fmt!r}")


def prospects_filename(report: dict, fmt: str) -> str:
    return f"prospects-{report['year']}-v{report['version']}-{report['scope']}.{fmt}"


def _xlsx(report: dict) -> bytes:
    from kamcrm.reports.export.xlsx import ReportWorkbook

    book = ReportWorkbook()
    head, cell, number, decimal = (
        book.formats[name] for name in ("head", "cell", "number", "decimal")
    )
    sheet = book.sheet("Lists")
    sheet.write(
        0,
        0,
        f"Prospect lists {report['year']} (version {report['version']}) · {report['scope']}",
        book.formats["title"],
    )
    sheet.write(
        1,
        0,
        f"generated {report['generated_on']}; settings "
        + ", ".join(f"{k} {v}" for k, v in report["settings"].items()),
        book.formats["note"],
    )
    for column, name in enumerate(MEMBER_FIELDS):
        sheet.write(3, column, name, head)
    for row, member in enumerate(report["members"], start=4):
        for column, name in enumerate(MEMBER_FIELDS):
            value = member[name]
            if value is None:
                sheet.write_blank(row, column, None, cell)
            elif isinstance(value, (int, float)):
                sheet.write_number(
                    row, column, value, decimal if isinstance(value, float) else number
                )
            else:
                sheet.write_string(row, column, str(value), cell)
    sheet.set_column(0, 0, 11)
    sheet.set_column(1, 2, 22)
    sheet.set_column(len(MEMBER_FIELDS) - 1, len(MEMBER_FIELDS) - 1, 60)
    changes = book.sheet("Changes")
    changes.write(
        0, 0, f"Since version {report['changes']['since_version']}", book.formats["subtitle"]
    )
    for column, name in enumerate(("change", "list_code", "account_no", "account_name")):
        changes.write(1, column, name, head)
    row = 2
    for change in ("joined", "left"):
        for item in report["changes"][change]:
            for column, value in enumerate(
                (change, item["list_code"], item["account_no"], item["account_name"])
            ):
                changes.write_string(row, column, str(value), cell)
            row += 1
    coverage = book.sheet("Coverage")
    columns = ("list_code", "office_code", *queries.COLUMNS)
    for column, name in enumerate(columns):
        coverage.write(0, column, name, head)
    for row, line in enumerate(report["coverage"], start=1):
        coverage.write_string(row, 0, line["list_code"], cell)
        coverage.write_string(row, 1, line["office_code"] or report["scope"], cell)
        for column, name in enumerate(queries.COLUMNS, start=2):
            value = line["cumulative"][name]
            text = (
                "–"
                if value is None
                else (
                    f"{value['visited']} / {value['listed']}"
                    + ("" if value["pct"] is None else f" ({value['pct']:.2f}%)")
                )
            )
            coverage.write_string(row, column, text, cell)
    return book.close()


@click.command("prospects")
@click.option("--year", required=True, type=int, help="The plan year (CE), e.g. 2025.")
@click.option("--version", type=int, help="The snapshot's version (default: the newest).")
@click.option(
    "--office",
    "office_code",
    help="An office code: that office with its branches; default the region.",
)
@click.option(
    "--as-of",
    "as_of",
    help="Coverage up to this day, YYYY-MM-DD (default: today, capped at Dec 31).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("json", "html", "xlsx")),
    default="json",
    show_default=True,
)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file."
)
@with_appcontext
def prospects_command(
    year: int,
    version: int | None,
    office_code: str | None,
    as_of: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Print or write a year's prospect lists, their changes and the visit coverage (SPEC 10)."""
    from kamcrm.errors import KamcrmError
    from kamcrm.reports.cli import DAY, YEAR, _scope

    year = YEAR.convert(str(year), None, None)
    day = DAY.convert(as_of, None, None) if as_of else None
    scope = _scope(office_code)
    try:
        report = prospects_report(year, scope, version=version, as_of=day)
    except KamcrmError as error:
        raise click.ClickException(str(error.message)) from None
    content = render_prospects(report, fmt)
    if output is None and fmt in ("json", "html"):
        sys.stdout.write(content.decode("utf-8"))
        sys.stdout.flush()
        return
    target = output or Path(prospects_filename(report, fmt))
    try:
        target.write_bytes(content)
    except OSError as error:
        raise click.ClickException(f"cannot write {target}: {error.strerror}") from None
    click.echo(f"wrote {target.resolve()} ({len(content):,} bytes)", err=True)
