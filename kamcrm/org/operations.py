"""Offices and users: one validation per kind and the operations that create and change them.

Rows use the field names of the interchange files (SPEC section 7): an office refers to its
parent by ``parent_code``, a user to their office by ``office_code``. The same validators
check a row of an imported file (``kamcrm.imports``) and the data of a single operation.

Operations only ``flush()``; the request, command or job commits. Who may call them is
decided by the caller (pages and API check the actor's role and scope first); ``actor`` is
the signed-in :class:`User`, or None for the system, and is only written to the audit log.
Passwords and tokens are not handled here (see ``kamcrm.org.passwords``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import sqlalchemy as sa

from kamcrm import fields, limits
from kamcrm.audit.operations import changed_fields, record
from kamcrm.errors import Conflict, Message, ValidationFailed
from kamcrm.extensions import db
from kamcrm.lookups import Lookups
from kamcrm.org import sessions
from kamcrm.org.models import (
    EXEC_ROLES,
    MANAGED_OFFICE_CLASSES,
    OFFICE_CLASSES,
    ROLES,
    Office,
    User,
)

#: Fields of an office row: the file's columns, then those only operations set.
OFFICE_FIELDS = ("code", "name", "office_class", "parent_code", "name_en")
#: Fields of a user row: the file's columns, then those only operations set.
USER_FIELDS = (
    "username",
    "full_name",
    "role",
    "office_code",
    "exec_role",
    "email",
    "active",
    "locale",
)

#: The exec_role each role may hold; an office manager's visits always count as ``office_manager``.
EXEC_ROLES_BY_ROLE = {
    "office_manager": ("office_manager",),
    "executive": ("region_director", "assistant_director"),
}


def own_exec_role(role: str, exec_role: str | None) -> str | None:
    """Return the exec_role a user's executive visits count for (None: they make none).

    An office manager's always count as ``office_manager``; an executive's as the role they
    hold. Nobody else's visit is an executive visit, so nobody may log one in their name.
    """
    if role == "office_manager":
        return "office_manager"
    return exec_role if role == "executive" else None


_CODE_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_USERNAME_CHARACTERS = _CODE_CHARACTERS | frozenset("@")
#: Level in the hierarchy; an office with offices under it keeps its level.
_LEVELS = {"region": 0, "1": 1, "2": 1, "3": 1, "branch": 2}


@contextmanager
def integrity_guard(message: str) -> Iterator[None]:
    """Apply the changes made inside the block in a savepoint; a refused key becomes ``Conflict``.

    Every operation checks its keys first; this catches what a concurrent writer slipped in
    between, so an ``IntegrityError`` never reaches the caller as a server error. Make the
    changes inside the block: the savepoint flushes what was pending before it starts.
    """
    try:
        with db.session.begin_nested():
            yield
    except sa.exc.IntegrityError as error:
        raise Conflict(message) from error


def assign(row, values: Mapping[str, object]) -> None:
    """Set the attributes of ``row`` whose values differ (an equal value must not bump a version)."""
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)


def reject_unknown_fields(data: Mapping[str, object], known: tuple[str, ...], what: str) -> None:
    """Raise ``ValidationFailed`` for keys of ``data`` that are not fields of ``what``."""
    unknown = [key for key in data if key not in known]
    if unknown:
        raise ValidationFailed(
            {key: [Message("is not a field of %(what)s", what=Message(what))] for key in unknown}
        )


# --- offices ---------------------------------------------------------------------------------


def validate_office_row(raw: Mapping[str, object], lookups: Lookups) -> tuple[dict, fields.Errors]:
    """Check an office row against ``lookups.offices``; return (values, errors).

    ``values`` holds ``code``, ``name``, ``office_class``, ``parent_code`` and ``parent_id``
    (None while the parent is itself still pending in the same file), and ``name_en`` when
    the row has that field. The hierarchy is region → class 1-3 office → branch.
    """
    errors: fields.Errors = {}
    code = fields.text(raw, "code", errors, required=True, max_length=limits.OFFICE_CODE)
    if code is not None and not set(code) <= _CODE_CHARACTERS:
        fields.add_error(
            errors, "code", f"'{code}' may hold only letters A-Z, digits, '-', '_' and '.'"
        )
    values = {
        "code": code,
        "name": fields.text(raw, "name", errors, required=True, max_length=limits.OFFICE_NAME),
        "office_class": fields.choice(
            raw,
            "office_class",
            errors,
            OFFICE_CLASSES,
            required=True,
            what="an office class",
            lower=True,
        ),
        "parent_code": fields.text(raw, "parent_code", errors, max_length=limits.OFFICE_CODE),
        "parent_id": None,
    }
    if "name_en" in raw:
        values["name_en"] = fields.text(raw, "name_en", errors, max_length=limits.OFFICE_NAME)
    office_class, parent_code = values["office_class"], values["parent_code"]
    parent = None
    if parent_code is not None:
        parent = lookups.offices.get(parent_code)
        if parent is None:
            fields.add_error(errors, "parent_code", f"unknown office '{parent_code}'")
        elif parent_code == code:
            fields.add_error(errors, "parent_code", "an office cannot be its own parent")
            parent = None
        else:
            values["parent_id"] = parent.id
    if office_class == "region":
        if parent_code is not None:
            fields.add_error(errors, "parent_code", "the regional office has no parent office")
        other = next(
            (
                o.code
                for o in lookups.offices.values()
                if o.office_class == "region" and o.code != code
            ),
            None,
        )
        if other is not None:
            fields.add_error(errors, "office_class", f"the region already has its office '{other}'")
    elif office_class in MANAGED_OFFICE_CLASSES:
        if parent is not None and parent.office_class != "region":
            fields.add_error(
                errors,
                "parent_code",
                f"a class {office_class} office sits under the regional office, "
                f"not under '{parent.code}' (class {parent.office_class})",
            )
    elif office_class == "branch":
        if parent_code is None:
            fields.add_error(errors, "parent_code", "a branch office needs its class 1-3 office")
        elif parent is not None and parent.office_class not in MANAGED_OFFICE_CLASSES:
            fields.add_error(
                errors,
                "parent_code",
                f"a branch office sits under a class 1-3 office, not under "
                f"'{parent.code}' ({parent.office_class})",
            )
    existing = lookups.offices.get(code) if code is not None else None
    if (
        existing is not None
        and existing.id is not None
        and office_class is not None
        and _LEVELS[office_class] != _LEVELS.get(existing.office_class)
        and any(other.parent_id == existing.id for other in lookups.offices.values())
    ):
        fields.add_error(
            errors,
            "office_class",
            f"'{code}' has offices under it, so it cannot become a {office_class} office",
        )
    return values, errors


def office_record(office: Office) -> dict:
    """Return an office in the form of a file row (also its audit snapshot)."""
    return {
        "code": office.code,
        "name": office.name,
        "office_class": office.office_class,
        "parent_code": office.parent.code if office.parent is not None else None,
        "name_en": office.name_en,
    }


def create_office(data: Mapping[str, object], actor=None) -> Office:
    """Create an office from a row of ``OFFICE_FIELDS``; raise Conflict if the code is taken."""
    reject_unknown_fields(data, OFFICE_FIELDS, "an office")
    lookups = Lookups.load(users=False)  # offices are few; the region check needs them all
    values, errors = validate_office_row(data, lookups)
    if errors:
        raise ValidationFailed(errors)
    if values["code"] in lookups.offices:
        raise Conflict(f"An office with the code '{values['code']}' already exists.")
    office = Office(
        code=values["code"],
        name=values["name"],
        name_en=values.get("name_en"),
        office_class=values["office_class"],
        parent_id=values["parent_id"],
    )
    with integrity_guard(f"An office with the code '{values['code']}' already exists."):
        db.session.add(office)
    record("create", "offices", office.code, actor=actor, after=office_record(office))
    return office


def update_office(office: Office, changes: Mapping[str, object], actor=None) -> Office:
    """Change the fields of ``office`` named in ``changes`` (a partial row)."""
    reject_unknown_fields(changes, OFFICE_FIELDS, "an office")
    before = office_record(office)
    lookups = Lookups.load(users=False)
    values, errors = validate_office_row({**before, **changes}, lookups)
    if errors:
        raise ValidationFailed(errors)
    if values["code"] != office.code and values["code"] in lookups.offices:
        raise Conflict(f"An office with the code '{values['code']}' already exists.")
    with integrity_guard(f"An office with the code '{values['code']}' already exists."):
        assign(
            office,
            {
                key: values.get(key)
                for key in ("code", "name", "name_en", "office_class", "parent_id")
            },
        )
    db.session.refresh(office, ["parent"])
    old, new = changed_fields(before, office_record(office))
    if new:
        record("update", "offices", office.code, actor=actor, before=old, after=new)
    return office


# --- users -----------------------------------------------------------------------------------


def validate_user_row(raw: Mapping[str, object], lookups: Lookups) -> tuple[dict, fields.Errors]:
    """Check a user row against ``lookups.offices``; return (values, errors).

    ``values`` holds ``username``, ``full_name``, ``role``, ``office_id``, ``exec_role`` and
    ``email``, plus ``active`` and ``locale`` when the row has them. An office manager's
    exec_role is ``office_manager`` (filled in when blank); an executive's is
    ``region_director`` or ``assistant_director``; other roles have none.
    """
    errors: fields.Errors = {}
    username = fields.text(raw, "username", errors, required=True, max_length=limits.USERNAME)
    if username is not None and not set(username) <= _USERNAME_CHARACTERS:
        fields.add_error(
            errors,
            "username",
            Message(
                "'%(username)s' may hold only letters A-Z, digits, '.', '-', '_' and '@'",
                username=username,
            ),
        )
    values = {
        "username": username,
        "full_name": fields.text(
            raw, "full_name", errors, required=True, max_length=limits.PERSON_NAME, one_line=True
        ),
        "role": fields.choice(raw, "role", errors, ROLES, required=True, what="a role", lower=True),
        "office_id": None,
        "exec_role": fields.choice(
            raw, "exec_role", errors, EXEC_ROLES, what="an executive role", lower=True
        ),
        "email": fields.email(raw, "email", errors),
    }
    if "active" in raw:
        values["active"] = fields.boolean(raw, "active", errors, default=True)
    if "locale" in raw:
        values["locale"] = fields.choice(
            raw, "locale", errors, ("th", "en"), what="a language", lower=True
        )
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
    role, exec_role = values["role"], values["exec_role"]
    allowed = EXEC_ROLES_BY_ROLE.get(role, ())
    if role == "office_manager" and exec_role is None and "exec_role" not in errors:
        values["exec_role"] = "office_manager"
    elif exec_role is not None and role is not None and exec_role not in allowed:
        if allowed:
            fields.add_error(
                errors,
                "exec_role",
                Message(
                    "'%(exec_role)s' is not an exec_role of the role %(role)s (%(allowed)s)",
                    exec_role=exec_role,
                    role=role,
                    allowed=", ".join(allowed),
                ),
            )
        else:
            fields.add_error(
                errors,
                "exec_role",
                Message(
                    "the role %(role)s has no exec_role (only office_manager and executive do)",
                    role=role,
                ),
            )
    return values, errors


def user_record(user: User) -> dict:
    """Return a user in the form of a file row (also its audit snapshot; never the password)."""
    return {
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "office_code": user.office.code if user.office is not None else None,
        "exec_role": user.exec_role,
        "email": user.email,
        "active": user.active,
        "locale": user.locale,
    }


def _duplicate_username(username: str) -> Message:
    return Message("A user with the username '%(username)s' already exists.", username=username)


def create_user(data: Mapping[str, object], actor=None) -> User:
    """Create a user (without a password) from a row of ``USER_FIELDS``."""
    reject_unknown_fields(data, USER_FIELDS, "a user")
    lookups = Lookups.for_keys(office_codes=[data.get("office_code")])
    values, errors = validate_user_row(data, lookups)
    if errors:
        raise ValidationFailed(errors)
    message = _duplicate_username(values["username"])
    if _username_taken(values["username"]):
        raise Conflict(message)
    user = User(**values)
    with integrity_guard(message):
        db.session.add(user)
    record("create", "users", user.username, actor=actor, after=user_record(user))
    return user


def update_user(user: User, changes: Mapping[str, object], actor=None) -> User:
    """Change the fields of ``user`` named in ``changes`` (a partial row); not the password.

    An actor may not deactivate themselves or change their own role.
    """
    reject_unknown_fields(changes, USER_FIELDS, "a user")
    before = user_record(user)
    merged = {**before, **changes}
    lookups = Lookups.for_keys(office_codes=[merged.get("office_code")])
    values, errors = validate_user_row(merged, lookups)
    if actor is not None and actor.id == user.id:
        # Nobody locks themselves out: another admin must do it.
        if values.get("active") is False and user.active:
            fields.add_error(errors, "active", Message("you cannot deactivate your own account"))
        if values["role"] is not None and values["role"] != user.role:
            fields.add_error(errors, "role", Message("you cannot change your own role"))
    if errors:
        raise ValidationFailed(errors)
    message = _duplicate_username(values["username"])
    if values["username"] != user.username and _username_taken(values["username"]):
        raise Conflict(message)
    was_active = user.active
    with integrity_guard(message):
        assign(user, values)
    if was_active and not user.active:
        sessions.end_sessions_of(user)  # a deactivated user's cookies sign nobody in
    db.session.refresh(user, ["office"])
    old, new = changed_fields(before, user_record(user))
    if new:
        record("update", "users", user.username, actor=actor, before=old, after=new)
    return user


def _username_taken(username: str) -> bool:
    return (
        db.session.execute(sa.select(sa.literal(True)).where(User.username == username)).first()
        is not None
    )
