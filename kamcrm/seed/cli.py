"""``flask --app kamcrm seed demo [--if-empty] [--today YYYY-MM-DD]``."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app

from kamcrm.extensions import db
from kamcrm.org.models import Office
from kamcrm.periods import bangkok_today
from kamcrm.progress import ProgressBar
from kamcrm.transactions import CommandGroup

seed_cli = CommandGroup("seed", help="Load demo data into an empty database.")

#: The instance file where ``users demo-logins`` finds the demo passwords ("username password").
DEMO_LOGINS_FILE = "demo_logins.txt"


@seed_cli.command("demo")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing, successfully, when the database already has offices.",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day the demo is built for (default: today in Bangkok); same day, same data.",
)
def demo_command(if_empty: bool, today) -> None:
    """Load the demo region (Area 2: offices, users, 2,000 accounts, two years of activities).

    Every user gets a random password; ``flask --app kamcrm users demo-logins`` shows them.
    """
    from kamcrm.seed.demo import seed_demo

    offices = db.session.execute(sa.select(sa.func.count()).select_from(Office)).scalar_one()
    if offices:
        if if_empty:
            click.echo(
                f"The database already holds {offices} offices; the demo region was not loaded."
            )
            return
        raise click.ClickException(
            f"The database already holds {offices} offices. The demo region goes only into an empty "
            "database: point KAMCRM_DATABASE_URL at a new one (or run `seed demo --if-empty`)."
        )
    day = today.date() if today is not None else bangkok_today()
    started = time.perf_counter()
    bar = ProgressBar("seed:")
    step = ""

    def progress(message: str | None, share: float) -> None:
        nonlocal step
        if message is not None:
            step = message.split(":", 1)[0]
            if not bar.shown:  # a log or a pipe: one line per step
                click.echo(f"seed: {message} ({time.perf_counter() - started:.1f} s)", err=True)
        bar.update(share, step)

    try:
        result = seed_demo(day, progress=progress)
    finally:
        bar.close()
    write_demo_logins(
        Path(current_app.instance_path),
        [(username, password) for username, _, _, _, password in result.logins],
    )
    click.echo(
        f"Loaded the demo region as of {day}: {result.counts['offices']} offices, {result.counts['users']} users, "
        f"{result.counts['accounts']:,} accounts, {result.counts['activities']:,} activities "
        f"in {time.perf_counter() - started:.1f} s. Sign-ins: flask --app kamcrm users demo-logins"
    )


def write_demo_logins(instance: Path, logins: list[tuple[str, str]]) -> Path:
    """Write ``username password`` lines to the instance folder, readable by the owner only."""
    path = instance / DEMO_LOGINS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.writelines(f"{username} {password}\n" for username, password in sorted(logins))
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    return path
