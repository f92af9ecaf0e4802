"""The smorest ``Api`` and ``Blueprint`` as kamcrm uses them.

* One error shape for every status (``ErrorSchema``), documented per operation instead of a
  catch-all ``default`` response, so the document says which statuses each call can give.
* JSON bodies that cannot be parsed (syntax, nesting, a number of thousands of digits) are
  a 400, never a 500.
* A nullable nested object is documented as ``allOf: [$ref]`` with ``nullable``, so the
  named model stands (see ``NullableRefConverter``).
"""

from __future__ import annotations

import http

import flask_smorest
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from webargs.flaskparser import FlaskParser
from werkzeug.routing import BaseConverter

from kamcrm.api import errors
from kamcrm.api.schemas import ErrorSchema

#: Statuses every API operation may answer (token missing or bad, role or scope refuses).
COMMON_ERRORS = (401, 403)
#: Added when an operation reads a request body.
BODY_ERRORS = (400, 422)


class KeyConverter(BaseConverter):
    """A natural key in a URL (account number, office code, username).

    Like ``string``, but a NUL (which PostgreSQL cannot compare) or an absurd length makes
    the URL match nothing: 404, as for any unknown key.
    """

    regex = r"[^/\x00]{1,200}"


def key_converter_schema(converter) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": 200}


class IdConverter(BaseConverter):
    """A row id in a URL: 1 to 2147483647 (PostgreSQL's ``integer``).

    The bound is spelled out in the pattern rather than checked in ``to_python``: Werkzeug
    answers 405 instead of 404 when a converter refuses a value on a path that other
    methods share, and PostgreSQL refuses to compare an ``integer`` with a larger number.
    """

    regex = (
        r"(?:[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}"
        r"|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}"
        r"|21474836[0-3][0-9]|214748364[0-7])"
    )
    weight = 50

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


def id_converter_schema(converter) -> dict:
    return {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


class YearConverter(IdConverter):
    """A calendar year in a URL: four digits."""

    regex = r"[0-9]{4}"


def year_converter_schema(converter) -> dict:
    return {"type": "integer", "minimum": 0, "maximum": 9999}


#: URL converters of the API and how the document describes each.
CONVERTERS = {
    "key": (KeyConverter, key_converter_schema),
    "id": (IdConverter, id_converter_schema),
    "year": (YearConverter, year_converter_schema),
}


class ApiParser(FlaskParser):
    """webargs' Flask parser, with bodies too deeply nested for ``json`` refused as a 400."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            flask_smorest.abort(400, messages={"json": ["The JSON body is nested too deeply."]})
        except ValueError:
            # Not a syntax error (webargs answers those): Python refuses to read an integer
            # of more than 4,300 digits, which no field could take anyway.
            flask_smorest.abort(
                400, messages={"json": ["A number in the JSON body has far too many digits."]}
            )


class NullableRefConverter(OpenAPIConverter):
    """apispec's converter, but a nullable ``Nested`` field keeps its model on OpenAPI 3.0.

    apispec writes it as ``anyOf: [{"type": "object", "nullable": true}, {"$ref": …}]``,
    whose first branch takes any object at all: a client generated from the document then
    reads the cells of the CR2 report as untyped bags. ``allOf`` with ``nullable`` says
    "this model, or null".
    """

    def field2nullable(self, field, ret) -> dict:
        if (
            field.allow_none
            and "$ref" in ret
            and self.openapi_version.major == 3
            and self.openapi_version.minor == 0
        ):
            return {"allOf": [{"$ref": ret.pop("$ref")}], "nullable": True}
        return super().field2nullable(field, ret)


class ApiMarshmallowPlugin(MarshmallowPlugin):
    """The marshmallow plugin with :class:`NullableRefConverter`."""

    Converter = NullableRefConverter


class Api(flask_smorest.Api):
    """``flask_smorest.Api`` with kamcrm's error schema and no app-wide error handler.

    smorest would answer every ``HTTPException`` of the whole application (pages included)
    with JSON; ours sit on the API blueprints (``kamcrm.api.errors``).

    The OpenAPI document of each resource is written when the document is first read
    (``/api/v1/openapi.json``, ``flask openapi``, anything reading ``api.spec``), not when
    the resource is registered: converting every schema and operation took about a tenth
    of the start-up of every process, and only the documentation needs it.
    """

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def __init__(self, *args, **kwargs):
        self._spec = None
        self._undocumented = []  # (blueprint, name, parameters), in registration order
        super().__init__(*args, **kwargs)

    @property
    def spec(self):
        """The OpenAPI document, with every resource registered so far in it."""
        while self._undocumented:
            blp, name, parameters = self._undocumented.pop(0)
            blp.register_views_in_doc(self, self._app, self._spec, name=name, parameters=parameters)
            self._spec.tag({"name": name, "description": blp.description})
        return self._spec

    @spec.setter
    def spec(self, value):
        self._spec = value

    def register_blueprint(self, blp, *, parameters=None, **options):
        """Register ``blp`` in the application now and in the document when it is read."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def _register_error_handlers(self):
        pass


class Blueprint(flask_smorest.Blueprint):
    """A resource blueprint: API error handlers and documented error responses."""

    ARGUMENTS_PARSER = ApiParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        errors.register_handlers(self)
        self._prepare_doc_cbks.append(self._prepare_error_doc)

    def arguments(self, schema, **options):
        """``flask_smorest.Blueprint.arguments`` with a schema instance made once.

        Given a class, webargs instantiates it on every request, and marshmallow deep-copies
        every declared field each time (about a millisecond per request).
        """
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, **options)

    @staticmethod
    def _prepare_error_doc(doc, doc_info, *, api, spec, **kwargs):
        """Document the error statuses every operation of this kind can answer."""
        responses = doc.setdefault("responses", {})
        statuses = set(COMMON_ERRORS)
        if "requestBody" in doc:
            statuses.update(BODY_ERRORS)
        statuses.update(doc_info.get("kamcrm_errors", ()))
        for status in sorted(statuses):
            if status not in responses and str(status) not in responses:
                responses[status] = http.HTTPStatus(status).name
        return doc


def may_answer(*statuses: int):
    """Document further error statuses of an operation (404, 409, 412 …)."""

    def decorator(func):
        apidoc = getattr(func, "_apidoc", None)
        if apidoc is None:
            apidoc = func._apidoc = {}
        apidoc.setdefault("kamcrm_errors", []).extend(statuses)
        return func

    return decorator


def caller():
    """Return the user the request's bearer token belongs to (set by the access hook)."""
    from flask_login import current_user

    return current_user._get_current_object()
