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
        pytest.skip(
            "needs a database server (set KAMCRM_TEST_DATABASE_URL); SQLite has no pool to go stale"
        )
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
    monkeypatch.setattr(
        kamcrm_db, "_ping", lambda connection: pings.append(1) or real_ping(connection)
    )

    _backend_pid(server_engine)  # a new connection: nothing to test
    _backend_pid(server_engine)  # back from the pool at once
    assert pings == []

    monkeypatch.setattr(kamcrm_db, "PING_AFTER_IDLE_SECONDS", 0.0)
    _backend_pid(server_engine)  # "idle" for longer than the threshold
    assert pings == [1]


def test_every_new_server_engine_gets_the_idle_ping():
    # SQLAlchemy's event registry is keyed by id(). The guard once asked sa.event.contains(),
    # which took a new pool at a freed pool's address for "already configured" (about 2 in
    # 100 here), and that engine handed out dead connections. Creating engines connects to
    # nothing, so no server is needed; thousands of them make address reuse all but certain.
    without_ping = 0
    for _ in range(3000):
        engine = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1/nothing", pool_size=1)
        configure_engine(engine)
        if list(engine.pool.dispatch.checkout) != [kamcrm_db._ping_if_idle]:
            without_ping += 1
        engine.dispose()
        del engine
    assert without_ping == 0


def test_configuring_an_engine_twice_adds_its_listeners_once(server_engine):
    configure_engine(server_engine)
    assert len(server_engine.pool.dispatch.checkout) == 1


def test_the_idle_ping_survives_engine_dispose(server_engine, database_url, monkeypatch):
    server_engine.dispose()  # a new pool, as after a fork or a configuration reload
    first = _backend_pid(server_engine)
    _terminate(database_url, first)
    monkeypatch.setattr(kamcrm_db, "PING_AFTER_IDLE_SECONDS", 0.0)

    assert _backend_pid(server_engine) != first
