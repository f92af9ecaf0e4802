"""The /voc API: the list in scope with its filters, one entry, marks, a list of references
all or nothing, and turning a voice into a complaint; all in the OpenAPI document."""

from __future__ import annotations

from datetime import date

from kamcrm.extensions import db
from kamcrm.voc.queries import mark_of
from tests.test_api_support import api, world  # noqa: F401  (fixtures)


def _voice(make, account, day, kind="complaint", by=None, category="OTHER"):
    activity = make.activity(
        account,
        "COM",
        day,
        performed_by=by,
        voc_kind=kind,
        voc_category=category,
        voc_text="voltage dips",
    )
    db.session.commit()
    return f"A{activity.id}"


def test_the_list_leaves_other_offices_out(api, world, make):
    on_a = _voice(make, world.account_a, date(2021, 2, 1), by=world.kamr_a)
    on_b = _voice(make, world.account_b, date(2021, 2, 2), by=world.kamr_b)

    mine = api(world.kamr_b).get("/voc").get_json()
    everything = api(world.staff).get("/voc").get_json()

    assert [item["key"] for item in mine["items"]] == [on_b]
    assert [item["key"] for item in everything["items"]] == [on_b, on_a]
    assert everything["pagination"]["total"] == 2
    assert api(world.kamr_b).get("/voc?office=OA").status_code == 404
    assert [
        i["key"] for i in api(world.staff).get("/voc?office=OA&kind=complaint").get_json()["items"]
    ] == [on_a]
    assert api(world.staff).get("/voc?kind=praise").status_code == 422


def test_get_and_patch_an_entry(api, world, make):
    key = _voice(make, world.account_a, date(2021, 2, 1), by=world.kamr_a)

    assert api(world.kamr_a).get(f"/voc/{key}").get_json()["significant"] is False
    assert api(world.kamr_a).patch(f"/voc/{key}", json={"significant": True}).status_code == 403
    answer = api(world.manager_a).patch(
        f"/voc/{key}", json={"significant": True, "voc_ref": "VOC-1", "voc_ref_on": "2021-02-03"}
    )
    assert answer.status_code == 200, answer.get_json()
    assert (answer.get_json()["significant"], answer.get_json()["voc_ref_on"]) == (
        True,
        "2021-02-03",
    )
    bad = api(world.manager_a).patch(
        f"/voc/{key}", json={"voc_ref": "VOC-2", "voc_ref_on": "yesterday"}
    )
    assert bad.status_code == 422 and "voc_ref_on" in bad.get_json()["errors"]
    assert api(world.manager_a).patch(f"/voc/{key}", json={"colour": "red"}).status_code == 422
    assert api(world.staff).get(f"/voc/{key}").get_json()["voc_ref"] == "VOC-1"
    assert api(world.staff).get("/voc/B12").status_code == 404


def test_a_list_naming_another_offices_entry_is_refused_whole(api, world, make):
    mine = _voice(make, world.account_a, date(2021, 2, 1), by=world.kamr_a)
    theirs = _voice(make, world.account_b, date(2021, 2, 1), by=world.kamr_b)
    items = [
        {"key": mine, "voc_ref": "V-1", "voc_ref_on": "2021-02-02"},
        {"key": theirs, "voc_ref": "V-2", "voc_ref_on": "2021-02-02"},
    ]

    refused = api(world.manager_a).post("/voc/refs", json={"items": items})

    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]) == ["line 2"]
    assert mark_of("activity", int(mine[1:])) is None
    done = api(world.staff).post("/voc/refs", json={"items": items})
    assert done.get_json() == {"recorded": 2}
    assert api(world.kamr_a).post("/voc/refs", json={"items": items[:1]}).status_code == 403


def test_convert_to_a_complaint_once(api, world, make):
    key = _voice(make, world.account_a, date(2021, 2, 1), by=world.kamr_a, category="network")

    created = api(world.kamr_a).post(f"/voc/{key}/complaint", json={"ref": "C-77", "urgent": True})
    again = api(world.kamr_a).post(f"/voc/{key}/complaint", json={"ref": "C-78"})

    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["ref"], body["category"], body["account_no"], body["from_voc"]) == (
        "C-77",
        "NETWORK",
        "A-0001",
        key,
    )
    assert created.headers["Location"].endswith("/complaints/C-77")
    assert again.status_code == 409
    assert api(world.kamr_a).get(f"/voc/{key}").get_json()["complaint_ref"] == "C-77"
    assert api(world.kamr_b).post(f"/voc/{key}/complaint", json={}).status_code == 404


def test_the_document_describes_the_voc_routes(api, world):
    document = api(None).get("/openapi.json").get_json()
    for path in (
        "/api/v1/voc",
        "/api/v1/voc/{voc_key}",
        "/api/v1/voc/refs",
        "/api/v1/voc/{voc_key}/complaint",
    ):
        assert path in document["paths"], path
    assert "VocEntry" in document["components"]["schemas"]
