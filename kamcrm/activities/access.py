"""Which activity types a role may record, edit or delete: the role matrix of
``kamcrm.org.access`` refined by type (executive visits have their own permission)."""

from __future__ import annotations

from kamcrm.activities.models import ACTIVITY_TYPES
from kamcrm.errors import Forbidden, Message, NotFound
from kamcrm.org.access import STAFF, can, in_scope


def may_change_activity_type(user, verb: str, activity_type: str) -> bool:
    """Return whether ``user``'s role may ``verb`` activities of ``activity_type`` (any account)."""
    if user is None:
        return True
    general = f"activities.{verb}"
    if activity_type == "EXV":
        return can(user, "exec_visits.log") or (can(user, general) and user.role in STAFF)
    return can(user, general)


def activity_types_for(user, verb: str = "create") -> tuple[str, ...]:
    """Return the activity types ``user`` may ``verb``, in their usual order (what forms offer)."""
    return tuple(kind for kind in ACTIVITY_TYPES if may_change_activity_type(user, verb, kind))


def require_activity_change(user, verb: str, activity_type: str, account) -> None:
    """Raise unless ``user`` may ``verb`` ('create', 'edit', 'delete') an activity.

    Executive visits (EXV) are logged by executives and office managers; every other
    type by the recorders of the account's office. Staff may correct any activity.
    """
    if account is not None and not in_scope(user, account.office_id):
        raise NotFound(Message("No such account."))
    if not may_change_activity_type(user, verb, activity_type):
        raise Forbidden(
            Message(
                "Your role may not %(verb)s %(type)s activities.", verb=verb, type=activity_type
            )
        )
