"""The complaint part of the targets page: category limits, (category, tier) limits and item
targets, edited with CSRF through the complaint operations (audited), all or nothing, and
back to the defaults."""

from __future__ import annotations

import sqlalchemy as sa

from kamcrm.audit.models import AuditEntry
from kamcrm.complaints.targets import complaint_targets
from kamcrm.extensions import db

YEAR = 2021


def _audit():
    return db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.entity, AuditEntry.entity_key)
        .where(AuditEntry.entity.like("complaint_%"))
        .order_by(AuditEntry.id)
    ).all()


def test_the_page_shows_the_years_complaint_settings(client, login_as, make):
    login_as("regional_staff", office=make.region())
    client.get("/language/en")
    page = client.get(f"/region/targets?year={YEAR}").get_data(as_text=True)
    section = page[page.index('id="complaint-targets"') :]
    assert (
        "Complaint limits and targets" in section and "uses the default complaint limits" in section
    )
    assert 'name="cat-METER_BILLING-limit_days"' in section and 'value="15"' in section
    assert 'name="tl-METER_BILLING-STRATEGIC-limit_days"' in section
    assert 'name="item-2.1b-limit"' in section and 'value="24"' in section
    assert 'name="item-2.1a-limit"' not in section
    assert "complaint-targets-reset" not in section  # nothing stored yet


def test_staff_change_limits_and_targets_audited_then_reset(client, login_as, make):
    login_as("regional_staff", office=make.region())
    saved = client.post(
        f"/region/targets/{YEAR}/complaints",
        data={
            "cat-METER_BILLING-limit_days": "12",
            "tl-METER_BILLING-STRATEGIC-limit_days": "7",
            "item-2.1d-target_pct": "75",
            "item-2.1d-limit": "15",
            "newcat-code": "street_light",
            "newcat-limit_days": "10",
        },
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    targets = complaint_targets(YEAR)
    assert (
        dict(targets.categories)["METER_BILLING"] == 12
        and dict(targets.categories)["STREET_LIGHT"] == 10
    )
    assert targets.limit_days("METER_BILLING", "STRATEGIC") == 7
    assert float(targets.item("2.1d").target_pct) == 75.0 and targets.item("2.1d").limit_days == 15
    assert _audit() == [
        ("create", "complaint_targets", str(YEAR)),
        ("update", "complaint_categories", f"{YEAR}:METER_BILLING"),
        ("create", "complaint_categories", f"{YEAR}:STREET_LIGHT"),
        ("update", "complaint_tier_limits", f"{YEAR}:METER_BILLING:STRATEGIC"),
        ("update", "complaint_item_targets", f"{YEAR}:2.1d"),
    ]
    # Blanking the tier's limit removes it: the category's own applies again.
    client.post(
        f"/region/targets/{YEAR}/complaints", data={"tl-METER_BILLING-STRATEGIC-limit_days": ""}
    )
    assert complaint_targets(YEAR).limit_days("METER_BILLING", "STRATEGIC") == 12
    client.get("/language/en")
    assert "complaint-targets-reset" in client.get(f"/region/targets?year={YEAR}").get_data(
        as_text=True
    )
    reset = client.post(f"/region/targets/{YEAR}/complaints/reset")
    assert reset.status_code == 302
    assert complaint_targets(YEAR).stored is False
    assert dict(complaint_targets(YEAR).categories)["METER_BILLING"] == 15
    assert _audit()[-1] == ("delete", "complaint_targets", str(YEAR))


def test_a_bad_row_saves_nothing_and_says_why(client, login_as, make):
    login_as("regional_staff", office=make.region())
    client.get("/language/en")
    refused = client.post(
        f"/region/targets/{YEAR}/complaints",
        data={
            "cat-METER_BILLING-limit_days": "12",
            "item-2.1c-target_pct": "150",
        },
    )
    assert refused.status_code == 422
    assert "Nothing was saved" in refused.get_data(as_text=True)
    assert complaint_targets(YEAR).stored is False and _audit() == []
    half = client.post(f"/region/targets/{YEAR}/complaints", data={"newcat-code": "X"})
    assert half.status_code == 422 and "Give both the new category" in half.get_data(as_text=True)
    bad_code = client.post(
        f"/region/targets/{YEAR}/complaints",
        data={"newcat-code": "no spaces", "newcat-limit_days": "3"},
    )
    assert bad_code.status_code == 422 and complaint_targets(YEAR).stored is False


def test_only_staff_edit(client, login_as, make):
    office = make.office()
    login_as("office_manager", office=office)
    assert (
        client.post(
            f"/region/targets/{YEAR}/complaints", data={"cat-OTHER-limit_days": "1"}
        ).status_code
        == 403
    )
    assert client.post(f"/region/targets/{YEAR}/complaints/reset").status_code == 403
    assert complaint_targets(YEAR).stored is False
