"""Throwaway databases for the tests and the benchmarks, made and dropped in one place.

``new_database(server_url)`` creates a fresh PostgreSQL database on the server that
``server_url`` names (any database of it: the server's ``postgres`` one will do) and returns
its URL with the function that drops it again. ``database_for_tests(sqlite_path)`` is what a test
wants: that, on the server ``KAMCRM_TEST_DATABASE_URL`` names, or else a SQLite file.
Not used by the application itself.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

#: The environment variable that points the test suite at a PostgreSQL server.
TEST_SERVER_VARIABLE = "KAMCRM_TEST_DATABASE_URL"


def new_database(
    server_url: str | sa.engine.URL, prefix: str = "kamcrm_scratch_", name: str | None = None
) -> tuple[str, Callable[[], None]]:
    """Create a database on the server and return ``(its URL, drop)``.

    ``name`` None gives ``prefix`` and a random suffix, so parallel runs never meet; a fixed
    ``name`` (a benchmark's) is dropped first if it exists. ``drop()`` removes the database
    even while connections to it are open.
    """
    server = sa.make_url(server_url)
    name = name or prefix + uuid.uuid4().hex[:12]
    drop_database(server, name)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False), lambda: drop_database(
        server, name
    )


def drop_database(server_url: str | sa.engine.URL, name: str) -> None:
    """Drop database ``name`` on the server, if it exists (connections to it are cut)."""
    admin = sa.create_engine(sa.make_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def tests_server_url() -> sa.engine.URL | None:
    """The PostgreSQL server the tests run on, or None for SQLite."""
    raw = os.environ.get(TEST_SERVER_VARIABLE)
    return sa.make_url(raw) if raw else None


def database_for_tests(
    sqlite_path: str | Path, prefix: str = "kamcrm_test_"
) -> tuple[str, Callable[[], None]]:
    """A fresh database for a test: on the test server if one is set, else the SQLite file
    ``sqlite_path`` (whose drop removes the file and its WAL companions)."""
    server = tests_server_url()
    if server is not None:
        return new_database(server, prefix)
    path = Path(sqlite_path)

    def remove() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)

    return f"sqlite:///{path}", remove
