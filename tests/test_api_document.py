"""The OpenAPI document describes real answers strictly: a client generated from it reads the
CR2 cells as their models, not as untyped objects."""

from __future__ import annotations

import copy

import jsonschema_rs
import pytest

from tests.test_api_support import api, world  # noqa: F401  (fixtures)

REF_PREFIX = "#/components/schemas/"


def _as_json_schema(node):
    """Turn an OpenAPI 3.0 schema into JSON Schema: ``nullable`` becomes "or null", refs point at ``$defs``."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: _as_json_schema(value)
        for key, value in node.items()
        if key not in ("nullable", "example")
    }
    if "$ref" in converted:
        converted["$ref"] = "#/$defs/" + converted["$ref"].removeprefix(REF_PREFIX)
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@pytest.fixture
def cr2_validator(api, world):
    document = api(world.staff).get("/openapi.json").get_json()
    answer = document["paths"]["/api/v1/reports/cr2"]["get"]["responses"]["200"]
    schema = _as_json_schema(answer["content"]["application/json"]["schema"])
    schema["$defs"] = {
        name: _as_json_schema(body) for name, body in document["components"]["schemas"].items()
    }
    return jsonschema_rs.Draft202012Validator(schema)


@pytest.fixture
def cr2_answer(api, world):
    response = api(world.staff).get("/reports/cr2?year=2021&as_of=2021-06-30")
    assert response.status_code == 200
    return response.get_json()


def test_a_real_cr2_answer_matches_the_document(cr2_validator, cr2_answer):
    # As of June the columns Q1-3 and Q1-4 are null: the document must allow that.
    assert cr2_answer["rules"][0]["cumulative"]["Q1-4"] is None

    assert list(cr2_validator.iter_errors(cr2_answer)) == []


@pytest.mark.parametrize("section", ["rules", "executive_visits", "counts", "complaints"])
@pytest.mark.parametrize("cell", [{"unexpected": 1}, {}], ids=["unknown-field", "empty"])
def test_a_cr2_cell_that_is_not_its_model_is_refused_by_the_document(
    cr2_validator, cr2_answer, section, cell
):
    broken = copy.deepcopy(cr2_answer)
    broken[section][0]["cumulative"]["Q1"] = cell

    assert not cr2_validator.is_valid(broken)


@pytest.mark.parametrize("cell", [{"unexpected": 1}, {}], ids=["unknown-field", "empty"])
def test_a_plan_2_2_cell_that_is_not_its_model_is_refused_by_the_document(
    cr2_validator, cr2_answer, cell
):
    assert cr2_answer["complaint_prevention"]["item"] == "2.2"
    broken = copy.deepcopy(cr2_answer)
    broken["complaint_prevention"]["cumulative"]["Q1"] = cell

    assert not cr2_validator.is_valid(broken)
