"""The home page (each role lands on its own work page) and the language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from kamcrm.org.access import public
from kamcrm.web.i18n import LANGUAGE_COOKIE, LANGUAGE_COOKIE_MAX_AGE
from kamcrm.web.redirects import safe_next

bp = Blueprint("web", __name__)

#: Where each role starts its day.
HOME_PAGES = {
    "kamr": "kamr.due",
    "office_manager": "office.coverage",
    "executive": "region.dashboard",
    "regional_staff": "region.dashboard",
    "admin": "region.dashboard",
}


@bp.get("/")
@public
def home():
    """Send a signed-in user to their role's page; show the welcome page otherwise."""
    if current_user.is_authenticated:
        endpoint = HOME_PAGES.get(current_user.role)
        if endpoint in current_app.view_functions:
            return redirect(url_for(endpoint))
    return render_template("web/home.html")


@bp.get("/language/<code>")
@public
def switch_language(code: str):
    """Switch the page language and go back where the user was."""
    target = safe_next(request.args.get("next"))
    response = redirect(target)
    if code not in current_app.config["LANGUAGES"]:
        return response
    response.set_cookie(
        LANGUAGE_COOKIE,
        code,
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )
    if current_user.is_authenticated and getattr(current_user, "locale", None) != code:
        # Remember the choice on other devices too.
        current_user.locale = code
    return response
