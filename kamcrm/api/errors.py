"""The API's one error shape: ``{"code", "message", "errors": {field: [messages]}}``.

Operations raise :mod:`kamcrm.errors`; webargs and Werkzeug raise ``HTTPException``; the
database may still refuse a row. Each becomes the same JSON body with the fitting status,
so a client never sees an HTML page or a 500 for something it sent. These handlers sit on
the API blueprints; a URL under ``/api/`` that matches no view is answered in the same
shape by the application-wide handlers of ``kamcrm.security``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from kamcrm.errors import KamcrmError
from kamcrm.extensions import db

log = logging.getLogger(__name__)

#: Messages for statuses raised without one of our own.
_DEFAULT_MESSAGES = {
    400: "The request is malformed.",
    401: "Authentication is required: send Authorization: Bearer TOKEN.",
    403: "You may not do this.",
    404: "Not found.",
    405: "This method is not allowed on this resource.",
    409: "The request conflicts with the current state.",
    412: "The resource changed since you read it; fetch it again.",
    413: "The request body is too large.",
    415: "The content type is not supported.",
    422: "The input is not valid.",
    429: "Too many requests; slow down.",
    500: "Internal server error.",
    503: "The database is unavailable for a moment; retry after the time in Retry-After.",
}


def error_body(status: int, message: str | None = None, errors: Mapping | None = None) -> dict:
    """Return the error body for ``status``."""
    return {
        "code": status,
        "message": message or _DEFAULT_MESSAGES.get(status, "Error."),
        "errors": flatten_errors(errors or {}),
    }


def error_response(
    status: int,
    message: str | None = None,
    errors: Mapping | None = None,
    headers: Mapping | None = None,
) -> tuple[dict, int, dict]:
    """Return the whole answer ``(body, status, headers)``: every API error is built here,
    whichever handler (a blueprint's, or the application's for unrouted URLs) answers."""
    answer_headers = dict(headers or {})
    if status == 401:
        answer_headers.setdefault("WWW-Authenticate", 'Bearer realm="kamcrm"')
    return error_body(status, message, errors), status, answer_headers


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested messages into ``{"a.0.b": ["message", ...]}``.

    webargs adds the location (``json``, ``query``, ``files`` …) as the outer key; it is
    dropped so that a field is named the same whether it came from the body or the URL.
    """
    flat: dict[str, list[str]] = {}
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            key = str(key)
            if not prefix and key in _LOCATIONS:
                name = ""
            else:
                name = f"{prefix}.{key}" if prefix else key
            for field, messages in flatten_errors(value, name).items():
                flat.setdefault(field, []).extend(messages)
    elif isinstance(errors, (list, tuple)):
        for item in errors:
            if isinstance(item, (Mapping, list, tuple)):
                for field, messages in flatten_errors(item, prefix).items():
                    flat.setdefault(field, []).extend(messages)
            else:
                flat.setdefault(prefix or "_schema", []).append(str(item))
    else:
        flat.setdefault(prefix or "_schema", []).append(str(errors))
    return flat


_LOCATIONS = {
    "json",
    "query",
    "querystring",
    "form",
    "files",
    "headers",
    "cookies",
    "path",
    "json_or_form",
}


def handle_kamcrm_error(error: KamcrmError):
    """Answer an operation's (or the access layer's) error with its status and messages.

    No rollback, here or on the pages (``kamcrm.security``): a refused action never reaches
    its view's commit, and the request's session is discarded, uncommitted, when the request
    ends. Only a database refusal (the handlers below) rolls back, because it leaves the
    session unusable.
    """
    body, status, headers = error_response(error.status, error.message, error.errors)
    return {**body, **error.extra}, status, headers


def handle_http_exception(error: HTTPException):
    """Answer an ``HTTPException`` (routing, webargs, ``abort``) in the API shape."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    message = data.get("message")
    errors = data.get("errors") or data.get("messages")
    if message is None and status not in _DEFAULT_MESSAGES and error.description:
        message = error.description
    if status == 429:
        message = f"Too many requests ({error.description}); slow down."
    headers = dict(data.get("headers") or {})
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return error_response(status, message, errors, headers)


def handle_stale_data(error: StaleDataError):
    """Two writers raced on one versioned row: the loser gets 412 like a stale If-Match."""
    db.session.rollback()
    return error_body(412), 412


def handle_integrity_error(error: IntegrityError):
    """A constraint the operations did not foresee: a conflict, never a 500."""
    db.session.rollback()
    log.warning("integrity error reached the API: %s", error.orig)
    return error_body(409, "The change conflicts with existing data."), 409


def handle_data_error(error: DataError):
    """A value the database cannot store (schemas should have refused it first)."""
    db.session.rollback()
    log.warning("data error reached the API: %s", error.orig)
    return error_body(422, "A value cannot be stored (out of range or malformed)."), 422


def handle_recursion_error(error: RecursionError):
    """A JSON body nested too deeply to parse."""
    return error_body(400, "The JSON body is nested too deeply."), 400


#: (exception class, handler) pairs registered on every API blueprint.
HANDLERS = (
    (KamcrmError, handle_kamcrm_error),
    (HTTPException, handle_http_exception),
    (StaleDataError, handle_stale_data),
    (IntegrityError, handle_integrity_error),
    (DataError, handle_data_error),
    (RecursionError, handle_recursion_error),
)


def register_handlers(blueprint) -> None:
    """Register the API error handlers on one blueprint."""
    for exception, handler in HANDLERS:
        blueprint.register_error_handler(exception, handler)
