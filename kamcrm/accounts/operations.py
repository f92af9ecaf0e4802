"""Key accounts, their tier history and contact persons: validation and operations.

Rows use the field names of the interchange files (SPEC section 7): ``office_code``,
``kamr_username``, ``tier``, ``tier_effective_from``. The same validators check a row of an
imported file and the data of a single operation.

Scope: the caller (pages, API) has already resolved the account inside the actor's scope.
What a change may touch is checked here, through the permission layer, for every entry
point: moving an account to another office or KAMR, or setting its ``opened_on`` /
``closed_on`` (they decide what the coverage reports count), needs ``accounts.reassign``;
a tier ``roster.retier``; an office outside the actor's scope is unknown to them; and those
dates follow the quarter lock (staff and a reason inside a closed quarter). ``actor`` (None:
the system) is also written to the audit log. Operations ``flush()``; the caller commits.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from datetime import date, datetime

import sqlalchemy as sa

from kamcrm import fields, limits
from kamcrm.accounts.models import TIERS, Account, ContactPerson, TierAssignment
from kamcrm.accounts.queries import tier_assignment_on
from kamcrm.audit.operations import Change, changed_fields, record
from kamcrm.db import utcnow
from kamcrm.errors import Conflict, Message, PreconditionFailed, ValidationFailed
from kamcrm.extensions import db
from kamcrm.lookups import Lookups
from kamcrm.org.access import in_scope, require_account_change
from kamcrm.org.operations import assign, integrity_guard, reject_unknown_fields
from kamcrm.periods import FIRST_ACCOUNT_YEAR, bangkok_today
from kamcrm.quarters.locks import ACCOUNT_DATES, ensure_period_open

#: The columns of the accounts file (SPEC section 7).
ACCOUNT_FILE_FIELDS = (
    "account_no",
    "name",
    "office_code",
    "tier",
    "tier_effective_from",
    "kamr_username",
    "sector",
    "industrial_estate",
    "transformer_kva",
    "monthly_revenue_thb",
    "boi",
    "spp_area",
    "opened_on",
    "closed_on",
)
#: Fields of an account row: the file's columns, then those only the pages and the API set.
ACCOUNT_FIELDS = (*ACCOUNT_FILE_FIELDS, "notes")
#: Fields of a tier row (the tiers file).
TIER_FIELDS = ("account_no", "tier", "effective_from")
#: Fields of a contact person.
CONTACT_FIELDS = ("name", "position", "phone", "email", "line_id")

#: ``effective_from`` of a tier given without a date for an account with no ``opened_on``:
#: the tier then holds "from always". Far enough back for any report, and a real date, so
#: the tier-on-date rule (latest ``effective_from`` ≤ D) needs no special case.
ALWAYS = date(1900, 1, 1)

#: The account's dates that decide what the coverage reports count (the quarter lock guards them).
COVERAGE_DATES = ("opened_on", "closed_on")
#: Fields of the account file and the column each sets, where they differ.
_COLUMN_OF = {"office_code": "office_id", "kamr_username": "kamr_id"}

#: Roles that can own a portfolio of accounts.
ACCOUNT_OWNER_ROLES = ("kamr", "office_manager")


def validate_account_row(raw: Mapping[str, object], lookups: Lookups) -> tuple[dict, fields.Errors]:
    """Check an account row against ``lookups.offices`` and ``lookups.users``; return (values, errors).

    ``values`` holds the account's columns (``office_id``, ``kamr_id`` resolved) and
    ``tier_assignment``: None, or ``(tier, effective_from)`` when the row gives a tier or a
    tier date. A blank ``tier_effective_from`` means from ``opened_on``, or from
    :data:`ALWAYS` when that is blank too; a blank ``tier`` with a date means "no tier from then".
    """
    errors: fields.Errors = {}
    values = {
        "account_no": fields.text(
            raw, "account_no", errors, required=True, max_length=limits.ACCOUNT_NO
        ),
        "name": fields.text(raw, "name", errors, required=True, max_length=limits.ACCOUNT_NAME),
        "office_id": None,
        "kamr_id": None,
        "sector": fields.text(raw, "sector", errors, max_length=limits.SECTOR),
        "industrial_estate": fields.text(
            raw, "industrial_estate", errors, max_length=limits.INDUSTRIAL_ESTATE
        ),
        "transformer_kva": fields.number(raw, "transformer_kva", errors, digits=12, places=2),
        "monthly_revenue_thb": fields.number(
            raw, "monthly_revenue_thb", errors, digits=16, places=2
        ),
        "boi": fields.boolean(raw, "boi", errors),
        "spp_area": fields.boolean(raw, "spp_area", errors),
        "opened_on": fields.day(raw, "opened_on", errors, first_year=FIRST_ACCOUNT_YEAR),
        "closed_on": fields.day(raw, "closed_on", errors, first_year=FIRST_ACCOUNT_YEAR),
        "tier_assignment": None,
    }
    if "notes" in raw:
        values["notes"] = fields.text(raw, "notes", errors, max_length=limits.ACCOUNT_NOTES)
    office_code = fields.text(
        raw, "office_code", errors, required=True, max_length=limits.OFFICE_CODE
    )
    if office_code is not None:
        office = lookups.offices.get(office_code)
        if office is None:
            fields.add_error(
                errors, "office_code", Message("unknown office '%(code)s'", code=office_code)
            )
        else:
            values["office_id"] = office.id
    kamr = fields.text(raw, "kamr_username", errors, max_length=limits.USERNAME)
    if kamr is not None:
        user = lookups.users.get(kamr)
        if user is None:
            fields.add_error(
                errors, "kamr_username", Message("unknown user '%(username)s'", username=kamr)
            )
        elif user.role not in ACCOUNT_OWNER_ROLES:
            fields.add_error(
                errors,
                "kamr_username",
                Message(
                    "'%(username)s' is %(article)s %(role)s, not a KAMR or office manager",
                    username=kamr,
                    article=_article(user.role),
                    role=user.role,
                ),
            )
        else:
            values["kamr_id"] = user.id
            office_id = values["office_id"]
            if office_id is not None and office_id not in (user.office_id, user.office_parent_id):
                fields.add_error(
                    errors,
                    "kamr_username",
                    Message(
                        "'%(username)s' works at another office; an account is assigned "
                        "to a KAMR of its office or its branches",
                        username=kamr,
                    ),
                )
    opened_on, closed_on = values["opened_on"], values["closed_on"]
    if opened_on is not None and closed_on is not None and closed_on < opened_on:
        fields.add_error(
            errors,
            "closed_on",
            Message(
                "%(closed_on)s is before opened_on %(opened_on)s",
                closed_on=closed_on,
                opened_on=opened_on,
            ),
        )
    tier = fields.choice(raw, "tier", errors, TIERS, what="a tier", upper=True)
    effective_from = fields.day(raw, "tier_effective_from", errors, first_year=FIRST_ACCOUNT_YEAR)
    if (
        "tier" not in errors
        and "tier_effective_from" not in errors
        and (tier is not None or effective_from is not None)
    ):
        values["tier_assignment"] = (tier, effective_from or opened_on or ALWAYS)
    return values, errors


def validate_tier_row(raw: Mapping[str, object], lookups: Lookups) -> tuple[dict, fields.Errors]:
    """Check a tiers-file row against ``lookups.accounts``; return (values, errors).

    ``values`` holds ``account_id``, ``tier`` (None: no tier from that date) and ``effective_from``.
    """
    errors: fields.Errors = {}
    values = {
        "account_id": None,
        "tier": fields.choice(raw, "tier", errors, TIERS, what="a tier", upper=True),
        "effective_from": fields.day(
            raw, "effective_from", errors, required=True, first_year=FIRST_ACCOUNT_YEAR
        ),
    }
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
    return values, errors


def validate_contact_row(raw: Mapping[str, object]) -> tuple[dict, fields.Errors]:
    """Check a contact person; return (values, errors)."""
    errors: fields.Errors = {}
    values = {
        "name": fields.text(raw, "name", errors, required=True, max_length=limits.PERSON_NAME),
        "position": fields.text(raw, "position", errors, max_length=limits.PERSON_NAME),
        "phone": fields.text(raw, "phone", errors, max_length=limits.PHONE),
        "email": fields.email(raw, "email", errors),
        "line_id": fields.text(raw, "line_id", errors, max_length=limits.LINE_ID),
    }
    return values, errors


# --- accounts --------------------------------------------------------------------------------


def account_record(account: Account, on: date | None = None) -> dict:
    """Return an account as a file row, with its tier on ``on`` (default: today in Bangkok)."""
    assignment = tier_assignment_on(account, on or bangkok_today())
    return {
        "account_no": account.account_no,
        "name": account.name,
        "office_code": account.office.code if account.office is not None else None,
        "tier": assignment.tier if assignment is not None else None,
        "tier_effective_from": assignment.effective_from.isoformat()
        if assignment is not None
        else None,
        "kamr_username": account.kamr.username if account.kamr is not None else None,
        "sector": account.sector,
        "industrial_estate": account.industrial_estate,
        "transformer_kva": _text(account.transformer_kva),
        "monthly_revenue_thb": _text(account.monthly_revenue_thb),
        "boi": account.boi,
        "spp_area": account.spp_area,
        "opened_on": _text(account.opened_on),
        "closed_on": _text(account.closed_on),
        "notes": account.notes,
    }


def create_account(data: Mapping[str, object], actor=None, *, reason: str | None = None) -> Account:
    """Create an account (and its first tier assignment, if the row gives one).

    An ``opened_on`` or ``closed_on`` inside a closed quarter needs staff and a ``reason``.
    """
    reject_unknown_fields(data, ACCOUNT_FIELDS, "an account")
    lookups = Lookups.for_keys(
        office_codes=[data.get("office_code")], usernames=[data.get("kamr_username")]
    )
    values, errors = validate_account_row(data, lookups)
    _check_office_in_scope(values, data.get("office_code"), actor, errors)
    if errors:
        raise ValidationFailed(errors)
    require_account_change(
        actor, {name for name, value in data.items() if value not in (None, "")}, created=True
    )
    for name in COVERAGE_DATES:
        if values[name] is not None:
            ensure_period_open(values[name], actor, reason, subject=ACCOUNT_DATES)
    message = _number_taken(values["account_no"])
    if _account_exists(values["account_no"]):
        raise Conflict(message)
    assignment = values.pop("tier_assignment")
    account = Account(**values)
    with integrity_guard(message):
        db.session.add(account)
        if assignment is not None:
            db.session.add(
                TierAssignment(account=account, tier=assignment[0], effective_from=assignment[1])
            )
    record(
        "create",
        "accounts",
        account.account_no,
        actor=actor,
        after=account_record(account),
        reason=reason,
    )
    return account


def changed_account_fields(
    account: Account | None, values: Mapping[str, object], given: Iterable[str]
) -> set[str]:
    """Return the fields of the account file among ``given`` whose validated ``values`` differ
    from ``account`` (None: a new account, every given field is set); what the permission
    layer decides a change by. Works on an Account or on a row of the accounts table."""
    changed = set()
    for name in given:
        if name in ("tier", "tier_effective_from"):
            changed.add(name)
            continue
        column = _COLUMN_OF.get(name, name)
        if column in values and (account is None or _value(account, column) != values[column]):
            changed.add(name)
    return changed


def _value(account, column: str):
    return account[column] if isinstance(account, Mapping) else getattr(account, column)


def _check_office_in_scope(values: dict, code, actor, errors: fields.Errors) -> None:
    # An office the actor cannot see is, to them, an office that does not exist.
    if values["office_id"] is not None and not in_scope(actor, values["office_id"]):
        fields.add_error(
            errors, "office_code", Message("unknown office '%(code)s'", code=str(code).strip())
        )


def update_account(
    account: Account,
    changes: Mapping[str, object],
    actor=None,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> Account:
    """Change the fields of ``account`` named in ``changes`` (a partial row); bump its version.

    ``tier`` in ``changes`` assigns that tier from ``tier_effective_from``, or from today
    (Bangkok) when no date is given: a tier changed on a live record changes from now on,
    leaving the history before it alone. ``expected_version`` (the API's If-Match) must
    equal the account's version, else ``PreconditionFailed``. The actor's role must cover
    each field that changes (``Forbidden``); moving ``opened_on``/``closed_on`` from or to a
    closed quarter needs staff and a ``reason``.
    """
    reject_unknown_fields(changes, ACCOUNT_FIELDS, "an account")
    if expected_version is not None and expected_version != account.version:
        raise PreconditionFailed(
            f"Account '{account.account_no}' changed since version {expected_version} "
            f"(it is now version {account.version}); reload it and try again."
        )
    before = account_record(account)
    merged = {**before, **changes}
    tier_given = "tier" in changes or "tier_effective_from" in changes
    merged["tier"] = changes.get("tier") if tier_given else None
    merged["tier_effective_from"] = (
        (changes.get("tier_effective_from") or bangkok_today().isoformat()) if tier_given else None
    )
    lookups = Lookups.for_keys(
        office_codes=[merged.get("office_code")], usernames=[merged.get("kamr_username")]
    )
    values, errors = validate_account_row(merged, lookups)
    if values["office_id"] != account.office_id:
        _check_office_in_scope(values, merged.get("office_code"), actor, errors)
    if errors:
        raise ValidationFailed(errors)
    require_account_change(actor, changed_account_fields(account, values, changes))
    for name in COVERAGE_DATES:
        if values[name] != getattr(account, name):
            for day in (getattr(account, name), values[name]):
                if day is not None:
                    ensure_period_open(day, actor, reason, subject=ACCOUNT_DATES)
    message = _number_taken(values["account_no"])
    if values["account_no"] != account.account_no and _account_exists(values["account_no"]):
        raise Conflict(message)
    assignment = values.pop("tier_assignment")
    with integrity_guard(message):
        assign(account, values)
        if assignment is not None:
            _assign_tier(account, assignment[0], assignment[1])
            account.updated_at = utcnow()  # the tier is part of the resource: a new version
    db.session.refresh(account, ["office", "kamr"])
    old, new = changed_fields(before, account_record(account))
    if assignment is not None:
        # The tier on today may not move (a tier from a later date), but the change is real.
        new.update(tier=assignment[0], tier_effective_from=assignment[1].isoformat())
        old.update(tier=before["tier"], tier_effective_from=before["tier_effective_from"])
    if new:
        record(
            "update",
            "accounts",
            account.account_no,
            actor=actor,
            before=old,
            after=new,
            reason=reason,
        )
    return account


def set_tier(
    account: Account, tier: str | None, effective_from: date | str, actor=None
) -> TierAssignment:
    """Give ``account`` the tier ``tier`` (None: no tier) from ``effective_from`` on.

    An assignment already starting on that date is replaced. The account's version is bumped.
    """
    values, errors = validate_tier_row(
        {"account_no": account.account_no, "tier": tier, "effective_from": effective_from},
        Lookups(accounts={account.account_no: _account_ref(account)}),
    )
    if errors:
        raise ValidationFailed(errors)
    day = values["effective_from"]
    existing = _assignment_at(account, day)
    before = {"tier": existing.tier} if existing is not None else None
    # A new assignment's entry says what the account held until then, as a tiers import's does.
    held = None
    if existing is None:
        held = {"tier": tiers_held_before([(account.id, day)]).get((account.id, day))}
    with integrity_guard(
        Message(
            "Account '%(account_no)s' already has a tier from %(day)s.",
            account_no=account.account_no,
            day=day,
        )
    ):
        assignment = _assign_tier(account, values["tier"], day)
        account.updated_at = utcnow()
    if before is None or before["tier"] != assignment.tier:
        change = tier_change(
            account.account_no, day, assignment.tier, before or held, created=before is None
        )
        record(
            change.action,
            change.entity,
            change.entity_key,
            actor=actor,
            before=change.before,
            after=change.after,
        )
    return assignment


def tier_change(
    account_no: str, day: date, tier: str | None, before: dict | None, *, created: bool
) -> Change:
    """Return the audit entry of giving account ``account_no`` the tier ``tier`` from ``day``.

    One shape for every entry point (``set_tier``, the tiers and accounts imports): entity
    ``tier_assignments``, key ``account_no@effective_from``. A new assignment (``created``)
    is a ``create`` whose ``after`` holds the account, the tier and the date, and whose
    ``before`` (when the caller knows it) holds ``{"tier": …}`` the account held until that
    day; a replaced one is an ``update`` from ``before`` to ``{"tier": tier}``.
    """
    key = f"{account_no}@{day.isoformat()}"
    if created:
        return Change(
            "create",
            "tier_assignments",
            key,
            before,
            {"account_no": account_no, "tier": tier, "effective_from": day.isoformat()},
        )
    return Change("update", "tier_assignments", key, before, {"tier": tier})


def tiers_held_before(keys: Iterable[tuple[int, date]]) -> dict[tuple[int, date], str | None]:
    """Return, for each (account id, day), the tier the account held the day before (from its
    latest assignment before ``day``; missing when it had none), read set-based."""
    table = TierAssignment.__table__
    wanted: dict[int, list[date]] = {}
    for account_id, day in keys:
        wanted.setdefault(account_id, []).append(day)
    ids = sorted(wanted)
    held = {}
    for start in range(0, len(ids), 1000):
        history: dict[int, list[tuple[date, str | None]]] = {}
        query = sa.select(table.c.account_id, table.c.effective_from, table.c.tier).where(
            table.c.account_id.in_(ids[start : start + 1000])
        )
        for account_id, effective_from, tier in db.session.execute(query):
            history.setdefault(account_id, []).append((effective_from, tier))
        for account_id, assignments in history.items():
            assignments.sort(key=lambda assignment: assignment[0])
            starts = [effective_from for effective_from, _ in assignments]
            for day in wanted[account_id]:
                position = bisect_left(starts, day)
                if position:
                    held[(account_id, day)] = assignments[position - 1][1]
    return held


def _assign_tier(account: Account, tier: str | None, day: date) -> TierAssignment:
    assignment = _assignment_at(account, day)
    if assignment is None:
        assignment = TierAssignment(account=account, tier=tier, effective_from=day)
        db.session.add(assignment)
    else:
        assignment.tier = tier
    return assignment


def _assignment_at(account: Account, day: date) -> TierAssignment | None:
    if account.id is None:
        return None
    return db.session.execute(
        sa.select(TierAssignment).where(
            TierAssignment.account_id == account.id, TierAssignment.effective_from == day
        )
    ).scalar_one_or_none()


def _number_taken(account_no: str) -> Message:
    return Message(
        "An account with the number '%(account_no)s' already exists.", account_no=account_no
    )


def _account_exists(account_no: str) -> bool:
    return (
        db.session.execute(
            sa.select(sa.literal(True)).where(Account.account_no == account_no)
        ).first()
        is not None
    )


def _account_ref(account: Account):
    from kamcrm.lookups import AccountRef

    return AccountRef(
        account.id, account.account_no, account.office_id, account.opened_on, account.closed_on
    )


# --- contact persons -------------------------------------------------------------------------


def contact_record(contact: ContactPerson) -> dict:
    """Return a contact person as a row (also its audit snapshot)."""
    return {
        "account_no": contact.account.account_no,
        **{name: getattr(contact, name) for name in CONTACT_FIELDS},
    }


def add_contact(account: Account, data: Mapping[str, object], actor=None) -> ContactPerson:
    """Add a contact person to ``account``."""
    reject_unknown_fields(data, CONTACT_FIELDS, "a contact person")
    values, errors = validate_contact_row(data)
    if errors:
        raise ValidationFailed(errors)
    contact = ContactPerson(account=account, **values)
    db.session.add(contact)
    db.session.flush()
    record("create", "contact_persons", contact.id, actor=actor, after=contact_record(contact))
    return contact


def update_contact(
    contact: ContactPerson, changes: Mapping[str, object], actor=None
) -> ContactPerson:
    """Change the fields of a contact person named in ``changes``."""
    reject_unknown_fields(changes, CONTACT_FIELDS, "a contact person")
    before = contact_record(contact)
    values, errors = validate_contact_row({**before, **changes})
    if errors:
        raise ValidationFailed(errors)
    assign(contact, values)
    db.session.flush()
    old, new = changed_fields(before, contact_record(contact))
    if new:
        record("update", "contact_persons", contact.id, actor=actor, before=old, after=new)
    return contact


def delete_contact(contact: ContactPerson, actor=None) -> None:
    """Remove a contact person."""
    record("delete", "contact_persons", contact.id, actor=actor, before=contact_record(contact))
    db.session.delete(contact)
    db.session.flush()


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
