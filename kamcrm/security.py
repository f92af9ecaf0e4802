"""Request-level security: who is calling, whether they may, and what every answer carries.

``init_app`` wires, in this order, for every request:

1. the session: page requests use the signed cookie session; API requests (``/api/``)
   get an empty session that is never read from nor written to a cookie;
2. the page session's lifetime: idle (``SESSION_IDLE_MINUTES``, refreshed on activity),
   absolute (``SESSION_ABSOLUTE_HOURS``), and its server-side row (``kamcrm.org.sessions``),
   which signing out and a password change delete;
3. CSRF on every page form (the API is exempt because it never trusts a cookie);
4. the access rule of the endpoint (default deny), authenticating API calls by bearer
   token and sending anonymous page visitors to the login page;
5. security headers on every response; errors turned into JSON (API) or a page.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app, flash, g, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from kamcrm.api.errors import error_response
from kamcrm.db import database_unavailable
from kamcrm.errors import Forbidden, KamcrmError, Message
from kamcrm.extensions import csrf, db, limiter, login_manager
from kamcrm.org import access
from kamcrm.org.access import is_api_request
from kamcrm.org.auth import AuthenticationFailed, load_user
from kamcrm.org.sessions import LAST_SEEN_KEY, SESSION_KEY, end_session, now_seconds

#: The policy every page gets unless a view set its own: our own files only, no inline
#: script, never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

#: Seconds a client is asked to wait when the database is restarting or locked.
RETRY_AFTER_SECONDS = 5


class ApiAwareSessionInterface(SecureCookieSessionInterface):
    """The cookie session for pages; for the API a throwaway session and no cookie at all.

    Flask-Login's "Disabling Session Cookie for APIs": a token-authenticated call must not
    be given a session cookie, and a cookie sent to the API must not authenticate it
    (that is what makes exempting the API from CSRF safe).
    """

    def open_session(self, app, request_):
        if request_.path.startswith(access.API_PREFIX):
            return self.session_class()
        return super().open_session(app, request_)

    def save_session(self, app, session_, response):
        if request.path.startswith(access.API_PREFIX):
            return None
        return super().save_session(app, session_, response)


def init_app(app: Flask) -> None:
    """Install login, limiter, CSRF, idle timeout, access rules, headers and error pages."""
    from kamcrm.audit import guard  # noqa: F401  (installs the append-only guard)

    _trust_proxies(app)
    app.session_interface = ApiAwareSessionInterface()

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)

    _init_limiter(app)

    # CSRF is checked by our own hook so that the API can be exempt by path, whatever
    # blueprints it is made of.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False

    app.before_request(_forget_previous_user)
    app.before_request(_expire_idle_session)
    app.before_request(_protect_forms)
    app.before_request(_enforce_access)
    app.after_request(_add_security_headers)
    register_error_handlers(app)


def _trust_proxies(app: Flask) -> None:
    """Behind ``PROXY_COUNT`` reverse proxies, take the client's address, scheme and host
    from their ``X-Forwarded-*`` headers; otherwise every client has the proxy's address
    and one client's failed sign-ins would hold back everyone's."""
    count = int(app.config.get("PROXY_COUNT") or 0)
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def _init_limiter(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    # The limiter object is shared by every app in the process (tests build several);
    # an app that turns limiting off simply never binds it, and the request filter below
    # keeps one app's setting from leaking into another.
    if app.config.get("RATELIMIT_ENABLED", True):
        limiter.init_app(app)


@limiter.request_filter
def _limits_off_for_this_request() -> bool:
    # The limiter's storage counts failed sign-ins (kamcrm.org.signin_limits); no route has
    # a limit of its own, and API calls (a token is a long random secret) skip the check.
    return not current_app.config.get("RATELIMIT_ENABLED", True) or is_api_request()


# --- hooks -------------------------------------------------------------------------------


def _forget_previous_user():
    # Flask-Login keeps the user, and Flask-WTF the CSRF token, in ``g``, which lives as
    # long as the app context; a request that reuses a pushed context (tests) must not
    # inherit the previous request's user or token.
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


def _expire_idle_session():
    """Sign a page user out after ``SESSION_IDLE_MINUTES`` without a request, or when the
    session's row is gone (signed out elsewhere, password changed) or past its lifetime."""
    if is_api_request() or "_user_id" not in session or (request.endpoint or "").endswith("static"):
        return None  # a stylesheet or font needs no database round trip
    now = int(now_seconds())
    idle_seconds = 60 * int(current_app.config["SESSION_IDLE_MINUTES"])
    seen = session.get(LAST_SEEN_KEY)
    if not isinstance(seen, int) or now - seen > idle_seconds:
        end_session(session.get(SESSION_KEY))
        db.session.commit()
        logout_user()
        session.clear()
        flash("Your session ended after a period of inactivity; please sign in again.", "info")
        return None
    # The user is loaded here, before any view, so the session row's bookkeeping (last
    # seen, or deleting a row that ran out) is its own small transaction.
    live = current_user.is_authenticated
    if db.session.dirty or db.session.deleted:
        db.session.commit()
    if not live:
        session.clear()
        flash("Your session has ended; please sign in again.", "info")
        return None
    session[LAST_SEEN_KEY] = now
    session.permanent = True
    return None


def _protect_forms():
    if is_api_request() or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return None
    csrf.protect(apply_exemptions=True)
    return None


def _enforce_access():
    """Default deny: the endpoint's declared rule decides; no rule means no entry."""
    if request.endpoint is None:
        return None  # routing failed; the 404/405 handler answers
    rule = access.endpoint_rule_or_deny(current_app)
    if rule.public:
        return None
    if is_api_request():
        user = _authenticate_bearer()
        # What login_user leaves for current_user, without its work for a cookie session
        # (an identifier hashed from the client's address, a signal): the API has none.
        login_manager._update_request_context_with_user(user)
    elif not current_user.is_authenticated:
        return login_manager.unauthorized()
    user = current_user._get_current_object()
    if not rule.allows(user):
        raise Forbidden(f"Your role may not do this ({rule.describe()}).")
    g.access_rule = rule
    return None


def _authenticate_bearer():
    from kamcrm.org.tokens import use_recorded, verify_token

    scheme, _, raw = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise AuthenticationFailed("Authentication is required: send Authorization: Bearer TOKEN.")
    user = verify_token(raw.strip())
    if use_recorded() or db.session.dirty:
        # The token's last-use time (at most once a minute) is its own small transaction,
        # committed before the view runs, so a read-only call still leaves a trace.
        db.session.commit()
    return user


#: The headers every response gets unless a view set its own.
_SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def _add_security_headers(response):
    headers = response.headers
    # One pass over the response's headers, not one per header set (every API call pays it).
    present = {name.lower() for name in headers.keys()}
    wanted = list(_SECURITY_HEADERS)
    if request.is_secure or current_app.config.get("SESSION_COOKIE_SECURE"):
        wanted.append(("Strict-Transport-Security", "max-age=31536000"))
    if not (request.endpoint or "").endswith("static"):
        # Pages and API answers carry customers' data: no shared cache may keep them.
        wanted.append(("Cache-Control", "no-store"))
    headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
    return response


# --- errors ------------------------------------------------------------------------------


#: What a page says for an HTTP error raised without a message of its own (``abort(404)``).
_PAGE_MESSAGES = {
    400: Message("The request was not understood; go back and try again."),
    403: Message("Your role may not open this page."),
    404: Message("There is no such page or record, or it is outside your offices."),
    405: Message("This page cannot be used that way; go back and use its buttons."),
}


def _error_page(status: int, message: str):
    from kamcrm.web.labels import translate

    return render_template("auth/error.html", status=status, message=translate(message)), status


def _handle_kamcrm_error(error: KamcrmError):
    from kamcrm.api.errors import handle_kamcrm_error

    if is_api_request():
        return handle_kamcrm_error(error)
    return _error_page(error.status, error.message)


def _handle_http_exception(error: HTTPException):
    from kamcrm.api.errors import handle_http_exception

    status = error.code or 500
    if is_api_request():
        return handle_http_exception(error)
    if status == 429:
        return _error_page(429, Message("Too many attempts. Wait a while before you try again."))
    if isinstance(error, CSRFError):
        return _error_page(
            400,
            Message(
                "The form expired or was not sent from this site; reload the page and try again."
            ),
        )
    if status >= 500:
        return error
    description = error.description
    if description == type(error).description:  # Werkzeug's own English text: say it our way
        description = _PAGE_MESSAGES.get(status, description)
    return _error_page(status, description or error.name)


def _handle_database_error(error: sa.exc.DBAPIError):
    """503 with ``Retry-After`` while the database restarts or is locked; any other database
    error is a bug and goes on to the 500 handler."""
    if not database_unavailable(error):
        raise error
    current_app.logger.warning("database unavailable (%s): %s", request.path, error.orig)
    try:
        db.session.rollback()
    except sa.exc.DBAPIError:  # the connection is gone; the pool replaces it
        pass
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if is_api_request():
        return error_response(503, None, headers=headers)
    page = render_template("errors/unavailable.html", retry_after=RETRY_AFTER_SECONDS)
    return page, 503, headers


def register_error_handlers(app: Flask) -> None:
    """Answer operation errors and HTTP errors: JSON on ``/api/``, a friendly page elsewhere."""
    app.register_error_handler(KamcrmError, _handle_kamcrm_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(sa.exc.DBAPIError, _handle_database_error)

    @app.errorhandler(500)
    def _internal_error(error):
        if is_api_request():
            return error_response(500, None)
        return error
