"""Prospect-list pages, API and commands: who may see and do what, in which scope."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from kamcrm.activities.models import Activity
from kamcrm.extensions import db
from kamcrm.prospects import operations, queries
from tests.test_prospect_lists import NOW, YEAR, service_jobs, serviced, world  # noqa: F401  (fixtures)


@pytest.fixture
def generated(world, serviced):
    return operations.generate_snapshot(YEAR, world["staff"], now=NOW)


def test_staff_see_every_office_and_generate_and_plan_from_the_page(
    client, login_as, world, serviced
):
    login_as(world["staff"])
    page = client.get(f"/prospects?year={YEAR}")
    assert page.status_code == 200
    assert client.post(f"/prospects/{YEAR}/generate").status_code == 302
    assert queries.latest_snapshot(YEAR).version == 1
    html = client.get(f"/prospects?year={YEAR}").get_data(as_text=True)
    assert "KW70" in html and "G10U50" in html and "MISS" in html
    assert (
        client.post(f"/prospects/{YEAR}/visits", data={"planned_on": "2025-03-01"}).status_code
        == 302
    )
    planned = db.session.scalars(sa.select(Activity).where(Activity.type == "BIZ")).all()
    assert {a.activity_date for a in planned} == {date(2025, 3, 1)} and len(planned) == 4
    download = client.get(f"/prospects/{YEAR}/prospects.xlsx")
    assert download.status_code == 200 and download.data[:2] == b"PK"


def test_an_office_manager_sees_only_their_office(client, login_as, make, world, generated):
    manager = make.user(role="office_manager", office=world["other"])
    login_as(manager)
    html = client.get(f"/prospects?year={YEAR}").get_data(as_text=True)
    assert "KW70" in html and "G10U50" not in html
    # naming an office outside the scope shows the manager's own, never the other's
    html = client.get(f"/prospects?year={YEAR}&office=CBI").get_data(as_text=True)
    assert "G10U50" not in html
    data = json.loads(client.get(f"/prospects/{YEAR}/prospects.json?office=CBI").data)
    assert {m["account_no"] for m in data["members"]} == {"KW70"}
    assert client.post(f"/prospects/{YEAR}/generate").status_code == 403
    assert client.post(f"/prospects/{YEAR}/visits").status_code == 403


def test_a_kamr_has_no_prospect_pages(client, login_as, world, generated):
    login_as(world["kamr"])
    assert client.get(f"/prospects?year={YEAR}").status_code == 403


def test_the_targets_page_edits_the_years_settings(client, login_as, make, world):
    login_as(world["staff"])
    page = client.get(f"/region/targets?year={YEAR}").get_data(as_text=True)
    assert 'id="prospect-settings"' in page and 'name="prospects-power_factor"' in page
    fields = {
        "prospects-hv1_growth_pct": "12",
        "prospects-hv1_utilisation_pct": "50",
        "prospects-hv2_utilisation_pct": "70",
        "prospects-mt2_transformer_kva": "250",
    }
    answer = client.post(
        f"/region/targets/{YEAR}", data={**fields, "prospects-power_factor": "0.9"}
    )
    assert answer.status_code == 302
    settings = queries.settings_for(YEAR)
    assert (str(settings.hv1_growth_pct), str(settings.power_factor)) == ("12.00", "0.900")
    refused = client.post(f"/region/targets/{YEAR}", data={**fields, "prospects-power_factor": "3"})
    assert refused.status_code == 422 and str(queries.settings_for(YEAR).power_factor) == "0.900"
    login_as(make.user(role="office_manager", office=world["office"]))
    assert (
        client.post(f"/region/targets/{YEAR}", data={"prospects-power_factor": "0.5"}).status_code
        == 403
    )


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_the_api_generates_plans_and_reads_in_scope(client, make, api_token_for, world, serviced):
    staff = _auth(api_token_for(world["staff"]))
    assert (
        client.get(f"/api/v1/prospects/{YEAR}", headers=staff).status_code == 404
    )  # nothing generated yet
    created = client.post(f"/api/v1/prospects/{YEAR}/snapshots", headers=staff)
    assert created.status_code == 201
    assert created.json["version"] == 1 and created.json["counts"]["HV2"] == 3
    planned = client.post(
        f"/api/v1/prospects/{YEAR}/visits", headers=staff, json={"planned_on": "2025-03-01"}
    )
    assert planned.status_code == 200, planned.json
    assert planned.json["planned"] == 4
    again = client.post(f"/api/v1/prospects/{YEAR}/visits", headers=staff, json={})
    assert again.json["planned"] == 0
    manager = _auth(api_token_for(make.user(role="office_manager", office=world["other"])))
    mine = client.get(f"/api/v1/prospects/{YEAR}", headers=manager)
    assert mine.status_code == 200 and {m["account_no"] for m in mine.json["members"]} == {"KW70"}
    assert client.get(f"/api/v1/prospects/{YEAR}?office=CBI", headers=manager).status_code == 404
    assert client.post(f"/api/v1/prospects/{YEAR}/snapshots", headers=manager).status_code == 403
    kamr = _auth(api_token_for(world["kamr"]))
    assert client.get(f"/api/v1/prospects/{YEAR}", headers=kamr).status_code == 403
    changed = client.patch(
        f"/api/v1/prospects/{YEAR}/settings", headers=staff, json={"power_factor": "0.8"}
    )
    assert changed.status_code == 200 and changed.json["power_factor"] == "0.800"
    bad = client.patch(
        f"/api/v1/prospects/{YEAR}/settings", headers=staff, json={"power_factor": "zero"}
    )
    assert bad.status_code == 422


def test_the_commands_generate_plan_and_report(runner, world, serviced):
    result = runner.invoke(args=["prospects", "generate", "--year", str(YEAR)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["version"] == 1
    result = runner.invoke(
        args=["report", "prospects", "--year", str(YEAR), "--format", "json", "--office", "RYG"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["scope"] == "RYG" and [m["account_no"] for m in report["members"]] == ["KW70"]
    result = runner.invoke(
        args=["prospects", "plan-visits", "--year", str(YEAR), "--on", "2025-06-01"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["planned"] == 4
    assert runner.invoke(args=["report", "prospects", "--year", "2030"]).exit_code != 0
    html = runner.invoke(args=["report", "prospects", "--year", str(YEAR), "--format", "html"])
    assert html.exit_code == 0 and "KW70" in html.output


def test_the_account_page_charts_24_months_beside_the_utilisation(client, login_as, world):
    login_as(world["staff"])
    response = client.get("/accounts/KW70")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[-3000:]
    assert 'id="consumption"' in html and '<svg class="consumption"' in html
    # 595 kW ÷ 0.85 = 700 kVA of 1,000: 70.00 %
    assert "700.00 kVA" in html and "70.00%" in html
    assert html.count("<polyline") == 1
    assert 'id="consumption"' not in client.get("/accounts/T250").get_data(as_text=True)


def test_the_kamrs_due_list_shows_the_planned_visits_and_logging_one_records_its_outcome(
    client, login_as, world, generated
):
    operations.plan_visits(generated, world["staff"], planned_on=date(YEAR, 12, 31))
    db.session.commit()
    login_as(world["kamr"])
    html = client.get("/due").get_data(as_text=True)
    # upcoming visits have a panel of their own; once their day has passed they are overdue plans
    assert "G10U50" in html and (
        "business-visits" in html if date.today() <= date(YEAR, 12, 31) else "BIZ" in html
    )
    assert "KW70" not in html  # another office's account
    visit = db.session.scalars(
        sa.select(Activity)
        .join(Activity.account)
        .where(Activity.type == "BIZ", Activity.account.has(account_no="G10U50"))
    ).one()
    answer = client.post(
        "/activities/new",
        data={
            "account": "G10U50",
            "type": "BIZ",
            "activity_date": "2025-12-31",
            "status": "done",
            "channel": "visit",
            "summary": "quoted a new transformer",
            "outcome": "quoted",
            "quoted_value_thb": "2500000.00",
            "plan": str(visit.id),
        },
    )
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[-2000:]
    db.session.expire_all()
    visit = db.session.get(Activity, visit.id)
    assert (visit.status, visit.outcome, str(visit.quoted_value_thb)) == (
        "done",
        "quoted",
        "2500000.00",
    )


def test_every_surface_gives_one_coverage(client, runner, api_token_for, world, generated):
    """The page's table, the API, the report command and the CR1 rows ask one query."""
    from datetime import datetime, timezone

    from kamcrm.activities import operations as activity_ops
    from kamcrm.org.scope import region_scope

    activity_ops.create_activity(
        {
            "account_no": "KW70",
            "type": "BIZ",
            "activity_date": "2025-03-01",
            "performed_by": "kamr1",
            "outcome": "interested",
        },
        None,
        now=datetime(2025, 3, 2, tzinfo=timezone.utc),
    )
    db.session.commit()
    staff = {"Authorization": f"Bearer {api_token_for(world['staff'])}"}
    api = client.get(f"/api/v1/prospects/{YEAR}?as_of=2025-03-31", headers=staff).json
    api_cell = next(
        r for r in api["coverage"] if r["list_code"] == "HV2" and r["office_code"] is None
    )["cumulative"]
    command = json.loads(
        runner.invoke(
            args=["report", "prospects", "--year", str(YEAR), "--as-of", "2025-03-31"]
        ).output
    )
    command_cell = next(
        r for r in command["coverage"] if r["list_code"] == "HV2" and r["office_code"] is None
    )["cumulative"]
    cr1 = {
        row["key"]: row
        for row in queries.cr1_rows(
            db.session, year=YEAR, as_of=date(2025, 3, 31), scope=region_scope()
        )
    }
    assert api_cell["Q1"] == command_cell["Q1"] == {"visited": 1, "listed": 3, "pct": 33.33}
    assert cr1["prospect_visits_hv2"]["cumulative"]["Q1"]["value"] == 33.33


def test_the_activities_api_takes_a_business_visits_outcome_and_quote(client, api_token_for, world):
    kamr = {"Authorization": f"Bearer {api_token_for(world['kamr'])}"}
    created = client.post(
        "/api/v1/activities",
        headers=kamr,
        json={
            "account_no": "G10U50",
            "type": "BIZ",
            "activity_date": "2025-03-01",
            "channel": "visit",
            "outcome": "quoted",
            "quoted_value_thb": "1,250,000.50",
        },
    )
    assert created.status_code == 201, created.json
    assert (created.json["outcome"], created.json["quoted_value_thb"]) == ("quoted", "1250000.50")
    refused = client.post(
        "/api/v1/activities",
        headers=kamr,
        json={
            "account_no": "G10U50",
            "type": "COM",
            "activity_date": "2025-03-01",
            "outcome": "won",
        },
    )
    assert refused.status_code == 422 and "outcome" in refused.json["errors"]
