"""The VOC register's actions (SPEC section 9): mark an entry significant, record its
reference in PEA's VOC system (one, or many at once, all or nothing), and turn a
complaint-kind voice into a complaint. Pages, API and CLI call these; each checks the
permission, finds the entry in the actor's scope (out of scope is NotFound), records the
change in the audit log and flushes; the caller commits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from kamcrm import fields, limits
from kamcrm.activities.models import Activity
from kamcrm.audit.operations import record
from kamcrm.complaints.operations import create_complaint
from kamcrm.db import utcnow
from kamcrm.errors import Conflict, Message, NotFound, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.access import require
from kamcrm.periods import bangkok_date
from kamcrm.voc.models import VOC_REF_LENGTH, VocMark
from kamcrm.voc.queries import VocEntry, entry_for, mark_of

#: The columns of a list of VOC-system references (pasted or uploaded).
REF_FIELDS = ("key", "voc_ref", "voc_ref_on")
#: Most lines one list may hold.
MAX_REF_LINES = 5000


def _mark_for(entry: VocEntry) -> VocMark:
    mark = mark_of(entry.source, entry.source_id)
    if mark is None:
        mark = VocMark(source=entry.source, source_id=entry.source_id, significant=False)
        db.session.add(mark)
    return mark


def _state(mark: VocMark | None) -> dict:
    if mark is None:
        return {"significant": False, "voc_ref": None, "voc_ref_on": None, "complaint_id": None}
    return {
        "significant": bool(mark.significant),
        "voc_ref": mark.voc_ref,
        "voc_ref_on": mark.voc_ref_on.isoformat() if mark.voc_ref_on else None,
        "complaint_id": mark.complaint_id,
    }


def _audit(entry: VocEntry, before: dict, mark: VocMark, actor) -> None:
    after = _state(mark)
    keys = [key for key in after if before.get(key) != after[key]]
    if keys:
        record(
            "update",
            "voc_entries",
            entry.key,
            actor=actor,
            before={key: before.get(key) for key in keys},
            after={key: after[key] for key in keys},
        )


def mark_significant(
    key: str, significant: bool, actor=None, *, now: datetime | None = None
) -> VocMark:
    """Mark entry ``key`` significant (or not); who and when are kept with the mark."""
    require(actor, "voc.mark")
    entry = entry_for(actor, key, "voc.mark")
    if not isinstance(significant, bool):
        raise ValidationFailed({"significant": [Message("must be true or false")]})
    mark = _mark_for(entry)
    before = _state(mark if mark.id is not None else None)
    if bool(mark.significant) != significant:
        mark.significant = significant
        mark.significant_at = (now or utcnow()) if significant else None
        mark.significant_by_id = getattr(actor, "id", None) if significant else None
    db.session.flush()
    _audit(entry, before, mark, actor)
    return mark


def _validate_ref(
    raw: Mapping[str, object], entry: VocEntry | None, errors: fields.Errors, today
) -> tuple:
    voc_ref = fields.text(raw, "voc_ref", errors, max_length=VOC_REF_LENGTH, one_line=True)
    voc_ref_on = fields.day(raw, "voc_ref_on", errors)
    if voc_ref is not None and voc_ref_on is None and "voc_ref_on" not in errors:
        fields.add_error(errors, "voc_ref_on", Message("is required with a VOC-system reference"))
    if voc_ref is None and voc_ref_on is not None and "voc_ref" not in errors:
        fields.add_error(errors, "voc_ref", Message("is required with the day it was entered"))
    if voc_ref_on is not None:
        if voc_ref_on > today:
            fields.add_error(
                errors,
                "voc_ref_on",
                Message("%(value)s is in the future", value=voc_ref_on.isoformat()),
            )
        elif entry is not None and voc_ref_on < entry.day:
            fields.add_error(
                errors,
                "voc_ref_on",
                Message(
                    "%(value)s is before the voice was heard (%(day)s)",
                    value=voc_ref_on.isoformat(),
                    day=entry.day.isoformat(),
                ),
            )
    return voc_ref, voc_ref_on


def record_voc_ref(
    key: str, voc_ref, voc_ref_on, actor=None, *, now: datetime | None = None
) -> VocMark:
    """Record (or with both blank, clear) entry ``key``'s reference in PEA's VOC system and
    the day it was entered there (not in the future, not before the voice was heard)."""
    require(actor, "voc.record_ref")
    entry = entry_for(actor, key, "voc.record_ref")
    errors: fields.Errors = {}
    values = _validate_ref(
        {"voc_ref": voc_ref, "voc_ref_on": voc_ref_on}, entry, errors, bangkok_date(now or utcnow())
    )
    if errors:
        raise ValidationFailed(errors)
    mark = _mark_for(entry)
    before = _state(mark if mark.id is not None else None)
    mark.voc_ref, mark.voc_ref_on = values
    db.session.flush()
    _audit(entry, before, mark, actor)
    return mark


def record_voc_refs(
    lines: Iterable[tuple[int, Mapping[str, object]]], actor=None, *, now: datetime | None = None
) -> int:
    """Record many VOC-system references at once: ``lines`` are (line number, row of
    ``REF_FIELDS``). All or nothing: any bad line (unknown or out-of-scope key, a key twice,
    a bad reference or day) raises ``ValidationFailed`` naming every bad line, and nothing is
    stored. Returns how many entries were recorded."""
    require(actor, "voc.record_ref")
    today = bangkok_date(now or utcnow())
    errors: fields.Errors = {}
    seen: dict[str, int] = {}
    checked = []
    for number, raw in lines:
        if len(checked) + len(errors) >= MAX_REF_LINES:
            fields.add_error(
                errors,
                f"line {number}",
                Message("a list holds at most %(limit)s lines", limit=MAX_REF_LINES),
            )
            break
        where = f"line {number}"
        unknown = sorted(set(raw) - set(REF_FIELDS))
        if unknown:
            fields.add_error(
                errors, where, Message("unknown column(s) %(names)s", names=", ".join(unknown))
            )
            continue
        key = fields.text(raw, "key", {}, max_length=20) or ""
        try:
            entry = entry_for(actor, key, "voc.record_ref")
        except NotFound:
            fields.add_error(errors, where, Message("no VOC entry has the key %(key)r", key=key))
            continue
        if entry.key in seen:
            fields.add_error(
                errors,
                where,
                Message("%(key)s is already on line %(line)s", key=entry.key, line=seen[entry.key]),
            )
            continue
        seen[entry.key] = number
        row_errors: fields.Errors = {}
        values = _validate_ref(raw, entry, row_errors, today)
        if values[0] is None and not row_errors:
            fields.add_error(row_errors, "voc_ref", fields.REQUIRED)
        for name, messages in row_errors.items():
            for message in messages:
                fields.add_error(
                    errors, where, Message("%(field)s: %(message)s", field=name, message=message)
                )
        if not row_errors:
            checked.append((entry, values))
    if errors:
        raise ValidationFailed(
            errors,
            message=Message(
                "Nothing was recorded: %(count)s line(s) are wrong.", count=len(errors)
            ),
        )
    if not checked:
        raise ValidationFailed(
            {"lines": [Message("the list holds no line")]},
            message=Message("The list holds no line."),
        )
    for entry, (voc_ref, voc_ref_on) in checked:
        mark = _mark_for(entry)
        before = _state(mark if mark.id is not None else None)
        mark.voc_ref, mark.voc_ref_on = voc_ref, voc_ref_on
        db.session.flush()
        _audit(entry, before, mark, actor)
    return len(checked)


#: What a complaint turned from a voice may be given (the rest comes from the voice).
CONVERT_FIELDS = (
    "ref",
    "category",
    "channel",
    "urgent",
    "received_at",
    "office_code",
    "assigned_to",
)


def convert_to_complaint(
    key: str, data: Mapping[str, object] | None = None, actor=None, *, now: datetime | None = None
):
    """Turn the complaint-kind voice ``key`` (recorded on an activity) into a complaint, once.

    The complaint is created by ``complaints.operations.create_complaint``: its account is
    the activity's, its summary the voice, its category the voice's when that is one of the
    year's (else ``data["category"]``), received when the voice was recorded (or
    ``data["received_at"]``), ``ref`` by default ``VOC-A<id>``. Both are linked: the mark
    keeps the complaint, and the complaint's page shows the voice it came from.
    """
    require(actor, "voc.convert")
    entry = entry_for(actor, key, "voc.convert")
    data = dict(data or {})
    unknown = sorted(set(data) - set(CONVERT_FIELDS))
    if unknown:
        raise ValidationFailed(
            {name: [Message("is not a field of this request")] for name in unknown}
        )
    if entry.source != "activity" or entry.kind != "complaint":
        raise Conflict(
            Message(
                "Only a complaint-kind voice recorded on an activity can be turned into a "
                "complaint (%(key)s is a %(kind)s from a %(source)s).",
                key=entry.key,
                kind=entry.kind,
                source=entry.source,
            )
        )
    mark = _mark_for(entry)
    if mark.complaint_id is not None:
        raise Conflict(
            Message(
                "%(key)s was turned into complaint %(ref)s already.",
                key=entry.key,
                ref=entry.complaint_ref or mark.complaint_id,
            )
        )
    before = _state(mark if mark.id is not None else None)
    activity = db.session.get(Activity, entry.source_id)
    row = {
        "ref": data.get("ref") or f"VOC-{entry.key}",
        "account_no": entry.account_no,
        "category": data.get("category") or (entry.category or "").strip().upper() or None,
        "channel": data.get("channel"),
        "urgent": data.get("urgent") or False,
        "received_at": data.get("received_at") or activity.recorded_at,
        "summary": (entry.text or "")[: limits.COMPLAINT_SUMMARY] or None,
    }
    for name in ("office_code", "assigned_to"):
        if data.get(name):
            row[name] = data[name]
    complaint = create_complaint(row, actor, now=now)
    mark.complaint_id = complaint.id
    db.session.flush()
    _audit(entry, before, mark, actor)
    return complaint
