"""``flask --app kamcrm import KIND FILE``: load an interchange file, all or nothing."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from kamcrm.imports.importer import KINDS, ImportProgress, import_file
from kamcrm.progress import ProgressBar
from kamcrm.transactions import in_one_transaction


@click.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--reason", help="Why activities of a closed quarter change (written to the audit log)."
)
@with_appcontext
@in_one_transaction
def import_command(kind: str, file: Path, reason: str | None) -> None:
    """Import FILE (CSV or XLSX) of KIND: offices, users, accounts, tiers or activities.

    A file with any bad row changes nothing: the first 1,000 problems are printed as
    "line N: field: reason" (the header is line 1), then how many more there were, and the
    command exits with status 1. On a terminal a progress bar shows on stderr meanwhile.
    """
    bar = ProgressBar(f"{kind}:")

    def progress(state: ImportProgress) -> None:
        bar.update(state.fraction, f"{state.rows:,} rows")

    try:
        with file.open("rb") as stream:
            result = import_file(kind, stream, file.name, reason=reason, progress=progress)
    finally:
        bar.close()
    if not result.ok:
        for error in result.errors:
            click.echo(str(error), err=True)
        if result.more_errors:
            click.echo(f"… and {result.more_errors:,} more errors.", err=True)
        bad_lines = len({error.line for error in result.errors})
        if result.more_errors:
            click.echo(
                f"Nothing was imported: {result.rows:,} rows read in {file.name}; the first "
                f"{len(result.errors):,} problems ({bad_lines:,} lines) are listed.",
                err=True,
            )
        else:
            click.echo(f"Nothing was imported: {bad_lines:,} bad line(s) in {file.name}.", err=True)
        raise SystemExit(1)
    click.echo(
        f"Imported {result.rows:,} rows of {kind} from {file.name}: {result.created:,} created, "
        f"{result.updated:,} updated, {result.unchanged:,} unchanged ({result.seconds:.1f} s)."
    )
