"""The JSON API under ``/api/v1``: flask-smorest resources over the domain operations.

Conventions (also in README, "JSON API"):

* ``Authorization: Bearer TOKEN`` on every call; the session cookie is never accepted.
* Field names are those of the interchange files (SPEC section 7); an activity adds ``id``.
* Lists answer ``{"items": [...], "pagination": {"page", "per_page", "total",
  "total_pages"}}``; ``per_page`` is at most 100. Unknown query parameters are ignored;
  unknown body fields are refused (422).
* Errors answer ``{"code", "message", "errors": {field: [messages]}}``.
* A single account or activity carries an ``ETag``; ``PATCH``/``DELETE`` honour an optional
  ``If-Match`` and answer 412 when it is stale.
"""

from __future__ import annotations

from flask import Flask

#: Where the API lives.
URL_PREFIX = "/api/v1"

_DESCRIPTION = """\
The kamcrm JSON API. Authenticate every call with `Authorization: Bearer TOKEN`
(`flask --app kamcrm users token USERNAME` prints one).

* **Names** are those of the interchange files (`account_no`, `office_code`, `tier`,
  `kamr_username`, `performed_by`, `activity_date`, …); an activity adds `id`.
* **Lists** answer `{"items": [...], "pagination": {"page", "per_page", "total", "total_pages"}}`;
  ask with `page` (from 1) and `per_page` (1–100, default 25).
  Unknown query parameters are ignored; unknown fields in a body are refused (422).
* **Errors** always answer `{"code", "message", "errors": {"field": ["..."]}}` with status
  400 (malformed request), 401 (no or bad token), 403 (your role may not), 404 (no such
  record, or not in your scope), 409 (conflict, e.g. a closed quarter or a duplicate),
  412 (stale `If-Match`) or 422 (invalid input).
* **Lost updates**: `GET` of an account or an activity returns an `ETag`; send it back in
  `If-Match` with `PATCH` or `DELETE` and the change is refused with 412 if someone else
  changed the record meanwhile. `If-Match` is optional (a request without it is applied).
* **Scope**: a KAMR or office manager sees their office and its branches; everyone else
  the region. Anything outside answers 404 and is left out of every list and report.
"""


def init_app(app: Flask) -> None:
    """Register the API blueprints, the OpenAPI document and the documentation page."""
    from kamcrm.api import (
        accounts,
        activities,
        complaints,
        docs,
        imports,
        offices,
        prevention,
        prospects,
        reports,
        targets,
        users,
        voc,
    )
    from kamcrm.api.blueprint import CONVERTERS, Api, ApiMarshmallowPlugin
    from kamcrm.extensions import csrf

    for name, (converter, _) in CONVERTERS.items():
        app.url_map.converters[name] = converter
    app.config.setdefault("OPENAPI_URL_PREFIX", URL_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = Api(
        app,
        spec_kwargs={
            "marshmallow_plugin": ApiMarshmallowPlugin(),
            "info": {"description": _DESCRIPTION},
            "servers": [{"url": "/"}],
            "security": [{"bearerAuth": []}],
        },
    )
    for converter, describe in CONVERTERS.values():
        api.register_converter(converter, describe)
    api.spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "An API token of a kamcrm user."},
    )
    api.spec.components.parameter(
        "IfMatch",
        "header",
        {
            "name": "If-Match",
            "required": False,
            "description": "The ETag you read; the change is refused with 412 when it is stale.",
            "schema": {"type": "string"},
        },
    )
    for module in (
        offices,
        users,
        accounts,
        activities,
        complaints,
        prevention,
        targets,
        reports,
        imports,
        voc,
        prospects,
    ):
        # Bearer tokens only, never the session cookie: cross-site forgery has nothing to ride.
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp, url_prefix=URL_PREFIX + module.PATH)
    app.register_blueprint(docs.bp, url_prefix=URL_PREFIX)
    app.extensions["kamcrm_api"] = api
