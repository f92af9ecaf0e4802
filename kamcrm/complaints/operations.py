"""Complaints: one validation, and the operations every entry point calls (pages, API,
imports, CLI).

Rows use the field names of the complaints file (SPEC section 7): ``ref``, ``office_code``,
``account_no``, ``category``, ``channel``, ``urgent``, ``received_at``, ``closed_at``,
``excluded``, ``summary``, ``resolution``, ``assigned_to`` (a username).

Rules kept here: the handling office is the one given, else the account's; the category is
one of the year's (the year ``received_at`` falls in, Bangkok time); ``closed_at`` never lies
before ``received_at`` nor in the future, and needs a resolution; an exclusion reason is one
of ``EXCLUSION_REASONS``; the account, the office and the assigned user lie in the actor's
scope (out of scope reads as unknown); refs are unique. Every change is audited, a close as
``close`` and a reopen as ``reopen``. Operations ``flush()``; the caller commits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from decimal import Decimal

import sqlalchemy as sa

from kamcrm import fields, limits
from kamcrm.accounts.models import TIERS
from kamcrm.audit.operations import changed_fields, record
from kamcrm.complaints.models import (
    CHANNELS,
    EXCLUSION_REASONS,
    ITEMS,
    Complaint,
    ComplaintCategory,
    ComplaintItemTarget,
    ComplaintTierLimit,
)
from kamcrm.complaints.queries import days_between, micros_between
from kamcrm.complaints.targets import (
    ComplaintTargets,
    complaint_targets,
    default_complaint_targets,
    has_stored_complaint_targets,
)
from kamcrm.db import utcnow
from kamcrm.errors import Conflict, Message, PreconditionFailed, ValidationFailed
from kamcrm.extensions import db
from kamcrm.lookups import Lookups
from kamcrm.org.access import office_ids_in_scope, require
from kamcrm.org.operations import assign, integrity_guard, reject_unknown_fields
from kamcrm.periods import FIRST_YEAR, LAST_YEAR, bangkok_date, year_in_range

#: The complaints file's columns (SPEC section 7).
COMPLAINT_FIELDS = (
    "ref",
    "office_code",
    "account_no",
    "category",
    "channel",
    "urgent",
    "received_at",
    "closed_at",
    "excluded",
    "summary",
    "resolution",
    "assigned_to",
)
_CHANNEL = fields.Choice(CHANNELS, what="a complaint channel", lower=True)
_EXCLUDED = fields.Choice(EXCLUSION_REASONS, what="an exclusion reason", lower=True)

TargetsOf = Callable[[int], ComplaintTargets]


def targets_memo() -> TargetsOf:
    """Return a function giving a year's complaint settings, read once per year (an import
    validates many rows of the same year)."""
    memory: dict[int, ComplaintTargets] = {}

    def targets_of(year: int) -> ComplaintTargets:
        if year not in memory:
            memory[year] = complaint_targets(year)
        return memory[year]

    return targets_of


def validate_complaint_row(
    raw: Mapping[str, object],
    lookups: Lookups,
    *,
    now: datetime,
    targets_of: TargetsOf,
    office_ids: frozenset[int] | None = None,
) -> tuple[dict, fields.Errors]:
    """Check a complaint row; return (values, errors).

    ``office_ids`` are the offices the actor sees (None: every office); an office, account
    or user outside them is reported as unknown. ``values`` holds the columns of
    ``Complaint`` (``office_id``, ``account_id``, ``assigned_to_id`` …, with ``received_on``
    and the close's measures worked out).
    """
    errors: fields.Errors = {}
    values = {
        "ref": fields.text(raw, "ref", errors, required=True, max_length=limits.COMPLAINT_REF),
        "office_id": None,
        "account_id": None,
        "category": None,
        "channel": _CHANNEL(raw, "channel", errors),
        "urgent": bool(fields.boolean(raw, "urgent", errors, default=False)),
        "received_at": fields.moment(raw, "received_at", errors),
        "closed_at": fields.moment(raw, "closed_at", errors),
        "excluded": _EXCLUDED(raw, "excluded", errors),
        "summary": fields.text(raw, "summary", errors, max_length=limits.COMPLAINT_SUMMARY),
        "resolution": fields.text(
            raw, "resolution", errors, max_length=limits.COMPLAINT_RESOLUTION
        ),
        "assigned_to_id": None,
    }

    def visible(office_id: int) -> bool:
        return office_ids is None or office_id in office_ids

    account_no = fields.text(raw, "account_no", errors, max_length=limits.ACCOUNT_NO)
    account = None
    if account_no is not None:
        account = lookups.accounts.get(account_no)
        if account is None or not visible(account.office_id):
            fields.add_error(
                errors,
                "account_no",
                Message("unknown account '%(account_no)s'", account_no=account_no),
            )
            account = None
        else:
            values["account_id"] = account.id
    office_code = fields.text(raw, "office_code", errors, max_length=limits.OFFICE_CODE)
    if office_code is not None:
        office = lookups.offices.get(office_code)
        if office is None or not visible(office.id):
            fields.add_error(
                errors, "office_code", Message("unknown office '%(code)s'", code=office_code)
            )
        else:
            values["office_id"] = office.id
    elif account is not None:
        values["office_id"] = account.office_id
    elif account_no is None:
        fields.add_error(errors, "office_code", Message("is required unless account_no is given"))
    assignee = fields.text(raw, "assigned_to", errors, max_length=limits.USERNAME)
    if assignee is not None:
        user = lookups.users.get(assignee)
        if user is None or not visible(user.office_id):
            fields.add_error(
                errors, "assigned_to", Message("unknown user '%(username)s'", username=assignee)
            )
        else:
            values["assigned_to_id"] = user.id

    received_at, closed_at = values["received_at"], values["closed_at"]
    category = fields.text(raw, "category", errors, required=True, max_length=30)
    if received_at is None and "received_at" not in errors:
        fields.add_error(errors, "received_at", fields.REQUIRED)
    if received_at is not None:
        received_on = bangkok_date(received_at)
        if not year_in_range(received_on.year):
            fields.add_error(
                errors,
                "received_at",
                Message(
                    "%(value)s is not between the years %(first)s and %(last)s",
                    value=f"'{received_at.isoformat()}'",
                    first=FIRST_YEAR,
                    last=LAST_YEAR,
                ),
            )
            received_at = None
        elif received_at > now:
            fields.add_error(
                errors,
                "received_at",
                Message("%(moment)s is in the future", moment=received_at.isoformat()),
            )
        else:
            values["received_on"] = received_on
    if category is not None and received_at is not None:
        codes = targets_of(bangkok_date(received_at).year).category_codes
        key = category.upper()
        if key not in codes:
            fields.add_error(
                errors,
                "category",
                Message(
                    "%(value)s is not a complaint category of %(year)s (%(choices)s)",
                    value=repr(category),
                    year=bangkok_date(received_at).year,
                    choices=", ".join(codes),
                ),
            )
        else:
            values["category"] = key
    if closed_at is not None:
        if closed_at > now:
            fields.add_error(
                errors,
                "closed_at",
                Message("%(moment)s is in the future", moment=closed_at.isoformat()),
            )
        elif received_at is not None and closed_at < received_at:
            fields.add_error(
                errors,
                "closed_at",
                Message(
                    "%(closed)s is before the complaint was received (%(received)s)",
                    closed=closed_at.isoformat(),
                    received=received_at.isoformat(),
                ),
            )
        elif values["resolution"] is None and "resolution" not in errors:
            fields.add_error(errors, "resolution", Message("is required to close a complaint"))
    if received_at is not None and closed_at is not None and "closed_at" not in errors:
        values["days_to_close"] = days_between(received_at, closed_at)
        values["micros_to_close"] = micros_between(received_at, closed_at)
    else:
        values["days_to_close"] = values["micros_to_close"] = None
    return values, errors


def _utc_text(moment: datetime | None) -> str | None:
    # In UTC, as the database gives it back: a snapshot must not change once reloaded.
    return None if moment is None else moment.astimezone(timezone.utc).isoformat()


def complaint_record(complaint: Complaint) -> dict:
    """Return a complaint as a file row (also its audit snapshot and the API's body)."""
    return {
        "ref": complaint.ref,
        "office_code": complaint.office.code,
        "account_no": complaint.account.account_no if complaint.account is not None else None,
        "category": complaint.category,
        "channel": complaint.channel,
        "urgent": complaint.urgent,
        "received_at": _utc_text(complaint.received_at),
        "closed_at": _utc_text(complaint.closed_at),
        "excluded": complaint.excluded,
        "summary": complaint.summary,
        "resolution": complaint.resolution,
        "assigned_to": complaint.assigned_to.username
        if complaint.assigned_to is not None
        else None,
    }


def _lookups(data: Mapping[str, object], actor, complaint: Complaint | None = None) -> Lookups:
    return Lookups.for_keys(
        office_codes=[data.get("office_code")],
        usernames=[data.get("assigned_to")],
        account_nos=[data.get("account_no")],
        users=[actor] + ([complaint.assigned_to] if complaint is not None else []),
        accounts=[complaint.account] if complaint is not None else [],
    )


def _ref_taken(ref: str) -> bool:
    return (
        db.session.execute(sa.select(sa.literal(True)).where(Complaint.ref == ref)).first()
        is not None
    )


def _duplicate(ref) -> Message:
    return Message("A complaint with the ref '%(ref)s' already exists.", ref=ref)


def create_complaint(
    data: Mapping[str, object],
    actor=None,
    *,
    now: datetime | None = None,
    targets_of: TargetsOf | None = None,
) -> Complaint:
    """Record a complaint from a row of ``COMPLAINT_FIELDS``.

    ``assigned_to`` defaults to the actor (the person recording it); ``received_at`` to now.
    A ref already used is a ``Conflict``; any bad field a ``ValidationFailed``.
    """
    require(actor, "complaints.create")
    reject_unknown_fields(data, COMPLAINT_FIELDS, "a complaint")
    now = now or utcnow()
    data = dict(data)
    if not data.get("received_at"):
        data["received_at"] = now
    if not data.get("assigned_to") and actor is not None:
        data["assigned_to"] = actor.username
    values, errors = validate_complaint_row(
        data,
        _lookups(data, actor),
        now=now,
        targets_of=targets_of or targets_memo(),
        office_ids=office_ids_in_scope(actor),
    )
    if errors:
        raise ValidationFailed(errors)
    if _ref_taken(values["ref"]):
        raise Conflict(_duplicate(values["ref"]))
    complaint = Complaint(**values, recorded_by_id=getattr(actor, "id", None))
    with integrity_guard(_duplicate(values["ref"])):
        db.session.add(complaint)
    after = complaint_record(complaint)
    record("create", "complaints", complaint.ref, actor=actor, after=after)
    if complaint.closed_at is not None:
        record(
            "close",
            "complaints",
            complaint.ref,
            actor=actor,
            after={"closed_at": after["closed_at"], "resolution": complaint.resolution},
        )
    return complaint


def update_complaint(
    complaint: Complaint,
    changes: Mapping[str, object],
    actor=None,
    *,
    now: datetime | None = None,
    expected_version: int | None = None,
    targets_of: TargetsOf | None = None,
) -> Complaint:
    """Change the fields of ``complaint`` named in ``changes`` (a partial row).

    A change that sets ``closed_at`` on an open complaint is audited as ``close``, one that
    clears it as ``reopen`` (the resolution stays, for the record); any other as ``update``.
    """
    reject_unknown_fields(changes, COMPLAINT_FIELDS, "a complaint")
    if expected_version is not None and expected_version != complaint.version:
        raise PreconditionFailed(
            Message(
                "Complaint %(ref)s changed since version %(expected)s (it is now version "
                "%(version)s); reload it and try again.",
                ref=complaint.ref,
                expected=expected_version,
                version=complaint.version,
            )
        )
    now = now or utcnow()
    before = complaint_record(complaint)
    merged = dict(before)
    merged.update(changes)
    if "office_code" not in changes and "account_no" in changes and changes.get("account_no"):
        # A new account moves the complaint to that account's office, as at creation.
        merged["office_code"] = None
    values, errors = validate_complaint_row(
        merged,
        _lookups(merged, actor, complaint),
        now=now,
        targets_of=targets_of or targets_memo(),
        office_ids=office_ids_in_scope(actor),
    )
    if errors:
        raise ValidationFailed(errors)
    require(
        actor,
        _action_of({key for key, value in values.items() if getattr(complaint, key) != value}),
    )
    ref = values["ref"]
    if ref != complaint.ref and _ref_taken(ref):
        raise Conflict(_duplicate(ref))
    with integrity_guard(_duplicate(ref)):
        assign(complaint, values)
    db.session.refresh(complaint, ["office", "account", "assigned_to"])
    old, new = changed_fields(before, complaint_record(complaint))
    if new:
        if "closed_at" in new and old.get("closed_at") is None:
            action = "close"
        elif "closed_at" in new and new["closed_at"] is None:
            action = "reopen"
        else:
            action = "update"
        record(action, "complaints", complaint.ref, actor=actor, before=old, after=new)
    return complaint


_CLOSE_COLUMNS = {"closed_at", "resolution", "days_to_close", "micros_to_close"}


def _action_of(changed: set[str]) -> str:
    """The permission a change of the columns ``changed`` needs: the narrowest that covers it."""
    if "excluded" in changed:
        return "complaints.exclude"
    if "assigned_to_id" in changed:
        return "complaints.reassign"
    if changed and changed <= _CLOSE_COLUMNS:
        return "complaints.close"
    return "complaints.edit"


def close_complaint(
    complaint: Complaint,
    resolution: str | None,
    actor=None,
    *,
    closed_at: datetime | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Close ``complaint`` at ``closed_at`` (default now) with its ``resolution`` (required)."""
    now = now or utcnow()
    if not (resolution or "").strip():
        raise ValidationFailed(
            {"resolution": [Message("is required to close a complaint")]},
            message=Message("A resolution is required to close a complaint."),
        )
    return update_complaint(
        complaint, {"closed_at": closed_at or now, "resolution": resolution}, actor, now=now
    )


def reopen_complaint(complaint: Complaint, actor=None, *, now: datetime | None = None) -> Complaint:
    """Reopen a closed complaint: ``closed_at`` is cleared; the audit log keeps the close."""
    if complaint.closed_at is None:
        raise Conflict(Message("Complaint %(ref)s is open already.", ref=complaint.ref))
    return update_complaint(complaint, {"closed_at": None}, actor, now=now)


def reassign_complaint(
    complaint: Complaint, username: str | None, actor=None, *, now: datetime | None = None
) -> Complaint:
    """Give ``complaint`` to the user ``username`` (None: to nobody)."""
    return update_complaint(complaint, {"assigned_to": username}, actor, now=now)


def exclude_complaint(
    complaint: Complaint, reason: str | None, actor=None, *, now: datetime | None = None
) -> Complaint:
    """Exclude ``complaint`` from the figures for ``reason`` (one of ``EXCLUSION_REASONS``);
    None counts it again."""
    if reason is not None and reason not in EXCLUSION_REASONS:
        raise ValidationFailed(
            {
                "excluded": [
                    Message(
                        "%(value)s is not an exclusion reason (%(choices)s)",
                        value=repr(reason),
                        choices=", ".join(EXCLUSION_REASONS),
                    )
                ]
            }
        )
    return update_complaint(complaint, {"excluded": reason}, actor, now=now)


# --- the year's categories, limits and targets ----------------------------------------------


def _check_year(year: int) -> None:
    if not year_in_range(year):
        raise ValidationFailed(
            {
                "year": [
                    Message(
                        "%(value)s is not between the years %(first)s and %(last)s",
                        value=year,
                        first=FIRST_YEAR,
                        last=LAST_YEAR,
                    )
                ]
            }
        )


def materialise_complaint_year(year: int, actor=None) -> bool:
    """Write ``year``'s default complaint settings as rows unless it has some; return whether
    rows were written (before the first change, so every other default stays)."""
    _check_year(year)
    if has_stored_complaint_targets(year):
        return False
    defaults = default_complaint_targets(year)
    for position, (code, days) in enumerate(defaults.categories):
        db.session.add(ComplaintCategory(year=year, code=code, limit_days=days, position=position))
    for target in defaults.items:
        db.session.add(
            ComplaintItemTarget(
                year=year,
                item=target.item,
                limit_days=target.limit_days,
                limit_hours=target.limit_hours,
                target_pct=target.target_pct,
            )
        )
    db.session.flush()
    record("create", "complaint_targets", year, actor=actor, after=defaults.as_dict())
    return True


def _limit_value(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 3660:
        raise ValidationFailed(
            {
                field: [
                    Message(
                        "%(value)s is not a whole number of days or hours from 0 to 3660",
                        value=repr(value),
                    )
                ]
            }
        )
    return value


def set_category_limit(year: int, code: str, limit_days: int, actor=None) -> ComplaintCategory:
    """Set the limit of category ``code`` in ``year``, adding the category if it is new."""
    limit_days = _limit_value(limit_days, "limit_days")
    code = (code or "").strip().upper()
    if not code or len(code) > 30 or not code.replace("_", "").isalnum():
        raise ValidationFailed(
            {
                "category": [
                    Message(
                        "%(value)s is not a category code (letters, digits, _)", value=repr(code)
                    )
                ]
            }
        )
    materialise_complaint_year(year, actor)
    row = db.session.execute(
        sa.select(ComplaintCategory).filter_by(year=year, code=code)
    ).scalar_one_or_none()
    before = None if row is None else {"limit_days": row.limit_days}
    if row is None:
        position = db.session.execute(
            sa.select(sa.func.coalesce(sa.func.max(ComplaintCategory.position), -1) + 1).filter_by(
                year=year
            )
        ).scalar()
        row = ComplaintCategory(year=year, code=code, limit_days=limit_days, position=position)
        db.session.add(row)
    row.limit_days = limit_days
    db.session.flush()
    if before != {"limit_days": limit_days}:
        record(
            "create" if before is None else "update",
            "complaint_categories",
            f"{year}:{code}",
            actor=actor,
            before=before,
            after={"limit_days": limit_days},
        )
    return row


def set_tier_limit(year: int, category: str, tier: str, limit_days: int | None, actor=None) -> None:
    """Set (or with None remove) the limit of ``category`` for accounts of ``tier`` in ``year``."""
    errors: fields.Errors = {}
    if tier not in TIERS:
        fields.add_error(
            errors,
            "tier",
            Message(
                "%(value)s is not a tier (%(choices)s)", value=repr(tier), choices=", ".join(TIERS)
            ),
        )
    codes = complaint_targets(year).category_codes
    if category not in codes:
        fields.add_error(
            errors,
            "category",
            Message(
                "%(value)s is not a complaint category of %(year)s (%(choices)s)",
                value=repr(category),
                year=year,
                choices=", ".join(codes),
            ),
        )
    if errors:
        raise ValidationFailed(errors)
    if limit_days is not None:
        limit_days = _limit_value(limit_days, "limit_days")
    materialise_complaint_year(year, actor)
    row = db.session.execute(
        sa.select(ComplaintTierLimit).filter_by(year=year, category=category, tier=tier)
    ).scalar_one_or_none()
    before = None if row is None else {"limit_days": row.limit_days}
    if limit_days is None:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(
            ComplaintTierLimit(year=year, category=category, tier=tier, limit_days=limit_days)
        )
    else:
        row.limit_days = limit_days
    db.session.flush()
    after = None if limit_days is None else {"limit_days": limit_days}
    if before != after:
        record(
            "update",
            "complaint_tier_limits",
            f"{year}:{category}:{tier}",
            actor=actor,
            before=before,
            after=after,
        )


def set_item_target(
    year: int, item: str, *, target_pct=None, limit_days=None, limit_hours=None, actor=None
) -> ComplaintItemTarget:
    """Change the target % and/or the limit (days or hours) of a plan 2 item in ``year``."""
    if item not in ITEMS:
        raise ValidationFailed(
            {
                "item": [
                    Message(
                        "%(value)s is not a plan 2 item (%(choices)s)",
                        value=repr(item),
                        choices=", ".join(ITEMS),
                    )
                ]
            }
        )
    errors: fields.Errors = {}
    pct = None
    if target_pct is not None:
        pct = fields.number({"target_pct": target_pct}, "target_pct", errors, digits=5, places=2)
        if pct is not None and pct > Decimal(100):
            fields.add_error(
                errors, "target_pct", Message("%(value)s is above 100", value=target_pct)
            )
    if item == "2.1a" and (limit_days is not None or limit_hours is not None):
        fields.add_error(
            errors, "limit_days", Message("2.1a is measured against each category's own limit")
        )
    if limit_days is not None and limit_hours is not None:
        fields.add_error(
            errors, "limit_hours", Message("give a limit in days or in hours, not both")
        )
    if errors:
        raise ValidationFailed(errors)
    materialise_complaint_year(year, actor)
    row = db.session.execute(
        sa.select(ComplaintItemTarget).filter_by(year=year, item=item)
    ).scalar_one()
    before = {
        "target_pct": float(row.target_pct),
        "limit_days": row.limit_days,
        "limit_hours": row.limit_hours,
    }
    if pct is not None:
        row.target_pct = pct
    if limit_days is not None:
        row.limit_days, row.limit_hours = _limit_value(limit_days, "limit_days"), None
    if limit_hours is not None:
        row.limit_hours, row.limit_days = _limit_value(limit_hours, "limit_hours"), None
    db.session.flush()
    after = {
        "target_pct": float(row.target_pct),
        "limit_days": row.limit_days,
        "limit_hours": row.limit_hours,
    }
    if before != after:
        old, new = changed_fields(before, after)
        record(
            "update", "complaint_item_targets", f"{year}:{item}", actor=actor, before=old, after=new
        )
    return row


def reset_complaint_year(year: int, actor=None) -> bool:
    """Delete ``year``'s stored complaint categories, (category, tier) limits and item targets
    so that it uses the defaults of SPEC section 8 again; return whether it had any."""
    _check_year(year)
    if not has_stored_complaint_targets(year):
        return False
    before = complaint_targets(year).as_dict()
    for model in (ComplaintTierLimit, ComplaintItemTarget, ComplaintCategory):
        db.session.execute(sa.delete(model).where(model.year == year))
    db.session.flush()
    record("delete", "complaint_targets", year, actor=actor, before=before)
    return True
