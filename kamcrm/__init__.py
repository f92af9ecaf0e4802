"""kamcrm: the Key Account Management CRM backend of a PEA regional office."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from kamcrm import config as config_module

#: Jinja templates live at the top of the repository, one folder per blueprint.
TEMPLATE_FOLDER = Path(__file__).resolve().parent.parent / "templates"


class KamcrmFlask(Flask):
    """Flask, with the request's one commit (``kamcrm.transactions.finish_request``).

    The commit runs inside ``dispatch_request``, so an error it raises (a conflict found by
    the database, a database that cannot answer) is answered by the same error handlers as
    an error raised by the view.
    """

    def dispatch_request(self):
        from flask import request

        from kamcrm.transactions import finish_request

        response = self.make_response(super().dispatch_request())
        finish_request(response.status_code, request.method)
        return response


def create_app(test_config: dict | None = None) -> Flask:
    """Create the kamcrm application.

    Configuration comes from the defaults, then ``instance/config.py`` if present, then the
    ``KAMCRM_*`` environment, then ``test_config``.
    """
    app = KamcrmFlask(
        __name__,
        instance_relative_config=True,
        template_folder=str(TEMPLATE_FOLDER),
        instance_path=os.environ.get("KAMCRM_INSTANCE_PATH") or None,
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(config_module.defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_mapping(config_module.from_environment())
    if test_config is not None:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.instance_secret_key(app.instance_path)
    app.config["MAX_CONTENT_LENGTH"] = config_module.max_content_length(app.config)
    app.config["PERMANENT_SESSION_LIFETIME"] = config_module.session_lifetime(
        app.config["SESSION_IDLE_MINUTES"]
    )

    _init_extensions(app)
    _init_security(app)
    _register_blueprints(app)
    _register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    from kamcrm import models  # noqa: F401  (every table is known to metadata and Alembic)
    from kamcrm.db import configure_engine
    from kamcrm.extensions import babel, csrf, db
    from kamcrm.startup import init_migrations

    db.init_app(app)
    # Flask-Migrate's settings and ``flask db``; Alembic itself is imported when first used.
    init_migrations(
        app,
        db,
        directory=str(Path(__file__).resolve().parent.parent / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    with app.app_context():
        for engine in db.engines.values():
            configure_engine(engine)
    csrf.init_app(app)
    from kamcrm.web.i18n import select_locale

    babel.init_app(app, locale_selector=select_locale)


def _init_security(app: Flask) -> None:
    """Sign-in, API tokens, rate limits, CSRF, access rules (default deny), headers, errors."""
    from kamcrm import security

    security.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from kamcrm.web.auth import bp as auth_bp

    app.register_blueprint(auth_bp)
    from kamcrm.web import init_app as init_web

    init_web(app)
    from kamcrm.api import init_app as init_api

    init_api(app)


def _register_cli(app: Flask) -> None:
    from kamcrm.cli import register_commands

    register_commands(app)
