"""Register the Flask CLI command groups of every domain package."""

from flask import Flask


def register_commands(app: Flask) -> None:
    """Attach the ``import``, ``report``, ``seed``, ``users``, ``periods``, ``jobs`` and ``backup``
    commands."""
    from kamcrm.jobs.cli import jobs

    app.cli.add_command(jobs)
    from kamcrm.imports.cli import import_command

    app.cli.add_command(import_command)
    from kamcrm.history.cli import audit_cli
    from kamcrm.org.cli import users_cli
    from kamcrm.reports.closing import periods_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(periods_cli)
    from kamcrm.seed.cli import seed_cli

    app.cli.add_command(seed_cli)
    from kamcrm.reports.cli import report_cli, targets_cli

    # ``report`` holds cr2 and due; other report commands attach with report_cli.add_command.
    app.cli.add_command(report_cli)
    app.cli.add_command(targets_cli)
    from kamcrm.reports.monthly_export import monthly_command

    report_cli.add_command(monthly_command)
    from kamcrm.prevention.cli import prevention_cli
    from kamcrm.prospects.cli import prospects_cli
    from kamcrm.reports.prospects import prospects_command

    app.cli.add_command(prevention_cli)
    report_cli.add_command(prospects_command)
    app.cli.add_command(prospects_cli)
    from kamcrm.backup import backup_command

    app.cli.add_command(backup_command)
