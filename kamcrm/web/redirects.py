"""The one check of every ``next`` a client sends: a path on this site, or the home page.

Sign-in, the language switch and the KAMR pages all go back to a ``next`` taken from the
request, so each of them could be made to send a user to another site (an open redirect).
A browser is more lenient than Python's ``urlsplit``: it drops tabs and newlines inside a
URL, reads ``\\`` as ``/`` and ``//host`` as another host, so ``/\\t/evil.example/`` reads to
it as ``//evil.example/``. Rather than imitate every browser, the check accepts only a
plain absolute path, and anything else goes to the home page.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

from flask import current_app, url_for


def home_page() -> str:
    """Return the URL of the home page (``/`` in an app without the page blueprint)."""
    return url_for("web.home") if "web.home" in current_app.view_functions else "/"


def is_local_path(target: str | None) -> bool:
    """Return whether ``target`` is a path on this site that no browser reads as another host.

    Refused: blank; anything not starting with a single ``/``; a backslash; any control,
    format or white-space character (also CR/LF, which would split the ``Location`` header);
    a scheme or a host, also once the path is percent-decoded.
    """
    if not target or not isinstance(target, str):
        return False
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    if any(
        character.isspace() or unicodedata.category(character) in ("Cc", "Cf")
        for character in target
    ):
        return False
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return False
    # A server or proxy on the way may decode the path once: /%2F%2Fevil is //evil to it.
    decoded = unquote(parts.path)
    return not (
        decoded.startswith("//")
        or "\\" in decoded
        or any(character in "\t\r\n" for character in decoded)
    )


def safe_next(target: str | None, fallback: str | None = None) -> str:
    """Return ``target`` when it is a path on this site, else ``fallback`` (default: home)."""
    if is_local_path(target):
        return target
    return fallback if fallback is not None else home_page()
