"""The year's complaint limits and targets through the API: everyone reads, regional staff
change them through the complaint operations (audited), and reset them to the defaults."""

from __future__ import annotations

import sqlalchemy as sa

from kamcrm.audit.models import AuditEntry
from kamcrm.extensions import db
from tests.test_api_support import api, world  # noqa: F401  (fixtures)


def test_staff_change_and_reset_the_complaint_targets(api, world):
    staff = api(world.staff)
    first = staff.get("/targets/2021/complaints").get_json()
    assert first["stored"] is False and first["categories"][2] == {
        "code": "METER_BILLING",
        "limit_days": 15,
    }
    changed = staff.put(
        "/targets/2021/complaints/categories/METER_BILLING", json={"limit_days": 12}
    )
    assert changed.status_code == 200 and changed.get_json()["categories"][2]["limit_days"] == 12
    tier = staff.put(
        "/targets/2021/complaints/tier-limits/METER_BILLING/STRATEGIC", json={"limit_days": 7}
    )
    assert tier.get_json()["tier_limits"] == [
        {"category": "METER_BILLING", "tier": "STRATEGIC", "limit_days": 7}
    ]
    removed = staff.put(
        "/targets/2021/complaints/tier-limits/METER_BILLING/STRATEGIC", json={"limit_days": None}
    )
    assert removed.get_json()["tier_limits"] == []
    item = staff.patch("/targets/2021/complaints/items/2.1d", json={"target_pct": 75})
    assert next(i for i in item.get_json()["items"] if i["item"] == "2.1d")["target_pct"] == 75.0
    refused = staff.patch("/targets/2021/complaints/items/2.1d", json={"target_pct": 150})
    assert refused.status_code == 422
    assert (
        staff.put(
            "/targets/2021/complaints/tier-limits/NOPE/STAR", json={"limit_days": 1}
        ).status_code
        == 422
    )
    reset = staff.delete("/targets/2021/complaints")
    assert reset.status_code == 200 and reset.get_json()["stored"] is False
    entities = db.session.execute(
        sa.select(AuditEntry.entity, AuditEntry.action)
        .where(AuditEntry.entity.like("complaint_%"))
        .order_by(AuditEntry.id)
    ).all()
    assert entities[0] == ("complaint_targets", "create") and entities[-1] == (
        "complaint_targets",
        "delete",
    )
    assert (
        api(world.kamr_a)
        .put("/targets/2021/complaints/categories/OTHER", json={"limit_days": 1})
        .status_code
        == 403
    )
