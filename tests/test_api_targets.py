"""A year's targets over the API: read by everyone, changed by regional staff."""

from __future__ import annotations

import pytest

from tests.test_api_support import api, world  # noqa: F401  (fixtures)


def _rule(body: dict, type_: str, tier: str) -> dict:
    return next(rule for rule in body["rules"] if (rule["type"], rule["tier"]) == (type_, tier))


def test_a_year_without_its_own_targets_reads_the_defaults(api, world):
    body = api(world.kamr_a).get("/targets/2021").get_json()

    assert body["stored"] is False
    assert len(body["rules"]) == 12
    assert body["executive_visit_quotas"] == {
        "region_director": 1,
        "assistant_director": 3,
        "office_manager": 6,
    }
    assert _rule(body, "COM", "STREAMLINE")["period"] == "half"


def test_staff_change_a_rule_a_quota_and_a_planned_population(api, world):
    caller = api(world.staff)

    caller.patch("/targets/2021/rules/FMS/STAR", json={"target_pct": 95.5})
    caller.put("/targets/2021/quotas/office_manager", json={"quota_per_quarter": 4})
    body = caller.put("/targets/2021/planned/STREAMLINE", json={"planned": 1500}).get_json()

    assert body["stored"] is True
    assert _rule(body, "FMS", "STAR")["target_pct"] == 95.5
    assert body["executive_visit_quotas"]["office_manager"] == 4
    assert body["planned_populations"]["STREAMLINE"] == 1500


def test_staff_add_and_remove_a_rule_and_reset_the_year(api, world):
    caller = api(world.staff)

    added = caller.post(
        "/targets/2022/rules",
        json={"type": "BOI", "tier": "STAR", "period": "year", "target_pct": 50},
    )
    removed = caller.delete("/targets/2022/rules/FMS/STATUS")
    reset = caller.delete("/targets/2022")

    assert added.status_code == 201 and len(added.get_json()["rules"]) == 13
    assert len(removed.get_json()["rules"]) == 12
    assert reset.get_json()["stored"] is False


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("PATCH", "/targets/2021/rules/FMS/STAR", {"target_pct": 101}, 422),
        ("PATCH", "/targets/2021/rules/XYZ/STAR", {"target_pct": 50}, 404),
        ("PUT", "/targets/2021/quotas/king", {"quota_per_quarter": 1}, 422),
        ("PUT", "/targets/2021/planned/STAR", {"planned": -1}, 422),
        ("PATCH", "/targets/1900/rules/FMS/STAR", {"target_pct": 50}, 422),
        ("GET", "/targets/0", None, 404),
    ],
)
def test_bad_target_changes_are_refused(api, world, method, path, body, status):
    response = api(world.staff)._call(method, path, json=body)

    assert response.status_code == status
