"""Writing to the audit log. Every operation that changes data calls ``record``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa

from kamcrm.audit.models import AuditEntry
from kamcrm.db import utcnow
from kamcrm.extensions import db


def snapshot(row, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Return the column values of a model instance as JSON-safe data."""
    mapper = sa.inspect(row).mapper
    names = fields or tuple(column.key for column in mapper.column_attrs)
    return {name: _json_value(getattr(row, name)) for name in names}


def changed_fields(before: dict, after: dict) -> tuple[dict, dict]:
    """Return only the fields that differ between two snapshots."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


def record(
    action: str,
    entity: str,
    entity_key: Any,
    *,
    actor=None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Add one audit entry to the session (the caller commits)."""
    entry = AuditEntry(
        occurred_at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", None),
        action=action,
        entity=entity,
        entity_key=str(entity_key),
        before=before,
        after=after,
        reason=reason,
    )
    db.session.add(entry)
    return entry


#: The audit log's INSERT, built once: the busiest operations write their entry with it.
_INSERT_ENTRY = sa.insert(AuditEntry.__table__)


def record_now(
    action: str,
    entity: str,
    entity_key: Any,
    *,
    actor=None,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
) -> None:
    """Write one audit entry at once with a Core INSERT (the caller commits).

    The same entry as :func:`record`, without an ORM object and the unit of work's flush of
    it: for the operations on the API's hot path (``create_activity``). ``before``/``after``
    must already be JSON-safe (an operation's ``*_record``).
    """
    db.session.connection().execute(
        _INSERT_ENTRY,
        {
            "occurred_at": utcnow(),
            "actor_id": getattr(actor, "id", None),
            "actor_name": getattr(actor, "username", None),
            "action": action,
            "entity": entity,
            "entity_key": str(entity_key),
            "before": before,
            "after": after,
            "reason": reason,
        },
    )


class Change(NamedTuple):
    """One change for :func:`record_many`: what ``record`` takes besides actor and reason."""

    action: str
    entity: str
    entity_key: Any
    before: dict | None = None
    after: dict | None = None


def record_many(
    changes: Iterable[Change],
    *,
    actor=None,
    reason: str | None = None,
    occurred_at: datetime | None = None,
) -> int:
    """Write many audit entries by one actor in one set-based INSERT; return how many.

    The bulk form of :func:`record` for imports: the same entries, written with Core
    statements in the session's transaction (the caller commits) instead of one ORM
    object each. ``before``/``after`` values are made JSON-safe.
    """
    when = occurred_at or utcnow()
    actor_id, actor_name = getattr(actor, "id", None), getattr(actor, "username", None)
    rows = [
        {
            "occurred_at": when,
            "actor_id": actor_id,
            "actor_name": actor_name,
            "action": change.action,
            "entity": change.entity,
            "entity_key": str(change.entity_key),
            "before": json_safe(change.before),
            "after": json_safe(change.after),
            "reason": reason,
        }
        for change in changes
    ]
    if rows:
        # One statement compiled once, run over all rows by the driver's executemany (psycopg
        # pipelines it). SQLAlchemy's multi-row VALUES ("insertmanyvalues", which it uses only
        # with RETURNING) measured 2.8 times slower on PostgreSQL for 90,000 entries and no
        # faster on SQLite; a literal multi-row .values() spends seconds compiling each statement.
        db.session.execute(sa.insert(AuditEntry.__table__), rows)
    return len(rows)


def json_safe(fields: dict | None) -> dict | None:
    """Return ``fields`` with dates, timestamps and decimals as text (how the log keeps them)."""
    if fields is None:
        return None
    return {name: _json_value(value) for name, value in fields.items()}


def _json_value(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
