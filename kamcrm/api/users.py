"""Users: listed within the caller's scope; created and changed by admins.

Passwords and tokens are not part of this resource (``flask users set-password`` and
``users token``, or the token page).
"""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa

from kamcrm import limits
from kamcrm.api.blueprint import Blueprint, caller, may_answer
from kamcrm.api.fields import Text
from kamcrm.api.schemas import PageArgs, changes_of, envelope, offset, page_of
from kamcrm.errors import NotFound
from kamcrm.extensions import db
from kamcrm.org import operations
from kamcrm.org.access import requires, scope_condition
from kamcrm.org.models import EXEC_ROLES, ROLES, Office, User

PATH = "/users"
blp = Blueprint(
    "users", __name__, description="People who use kamcrm (SPEC section 7, users file)."
)


class UserSchema(ma.Schema):
    """A user, as a row of the users file (plus ``active`` and ``locale``)."""

    username = Text(required=True, doc={"maxLength": limits.USERNAME, "example": "somchai.k"})
    full_name = Text(required=True, doc={"maxLength": limits.PERSON_NAME})
    role = Text(required=True, doc={"enum": list(ROLES)})
    office_code = Text(required=True, doc={"maxLength": limits.OFFICE_CODE})
    exec_role = Text(allow_none=True, doc={"enum": list(EXEC_ROLES)})
    email = Text(allow_none=True, doc={"maxLength": limits.EMAIL, "format": "email"})
    active = ma.fields.Boolean(truthy={True}, falsy={False})
    locale = Text(allow_none=True, doc={"enum": ["th", "en"]})


UserChangesSchema = changes_of(UserSchema, "UserChangesSchema")


class UserListArgs(PageArgs):
    role = Text(doc={"enum": list(ROLES)}, validate=ma.validate.OneOf(ROLES))
    office = Text(
        metadata={"description": "Only users of this office (code)."},
        validate=ma.validate.Length(max=20),
    )


UserPage = envelope(UserSchema, "UserPage")


def _user(username: str) -> User:
    user = db.session.execute(
        sa.select(User).where(User.username == username, scope_condition(caller(), User.office_id))
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"No user has the username {username!r}.")
    return user


@blp.route("", methods=["GET"])
@requires("users.view")
@blp.arguments(UserListArgs, location="query")
@blp.response(200, UserPage)
def list_users(args):
    """List the users of the offices in your scope, by username."""
    condition = scope_condition(caller(), User.office_id)
    if args.get("role"):
        condition = sa.and_(condition, User.role == args["role"])
    if args.get("office"):
        condition = sa.and_(condition, Office.code == args["office"])
    base = sa.select(User).join(Office, User.office_id == Office.id).where(condition)
    total = db.session.execute(sa.select(sa.func.count()).select_from(base.subquery())).scalar_one()
    rows = (
        db.session.execute(
            sa.select(
                User.username,
                User.full_name,
                User.role,
                Office.code.label("office_code"),
                User.exec_role,
                User.email,
                User.active,
                User.locale,
            )
            .join(Office, User.office_id == Office.id)
            .where(condition)
            .order_by(User.username)
            .limit(args["per_page"])
            .offset(offset(args))
        )
        .mappings()
        .all()
    )
    return page_of(rows, total, args)


@blp.route("", methods=["POST"])
@requires("users.manage")
@blp.arguments(UserSchema)
@blp.response(201, UserSchema)
@may_answer(409)
def create_user(data):
    """Create a user without a password (admin)."""
    user = operations.create_user(data, caller())
    return operations.user_record(user)


@blp.route("/<key:username>", methods=["GET"])
@requires("users.view")
@blp.response(200, UserSchema)
@may_answer(404)
def get_user(username):
    """Read one user of an office in your scope."""
    return operations.user_record(_user(username))


@blp.route("/<key:username>", methods=["PATCH"])
@requires("users.manage")
@blp.arguments(UserChangesSchema)
@blp.response(200, UserSchema)
@may_answer(404, 409)
def update_user(changes, username):
    """Change a user (admin): role, office, exec_role, e-mail, active …"""
    user = operations.update_user(_user(username), changes, caller())
    return operations.user_record(user)
