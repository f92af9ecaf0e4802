"""ETags from a row's ``version`` column, and the optional ``If-Match`` check.

Account and Activity carry ``version`` as SQLAlchemy's ``version_id_col``: every UPDATE says
``WHERE version = <the version read>``. So once ``If-Match`` agrees with the row as loaded,
a writer who slips in between still loses: the flush matches no row, SQLAlchemy raises
``StaleDataError`` and the API answers 412 just the same.
"""

from __future__ import annotations

from flask import request

from kamcrm.errors import PreconditionFailed

#: How the ETag and If-Match are documented on each operation.
ETAG_HEADER = {
    "ETag": {
        "description": "The version of the record; send it back in If-Match.",
        "schema": {"type": "string"},
    }
}


def etag_of(row) -> str:
    """Return the strong ETag of a versioned row, e.g. ``"3"``."""
    return f'"{row.version}"'


def expected_version(row) -> int | None:
    """Return the version the request's ``If-Match`` expects ``row`` to have, or None.

    ``If-Match`` is optional (428 is not an answer this API gives): without it, or with
    ``*``, the change applies to the current version. A list of tags expects any of them.
    The operations compare the result with the row and raise ``PreconditionFailed``.
    """
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        return None
    offered = []
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag == "*":
            return None
        offered.append(int(tag) if tag.isascii() and tag.isdigit() and len(tag) < 10 else -1)
    return row.version if row.version in offered else offered[0]


def check_if_match(row) -> None:
    """Raise ``PreconditionFailed`` when ``If-Match`` names another version of ``row``.

    For the changes whose operation takes no ``expected_version`` (deleting an activity).
    """
    expected = expected_version(row)
    if expected is not None and expected != row.version:
        raise PreconditionFailed(
            f"The record changed since you read it (it is now version {row.version}); "
            "fetch it again."
        )
