"""Fixtures: one migrated database per test session, rolled back after every test.

SQLite by default; PostgreSQL when ``KAMCRM_TEST_DATABASE_URL`` is set. On PostgreSQL a
fresh database is created for the session (so parallel runs never meet) and dropped after.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import upgrade

from kamcrm import create_app
from kamcrm.db import ShortLivedAnswers
from kamcrm.extensions import db
from kamcrm.throwaway import database_for_tests
from tests import factories

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """Yield the URL of an empty database that lives as long as the test session."""
    url, drop = database_for_tests(tmp_path_factory.mktemp("db") / "test.sqlite")
    try:
        yield url
    finally:
        drop()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """The application, its schema built by the real migrations."""
    instance = tmp_path_factory.mktemp("instance")
    application = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "OUTBOX_DIR": str(instance / "outbox"),
            "RATELIMIT_ENABLED": False,
        }
    )
    with application.app_context():
        upgrade(directory=MIGRATIONS)
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")
    yield application
    with application.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(autouse=True)
def _rollback(request, app):
    """Run each test inside one outer transaction that is rolled back afterwards.

    Flask-SQLAlchemy's ``get_bind`` ignores a session ``bind``, so the engine itself is
    swapped for the test's connection; a commit inside the test then only releases a
    savepoint.
    """
    with app.app_context():
        engine = db.engines[None]
        connection = engine.connect()
        outer = connection.begin()
        db.engines[None] = connection
        try:
            yield
        finally:
            db.session.remove()
            # What a test's rolled-back transaction showed (a closed quarter, a verified
            # token) must not be taken on trust by the next test.
            ShortLivedAnswers.clear_all()
            db.engines[None] = engine
            outer.rollback()
            connection.close()


@pytest.fixture
def app_ctx(app):
    """Push an application context for a test that works with the database directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app_ctx):
    """Factories that build valid rows (see ``tests/factories.py``)."""
    return factories.Factories()


@pytest.fixture
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
def login_as(client, make):
    """Sign ``client`` in as a new user of ``role`` (or as the ``User`` given); return the user.

    ``login_as("kamr")``, ``login_as("office_manager", office=office)``, ``login_as(user)``.
    The session is written directly (a session row, no password hashing), exactly as the
    login page leaves it.
    """
    from kamcrm.org.models import User

    def sign_in(role_or_user, **fields) -> User:
        user = (
            role_or_user
            if isinstance(role_or_user, User)
            else make.user(role=role_or_user, **fields)
        )
        factories.sign_in(client, user)
        return user

    return sign_in


@pytest.fixture
def api_token_for(make):
    """Return a function giving a fresh raw API token for a user: ``api_token_for(user)``.

    Send it as ``headers={"Authorization": f"Bearer {token}"}``; keyword arguments go to
    ``kamcrm.org.tokens.issue_token`` (``name``, ``expires_days``, ``now``).
    """
    from kamcrm.org.tokens import issue_token

    def token_for(user, name: str = "test", **options) -> str:
        return issue_token(user, name, actor=None, **options)[1]

    return token_for


@pytest.fixture
def extra_app(database_url, tmp_path):
    """Return a builder of a second app on the test database, rolled back like the main one.

    For tests that need other settings (CSRF or rate limits on) or extra probe routes:
    ``application = extra_app({"WTF_CSRF_ENABLED": True}, setup=register_routes)``. Its
    app context stays pushed for the test, so ``factories.Factories()`` builds rows in it
    (do not combine with ``make``/``app_ctx``, which push the main app's context).
    """
    import contextlib

    stack = contextlib.ExitStack()

    @contextlib.contextmanager
    def rolled_back(application):
        with application.app_context():
            engine = db.engines[None]
            connection = engine.connect()
            outer = connection.begin()
            db.engines[None] = connection
            try:
                yield
            finally:
                db.session.remove()
                db.engines[None] = engine
                outer.rollback()
                connection.close()
                engine.dispose()

    def build(config: dict | None = None, setup=None):
        settings = {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "RATELIMIT_ENABLED": False,
        }
        settings.update(config or {})
        application = create_app(settings)
        if setup is not None:
            setup(application)
        stack.enter_context(rolled_back(application))
        return application

    with stack:
        yield build
