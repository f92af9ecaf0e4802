"""Start-up wiring that keeps heavy libraries out of ``create_app`` until they are used.

``flask --app kamcrm ...`` builds the whole application before it runs any command, so
every library imported by ``create_app`` is paid for by every command, every worker and
every test. Alembic (through Flask-Migrate) is only needed by ``flask db ...`` and by code
that migrates (the tests, the benchmarks); this module registers the ``db`` command group
and the ``app.extensions["migrate"]`` entry Flask-Migrate and ``migrations/env.py`` read,
and imports Flask-Migrate (and Alembic) the first time either is actually used.
``tests/test_startup.py`` checks which libraries ``create_app`` leaves unimported.
"""

from __future__ import annotations

import importlib

import click
from flask import Flask


class LazyGroup(click.Group):
    """A click group standing in for ``module:attribute``, imported on first real use.

    Listing the commands of the application (``flask --help``) shows this group's name
    and short help without importing anything; parsing its options, listing its
    subcommands or running it loads the real group and hands over to it.
    """

    def __init__(self, name: str, target: str, short_help: str) -> None:
        super().__init__(name=name, help=short_help, short_help=short_help)
        self._target = target
        self._real: click.Group | None = None

    def real(self) -> click.Group:
        if self._real is None:
            module_name, attribute = self._target.split(":")
            self._real = getattr(importlib.import_module(module_name), attribute)
        return self._real

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return self.real().get_params(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self.real().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.real().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context):
        return self.real().invoke(ctx)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.real().format_help(ctx, formatter)


class MigrateSettings:
    """What Flask-Migrate keeps in ``app.extensions["migrate"]``, without importing it.

    Flask-Migrate's commands and functions (``flask_migrate.upgrade``) read ``.migrate``
    (the ``Migrate`` object, whose ``get_config`` builds Alembic's configuration); the
    Alembic environment (``migrations/env.py``) reads ``.db`` and ``.configure_args``.
    ``.migrate`` is built on first access, with the settings ``create_app`` gave.
    """

    def __init__(self, db, directory: str, **configure_args) -> None:
        self.db = db
        self.directory = str(directory)
        self.configure_args = dict(configure_args)
        self._migrate = None

    @property
    def metadata(self):
        return self.db.metadata

    @property
    def migrate(self):
        if self._migrate is None:
            from flask_migrate import Migrate

            self._migrate = Migrate(db=self.db, directory=self.directory, **self.configure_args)
        return self._migrate


def init_migrations(app: Flask, db, directory: str, **configure_args) -> None:
    """Register ``flask db ...`` and the migration settings; Alembic loads when used."""
    app.extensions["migrate"] = MigrateSettings(db, directory, **configure_args)
    app.cli.add_command(LazyGroup("db", "flask_migrate.cli:db", "Perform database migrations."))
