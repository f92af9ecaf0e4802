"""The declarative base, its naming convention, and shared column types and mixins."""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Constraint names are fixed so that SQLite batch migrations and PostgreSQL agree.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model (a plain ``DeclarativeBase``; see ECOSYSTEM.md)."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


#: How long a SQLite writer waits for another writer's lock before giving up (ms); the
#: request then answers 503 (see ``database_unavailable``).
SQLITE_BUSY_TIMEOUT_MS = 10000


def _sqlite_on_connect(dbapi_connection, connection_record):
    # pysqlite's own transaction handling defeats SAVEPOINT and transactional DDL;
    # hand BEGIN to SQLAlchemy (see _sqlite_on_begin) and enforce foreign keys.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_MS)}")
    # WAL lets pages read while an import or a job writes; a no-op for in-memory databases.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_on_begin(connection):
    connection.exec_driver_sql("BEGIN")


#: A pooled server connection idle for longer than this is tested before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0


def _note_checkin(dbapi_connection, connection_record):
    connection_record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection, connection_record, connection_proxy):
    """Test a connection that sat idle in the pool; a dead one is replaced, not handed out.

    This is ``pool_pre_ping`` for idle connections only: a busy worker reuses its connection
    every few milliseconds, and a ping round trip on each request cost about a tenth of the
    API's CPU per write. A connection the server dropped while in use still fails that one
    statement, as it would with a pre-ping.
    """
    idle_since = connection_record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        _ping(dbapi_connection)
    except Exception as error:  # any failure means this connection cannot be trusted
        # The pool discards the connection and checks out (or opens) another one.
        raise sa.exc.DisconnectionError(str(error)) from error


def _ping(dbapi_connection) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    finally:
        cursor.close()
    dbapi_connection.rollback()


#: Engines already configured. Identity-based: ``sa.event.contains`` cannot guard this, because
#: the event registry is keyed by ``id()``, and a new engine or pool that reuses a dead one's
#: address looked "already configured" and went without its listeners.
_CONFIGURED: weakref.WeakSet[sa.engine.Engine] = weakref.WeakSet()


def configure_engine(engine: sa.engine.Engine) -> None:
    """Apply per-dialect connection settings, once per engine.

    SQLite: foreign keys, real transactions. Server databases: connections idle in the pool
    for more than ``PING_AFTER_IDLE_SECONDS`` are tested at checkout (after a database
    restart or a dropped idle connection nobody gets an error).
    """
    if engine in _CONFIGURED:
        return
    _CONFIGURED.add(engine)
    if engine.dialect.name != "sqlite":
        # Listening on the engine (not its pool) keeps the listeners across engine.dispose().
        sa.event.listen(engine, "checkin", _note_checkin)
        sa.event.listen(engine, "checkout", _ping_if_idle)
        return
    sa.event.listen(engine, "connect", _sqlite_on_connect)
    sa.event.listen(engine, "begin", _sqlite_on_begin)


#: SQLite's words for "another connection holds the lock" (SQLITE_BUSY, SQLITE_LOCKED).
_SQLITE_BUSY_WORDS = ("database is locked", "database table is locked", "database is busy")


def database_unavailable(error: BaseException) -> bool:
    """Tell whether ``error`` means the database cannot answer right now, though the request
    itself was fine: the server restarting or unreachable, a connection it dropped, or
    SQLite's lock held by another writer past the busy timeout. Such a request is safe to
    retry (nothing it did was committed), so it is answered 503, not 500.

    Anything else (a wrong statement, a missing table, a violated constraint) is a bug and
    stays an error.
    """
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    module = type(original).__module__
    if module.startswith("psycopg"):
        import psycopg

        # Connection failures, "the database system is shutting down / starting up" and
        # administrator shutdowns are all psycopg.OperationalError (class 08 and 57P0x).
        return isinstance(original, psycopg.OperationalError) and (
            getattr(original, "sqlstate", None) is None
            or original.sqlstate.startswith(("08", "57P"))
        )
    if module == "sqlite3":
        return isinstance(error, sa.exc.OperationalError) and any(
            words in str(original).lower() for words in _SQLITE_BUSY_WORDS
        )
    return False


def set_local(session, **settings: str) -> None:
    """On PostgreSQL, ``SET LOCAL`` each planner setting for the current transaction, in one
    round trip; other databases have no such settings. Values are the code's own constants."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql(
            "; ".join(f"SET LOCAL {name} = {value}" for name, value in settings.items())
        )


def tune_for_interactive_lists(session) -> None:
    """Set PostgreSQL up for one page of a list in the current transaction.

    No parallel workers: a region-wide count then ran in three processes at once (about
    three times its CPU) on a server that answers many such requests side by side, and on
    a 2-core machine it starved every other request. No JIT: a page's query is too short to
    earn back its compilation.
    """
    set_local(session, max_parallel_workers_per_gather="0", jit="off")


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware.

    PostgreSQL keeps ``timestamptz``; SQLite has no zone, so values are stored as naive
    UTC and given back their zone on the way out. Naive input is refused: a business
    timestamp without a zone is a bug.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class JSONDocument(sa.types.TypeDecorator):
    """A JSON document: JSONB on PostgreSQL, JSON text on SQLite."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.JSON())


def one_of(column: str, values: Iterable[str], nullable: bool = False) -> str:
    """Return the SQL text of a CHECK that ``column`` takes one of ``values``."""
    quoted = ", ".join("'" + value + "'" for value in values)
    condition = f"{column} IN ({quoted})"
    return f"{column} IS NULL OR {condition}" if nullable else condition


class TimestampMixin:
    """``created_at`` and ``updated_at``, both UTC and set by the application."""

    #: When the row was created (UTC).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    #: When the row last changed (UTC).
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


# --- answers kept for a few seconds ----------------------------------------------------------


class ShortLivedAnswers:
    """Answers read from the database that every request asks again (a verified API token,
    whether a quarter is closed), kept in this process for at most ``seconds``.

    A session of this process that flushes a change to one of ``watched`` (model classes)
    drops every answer at once, again when its transaction ends (commit or rollback), and
    stores none while its transaction lasts: what it sees is not yet what everyone sees.
    Another process (a second gunicorn worker, another host) learns of a change when its
    answer runs out, so ``seconds`` is how long a change made elsewhere may go unseen.
    Changes written without the ORM (a Core UPDATE, SQL by hand) call :meth:`clear`.
    """

    _all: weakref.WeakSet[ShortLivedAnswers] = weakref.WeakSet()
    #: Seconds on a clock that only goes forward (tests move it).
    clock = staticmethod(time.monotonic)

    def __init__(self, name: str, seconds: float, watched: tuple[type, ...]):
        self.name = name
        self.seconds = seconds
        self.watched = watched
        self._flag = f"kamcrm_changed_{name}"
        self._answers: dict = {}
        ShortLivedAnswers._all.add(self)

    def get(self, key):
        """Return the answer kept for ``key``, or None when there is none or it ran out."""
        found = self._answers.get(key)
        if found is None:
            return None
        if found[1] <= self.clock():
            self._answers.pop(key, None)
            return None
        return found[0]

    def put(self, session, key, value) -> None:
        """Keep ``value`` (not None) for ``key``, unless ``session`` changed the watched rows."""
        if self.seconds > 0 and not session.info.get(self._flag):
            self._answers[key] = (value, self.clock() + self.seconds)

    def discard(self, key) -> None:
        self._answers.pop(key, None)

    def clear(self) -> None:
        self._answers.clear()

    @classmethod
    def clear_all(cls) -> None:
        """Forget every answer of every cache (tests, between two of them)."""
        for cache in list(cls._all):
            cache.clear()

    # Session events (registered once, below, for every session).

    @classmethod
    def _after_flush(cls, session, flush_context) -> None:
        changed = (*session.new, *session.dirty, *session.deleted)
        if not changed:
            return
        for cache in list(cls._all):
            if any(isinstance(row, cache.watched) for row in changed):
                session.info[cache._flag] = True
                cache.clear()

    @classmethod
    def _after_end(cls, session, transaction=None) -> None:
        # A savepoint rolled back leaves the transaction going on: keep its mark.
        nested = transaction is not None and transaction.nested
        for cache in list(cls._all):
            if session.info.get(cache._flag):
                cache.clear()
                if not nested:
                    session.info.pop(cache._flag, None)


sa.event.listen(sa.orm.Session, "after_flush", ShortLivedAnswers._after_flush)
sa.event.listen(sa.orm.Session, "after_commit", ShortLivedAnswers._after_end)
sa.event.listen(sa.orm.Session, "after_soft_rollback", ShortLivedAnswers._after_end)
