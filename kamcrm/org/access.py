"""The one authorisation layer: the role × action matrix, office scope, and route rules.

Three questions are answered here and nowhere else:

* may this role do this action at all (``can``/``require``, the ``PERMISSIONS`` matrix);
* which rows may this person see (``scope_condition``, ``in_scope``, ``visible_offices`` …):
  out of scope is out of sight, so a row outside the caller's scope is ``NotFound``. Each
  domain's ``queries`` applies these to its own rows (``accounts.queries.account_for``,
  ``activities.queries.activity_for``), and ``activities.access`` refines the role matrix by
  activity type;
* which rule guards each URL (``@requires``/``@public``/``@signed_in`` on views, checked
  by a ``before_request`` hook that denies every endpoint without a declared rule).

``actor`` None means the system (a CLI command run by an operator, a scheduled job) and is
allowed everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app, request

from kamcrm.errors import Forbidden, Message, NotFound
from kamcrm.extensions import db
from kamcrm.org.models import ROLES, ApiToken, Office, User
from kamcrm.org.scope import Scope, UnknownOffice, narrower_scope, scope_for_user

EVERYONE = ROLES
#: Roles that may correct any activity (also in a closed quarter, with a reason).
STAFF = ("regional_staff", "admin")
#: Roles that record contacts with accounts in their scope.
RECORDERS = ("kamr", "office_manager", "regional_staff", "admin")

#: Role × action matrix. Every permission check in kamcrm names one of these actions.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "accounts.view": EVERYONE,
    "accounts.create": STAFF,
    "accounts.edit": RECORDERS,
    "accounts.reassign": ("office_manager", "regional_staff", "admin"),
    "contacts.edit": RECORDERS,
    "activities.view": EVERYONE,
    "activities.create": RECORDERS,
    "activities.edit": RECORDERS,
    "activities.delete": RECORDERS,
    "exec_visits.log": ("executive", "office_manager"),
    "complaints.view": EVERYONE,
    "complaints.create": RECORDERS,
    "complaints.edit": RECORDERS,
    "complaints.close": RECORDERS,
    "complaints.reassign": ("office_manager", "regional_staff", "admin"),
    "complaints.exclude": ("office_manager", "regional_staff", "admin"),
    "voc.view": EVERYONE,
    "voc.mark": ("office_manager", "regional_staff", "admin"),
    "voc.record_ref": ("office_manager", "regional_staff", "admin"),
    "voc.convert": RECORDERS,
    "surveys.view": EVERYONE,
    "surveys.record": ("office_manager", "regional_staff", "admin"),
    "surveys.follow_up": ("office_manager", "regional_staff", "admin"),
    "reports.cr1": EVERYONE,
    "prevention.view": EVERYONE,
    "prevention.edit": ("office_manager", "regional_staff", "admin"),
    "prospects.view": ("office_manager", "executive", "regional_staff", "admin"),
    "prospects.generate": STAFF,
    "prospects.plan_visits": STAFF,
    "consumption.import": STAFF,
    "targets.view": EVERYONE,
    "targets.edit": STAFF,
    "roster.retier": STAFF,
    "imports.run": STAFF,
    "reports.cr2": EVERYONE,
    "reports.monthly": EVERYONE,
    "reports.due": EVERYONE,
    "periods.view": EVERYONE,
    "periods.close": STAFF,
    "periods.reopen": ("admin",),
    "offices.view": EVERYONE,
    "offices.manage": ("admin",),
    "users.view": ("office_manager", "executive", "regional_staff", "admin"),
    "users.manage": ("admin",),
    "tokens.own": EVERYONE,
    "tokens.manage": ("admin",),
    "audit.view": STAFF,
    "jobs.manage": ("admin",),
}

#: Paths answered by the JSON API, which authenticates by bearer token only.
API_PREFIX = "/api/"
#: Blueprints whose every endpoint is public: flask-smorest's OpenAPI document and UIs.
PUBLIC_BLUEPRINTS = ("api-docs",)
#: Attribute a decorated view (function, MethodView method or class) carries its rule in.
RULE_ATTRIBUTE = "_kamcrm_access_rule"


def is_api_request() -> bool:
    """Return whether the current request is for the JSON API."""
    return request.path.startswith(API_PREFIX)


# --- the matrix --------------------------------------------------------------------------


def _known(action: str) -> str:
    if action not in PERMISSIONS:
        raise KeyError(f"unknown action {action!r}; add it to kamcrm.org.access.PERMISSIONS")
    return action


def can(user, action: str) -> bool:
    """Return whether ``user``'s role may do ``action`` (the system may do anything)."""
    roles = PERMISSIONS[_known(action)]
    if user is None:
        return True
    # Anonymous visitors are not Users; deactivated users keep their role but lose it all.
    if not isinstance(user, User) or not user.active:
        return False
    return user.role in roles


def require(user, action: str, account=None) -> None:
    """Raise unless ``user`` may do ``action`` (on ``account``, when given).

    An account outside the user's scope raises ``NotFound`` before the role is even
    considered: out of scope is out of sight.
    """
    if account is not None and not in_scope(user, account.office_id):
        raise NotFound(Message("No such account."))
    if not can(user, action):
        raise Forbidden(Message("Your role may not do this (%(action)s).", action=action))


def roles_allowed(action: str) -> tuple[str, ...]:
    """Return the roles that may do ``action``."""
    return PERMISSIONS[_known(action)]


#: Fields of an account whose change moves what the coverage reports count: who owns the
#: account and when it is open. They need the role of a reassignment.
ACCOUNT_REASSIGN_FIELDS = ("office_code", "kamr_username", "opened_on", "closed_on")
#: Fields of an account whose change is a re-tiering.
ACCOUNT_RETIER_FIELDS = ("tier", "tier_effective_from")


def account_change_refusals(
    user, changed: set[str] | frozenset[str], *, created: bool = False
) -> dict[str, Message]:
    """Return, per field, why ``user`` may not make this change to an account (empty: may).

    ``changed`` names the fields of the account file whose values change (for a new account,
    those it gives). Creating needs ``accounts.create``; owner and opening/closing dates
    ``accounts.reassign``; a tier ``roster.retier``; any other field ``accounts.edit``.
    The caller (operation or import row) turns them into a refusal.
    """
    refusals: dict[str, Message] = {}
    if created and not can(user, "accounts.create"):
        return {"account_no": _role_refusal("accounts.create")}
    for name in sorted(changed):
        action = (
            "accounts.reassign"
            if name in ACCOUNT_REASSIGN_FIELDS
            else "roster.retier"
            if name in ACCOUNT_RETIER_FIELDS
            else "accounts.edit"
        )
        if not can(user, action):
            refusals[name] = _role_refusal(action)
    return refusals


def require_account_change(user, changed, *, created: bool = False) -> None:
    """Raise ``Forbidden`` unless ``user`` may change the fields ``changed`` of an account."""
    refusals = account_change_refusals(user, changed, created=created)
    if refusals:
        raise Forbidden(next(iter(refusals.values())))


#: Why a non-staff user may not record an activity in someone else's name.
PERFORMER_REFUSED = Message("only regional staff may record an activity in someone else's name")


def performer_refusal(
    user, performer_id: int | None, current_id: int | None = None
) -> Message | None:
    """Return why ``user`` may not name ``performer_id`` as an activity's performer, or None.

    Only staff (and the system) act in someone else's name: everyone else is the performer
    of what they record. An edit that keeps the stored performer (``current_id``) names no one.
    """
    if user is None or performer_id is None or performer_id in (user.id, current_id):
        return None
    return None if user.role in STAFF else PERFORMER_REFUSED


def _role_refusal(action: str) -> Message:
    return Message("Your role may not do this (%(action)s).", action=action)


# --- scope -------------------------------------------------------------------------------


def scope_of(user) -> Scope | None:
    """Return the widest scope ``user`` sees, or None for the system (everything)."""
    return None if user is None else scope_for_user(user)


def scope_for(user, office_code: str | None = None) -> Scope:
    """Return the scope named by ``office_code`` (default: the user's widest).

    An office outside the user's scope, or none at all, raises ``NotFound``.
    """
    try:
        if user is None:
            from kamcrm.org.scope import office_scope, region_scope

            return region_scope() if office_code is None else office_scope(office_code)
        return narrower_scope(user, office_code)
    except UnknownOffice:
        raise NotFound(Message("No office has the code %(code)r.", code=office_code)) from None


def scope_condition(user, office_column) -> sa.ColumnElement[bool]:
    """Return a condition that ``office_column`` lies in ``user``'s scope."""
    scope = scope_of(user)
    return sa.true() if scope is None else scope.covers(office_column)


def in_scope(user, office_id: int) -> bool:
    """Return whether an office id lies in ``user``'s scope."""
    scope = scope_of(user)
    if scope is None or scope.is_region:
        return True
    return bool(
        db.session.execute(
            sa.select(sa.literal(True)).where(scope.covers(sa.literal(office_id)))
        ).scalar()
    )


def office_ids_in_scope(user) -> frozenset[int] | None:
    """Return the ids of the offices ``user`` sees, or None when that is every office (a
    bulk import checks each row's office against them without a query per row)."""
    scope = scope_of(user)
    if scope is None or scope.is_region:
        return None
    return frozenset(db.session.scalars(sa.select(Office.id).where(scope.covers(Office.id))))


def visible_offices(user) -> sa.Select:
    """Return a SELECT of the offices ``user`` sees."""
    return sa.select(Office).where(scope_condition(user, Office.id)).order_by(Office.code)


def visible_users(user) -> sa.Select:
    """Return a SELECT of the users attached to an office in ``user``'s scope."""
    return sa.select(User).where(scope_condition(user, User.office_id)).order_by(User.username)


def token_for(user, token_id: int) -> ApiToken:
    """Return API token ``token_id`` if it is ``user``'s own, or ``user`` manages tokens."""
    token = db.session.get(ApiToken, token_id)
    mine = token is not None and (user is None or token.user_id == user.id)
    if token is None or not (mine or can(user, "tokens.manage")):
        raise NotFound(Message("No API token has the id %(id)s.", id=token_id))
    return token


# --- route rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessRule:
    """Who may call an endpoint: anyone (public), any signed-in user, or holders of an action."""

    #: The caller needs at least one of these actions; empty means any signed-in user.
    actions: tuple[str, ...] = ()
    public: bool = False

    def allows(self, user) -> bool:
        """Return whether ``user`` (possibly anonymous) passes this rule."""
        if self.public:
            return True
        if not isinstance(user, User) or not user.active:
            return False
        return not self.actions or any(can(user, action) for action in self.actions)

    def describe(self) -> str:
        if self.public:
            return "public"
        return " | ".join(self.actions) if self.actions else "signed in"


def _mark(rule: AccessRule) -> Callable:
    def decorate(view):
        # Only a marker: the before_request hook enforces it, before any view code or
        # argument parsing runs, for function views and MethodView methods alike.
        setattr(view, RULE_ATTRIBUTE, rule)
        return view

    return decorate


def requires(*actions: str) -> Callable:
    """Declare that a view needs one of ``actions`` (e.g. ``@requires("activities.create")``).

    Works on functions, flask-smorest/MethodView methods and whole MethodView classes.
    Finer checks (scope of the row, the activity type) stay with ``account_for`` & co.
    """
    if not actions:
        raise TypeError("requires() needs at least one action; use @signed_in for any user")
    return _mark(AccessRule(actions=tuple(_known(action) for action in actions)))


#: Declare a view open to anyone, signed in or not (login page, health check).
public = _mark(AccessRule(public=True))
#: Declare a view open to any signed-in user (logout, change own password).
signed_in = _mark(AccessRule())


def declare(app: Flask, endpoint: str, rule: AccessRule) -> None:
    """Declare the rule of an endpoint whose view cannot be decorated (a third-party view)."""
    app.extensions.setdefault("kamcrm_access", {})[endpoint] = rule


def rule_for(app: Flask, endpoint: str, method: str) -> AccessRule | None:
    """Return the rule declared for ``endpoint`` answering ``method``; None when undeclared."""
    declared = app.extensions.get("kamcrm_access", {})
    if endpoint in declared:
        return declared[endpoint]
    if endpoint == "static" or endpoint.endswith(".static"):
        return AccessRule(public=True)
    if endpoint.split(".", 1)[0] in PUBLIC_BLUEPRINTS and "." in endpoint:
        return AccessRule(public=True)
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        rule = getattr(handler, RULE_ATTRIBUTE, None)
        return rule or getattr(view_class, RULE_ATTRIBUTE, None)
    return getattr(view, RULE_ATTRIBUTE, None)


def route_rules(app: Flask) -> Iterator[tuple[object, str, AccessRule | None]]:
    """Yield (URL rule, method, access rule or None) for every route of ``app``."""
    for url_rule in app.url_map.iter_rules():
        for method in sorted(url_rule.methods - {"HEAD", "OPTIONS"}):
            yield url_rule, method, rule_for(app, url_rule.endpoint, method)


def endpoint_rule_or_deny(app: Flask) -> AccessRule:
    """Return the rule of the current request's endpoint; raise ``Forbidden`` when undeclared."""
    if request.method == "OPTIONS":
        return AccessRule(public=True)
    rule = rule_for(app, request.endpoint, request.method)
    if rule is None:
        current_app.logger.error("endpoint %s has no access rule; denied", request.endpoint)
        raise Forbidden(
            Message("This address declares no access rule, so it is closed to everyone.")
        )
    return rule
