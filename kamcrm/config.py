"""Configuration: defaults, then the environment (``KAMCRM_*``), then the test mapping.

Nothing here runs at import time; :func:`load_config` is called by ``create_app``.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

#: Environment variables read by :func:`load_config`, with the config key each one sets.
ENVIRONMENT_KEYS = {
    "KAMCRM_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "KAMCRM_SECRET_KEY": "SECRET_KEY",
    "KAMCRM_REDIS_URL": "REDIS_URL",
    "KAMCRM_SMTP_HOST": "SMTP_HOST",
    "KAMCRM_SMTP_PORT": "SMTP_PORT",
    "KAMCRM_SMTP_USER": "SMTP_USER",
    "KAMCRM_SMTP_PASSWORD": "SMTP_PASSWORD",
    "KAMCRM_MAIL_FROM": "MAIL_FROM",
    "KAMCRM_OUTBOX_DIR": "OUTBOX_DIR",
    "KAMCRM_REGION_CODE": "REGION_CODE",
    "KAMCRM_SESSION_IDLE_MINUTES": "SESSION_IDLE_MINUTES",
    "KAMCRM_SESSION_ABSOLUTE_HOURS": "SESSION_ABSOLUTE_HOURS",
    "KAMCRM_PROXY_COUNT": "PROXY_COUNT",
    "KAMCRM_SECURE_COOKIES": "SESSION_COOKIE_SECURE",
    "KAMCRM_IMPORT_MAX_BYTES": "IMPORT_MAX_BYTES",
    "KAMCRM_IMPORT_BACKGROUND_BYTES": "IMPORT_BACKGROUND_BYTES",
    "KAMCRM_IMPORT_POLL_SECONDS": "IMPORT_POLL_SECONDS",
    "KAMCRM_IMPORT_RUNNER": "IMPORT_RUNNER",
}

_BOOLEAN_KEYS = {"SESSION_COOKIE_SECURE"}
_INTEGER_KEYS = {
    "SMTP_PORT",
    "SESSION_IDLE_MINUTES",
    "SESSION_ABSOLUTE_HOURS",
    "PROXY_COUNT",
    "IMPORT_MAX_BYTES",
    "IMPORT_BACKGROUND_BYTES",
    "IMPORT_POLL_SECONDS",
}
#: Room for a multipart body's own headers and boundaries around an uploaded file.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


def defaults(instance_path: str) -> dict:
    """Return the built-in defaults for an app whose instance folder is ``instance_path``."""
    return {
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(Path(instance_path) / "kamcrm.sqlite"),
        # Idle pooled connections are tested at checkout (kamcrm.db.configure_engine), not
        # every checkout: a pre-ping per request is a round trip on the API's busiest path.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "REDIS_URL": None,
        "SMTP_HOST": None,
        "SMTP_PORT": 25,
        "SMTP_USER": None,
        "SMTP_PASSWORD": None,
        "MAIL_FROM": "kamcrm@localhost",
        "OUTBOX_DIR": str(Path(instance_path) / "outbox"),
        "REGION_CODE": None,
        "SESSION_IDLE_MINUTES": 30,
        # However active, a page session ends this long after signing in.
        "SESSION_ABSOLUTE_HOURS": 12,
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are
        # trusted (0: none, the client connects directly).
        "PROXY_COUNT": 0,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "BABEL_DEFAULT_LOCALE": "th",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Bangkok",
        "LANGUAGES": ("th", "en"),
        "WTF_CSRF_TIME_LIMIT": None,
        # The largest file an import takes (CLI, API, pages); an upload's request may be this
        # plus UPLOAD_OVERHEAD_BYTES (MAX_CONTENT_LENGTH, unless set, follows it).
        "IMPORT_MAX_BYTES": 50 * 1024 * 1024,
        # An upload larger than this is imported by the scheduler process, not in the request.
        "IMPORT_BACKGROUND_BYTES": 1024 * 1024,
        # How often the scheduler process looks for queued imports.
        "IMPORT_POLL_SECONDS": 5,
        # Who runs queued imports: "scheduler" (the `flask jobs scheduler` process), or
        # "thread" (a thread of the web process: a one-process server with no scheduler).
        "IMPORT_RUNNER": "scheduler",
        "MAX_CONTENT_LENGTH": None,
        "API_TITLE": "kamcrm",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "PASSWORD_MIN_LENGTH": 10,
        # Failed sign-ins per username and address, and per username from addresses that
        # failed for it (kamcrm.org.signin_limits) ...
        "LOGIN_RATE_LIMIT": "5 per minute;20 per hour",
        # ... and per address, whatever the username: looser, as an office may sign in
        # from one address.
        "LOGIN_ADDRESS_RATE_LIMIT": "20 per minute;100 per hour",
    }


def from_environment(environ=None) -> dict:
    """Return the config keys set by ``KAMCRM_*`` environment variables."""
    environ = os.environ if environ is None else environ
    found = {}
    for variable, key in ENVIRONMENT_KEYS.items():
        raw = environ.get(variable)
        if raw is None or raw == "":
            continue
        if key in _BOOLEAN_KEYS:
            found[key] = raw.strip().lower() in {"1", "true", "yes", "on"}
        elif key in _INTEGER_KEYS:
            found[key] = int(raw)
        else:
            found[key] = raw
    return found


def instance_secret_key(instance_path: str) -> str:
    """Return the secret key kept in the instance folder, creating it on first use.

    The file is created with mode 0600 so the key never has to live in the repository
    or in the environment of a developer's shell.
    """
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def max_content_length(config) -> int:
    """Return the request size limit: the configured one, else an import's file plus its wrapping."""
    return config.get("MAX_CONTENT_LENGTH") or config["IMPORT_MAX_BYTES"] + UPLOAD_OVERHEAD_BYTES


def session_lifetime(minutes: int) -> timedelta:
    """Return the idle timeout of a page session."""
    return timedelta(minutes=minutes)
