"""``flask report cr2|due`` and ``flask targets show|set|reset``.

Bad input stops a command with a clear message and a non-zero exit; a ``targets set``
with any bad part changes nothing.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from kamcrm.errors import KamcrmError
from kamcrm.extensions import db
from kamcrm.periods import FIRST_YEAR, LAST_YEAR, year_in_range
from kamcrm.transactions import CommandGroup


def _year(value: str) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise click.BadParameter(
            f"{value!r} is not a year; write it as YYYY (CE), e.g. 2021"
        ) from None
    if not year_in_range(year):
        raise click.BadParameter(
            f"{year} is out of range; give a CE year between {FIRST_YEAR} and {LAST_YEAR}"
        )
    return year


class YearType(click.ParamType):
    name = "YYYY"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return _year(value)
        except click.BadParameter as error:
            self.fail(error.message, param, ctx)


class DayType(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value.strip())
        except (ValueError, AttributeError):
            self.fail(
                f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2021-06-30", param, ctx
            )


YEAR = YearType()
DAY = DayType()


def _scope(office_code: str | None):
    from kamcrm.errors import NotFound
    from kamcrm.org.access import scope_for

    try:
        return scope_for(None, office_code.strip() if office_code is not None else None)
    except NotFound:
        raise click.BadParameter(
            f"no office has the code {office_code!r}", param_hint="--office"
        ) from None


# --- flask report ---------------------------------------------------------------------------


@click.group("report", cls=CommandGroup)
def report_cli() -> None:
    """Produce reports: the CR2 report, the due list (and the monthly summary)."""


@report_cli.command("cr2")
@click.option("--year", required=True, type=YEAR, help="The report's year (CE), e.g. 2021.")
@click.option(
    "--as-of",
    "as_of",
    type=DAY,
    help="Count up to this day (default: today in Bangkok, capped at Dec 31).",
)
@click.option(
    "--office",
    "office_code",
    help="An office code: that office with its branches; default the region.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("json", "html", "xlsx", "pdf")),
    default="json",
    show_default=True,
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (stdout for json/html if not given).",
)
@with_appcontext
def cr2_command(
    year: int, as_of: date | None, office_code: str | None, fmt: str, output: Path | None
) -> None:
    """Print or write the CR2 report (SPEC sections 5-7)."""
    from kamcrm.compliance.engine import cr2_report
    from kamcrm.reports.cr2 import cr2_filename, render_cr2

    scope = _scope(office_code)
    report = cr2_report(year, as_of, scope)
    content = render_cr2(report, fmt)
    if output is None and fmt in ("json", "html"):
        sys.stdout.write(content.decode("utf-8"))
        sys.stdout.flush()
        return
    target = output or Path(cr2_filename(report, fmt))
    try:
        target.write_bytes(content)
    except OSError as error:
        raise click.ClickException(f"cannot write {target}: {error.strerror}") from None
    click.echo(f"wrote {target.resolve()} ({len(content):,} bytes)", err=True)


@report_cli.command("cr1")
@click.option("--year", required=True, type=YEAR, help="The report's year (CE), e.g. 2021.")
@click.option(
    "--as-of",
    "as_of",
    type=DAY,
    help="Count up to this day (default: today in Bangkok, capped at Dec 31).",
)
@click.option(
    "--office",
    "office_code",
    help="An office code: that office with its branches; default the region.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("json", "html", "xlsx", "pdf")),
    default="json",
    show_default=True,
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (stdout for json/html if not given).",
)
@with_appcontext
def cr1_command(
    year: int, as_of: date | None, office_code: str | None, fmt: str, output: Path | None
) -> None:
    """Print or write the CR1 report (surveys and Smile Box 3.3, and the other CR1 sections)."""
    from kamcrm.reports.cr1 import cr1_filename, cr1_report, render_cr1

    report = cr1_report(year, as_of, _scope(office_code))
    content = render_cr1(report, fmt)
    if output is None and fmt in ("json", "html"):
        sys.stdout.write(content.decode("utf-8"))
        sys.stdout.flush()
        return
    target = output or Path(cr1_filename(report, fmt))
    try:
        target.write_bytes(content)
    except OSError as error:
        raise click.ClickException(f"cannot write {target}: {error.strerror}") from None
    click.echo(f"wrote {target.resolve()} ({len(content):,} bytes)", err=True)


@report_cli.command("complaints")
@click.option(
    "--month", required=True, metavar="YYYY-MM", help="The month of the return, e.g. 2021-03."
)
@click.option(
    "--office",
    "office_code",
    help="An office code: that office with its branches; default the region.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("json", "html", "xlsx", "pdf")),
    default="json",
    show_default=True,
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (stdout for json/html if not given).",
)
@click.option(
    "--as-reported", is_flag=True, help="The return kept on its due day, not one made now."
)
@with_appcontext
def complaints_command(
    month: str, office_code: str | None, fmt: str, output: Path | None, as_reported: bool
) -> None:
    """Print or write the monthly complaint return (SPEC section 8) as of the month's last day.

    One made now is kept as an on-demand copy; it shows what changed since the return was
    reported (due the 10th day after the month for an office, the 20th for the region).
    """
    from kamcrm.db import utcnow
    from kamcrm.errors import NotFound
    from kamcrm.periods import parse_month
    from kamcrm.reports.complaint_return import complaint_return_report
    from kamcrm.reports.complaint_return_export import render_return

    try:
        parse_month(month)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--month") from None
    if output is None and fmt in ("xlsx", "pdf"):
        raise click.UsageError(f"--format {fmt} is binary; give --output FILE")
    scope = _scope(office_code)
    try:
        view = complaint_return_report(
            month, scope, utcnow(), as_reported=as_reported, keep=not as_reported
        )
    except NotFound as error:  # not reported yet
        raise click.ClickException(str(error.message)) from None
    content = render_return(view, fmt)
    if output is None:
        sys.stdout.write(content.decode("utf-8"))
        sys.stdout.flush()
        return
    try:
        output.write_bytes(content)
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error.strerror}") from None
    click.echo(f"wrote {output.resolve()} ({len(content):,} bytes)", err=True)


@report_cli.command("due")
@click.option("--user", "username", help="A KAMR's username: the accounts they own.")
@click.option("--office", "office_code", help="An office code: its accounts and its branches'.")
@click.option("--today", type=DAY, help="The day to compute for (default: today in Bangkok).")
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True
)
@click.option("--limit", type=click.IntRange(min=1), help="Show only the most urgent N items.")
@with_appcontext
def due_command(
    username: str | None, office_code: str | None, today: date | None, fmt: str, limit: int | None
) -> None:
    """List which accounts still need which activity this period, most urgent first.

    With neither --user nor --office, the whole region.
    """
    from kamcrm.compliance.due import due_count, due_list
    from kamcrm.org.models import User
    from kamcrm.org.scope import region_scope
    from kamcrm.periods import bangkok_today

    if username and office_code:
        raise click.UsageError("give --user or --office, not both")
    today = today or bangkok_today()
    kamr_id = None
    if username:
        user = db.session.execute(
            sa.select(User).where(User.username == username.strip())
        ).scalar_one_or_none()
        if user is None:
            raise click.BadParameter(f"no user is called {username!r}", param_hint="--user")
        kamr_id = user.id
        scope = region_scope()  # a KAMR's accounts, wherever they are held
        label = f"accounts of {user.username}"
    else:
        scope = _scope(office_code)
        label = f"scope {scope.code}"
    items = due_list(scope, today, kamr_id=kamr_id, limit=limit)
    total = due_count(scope, today, kamr_id=kamr_id) if limit else len(items)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "today": today.isoformat(),
                    "scope": label,
                    "total": total,
                    "items": [i.as_dict() for i in items],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(
        f"Due list for {label} on {today.isoformat()}: {total} item(s)"
        + (f", showing {len(items)}" if limit and total > len(items) else "")
    )
    if not items:
        click.echo("Nothing is due: every account has what its rules need this period.")
        return
    click.echo(
        f"{'days':>4}  {'need':>4}  {'type':<4} {'tier':<10} {'period':<23} {'account':<14} {'office':<8} kamr / name"
    )
    for item in items:
        period = f"{item.period_start.isoformat()}..{item.period_end.isoformat()}"
        click.echo(
            f"{item.days_left:>4}  {item.needed:>4}  {item.type:<4} {item.tier:<10} {period:<23} "
            f"{item.account_no:<14} {item.office_code:<8} {item.kamr_username or '-'} / {item.account_name}"
        )


# --- flask targets ----------------------------------------------------------------------------


@click.group("targets", cls=CommandGroup)
def targets_cli() -> None:
    """Show or change a year's rules, executive-visit quotas and planned populations."""


def _print_targets(year: int, fmt: str) -> None:
    from kamcrm.complaints.targets import complaint_targets
    from kamcrm.compliance.targets import year_targets

    targets = year_targets(year)
    complaints = complaint_targets(year)
    if fmt == "json":
        click.echo(
            json.dumps(
                {**targets.as_dict(), "complaints": complaints.as_dict()},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    source = "stored for this year" if targets.stored else "the defaults (SPEC section 4)"
    click.echo(f"Targets of {year} — {source}")
    click.echo("Frequency rules:")
    click.echo(f"  {'item':<6} {'rule':<16} {'period':<8} {'min':>3} {'target %':>9}")
    for rule in targets.rules:
        click.echo(
            f"  {rule.item:<6} {rule.key:<16} {rule.period:<8} {rule.min_count:>3} {rule.target_pct:>9}"
        )
    click.echo("Executive-visit quotas (distinct accounts per quarter per unit):")
    for quota in targets.quotas:
        click.echo(f"  {quota.exec_role:<20} {quota.quota_per_quarter}")
    click.echo("Planned populations:")
    for tier, planned in targets.planned:
        click.echo(f"  {tier:<11} {'none' if planned is None else planned}")
    source = "stored for this year" if complaints.stored else "the defaults (SPEC section 8)"
    click.echo(f"Complaint limits ({source}):")
    for code, days in complaints.categories:
        by_tier = ", ".join(
            f"{tier} {limit} d"
            for (category, tier), limit in complaints.tier_limits
            if category == code
        )
        click.echo(f"  {code:<16} {days:>3} d" + (f"  ({by_tier})" if by_tier else ""))
    click.echo("Complaint items:")
    for item in complaints.items:
        limit = (
            f"{item.limit_hours} h"
            if item.limit_hours is not None
            else f"{item.limit_days} d"
            if item.limit_days is not None
            else "each category's"
        )
        click.echo(f"  {item.item:<5} {limit:<16} {item.target_pct:>7} %")


@targets_cli.command("show")
@click.option("--year", required=True, type=YEAR)
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True
)
@with_appcontext
def targets_show(year: int, fmt: str) -> None:
    """Show the targets of a year (stored, or the defaults)."""
    _print_targets(year, fmt)


def _split_pair(text: str, option: str) -> tuple[str, str]:
    if "=" not in text:
        raise click.BadParameter(f"{text!r} needs NAME=VALUE", param_hint=option)
    name, value = text.split("=", 1)
    return name.strip(), value.strip()


def _whole(value: str, option: str) -> int:
    if not value.isdigit():
        raise click.BadParameter(f"{value!r} is not a whole number of days", param_hint=option)
    return int(value)


def _rule_spec(text: str, option: str, need_values: bool = True) -> tuple[str, str, dict]:
    """Parse ``TYPE:TIER[:field=value,field=value]``."""
    parts = text.split(":", 2)
    if len(parts) < 2 or (need_values and len(parts) < 3):
        example = "FMS:STAR:target_pct=95" if need_values else "SEM:STAR"
        raise click.BadParameter(
            f"{text!r} is not a rule; write it like {example}", param_hint=option
        )
    type_, tier = parts[0].strip().upper(), parts[1].strip().upper()
    values = {}
    if len(parts) == 3:
        for piece in filter(None, (p.strip() for p in parts[2].split(","))):
            name, value = _split_pair(piece, option)
            values[name] = value
        if need_values and not values:
            raise click.BadParameter(f"{text!r} changes nothing", param_hint=option)
    return type_, tier, values


@targets_cli.command("set")
@click.option("--year", required=True, type=YEAR)
@click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="TYPE:TIER:FIELD=VALUE[,…]",
    help="Change a rule, e.g. FMS:STAR:target_pct=95 or COM:STREAMLINE:period=quarter,min_count=2.",
)
@click.option(
    "--add-rule",
    "added",
    multiple=True,
    metavar="TYPE:TIER:period=P,target_pct=N[,min_count=M]",
    help="Add a rule, e.g. SEM:STAR:period=year,target_pct=50.",
)
@click.option(
    "--remove-rule",
    "removed",
    multiple=True,
    metavar="TYPE:TIER",
    help="Drop a rule, e.g. SEM:STRATEGIC.",
)
@click.option(
    "--quota", "quotas", multiple=True, metavar="EXEC_ROLE=N", help="e.g. office_manager=6."
)
@click.option(
    "--planned",
    "planned",
    multiple=True,
    metavar="TIER=N|none",
    help="e.g. STAR=110 or STREAMLINE=none.",
)
@click.option(
    "--complaint-limit",
    "complaint_limits",
    multiple=True,
    metavar="CATEGORY=DAYS",
    help="A complaint category's limit (a new code adds a category), e.g. METER_BILLING=15.",
)
@click.option(
    "--complaint-tier-limit",
    "complaint_tier_limits",
    multiple=True,
    metavar="CATEGORY:TIER=DAYS|none",
    help="A category's limit for accounts of a tier, e.g. METER_BILLING:STRATEGIC=7.",
)
@click.option(
    "--complaint-target",
    "complaint_targets_",
    multiple=True,
    metavar="ITEM=PCT",
    help="A plan 2 item's target %, e.g. 2.1d=75.",
)
@click.option(
    "--actor", "actor_name", help="Username recorded in the audit log (default: the system)."
)
@with_appcontext
def targets_set(
    year,
    rules,
    added,
    removed,
    quotas,
    planned,
    complaint_limits,
    complaint_tier_limits,
    complaint_targets_,
    actor_name,
) -> None:
    """Change a year's targets; the first change copies the defaults so nothing else moves.

    All changes are applied together or not at all.
    """
    from kamcrm.complaints import operations as complaint_operations
    from kamcrm.compliance import operations
    from kamcrm.org.models import User

    if not (
        rules
        or added
        or removed
        or quotas
        or planned
        or complaint_limits
        or complaint_tier_limits
        or complaint_targets_
    ):
        raise click.UsageError(
            "nothing to change; give --rule, --add-rule, --remove-rule, --quota, --planned "
            "or a --complaint-… option"
        )
    changes = []
    for text in rules:
        type_, tier, values = _rule_spec(text, "--rule")
        changes.append((f"--rule {text}", operations.update_rule, (year, type_, tier, values)))
    for text in added:
        type_, tier, values = _rule_spec(text, "--add-rule")
        changes.append((f"--add-rule {text}", operations.add_rule, (year, type_, tier, values)))
    for text in removed:
        type_, tier, _ = _rule_spec(text, "--remove-rule", need_values=False)
        changes.append((f"--remove-rule {text}", operations.remove_rule, (year, type_, tier)))
    for text in quotas:
        role, value = _split_pair(text, "--quota")
        changes.append((f"--quota {text}", operations.set_quota, (year, role, value)))
    for text in planned:
        tier, value = _split_pair(text, "--planned")
        changes.append((f"--planned {text}", operations.set_planned, (year, tier.upper(), value)))
    for text in complaint_limits:
        code, value = _split_pair(text, "--complaint-limit")
        changes.append(
            (
                f"--complaint-limit {text}",
                complaint_operations.set_category_limit,
                (year, code, _whole(value, "--complaint-limit")),
            )
        )
    for text in complaint_tier_limits:
        pair, value = _split_pair(text, "--complaint-tier-limit")
        if ":" not in pair:
            raise click.BadParameter(
                f"{text!r} needs CATEGORY:TIER=DAYS", param_hint="--complaint-tier-limit"
            )
        category, tier = (part.strip().upper() for part in pair.split(":", 1))
        days = None if value.lower() == "none" else _whole(value, "--complaint-tier-limit")
        changes.append(
            (
                f"--complaint-tier-limit {text}",
                complaint_operations.set_tier_limit,
                (year, category, tier, days),
            )
        )
    for text in complaint_targets_:
        item, value = _split_pair(text, "--complaint-target")
        changes.append(
            (
                f"--complaint-target {text}",
                lambda year, item, value, actor=None: complaint_operations.set_item_target(
                    year, item, target_pct=value, actor=actor
                ),
                (year, item, value),
            )
        )

    actor = None
    if actor_name:
        actor = db.session.execute(
            sa.select(User).where(User.username == actor_name)
        ).scalar_one_or_none()
        if actor is None:
            raise click.BadParameter(f"no user is called {actor_name!r}", param_hint="--actor")
    problems = []
    for label, operation, args in changes:
        try:
            with db.session.begin_nested():
                operation(*args, actor=actor)
        except KamcrmError as error:
            details = "; ".join(
                f"{field}: {', '.join(msgs)}" for field, msgs in error.errors.items()
            )
            problems.append(f"{label}: {details or error.message}")
    if problems:
        raise click.ClickException("nothing was changed:\n  " + "\n  ".join(problems))
    _print_targets(year, "text")


@targets_cli.command("reset")
@click.option("--year", required=True, type=YEAR)
@click.option(
    "--actor", "actor_name", help="Username recorded in the audit log (default: the system)."
)
@with_appcontext
def targets_reset(year: int, actor_name: str | None) -> None:
    """Delete a year's stored targets so that it uses the defaults again."""
    from kamcrm.compliance import operations
    from kamcrm.org.models import User

    actor = None
    if actor_name:
        actor = db.session.execute(
            sa.select(User).where(User.username == actor_name)
        ).scalar_one_or_none()
        if actor is None:
            raise click.BadParameter(f"no user is called {actor_name!r}", param_hint="--actor")
    changed = operations.reset_year(year, actor=actor)
    click.echo(
        f"{year} uses the defaults again." if changed else f"{year} already used the defaults."
    )
