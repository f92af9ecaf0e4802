"""Errors raised by operations; pages, the API and the CLI each turn them into their answer.

Every error carries an HTTP status, a message for people and, for validation, the
messages per field: the API's error body is ``{"code", "message", "errors"}``.
"""
from __future__ import annotations


class KamcrmError(Exception):
    """Base of the errors an operation raises for something its caller sent."""

    status = 400

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}

    def as_dict(self) -> dict:
        return {"code": self.status, "message": self.message, "errors": self.errors}


class ValidationFailed(KamcrmError):
    """Input that breaks a rule; ``errors`` maps each field to its messages."""

    status = 422

    def __init__(self, errors: dict[str, list[str]], message: str = "The input is not valid."):
        super().__init__(message, errors)


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
