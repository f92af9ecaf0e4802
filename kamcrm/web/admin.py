"""Administration pages: users (create, deactivate) and their API tokens."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from kamcrm.errors import KamcrmError
from kamcrm.extensions import db
from kamcrm.org import operations as org_ops
from kamcrm.org import tokens as token_ops
from kamcrm.org.access import requires, token_for, visible_users
from kamcrm.org.auth import set_password
from kamcrm.org.models import User
from kamcrm.org.sessions import SESSION_KEY
from kamcrm.web.common import apply_errors, page_url_args, paginate
from kamcrm.web.forms import SetPasswordForm, TokenForm, UserActiveForm, UserForm
from kamcrm.web.labels import translate

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _render_users(form=None, status=200):
    query = visible_users(current_user).options(selectinload(User.office))
    text = request.args.get("q", "").strip()
    if text:
        query = query.where(
            sa.or_(
                User.username.icontains(text, autoescape=True),
                User.full_name.icontains(text, autoescape=True),
            )
        )
    page = paginate(query, per_page=50)
    return render_template(
        "admin/users.html",
        page=page,
        q=text,
        form=form or UserForm(formdata=None),
        toggle=UserActiveForm(formdata=None),
        page_url_args=page_url_args,
    ), status


@bp.get("/users")
@requires("users.manage")
def users():
    """List the users, with a form to add one."""
    return _render_users()[0]


@bp.post("/users")
@requires("users.manage")
def create_user():
    """Add a user with a first password (the one the CLI's set-password would give)."""
    form = UserForm()
    if form.validate_on_submit() and _passwords_agree(form):
        data = {
            name: (getattr(form, name).data or None)
            for name in ("username", "full_name", "role", "office_code", "exec_role", "email")
        }
        try:
            # One savepoint: a refused password adds no user without one.
            with db.session.begin_nested():
                user = org_ops.create_user(data, current_user)
                set_password(user, form.password.data, current_user)
        except KamcrmError as refused:
            apply_errors(form, refused)
        else:
            flash(_("User %(name)s added.", name=user.username), "success")
            return redirect(url_for("admin.user_tokens", user_id=user.id))
    return _render_users(form, 422)


def _passwords_agree(form) -> bool:
    """Return whether the form's two password fields agree; if not, say so beside the second."""
    if form.password.data == form.confirm.data:
        return True
    form.confirm.errors = [*form.confirm.errors, _("The two passwords differ.")]
    return False


@bp.post("/users/<int:user_id>/active")
@requires("users.manage")
def set_active(user_id: int):
    """Activate or deactivate a user (their records stay)."""
    user = db.session.execute(
        visible_users(current_user).where(User.id == user_id)
    ).scalar_one_or_none()
    if user is None:
        abort(404)
    form = UserActiveForm()
    if form.validate_on_submit():
        try:
            with db.session.begin_nested():
                org_ops.update_user(user, {"active": bool(form.active.data)}, current_user)
        except KamcrmError as refused:
            # The reasons are per field ("you cannot deactivate your own account"); the
            # operation's summary alone says nothing the admin can act on.
            reasons = [message for messages in refused.errors.values() for message in messages]
            for message in reasons or [refused.message]:
                flash(translate(message), "error")
        else:
            flash(
                _("%(name)s is now active.", name=user.username)
                if user.active
                else _("%(name)s can no longer sign in.", name=user.username),
                "success",
            )
    return redirect(url_for("admin.users"))


def _render_tokens(user, form=None, raw=None, status=200, password_form=None):
    return render_template(
        "admin/tokens.html",
        user=user,
        tokens=token_ops.tokens_of(user),
        state=token_ops.token_state,
        form=form or TokenForm(formdata=None),
        raw=raw,
        revoke=UserActiveForm(formdata=None),
        password_form=password_form or SetPasswordForm(formdata=None),
    ), status


def _user(user_id: int) -> User:
    user = db.session.execute(
        visible_users(current_user).where(User.id == user_id)
    ).scalar_one_or_none()
    if user is None:
        abort(404)
    return user


@bp.get("/users/<int:user_id>/tokens")
@requires("tokens.manage")
def user_tokens(user_id: int):
    """Show a user's API tokens, with a form to issue one."""
    return _render_tokens(_user(user_id))[0]


@bp.post("/users/<int:user_id>/tokens")
@requires("tokens.manage")
def issue_token(user_id: int):
    """Issue an API token; it is shown once, on this answer only."""
    user = _user(user_id)
    form = TokenForm()
    if form.validate_on_submit():
        try:
            with db.session.begin_nested():
                _token, raw = token_ops.issue_token(
                    user, form.name.data, current_user, expires_days=form.expires_days.data
                )
        except KamcrmError as refused:
            apply_errors(form, refused)
        else:
            flash(_("Token issued. Copy it now: it is not shown again."), "success")
            return _render_tokens(user, raw=raw)
    return _render_tokens(user, form, status=422)


@bp.post("/tokens/<int:token_id>/revoke")
@requires("tokens.manage")
def revoke_token(token_id: int):
    """Revoke an API token."""
    token = token_for(current_user, token_id)
    form = UserActiveForm()
    if form.validate_on_submit():
        token_ops.revoke_token(token, current_user)
        flash(_("Token revoked."), "success")
    return redirect(url_for("admin.user_tokens", user_id=token.user_id))


@bp.post("/users/<int:user_id>/password")
@requires("users.manage")
def set_user_password(user_id: int):
    """Set a user's password (through the same operation as ``flask users set-password``)."""
    user = _user(user_id)
    form = SetPasswordForm()
    if form.validate_on_submit() and _passwords_agree(form):
        try:
            with db.session.begin_nested():
                # The user's sessions end (the admin's own stays, if the user is the admin).
                set_password(
                    user, form.password.data, current_user, keep_session=session.get(SESSION_KEY)
                )
        except KamcrmError as refused:
            apply_errors(form, refused)
        else:
            flash(
                _("%(name)s can now sign in with the new password.", name=user.username), "success"
            )
            return redirect(url_for("admin.user_tokens", user_id=user.id))
    return _render_tokens(user, status=422, password_form=form)
