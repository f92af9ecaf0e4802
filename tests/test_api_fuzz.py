"""Schemathesis against the API's own OpenAPI document: no 500, no answer off the document.

Every operation is called with generated requests, valid and invalid (wrong types, NUL
characters, huge numbers, missing and extra fields, odd content types), authenticated
with a real token of an admin and of a KAMR. Every answer must be a declared status with a
body and headers matching the document. Examples are bounded per operation so the whole
run stays well under three minutes on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import logging

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kamcrm import create_app
from tests.test_api_support import PREFIX, world  # noqa: F401  (fixtures)

#: Generated cases per operation and mode; small, since every operation is also tested by hand.
MAX_EXAMPLES = 12

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "allow-x00": True},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)

#: What every answer is checked for: no server error, and nothing off the document.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def _document() -> dict:
    """The OpenAPI document, as an app with no database behind it serves it."""
    application = create_app(
        {"TESTING": True, "SECRET_KEY": "fuzz", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    with application.test_client() as client:
        return client.get(f"{PREFIX}/openapi.json").get_json()


schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)

#: Keys of records the ``world`` fixture makes, for URLs that should find something.
REAL = {
    "account_no": ["A-0001", "A-0002", "B-0001"],
    "code": ["OA", "OB", "R2"],
    "username": ["kamr.a", "admin"],
    "year": [2021],
    "kind": ["activities", "tiers"],
}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    # Half the time aim at records that exist, so the fuzzing reaches past the 404s.
    known = {name: st.sampled_from(REAL[name]) for name in path_parameters or {} if name in REAL}
    if not known:
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters),
        st.fixed_dictionaries(known).map(lambda chosen: {**path_parameters, **chosen}),
    )


def _bearer(user, api_token_for) -> dict:
    return {"Authorization": f"Bearer {api_token_for(user)}"}


#: The ``world`` is built once per operation and shared by its examples on purpose: what one
#: generated request wrote, the next may meet (the whole test is rolled back afterwards).
fuzz_settings = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def safety_nets():
    """Messages of the API's last-resort handlers (a database error that got past validation).

    Those answer 409/422 rather than 500, so the checks above cannot see them; the fuzzing
    must not reach them at all.
    """
    handler = _Collect()
    logger = logging.getLogger("kamcrm.api.errors")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


@pytest.mark.slow
@schema.parametrize()
@fuzz_settings
def test_generated_requests_as_an_admin_get_documented_answers(
    case, app, world, api_token_for, safety_nets
):
    case.call_and_validate(app=app, headers=_bearer(world.admin, api_token_for), checks=CHECKS)
    assert safety_nets == []


@pytest.mark.slow
@schema.parametrize()
@fuzz_settings
def test_generated_requests_as_a_kamr_get_documented_answers(
    case, app, world, api_token_for, safety_nets
):
    case.call_and_validate(app=app, headers=_bearer(world.kamr_a, api_token_for), checks=CHECKS)
    assert safety_nets == []
