"""The audit log is append-only: nothing in the application can change or delete an entry.

The ORM refuses it (``AppendOnlyLog``), row by row and in bulk, whatever code asks.
Importing this module installs the guard (``kamcrm.security`` does, at start-up).
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from kamcrm.audit.models import AuditEntry


class AppendOnlyLog(RuntimeError):
    """Something tried to change or delete an audit entry."""


def _refuse_row_change(mapper, connection, target):
    raise AppendOnlyLog("audit entries are never changed or deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state):
    if (state.is_update or state.is_delete) and any(
        getattr(entity, "class_", None) is AuditEntry for entity in state.all_mappers
    ):
        raise AppendOnlyLog("audit entries are never changed or deleted")


event.listen(AuditEntry, "before_update", _refuse_row_change)
event.listen(AuditEntry, "before_delete", _refuse_row_change)
