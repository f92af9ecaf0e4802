"""Pooled server connections: an idle one the server dropped is replaced, a busy one is not pinged."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from kamcrm import db as kamcrm_db
from kamcrm.db import configure_engine


@pytest.fixture
def server_engine(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs a database server (set KAMCRM_TEST_DATABASE_URL); SQLite has no pool to go stale")
    engine = sa.create_engine(database_url, pool_size=1, max_overflow=0)
    configure_engine(engine)
    yield engine
    engine.dispose()


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(database_url: str, pid: int) -> None:
    """Terminate a server backend and wait until it is gone (termination is asynchronous)."""
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        # pg_terminate_backend's timeout (PostgreSQL 14+) waits for the backend to exit.
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        for _ in range(100):
            alive = connection.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            ).scalar_one()
            if not alive:
                break
            time.sleep(0.05)
    admin.dispose()


def test_an_idle_connection_the_server_dropped_is_replaced_without_an_error(
    server_engine, database_url, monkeypatch
):
    first = _backend_pid(server_engine)
    _terminate(database_url, first)
    monkeypatch.setattr(kamcrm_db, "PING_AFTER_IDLE_SECONDS", 0.0)

    second = _backend_pid(server_engine)  # no OperationalError: the dead one was discarded

    assert second != first


def test_a_connection_reused_at_once_is_not_pinged_and_an_idle_one_is(server_engine, monkeypatch):
    pings = []
    real_ping = kamcrm_db._ping
    monkeypatch.setattr(kamcrm_db, "_ping", lambda connection: pings.append(1) or real_ping(connection))

    _backend_pid(server_engine)  # a new connection: nothing to test
    _backend_pid(server_engine)  # back from the pool at once
    assert pings == []

    monkeypatch.setattr(kamcrm_db, "PING_AFTER_IDLE_SECONDS", 0.0)
    _backend_pid(server_engine)  # "idle" for longer than the threshold
    assert pings == [1]
