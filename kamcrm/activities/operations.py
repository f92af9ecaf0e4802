"""Activities and follow-ups: one validation, and the operations every entry point calls.

Rows use the field names of the activities file (SPEC section 7): ``account_no``,
``performed_by`` (a username), ``type``, ``activity_date`` … plus the customer's voice
(``voc_kind``, ``voc_category``, ``voc_text``), which only operations set.

Rules kept here: ``is_late`` from ``periods.is_late_entry``; ``recorded_at`` defaults to now
and only staff may set it; the quarter lock (``ensure_period_open``) for the activity's date
and, when a change moves it, for the old date too; an EXV names its exec_role, which is its
performer's own, and no other type has one; only staff name a performer other than themselves
(``access.performer_refusal``); ``done`` is the default status and cannot lie in the future;
every date lies in the account's life (``opened_on`` .. ``closed_on``) and in
``periods.FIRST_YEAR`` .. ``LAST_YEAR``; refs are unique.

Scope: the caller (pages, API) has already resolved the activity or account inside the
actor's scope and checked the actor's role; these functions do not decide visibility.
``actor`` (a User, or None for the system) is recorded as ``recorded_by`` and in the audit log.
Operations ``flush()``; the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from kamcrm import fields, limits
from kamcrm.accounts.models import Account
from kamcrm.activities.models import (
    ACTIVITY_TYPES,
    BIZ_OUTCOMES,
    CHANNELS,
    STATUSES,
    VOC_KINDS,
    Activity,
    FollowUp,
)
from kamcrm.audit.operations import changed_fields, record, record_now
from kamcrm.db import utcnow
from kamcrm.errors import Conflict, Message, PreconditionFailed, ValidationFailed
from kamcrm.extensions import db
from kamcrm.lookups import Lookups
from kamcrm.org.access import STAFF, performer_refusal
from kamcrm.org.models import EXEC_ROLES, User
from kamcrm.org.operations import assign, integrity_guard, own_exec_role, reject_unknown_fields
from kamcrm.periods import FIRST_YEAR, LAST_YEAR, bangkok_today, is_late_entry, year_in_range
from kamcrm.quarters.locks import ensure_period_open

#: The activities file's columns.
ACTIVITY_FILE_FIELDS = (
    "account_no",
    "type",
    "activity_date",
    "performed_by",
    "status",
    "channel",
    "exec_role",
    "summary",
    "ref",
    "recorded_at",
)
#: Fields of an activity row: the file's columns, then those only operations set.
ACTIVITY_FIELDS = ACTIVITY_FILE_FIELDS + (
    "voc_kind",
    "voc_category",
    "voc_text",
    "outcome",
    "quoted_value_thb",
)
# Compiled once: the bulk import validates millions of rows with them.
_TYPE = fields.Choice(ACTIVITY_TYPES, what="an activity type", upper=True)
_STATUS = fields.Choice(STATUSES, what="a status", lower=True)
_CHANNEL = fields.Choice(CHANNELS, what="a channel", lower=True)
_EXEC_ROLE = fields.Choice(EXEC_ROLES, what="an executive role", lower=True)
_VOC_KIND = fields.Choice(VOC_KINDS, what="a kind of customer voice", lower=True)
_OUTCOME = fields.Choice(BIZ_OUTCOMES, what="an outcome", lower=True)

#: Fields of a follow-up action.
FOLLOW_UP_FIELDS = ("action", "due_on", "assignee", "done_on")


def validate_activity_row(
    raw: Mapping[str, object], lookups: Lookups, *, today: date | None = None
) -> tuple[dict, fields.Errors]:
    """Check an activity row against ``lookups.accounts`` and ``lookups.users``; return (values, errors).

    ``values`` holds ``account_id``, ``office_id`` (the account's), ``type``, ``activity_date``,
    ``status``, ``channel``, ``performed_by_id``, ``exec_role``, ``summary``, ``ref`` and
    ``recorded_at`` (None: now), plus the VOC fields when the row has them. With ``today``,
    a ``done`` activity dated after it is refused.
    """
    errors: fields.Errors = {}
    values = {
        "account_id": None,
        "office_id": None,
        "type": _TYPE(raw, "type", errors, required=True),
        "activity_date": fields.day(raw, "activity_date", errors, required=True),
        "status": _STATUS(raw, "status", errors) or "done",
        "channel": _CHANNEL(raw, "channel", errors),
        "performed_by_id": None,
        "exec_role": _EXEC_ROLE(raw, "exec_role", errors),
        "summary": fields.text(raw, "summary", errors, max_length=limits.SUMMARY),
        "ref": fields.text(raw, "ref", errors, max_length=limits.ACTIVITY_REF),
        "recorded_at": fields.moment(raw, "recorded_at", errors),
    }
    if "voc_kind" in raw or "voc_category" in raw or "voc_text" in raw:
        values["voc_kind"] = _VOC_KIND(raw, "voc_kind", errors)
        values["voc_category"] = fields.text(
            raw, "voc_category", errors, max_length=limits.VOC_CATEGORY
        )
        values["voc_text"] = fields.text(raw, "voc_text", errors, max_length=limits.VOC_TEXT)
        if (
            values["voc_kind"] is None
            and "voc_kind" not in errors
            and (values["voc_category"] or values["voc_text"])
        ):
            fields.add_error(
                errors, "voc_kind", Message("is required when the customer's voice is given")
            )
    if "outcome" in raw or "quoted_value_thb" in raw:
        _check_biz_outcome(raw, values, errors)
    account_no = fields.text(raw, "account_no", errors, required=True, max_length=limits.ACCOUNT_NO)
    if account_no is not None:
        account = lookups.accounts.get(account_no)
        if account is None:
            fields.add_error(
                errors,
                "account_no",
                Message("unknown account '%(account_no)s'", account_no=account_no),
            )
        else:
            values["account_id"] = account.id
            values["office_id"] = account.office_id
            _check_account_life(values["activity_date"], account, errors)
    performer = fields.text(raw, "performed_by", errors, required=True, max_length=limits.USERNAME)
    user = None
    if performer is not None:
        user = lookups.users.get(performer)
        if user is None:
            fields.add_error(
                errors, "performed_by", Message("unknown user '%(username)s'", username=performer)
            )
        else:
            values["performed_by_id"] = user.id
    kind, exec_role = values["type"], values["exec_role"]
    if kind == "EXV" and exec_role is None and "exec_role" not in errors:
        fields.add_error(
            errors,
            "exec_role",
            Message(
                "an executive visit (EXV) needs the role it counts for (%(roles)s)",
                roles=", ".join(EXEC_ROLES),
            ),
        )
    elif kind is not None and kind != "EXV" and exec_role is not None:
        fields.add_error(
            errors,
            "exec_role",
            Message("only an executive visit (EXV) has an exec_role, not %(type)s", type=kind),
        )
    elif kind == "EXV" and exec_role is not None and user is not None:
        # The visit counts against the quota of the role given: only the performer's own.
        own = own_exec_role(user.role, user.exec_role)
        if exec_role != own:
            fields.add_error(errors, "exec_role", _exec_role_refusal(user.username, exec_role, own))
    day = values["activity_date"]
    if today is not None and day is not None and values["status"] == "done" and day > today:
        fields.add_error(
            errors,
            "activity_date",
            Message(
                "%(day)s is after today (%(today)s); a done activity cannot lie in the "
                "future (plan it with status planned)",
                day=day,
                today=today,
            ),
        )
    return values, errors


def _check_biz_outcome(raw: Mapping[str, object], values: dict, errors: fields.Errors) -> None:
    """Read a business visit's outcome and quoted value (THB) into ``values``; no other type has them."""
    values["outcome"] = _OUTCOME(raw, "outcome", errors)
    values["quoted_value_thb"] = fields.number(raw, "quoted_value_thb", errors, digits=16, places=2)
    if values["type"] is not None and values["type"] != "BIZ":
        for name in ("outcome", "quoted_value_thb"):
            if values[name] is not None:
                fields.add_error(
                    errors,
                    name,
                    Message(
                        "only a business visit (BIZ) has an %(field)s, not %(type)s",
                        field=name,
                        type=values["type"],
                    ),
                )


def _check_account_life(day: date | None, account, errors: fields.Errors) -> None:
    """Refuse a date before the account opened or after it closed: nothing, done or planned,
    happens with a customer outside its life."""
    if day is None:
        return
    if account.opened_on is not None and day < account.opened_on:
        fields.add_error(
            errors,
            "activity_date",
            Message(
                "%(day)s is before the account opened (%(opened_on)s)",
                day=day,
                opened_on=account.opened_on,
            ),
        )
    elif account.closed_on is not None and day > account.closed_on:
        fields.add_error(
            errors,
            "activity_date",
            Message(
                "%(day)s is after the account closed (%(closed_on)s)",
                day=day,
                closed_on=account.closed_on,
            ),
        )


def _exec_role_refusal(username: str, exec_role: str, own: str | None) -> Message:
    if own is None:
        return Message(
            "'%(username)s' makes no executive visits, so none counts for %(exec_role)s",
            username=username,
            exec_role=exec_role,
        )
    return Message(
        "'%(username)s' visits as %(own)s, not %(exec_role)s; an executive visit counts "
        "for its performer's own role",
        username=username,
        own=own,
        exec_role=exec_role,
    )


def activity_record(activity: Activity) -> dict:
    """Return an activity as a file row with its id, VOC and lateness (also its audit snapshot)."""
    return {
        "id": activity.id,
        "account_no": activity.account.account_no,
        "type": activity.type,
        "activity_date": activity.activity_date.isoformat(),
        "performed_by": activity.performed_by.username,
        "status": activity.status,
        "channel": activity.channel,
        "exec_role": activity.exec_role,
        "summary": activity.summary,
        "ref": activity.ref,
        "recorded_at": activity.recorded_at.isoformat(),
        "voc_kind": activity.voc_kind,
        "voc_category": activity.voc_category,
        "voc_text": activity.voc_text,
        "outcome": activity.outcome,
        "quoted_value_thb": None
        if activity.quoted_value_thb is None
        else str(activity.quoted_value_thb),
        "is_late": activity.is_late,
    }


def create_activity(
    data: Mapping[str, object],
    actor=None,
    *,
    reason: str | None = None,
    now: datetime | None = None,
    account=None,
) -> Activity:
    """Record an activity from a row of ``ACTIVITY_FIELDS``.

    ``performed_by`` defaults to the actor. ``recorded_at`` defaults to ``now`` (default: the
    current time), and decides ``is_late``; only staff (or the system) may give it. In a
    closed quarter only staff may add, with a ``reason`` (``PeriodClosed`` /
    ``ValidationFailed``). A ref already used is a ``Conflict``.
    ``account`` is the account row the caller has already resolved in the actor's scope, if
    any: it is used for the row's ``account_no`` instead of being looked up again.
    """
    reject_unknown_fields(data, ACTIVITY_FIELDS, "an activity")
    reason = clean_reason(reason)
    now = now or utcnow()
    data = dict(data)
    if not data.get("performed_by") and actor is not None:
        data["performed_by"] = actor.username
    lookups = Lookups.for_keys(
        usernames=[data.get("performed_by")],
        account_nos=[data.get("account_no")],
        users=[actor],
        accounts=[account],
    )
    values, errors = validate_activity_row(data, lookups, today=bangkok_today(now))
    _check_recorded_at(values["recorded_at"], actor, errors)
    refused = performer_refusal(actor, values["performed_by_id"])
    if refused is not None:
        fields.add_error(errors, "performed_by", refused)
    if errors:
        raise ValidationFailed(errors)
    ref = values["ref"]
    message = Message("An activity with the ref '%(ref)s' already exists.", ref=ref)
    if ref is not None and _ref_taken(ref):
        raise Conflict(message)
    ensure_period_open(values["activity_date"], actor, reason)
    values.pop("office_id")
    values["recorded_at"] = values["recorded_at"] or now
    stamp = utcnow()
    values.update(
        is_late=is_late_entry(values["activity_date"], values["recorded_at"]),
        recorded_by_id=getattr(actor, "id", None),
        voc_kind=values.get("voc_kind"),
        voc_category=values.get("voc_category"),
        voc_text=values.get("voc_text"),
        outcome=values.get("outcome"),
        quoted_value_thb=values.get("quoted_value_thb"),
        version=1,
        created_at=stamp,
        updated_at=stamp,
    )
    # Two Core statements, not the unit of work: the INSERT gives back the id, and the audit
    # entry goes straight after it (the ORM's flush of the two objects was the largest part
    # of a write's CPU). Every column is given, so the statement is always the same one.
    if ref is None:
        # Nothing unique that a concurrent writer could take first: no savepoint (two round
        # trips fewer on the API's busiest call).
        activity_id = db.session.connection().execute(_INSERT_ACTIVITY, values).scalar_one()
    else:
        with integrity_guard(message):
            # The connection asked for inside the guard: that is when its SAVEPOINT is sent.
            activity_id = db.session.connection().execute(_INSERT_ACTIVITY, values).scalar_one()
    activity = _as_stored(
        activity_id,
        values,
        account if isinstance(account, Account) and account.id == values["account_id"] else None,
        actor if isinstance(actor, User) and actor.id == values["performed_by_id"] else None,
    )
    record_now(
        "create",
        "activities",
        activity_id,
        actor=actor,
        after=activity_record(activity),
        reason=reason,
    )
    return activity


_ACTIVITY_MAPPER = sa.inspect(Activity)
#: The activity's INSERT, built (and compiled) once; it returns the new id.
_INSERT_ACTIVITY = sa.insert(Activity.__table__).returning(Activity.__table__.c.id)


def _as_stored(activity_id: int, values: dict, account=None, performer=None) -> Activity:
    """Return the Activity just inserted as a persistent object of the session, with no SQL.

    Callers use it as if it had been loaded: its relationships (account, performer) come
    from the session's identity map when those rows are there, and ``update_activity`` can
    change it (its version is 1).
    """
    # As a query would load it: the values straight into the object's dict (no attribute
    # events, no history), then given its identity.
    activity = _ACTIVITY_MAPPER.class_manager.new_instance()
    sa.inspect(activity).dict.update(values, id=activity_id)
    make_transient_to_detached(activity)
    db.session.add(activity)
    for name, row in (("account", account), ("performed_by", performer)):
        # The rows the caller holds (the account it resolved, the actor as performer) become
        # the relationships without a lookup; anything else loads when first read.
        if row is not None and sa.inspect(row).session is db.session():
            set_committed_value(activity, name, row)
    return activity


def update_activity(
    activity: Activity,
    changes: Mapping[str, object],
    actor=None,
    *,
    reason: str | None = None,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> Activity:
    """Change the fields of ``activity`` named in ``changes`` (a partial row); bump its version.

    Both the old and the new date must lie in an open quarter (or the actor is staff and
    gives a ``reason``). ``recorded_at`` stays unless changed; ``is_late`` is recomputed.
    """
    reject_unknown_fields(changes, ACTIVITY_FIELDS, "an activity")
    reason = clean_reason(reason)
    if expected_version is not None and expected_version != activity.version:
        raise PreconditionFailed(
            Message(
                "Activity %(id)s changed since version %(expected)s (it is now version "
                "%(version)s); reload it and try again.",
                id=activity.id,
                expected=expected_version,
                version=activity.version,
            )
        )
    now = now or utcnow()
    before = activity_record(activity)
    merged = {key: value for key, value in before.items() if key not in ("id", "is_late")}
    merged.update(changes)
    if not merged.get("recorded_at"):
        merged["recorded_at"] = before["recorded_at"]
    lookups = Lookups.for_keys(
        usernames=[merged.get("performed_by")],
        account_nos=[merged.get("account_no")],
        users=[actor, activity.performed_by],
        accounts=[activity.account],
    )
    values, errors = validate_activity_row(merged, lookups, today=bangkok_today(now))
    _check_recorded_at(values["recorded_at"], actor, errors, stored=activity.recorded_at)
    refused = performer_refusal(actor, values["performed_by_id"], activity.performed_by_id)
    if refused is not None:
        fields.add_error(errors, "performed_by", refused)
    if errors:
        raise ValidationFailed(errors)
    ref = values["ref"]
    message = Message("An activity with the ref '%(ref)s' already exists.", ref=ref)
    if ref is not None and ref != activity.ref and _ref_taken(ref):
        raise Conflict(message)
    ensure_period_open(activity.activity_date, actor, reason)
    if values["activity_date"] != activity.activity_date:
        ensure_period_open(values["activity_date"], actor, reason)
    values.pop("office_id")
    with integrity_guard(message):
        assign(
            activity,
            {**values, "is_late": is_late_entry(values["activity_date"], values["recorded_at"])},
        )
    db.session.refresh(activity, ["account", "performed_by"])
    old, new = changed_fields(before, activity_record(activity))
    if new:
        record(
            "update", "activities", activity.id, actor=actor, before=old, after=new, reason=reason
        )
    return activity


def delete_activity(activity: Activity, actor=None, *, reason: str | None = None) -> None:
    """Delete an activity and its follow-ups (the quarter lock applies)."""
    reason = clean_reason(reason)
    ensure_period_open(activity.activity_date, actor, reason)
    record(
        "delete",
        "activities",
        activity.id,
        actor=actor,
        before=activity_record(activity),
        reason=reason,
    )
    db.session.delete(activity)
    db.session.flush()


def clean_reason(reason: str | None) -> str | None:
    """Return the reason for a change as the audit log keeps it; refuse what it cannot keep.

    Pages, API, CLI and imports all give it, so its bound (``limits.REASON``) and the NUL
    check live here rather than in each entry point.
    """
    errors: fields.Errors = {}
    cleaned = fields.text({"reason": reason}, "reason", errors, max_length=limits.REASON)
    if errors:
        # The field's own words as the message too: the CLI prints only that.
        raise ValidationFailed(errors, message=errors["reason"][0])
    return cleaned


RECORDED_AT_REFUSED = Message(
    "only regional staff may set when an activity was recorded "
    "(it decides whether the entry is late); leave it out to record it now"
)


def _check_recorded_at(
    given: datetime | None, actor, errors: fields.Errors, stored: datetime | None = None
) -> None:
    """Refuse a ``recorded_at`` other than the stored one unless the actor is staff.

    It decides whether the entry is late, so only staff (importing history, correcting an
    entry) and the system (an operator's CLI import) may say when an activity was recorded;
    for everyone else it is the moment they save.
    """
    if given is not None and given != stored and actor is not None and actor.role not in STAFF:
        fields.add_error(errors, "recorded_at", RECORDED_AT_REFUSED)


def _ref_taken(ref: str) -> bool:
    return (
        db.session.execute(sa.select(sa.literal(True)).where(Activity.ref == ref)).first()
        is not None
    )


# --- follow-ups ------------------------------------------------------------------------------


def validate_follow_up_row(
    raw: Mapping[str, object], lookups: Lookups
) -> tuple[dict, fields.Errors]:
    """Check a follow-up action (``assignee`` is a username); return (values, errors)."""
    errors: fields.Errors = {}
    values = {
        "action": fields.text(
            raw, "action", errors, required=True, max_length=limits.FOLLOW_UP_ACTION
        ),
        "due_on": fields.day(raw, "due_on", errors, required=True),
        "done_on": fields.day(raw, "done_on", errors),
        "assignee_id": None,
    }
    assignee = fields.text(raw, "assignee", errors, max_length=limits.USERNAME)
    if assignee is not None:
        user = lookups.users.get(assignee)
        if user is None:
            fields.add_error(
                errors, "assignee", Message("unknown user '%(username)s'", username=assignee)
            )
        else:
            values["assignee_id"] = user.id
    return values, errors


def follow_up_record(follow_up: FollowUp) -> dict:
    """Return a follow-up as a row (also its audit snapshot)."""
    return {
        "activity_id": follow_up.activity_id,
        "action": follow_up.action,
        "due_on": follow_up.due_on.isoformat(),
        "done_on": follow_up.done_on.isoformat() if follow_up.done_on else None,
        "assignee": follow_up.assignee.username if follow_up.assignee is not None else None,
    }


def add_follow_up(activity: Activity, data: Mapping[str, object], actor=None) -> FollowUp:
    """Add a follow-up action with its due date to ``activity``; the assignee defaults to the performer."""
    reject_unknown_fields(data, FOLLOW_UP_FIELDS, "a follow-up")
    values, errors = validate_follow_up_row(
        data, Lookups.for_keys(usernames=[data.get("assignee")])
    )
    if errors:
        raise ValidationFailed(errors)
    if values["assignee_id"] is None:
        values["assignee_id"] = activity.performed_by_id
    follow_up = FollowUp(activity=activity, **values)
    db.session.add(follow_up)
    db.session.flush()
    record("create", "follow_ups", follow_up.id, actor=actor, after=follow_up_record(follow_up))
    return follow_up


def complete_follow_up(
    follow_up: FollowUp, actor=None, *, done_on: date | None = None, now: datetime | None = None
) -> FollowUp:
    """Mark a follow-up done on ``done_on`` (default: today in Bangkok)."""
    done_on = done_on or bangkok_today(now)
    if not year_in_range(done_on.year):
        raise ValidationFailed(
            {
                "done_on": [
                    Message(
                        "%(value)s is not between the years %(first)s and %(last)s",
                        value=f"'{done_on}'",
                        first=FIRST_YEAR,
                        last=LAST_YEAR,
                    )
                ]
            }
        )
    if follow_up.done_on == done_on:
        return follow_up
    before = follow_up_record(follow_up)
    follow_up.done_on = done_on
    db.session.flush()
    old, new = changed_fields(before, follow_up_record(follow_up))
    record("update", "follow_ups", follow_up.id, actor=actor, before=old, after=new)
    return follow_up
