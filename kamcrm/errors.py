"""Errors raised by operations; pages, the API and the CLI each turn them into their answer.

Every error carries an HTTP status, a message for people and, for validation, the
messages per field: the API's error body is ``{"code", "message", "errors"}``. A message
that carries values is a ``Message``: English text for the API, the CLI and the logs, and
its message id and values for pages to translate (``kamcrm.web.i18n.translate``).
"""

from __future__ import annotations

from typing import Any


class Message(str):
    """A message for people: its English text, plus the message id and values it was made from.

    ``Message("unknown account '%(account_no)s'", account_no="A-1")`` is the string
    ``unknown account 'A-1'`` wherever a string is used (JSON, the terminal, comparisons),
    so the API and CLI answer in English unchanged; a page translates ``msgid`` through its
    catalogue and fills in ``params``. A value that is itself a ``Message`` (a phrase such
    as "a tier") is translated too. ``make translations`` extracts the ids (keyword
    ``Message``), so the first argument must be a literal.
    """

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Message:
        message = super().__new__(cls, msgid % params if params else msgid)
        message.msgid = msgid
        message.params = params
        return message

    def __reduce__(self):
        # Keep the id and values through pickling and copying (str's own would drop them).
        return _rebuild_message, (self.msgid, self.params)


def _rebuild_message(msgid: str, params: dict[str, Any]) -> Message:
    return Message(msgid, **params)


class KamcrmError(Exception):
    """Base of the errors an operation raises for something its caller sent."""

    status = 400

    def __init__(
        self, message: str, errors: dict[str, list[str]] | None = None, extra: dict | None = None
    ):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        #: Further members of the API's error body (a refused import's ``more_errors``).
        self.extra = extra or {}

    def as_dict(self) -> dict:
        return {"code": self.status, "message": self.message, "errors": self.errors, **self.extra}


class ValidationFailed(KamcrmError):
    """Input that breaks a rule; ``errors`` maps each field to its messages."""

    status = 422

    def __init__(
        self,
        errors: dict[str, list[str]],
        message: str = "The input is not valid.",
        extra: dict | None = None,
    ):
        super().__init__(message, errors, extra)


class NotFound(KamcrmError):
    """No such record, or none the caller may see (out of scope is out of sight)."""

    status = 404


class Forbidden(KamcrmError):
    """The caller may see the record but not do this to it."""

    status = 403


class Conflict(KamcrmError):
    """The request clashes with the current state (a duplicate key, say)."""

    status = 409


class PeriodClosed(Conflict):
    """The activity's quarter is closed and the caller may not change it."""


class PreconditionFailed(KamcrmError):
    """The record changed since the caller read it (a stale ``If-Match``)."""

    status = 412


class FileTooLarge(KamcrmError):
    """A file (an import's upload) over the size the application takes."""

    status = 413
