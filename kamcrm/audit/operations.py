"""Writing to the audit log. Every operation that changes data calls ``record``."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

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


def _json_value(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
