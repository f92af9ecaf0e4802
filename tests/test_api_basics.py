"""The API's contract: the OpenAPI document, the docs page, one error shape, no 500s, paging."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kamcrm.extensions import db
from tests.test_api_support import PREFIX, api, world  # noqa: F401  (fixtures)

STATIC = Path(__file__).resolve().parent.parent / "kamcrm" / "static"


def _error_shape(body: dict) -> bool:
    return (
        set(body) == {"code", "message", "errors"}
        and isinstance(body["message"], str)
        and all(isinstance(messages, list) for messages in body["errors"].values())
    )


# --- the document and the docs page ----------------------------------------------------


def test_openapi_document_is_served_without_a_token(client):
    response = client.get(f"{PREFIX}/openapi.json")

    document = response.get_json()
    assert response.status_code == 200
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token of a kamcrm user.",
    }
    assert document["security"] == [{"bearerAuth": []}]


def test_every_operation_declares_the_errors_it_can_answer(client):
    document = client.get(f"{PREFIX}/openapi.json").get_json()

    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            declared = set(operation["responses"])
            expected = {"401", "403"} | ({"400", "422"} if "requestBody" in operation else set())
            if "{" in path:
                expected.add("404")
            if (
                method in ("patch", "delete")
                and path.startswith(("/api/v1/accounts/{", "/api/v1/activities/{"))
                and path.count("{") == 1
            ):
                expected.add("412")
            if not expected <= declared:
                missing.append(f"{method.upper()} {path}: {sorted(expected - declared)}")
    assert missing == []


def test_error_responses_are_documented_with_the_one_error_schema(client):
    document = client.get(f"{PREFIX}/openapi.json").get_json()

    schemas = {
        name: response["content"]["application/json"]["schema"]["$ref"]
        for name, response in document["components"]["responses"].items()
        if "content" in response
    }
    assert set(schemas.values()) == {"#/components/schemas/Error"}
    assert document["components"]["schemas"]["Error"]["required"] == ["code", "errors", "message"]


def test_docs_page_runs_from_files_inside_the_package(client):
    page = client.get(f"{PREFIX}/docs")

    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert page.status_code == 200
    assert sorted(assets) == sorted(
        [
            "/static/apidocs/swagger-ui.css",
            "/static/apidocs/kamcrm-docs.css",
            "/static/apidocs/swagger-ui-bundle.js",
            "/static/apidocs/kamcrm-docs.js",
            f"{PREFIX}/openapi.json",
        ]
    )
    for asset in assets:
        with client.get(asset) as served:
            assert served.status_code == 200, asset
    assert "<script>" not in html  # the CSP forbids inline script


def test_docs_script_sends_nothing_to_the_network():
    script = (STATIC / "apidocs" / "kamcrm-docs.js").read_text()

    assert "validatorUrl: null" in script
    assert not re.search(r"https?://", script)
    assert (STATIC / "apidocs" / "LICENSE").exists()


# --- authentication ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer kam_not-a-real-token", "Basic YWRtaW46YWRtaW4="]
)
def test_a_call_without_a_valid_token_is_401(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get(f"{PREFIX}/accounts", headers=headers)

    assert response.status_code == 401
    assert _error_shape(response.get_json())
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_page_session_does_not_authenticate_the_api(client, login_as):
    login_as("admin")

    assert client.get(f"{PREFIX}/accounts").status_code == 401


# --- malformed input: 400 or 422 in the one shape, never a 500 --------------------------

_ACTIVITY = '{"account_no": "A-0001", "type": "COM", "activity_date": "2021-02-01"'


@pytest.mark.parametrize(
    "body, content_type, status, field",
    [
        ("{not json", "application/json", 400, "_schema"),
        ("[" * 100_000 + "]" * 100_000, "application/json", 400, "_schema"),
        (_ACTIVITY + ', "summary": "a\\u0000b"}', "application/json", 422, "summary"),
        (_ACTIVITY + ', "summary": "\\ud800"}', "application/json", 422, "summary"),
        (_ACTIVITY + ', "summary": 5}', "application/json", 422, "summary"),
        (_ACTIVITY + ', "colour": "red"}', "application/json", 422, "colour"),
        (_ACTIVITY + "}", "text/plain", 422, "account_no"),
        ('{"items": 1e999}', "application/json", 422, "items"),
    ],
    ids=[
        "syntax",
        "nesting",
        "nul",
        "surrogate",
        "wrong-type",
        "unknown-field",
        "content-type",
        "infinity",
    ],
)
def test_malformed_bodies_are_refused_in_the_error_shape(
    api, world, body, content_type, status, field
):
    response = api(world.kamr_a).post("/activities", data=body, content_type=content_type)

    assert response.status_code == status
    assert _error_shape(response.get_json())
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"transformer_kva": 1e308 * 10}, "transformer_kva"),
        ({"transformer_kva": 10**40}, "transformer_kva"),
        ({"monthly_revenue_thb": True}, "monthly_revenue_thb"),
        ({"opened_on": "2021-02-30"}, "opened_on"),
        ({"boi": "yes"}, "boi"),
        ({"name": None}, "name"),
    ],
    ids=["infinite", "huge", "boolean-number", "bad-date", "string-boolean", "null-required"],
)
def test_bad_values_answer_422_naming_the_field(api, world, changes, field):
    response = api(world.staff).patch("/accounts/A-0001", json=changes)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("page=0", "page"),
        ("page=10000000000000000000000", "page"),
        ("per_page=101", "per_page"),
        ("per_page=ten", "per_page"),
        ("tier=GOLD", "tier"),
        ("q=%00", "q"),
        ("sort=colour", "sort"),
    ],
)
def test_bad_query_parameters_answer_422(api, world, query, field):
    response = api(world.staff).get(f"/accounts?{query}")

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_unknown_query_parameters_are_ignored(api, world):
    response = api(world.staff).get("/accounts?colour=red")

    assert response.status_code == 200
    assert response.get_json()["pagination"]["total"] == 3


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/A%00",
        "/activities/2147483647",
        "/activities/2147483648",
        "/activities/9999999999/follow-ups",
        "/activities/-1",
        "/activities/abc",
        "/targets/21",
        "/no-such-thing",
    ],
)
def test_addresses_of_nothing_answer_404_in_the_error_shape(api, world, path):
    response = api(world.staff).get(path)

    assert response.status_code == 404
    assert _error_shape(response.get_json())


def test_a_method_a_resource_does_not_have_answers_405_in_the_error_shape(api, world):
    response = api(world.staff).put("/accounts/A-0001", json={})

    assert response.status_code == 405
    assert _error_shape(response.get_json())


# --- lists -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page, per_page, numbers, total_pages",
    [
        (1, 2, ["A-0001", "A-0002"], 2),
        (2, 2, ["B-0001"], 2),
        (3, 2, [], 2),
        (1, 100, ["A-0001", "A-0002", "B-0001"], 1),
    ],
)
def test_lists_answer_one_page_in_an_envelope(api, world, page, per_page, numbers, total_pages):
    response = api(world.staff).get(f"/accounts?page={page}&per_page={per_page}")

    body = response.get_json()
    assert [item["account_no"] for item in body["items"]] == numbers
    assert body["pagination"] == {
        "page": page,
        "per_page": per_page,
        "total": 3,
        "total_pages": total_pages,
    }


def test_a_rolled_back_failure_leaves_the_session_usable(api, world):
    caller = api(world.staff)
    caller.post("/accounts", json={"account_no": "A-0001", "name": "Dup", "office_code": "OA"})

    assert caller.get("/accounts/A-0001").status_code == 200
    db.session.expire_all()
