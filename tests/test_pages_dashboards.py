"""Office and region dashboards: coverage matrix, the accounts behind a figure, KAMRs,
executive visits, late entries, the region heatmap and CR2 downloads."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from kamcrm.compliance.engine import cr2_report
from kamcrm.org.scope import office_scope, region_scope

YEAR_ARGS = "year=2021&as_of=2021-06-30"


@pytest.fixture
def office(make):
    return make.office(code="CBI", name="กฟฟ. ชลบุรี")


@pytest.fixture
def covered(make, office):
    """Two STRATEGIC accounts of the office, one with an FMS in Q1 2021."""
    kamr = make.user(role="kamr", office=office, full_name="สมศรี ใจดี")
    visited = make.account(office=office, account_no="A-VISITED", kamr=kamr)
    missed = make.account(office=office, account_no="A-MISSED", kamr=kamr)
    make.activity(visited, type="FMS", activity_date=date(2021, 2, 1), performed_by=kamr)
    return visited, missed


def test_the_coverage_matrix_shows_the_engine_figures_with_bars(client, login_as, office, covered):
    login_as("office_manager", office=office)
    html = client.get(f"/office/coverage?{YEAR_ARGS}").get_data(as_text=True)
    report = cr2_report(2021, date(2021, 6, 30), office_scope("CBI"))
    fms = report["rules"][0]["cumulative"]["Q1"]
    assert (fms["met"], fms["population"], fms["pct"]) == (1, 2, 50.0)
    assert "<strong>50%</strong>" in html and "1/2" in html
    assert 'class="bar bar-below"' in html
    assert "ไตรมาสที่ 1-2/2564" in html


@pytest.mark.parametrize(
    "show, present, absent",
    [
        ("uncovered", ["A-MISSED"], ["A-VISITED"]),
        ("covered", ["A-VISITED"], ["A-MISSED"]),
        ("all", ["A-VISITED", "A-MISSED"], []),
    ],
)
def test_a_figure_opens_the_accounts_behind_it(
    client, login_as, office, covered, show, present, absent
):
    login_as("office_manager", office=office)
    html = client.get(
        f"/office/coverage/accounts?type=FMS&tier=STRATEGIC&column=Q1&show={show}&{YEAR_ARGS}"
    ).get_data(as_text=True)
    for number in present:
        assert number in html
    for number in absent:
        assert number not in html


def test_an_unknown_cell_is_not_found(client, login_as, office):
    login_as("office_manager", office=office)
    assert (
        client.get(
            f"/office/coverage/accounts?type=XXX&tier=STAR&column=Q1&{YEAR_ARGS}"
        ).status_code
        == 404
    )


def test_the_kamr_breakdown_shows_each_kamr_coverage(client, login_as, office, covered):
    login_as("office_manager", office=office)
    html = client.get(f"/office/kamrs?{YEAR_ARGS}").get_data(as_text=True)
    row = re.search(r"สมศรี ใจดี.*?</tr>", html, re.S).group(0)
    assert "<strong>50%</strong>" in row and "1/2" in row


def test_executive_visits_are_shown_against_the_quota(client, login_as, make, office, covered):
    manager = login_as("office_manager", office=office, exec_role="office_manager")
    make.activity(
        covered[0],
        type="EXV",
        exec_role="office_manager",
        activity_date=date(2021, 1, 20),
        performed_by=manager,
    )
    html = client.get(f"/office/executive-visits?{YEAR_ARGS}").get_data(as_text=True)
    assert "CBI" in html and "1 / 12" in html


def test_late_entries_are_listed_and_tallied(client, login_as, make, office, covered):
    make.activity(
        covered[1],
        type="COM",
        activity_date=date(2021, 3, 2),
        is_late=True,
        recorded_at=datetime(2021, 4, 20, 3, tzinfo=timezone.utc),
    )
    login_as("office_manager", office=office)
    html = client.get(f"/office/late-entries?{YEAR_ARGS}").get_data(as_text=True)
    assert "A-MISSED" in html and "2 มี.ค. 2564" in html


def test_the_region_heatmap_has_a_cell_per_office_and_rule(client, login_as, make, office, covered):
    make.office(code="RYG", name="กฟฟ. ระยอง")
    login_as("regional_staff", office=make.region())
    html = client.get(f"/region/?{YEAR_ARGS}").get_data(as_text=True)
    heatmap = re.search(r'<svg class="heatmap".*?</svg>', html, re.S).group(0)
    assert heatmap.count('<g class="cell') == 2 * 12
    assert "office=CBI" in heatmap and "cell-below" in heatmap


def test_the_cr2_json_download_is_the_engine_report(client, login_as, make, office, covered):
    login_as("regional_staff", office=make.region())
    response = client.get(f"/region/cr2.json?{YEAR_ARGS}&office=CBI")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_json() == cr2_report(2021, date(2021, 6, 30), office_scope("CBI"))


def test_the_cr2_page_heads_columns_in_be_years(client, login_as, make, office, covered):
    login_as("regional_staff", office=make.region())
    html = client.get(f"/region/cr2?{YEAR_ARGS}").get_data(as_text=True)
    assert "ไตรมาสที่ 1/2564" in html and "ไตรมาสที่ 1-4/2564" in html
    assert "cr2.xlsx" in html and "cr2.pdf" in html


@pytest.mark.parametrize("query", ["year=abc", "as_of=2021-13-40", "year=1700"])
def test_a_bad_report_parameter_falls_back_with_a_message(client, login_as, office, query):
    login_as("office_manager", office=office)
    response = client.get(f"/office/coverage?{query}")
    assert response.status_code == 200 and "flash-warning" in response.get_data(as_text=True)


def test_the_kamr_breakdown_agrees_with_the_engine_for_each_kamr_this_period(
    client, login_as, make, office
):
    from decimal import Decimal

    from kamcrm.compliance.engine import coverage, percentage
    from kamcrm.compliance.targets import year_targets
    from kamcrm.periods import period_containing

    people = [make.user(role="kamr", office=office, full_name=f"KAMR {n}") for n in (1, 2)]
    for n, (tier, kamr) in enumerate(
        [("STRATEGIC", 0), ("STAR", 0), ("STATUS", 1), ("STRATEGIC", 1)]
    ):
        account = make.account(office=office, tier=tier, kamr=people[kamr])
        if n % 2 == 0:
            make.activity(
                account, type="COM", activity_date=date(2021, 5, 3), performed_by=people[kamr]
            )
            make.activity(
                account, type="FMS", activity_date=date(2021, 1, 9), performed_by=people[kamr]
            )
    login_as("office_manager", office=office)
    html = client.get(f"/office/kamrs?{YEAR_ARGS}").get_data(as_text=True)
    targets = year_targets(2021)
    for person in people:
        row = re.search(re.escape(person.full_name) + r".*?</tr>", html, re.S).group(0)
        for type_ in ("FMS", "COM"):
            pairs = [
                (r, period_containing(r.period, date(2021, 6, 30)).cut(date(2021, 6, 30)))
                for r in targets.rules
                if r.type == type_
            ]
            found = coverage(office_scope("CBI"), pairs, kamr_id=person.id)
            met = sum(c.met for c in found.values())
            population = sum(c.population for c in found.values())
            assert f"{met}/{population}" in row
            assert (
                percentage(met, population) is None
                or f"{percentage(met, population).normalize():f}" in row
            )


def test_an_unknown_download_format_is_not_found(client, login_as, office):
    login_as("office_manager", office=office)
    assert client.get(f"/region/cr2.docx?{YEAR_ARGS}").status_code == 404


def test_visits_piled_into_one_quarter_do_not_show_as_met(client, login_as, make, office):
    # Quota 6 distinct accounts a quarter: 12 in Q1 and none in Q2 make 12 of 12 (100 %),
    # but the office missed Q2's quota, so no page may paint it green.
    manager = login_as("office_manager", office=office, exec_role="office_manager")
    for n in range(12):
        make.activity(
            make.account(office=office, account_no=f"EXV-{n:02d}"),
            type="EXV",
            exec_role="office_manager",
            activity_date=date(2021, 2, 1),
            performed_by=manager,
        )

    visits = client.get(f"/office/executive-visits?{YEAR_ARGS}").get_data(as_text=True)
    row = re.search(r"<th scope=\"row\">CBI.*?</tr>", visits, re.S).group(0)
    assert "12 / 12" in row and "1 จาก 2 ไตรมาส" in row
    assert 'class="bar bar-near"' in row and "bar-met" not in row

    for page in ("/office/coverage", "/region/cr2"):
        html = client.get(f"{page}?{YEAR_ARGS}&office=CBI").get_data(as_text=True)
        plan_1 = html.split('id="plan2"')[0]  # the CR2 page's plan 2 table comes after
        cell = plan_1.split("ไตรมาสที่ 1-2/2564</th>")[-1]  # past the table's last column head
        assert "1/2 หน่วย-ไตรมาส" in cell and 'class="bar bar-near"' in cell, page


def test_the_region_dashboard_totals_are_the_cr2_figures(client, login_as, make, office, covered):
    # An account the regional office holds itself counts in CR2; the dashboard's total must too.
    region = make.region()
    make.account(office=region, account_no="A-REGION")
    login_as("regional_staff", office=region)
    html = client.get(f"/region/?{YEAR_ARGS}").get_data(as_text=True)
    fms = cr2_report(2021, date(2021, 6, 30), region_scope())["rules"][0]["cumulative"]["Q1-2"]
    assert (fms["met"], fms["population"]) == (1, 3)
    total_row = re.search(r'<tr class="total">.*?</tr>', html, re.S).group(0)
    assert "1/3" in total_row and "33.33%" in total_row


def test_chart_labels_abbreviate_office_names_instead_of_cutting_them(client, login_as, make):
    make.office(code="BPG", name="การไฟฟ้าส่วนภูมิภาคอำเภอบ้านโป่ง")
    login_as("regional_staff", office=make.region())
    html = client.get(f"/region/?{YEAR_ARGS}").get_data(as_text=True)
    assert "BPG กฟอ.บ้านโป่ง" in html.split("</svg>")[0]


def test_an_office_managers_dashboard_is_headed_by_the_office_not_the_region(
    client, login_as, office
):
    login_as("office_manager", office=office)
    heading = re.search(
        r"<h1>(.*?)</h1>", client.get(f"/region/?{YEAR_ARGS}").get_data(as_text=True), re.S
    ).group(1)
    assert "ผลการดำเนินงานของ CBI" in heading and "เขต" not in heading
