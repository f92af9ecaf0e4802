"""Pages to sign in and out, change one's password, and manage one's API tokens."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from kamcrm.errors import ValidationFailed
from kamcrm.org import auth, sessions, signin_limits, tokens
from kamcrm.org.access import public, requires, signed_in, token_for
from kamcrm.org.sessions import LAST_SEEN_KEY, now_seconds
from kamcrm.web.labels import translate
from kamcrm.web.redirects import safe_next

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    password = PasswordField("New password", validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField("New password again", validators=[DataRequired()])


class TokenForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    expires_days = IntegerField(
        "Expires after (days)",
        validators=[Optional(), NumberRange(min=1, max=tokens.MAX_EXPIRY_DAYS)],
    )


class ConfirmForm(FlaskForm):
    """A button and the CSRF token: sign out, revoke."""


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Show the sign-in form; sign in. Failures are limited (``kamcrm.org.signin_limits``)."""
    form = LoginForm(next=request.args.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data))
    status = 200
    username, address = request.form.get("username"), signin_limits.client_address()
    if request.method == "POST" and signin_limits.refused(username, address):
        abort(429)
    if form.validate_on_submit():
        try:
            user = auth.authenticate(form.username.data, form.password.data)
        except auth.AuthenticationFailed as error:
            flash(translate(error.message), "error")
            status = 401
        else:
            sessions.end_session(session.get(sessions.SESSION_KEY))  # a session signed in before
            session.clear()  # nothing from before the sign-in carries over
            login_user(user)
            session[sessions.SESSION_KEY] = sessions.start_session(user)
            session.permanent = True
            session[LAST_SEEN_KEY] = int(now_seconds())
            return redirect(safe_next(form.next.data))
    elif request.method == "POST":
        status = 401 if form.username.data else 400
    if status == 401:
        signin_limits.failed(username, address)
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["GET", "POST"])
@signed_in
def logout():
    """Ask to confirm (GET), sign out (POST)."""
    form = ConfirmForm()
    if form.validate_on_submit():
        sessions.end_session(session.get(sessions.SESSION_KEY))
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/logout.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password():
    """Change one's own password."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            # The user's other sessions end; this one stays signed in.
            auth.change_password(
                current_user,
                form.current_password.data,
                form.password.data,
                form.confirm.data,
                keep_session=session.get(sessions.SESSION_KEY),
            )
        except ValidationFailed as error:
            for field, messages in error.errors.items():
                target = getattr(form, field, None)
                if target is not None:
                    target.errors = list(target.errors) + messages
                else:
                    flash(" ".join(translate(message) for message in messages), "error")
            status = 422
        else:
            flash("Your password is changed.", "info")
            return redirect(url_for("auth.change_password"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "auth/password.html",
        form=form,
        minimum=current_app.config.get("PASSWORD_MIN_LENGTH", 10),
    ), status


@bp.route("/account/tokens", methods=["GET", "POST"])
@requires("tokens.own")
def my_tokens():
    """List one's API tokens; create one (its secret is shown on this answer only)."""
    form = TokenForm()
    created = None
    status = 200
    if form.validate_on_submit():
        try:
            token, raw = tokens.issue_token(
                current_user,
                form.name.data,
                actor=current_user,
                expires_days=form.expires_days.data,
            )
        except ValidationFailed as error:
            for messages in error.errors.values():
                # A flash is kept as plain text: translate the messages first.
                flash(" ".join(translate(message) for message in messages), "error")
            status = 422
        else:
            created = {"name": token.name, "secret": raw}
            form = TokenForm(formdata=None)
    elif request.method == "POST":
        status = 422
    return render_template(
        "auth/tokens.html",
        form=form,
        created=created,
        tokens=[(token, tokens.token_state(token)) for token in tokens.tokens_of(current_user)],
        revoke_form=ConfirmForm(),
    ), status


@bp.post("/account/tokens/<int:token_id>/revoke")
@requires("tokens.own")
def revoke_token(token_id: int):
    """Revoke one of one's API tokens (admins: anyone's)."""
    form = ConfirmForm()
    token = token_for(current_user, token_id)
    if form.validate_on_submit():
        tokens.revoke_token(token, actor=current_user)
        flash(_("API token “%(name)s” is revoked.", name=token.name), "info")
    return redirect(url_for("auth.my_tokens"))
