"""Rules that used to be written in several places and disagreed, now asked once.

Each test puts one question to every place that answers it (the page's list, the weekly
digest, the monthly summary) and expects one answer.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from kamcrm.jobs.digests import weekly_digests
from kamcrm.org.scope import office_scope
from kamcrm.periods import BANGKOK
from kamcrm.reports.monthly import monthly_report
from kamcrm.web import queries

MONDAY = date(2021, 3, 1)  # week 2021-W09


@pytest.fixture
def office(make):
    office = make.office(code="CBI")
    return {
        "office": office,
        "kamr": make.user(office=office, email="kamr@example.test"),
        "manager": make.user(role="office_manager", office=office, email="manager@example.test"),
    }


def _digest(user):
    return next(d for d in weekly_digests("2021-W09") if d.user.id == user.id)


@pytest.mark.parametrize(
    "planned_on, overdue",
    [
        (date(2021, 2, 28), True),  # yesterday
        (date(2020, 10, 1), True),  # five months ago: still undone (the digest used to drop it)
        (MONDAY, False),  # today is not overdue yet
    ],
)
def test_the_page_and_the_digest_agree_on_which_plans_are_overdue(
    office, make, planned_on, overdue
):
    kamr = office["kamr"]
    plan = make.activity(
        make.account(office=office["office"]),
        type="COM",
        performed_by=kamr,
        status="planned",
        activity_date=planned_on,
    )

    on_page = [activity.id for activity in queries.overdue_plans(kamr, MONDAY)]
    in_digest = [item["id"] for item in _digest(kamr).overdue_plans]

    assert on_page == in_digest == ([plan.id] if overdue else [])


@pytest.mark.parametrize("status, late", [("done", True), ("planned", False)])
def test_the_page_the_digest_and_the_monthly_summary_agree_on_late_entries(
    office, make, status, late
):
    kamr = office["kamr"]
    recorded = datetime(2021, 2, 23, 9, 0, tzinfo=BANGKOK)  # weeks after January's deadline
    entry = make.activity(
        make.account(office=office["office"]),
        type="COM",
        performed_by=kamr,
        status=status,
        activity_date=date(2021, 1, 12),
        recorded_at=recorded,
        is_late=True,
    )
    scope = office_scope("CBI")

    on_page = [
        a.id
        for a in make_session_list(queries.late_entries(scope, date(2021, 1, 1), date(2021, 1, 31)))
    ]
    tally = {
        o.code: n
        for o, n, _ in queries.late_entries_by_office(scope, date(2021, 1, 1), date(2021, 1, 31))
    }
    in_digest = [item["id"] for item in _digest(kamr).late_entries]
    summary = monthly_report("2021-01", scope, datetime(2021, 3, 1, 3, 0, tzinfo=timezone.utc))
    in_summary = [row["id"] for row in summary["late_entries"]]

    expected = [entry.id] if late else []
    assert on_page == in_digest == in_summary == expected
    assert tally.get("CBI", 0) == len(expected)


def make_session_list(statement):
    from kamcrm.extensions import db

    return list(db.session.execute(statement).scalars())


# --- the account list -------------------------------------------------------------------------


@pytest.fixture
def accounts_of_cbi(office, make):
    from datetime import timedelta

    from kamcrm.periods import bangkok_today

    today = bangkok_today()
    cbi = office["office"]
    return {
        "open": make.account(
            office=cbi, account_no="0100_OPEN", name="โรงงาน 50% กลาง", tier="STAR"
        ),
        "closed": make.account(
            office=cbi,
            account_no="0200",
            name="โรงงาน ปิดแล้ว",
            tier="STAR",
            closed_on=today - timedelta(days=3),
        ),
        "later": make.account(
            office=cbi,
            account_no="0300",
            name="โรงงาน ใหม่ปีหน้า",
            tier="STAR",
            opened_on=today + timedelta(days=30),
        ),
    }


def _page_accounts(client, **query) -> set[str]:
    import re

    page = client.get("/accounts", query_string=query)
    assert page.status_code == 200
    return set(re.findall(r"/accounts/(0[0-9]00[_A-Z]*)\"", page.get_data(as_text=True)))


def _api_accounts(client, token, **query) -> set[str]:
    answer = client.get(
        "/api/v1/accounts",
        query_string={"office": "CBI", **query},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.get_json()
    return {item["account_no"] for item in answer.get_json()["items"]}


@pytest.mark.parametrize(
    "query, expected",
    [
        ({}, {"0100_OPEN"}),  # active accounts only, by default
        ({"closed": "1"}, {"0100_OPEN", "0200", "0300"}),  # and every account when asked
        ({"q": "50%"}, {"0100_OPEN"}),  # % is a plain character in a search
        ({"q": "0100_"}, {"0100_OPEN"}),  # so is _ in a number
        ({"q": "ปิด", "closed": "1"}, {"0200"}),
        ({"tier": "STAR"}, {"0100_OPEN"}),
    ],
)
def test_the_accounts_page_and_the_api_list_the_same_accounts(
    office, accounts_of_cbi, client, login_as, api_token_for, make, query, expected
):
    staff = make.user(role="regional_staff", office=office["office"])
    login_as(staff)
    api_query = {
        ("include_closed" if key == "closed" else key): ("true" if key == "closed" else value)
        for key, value in query.items()
    }

    assert _page_accounts(client, **query) == expected
    assert _api_accounts(client, api_token_for(staff), **api_query) == expected


@pytest.mark.parametrize("days_ago, overdue", [(21, True), (20, False), (0, False)])
def test_the_pages_the_api_and_the_cr2_agree_on_which_complaints_are_overdue(
    office, make, client, login_as, api_token_for, days_ago, overdue
):
    from datetime import time, timedelta

    from kamcrm.compliance.engine import cr2_report
    from kamcrm.extensions import db
    from kamcrm.periods import bangkok_today

    today = bangkok_today()
    received = datetime.combine(today - timedelta(days=days_ago), time(0, 1), BANGKOK)
    make.complaint(
        office["office"], ref="OVR-1", category="OTHER", received_at=received.isoformat()
    )  # 20 days
    db.session.commit()
    token = api_token_for(office["manager"])
    api = client.get(
        "/api/v1/complaints?overdue=true", headers={"Authorization": f"Bearer {token}"}
    )
    in_api = [item["ref"] for item in api.get_json()["items"]] == ["OVR-1"]
    login_as(office["manager"])
    in_page = 'href="/complaints/OVR-1"' in client.get("/complaints?view=overdue").get_data(
        as_text=True
    )
    row = next(
        r
        for r in cr2_report(today.year, today, office_scope("CBI"))["complaints"]
        if r["item"] == "2.1a" and r["category"] == "OTHER"
    )
    cell = [c for c in row["cumulative"].values() if c is not None][-1]
    assert (in_api, in_page, cell["missed"] == 1) == (overdue, overdue, overdue)


def test_the_register_the_api_and_cr1_agree_on_significant_voices_entered(
    make, client, api_token_for
):
    """CR1 3.4's counts are the register's significant (and entered) entries of the window."""
    from kamcrm.extensions import db
    from kamcrm.voc import operations
    from kamcrm.voc.queries import Filters, cr1_rows, register

    office = make.office(code="RYG")
    staff = make.user(role="regional_staff", office=make.region())
    account = make.account(office=office)
    for day, significant, ref in (
        (date(2021, 1, 5), True, True),
        (date(2021, 2, 5), True, False),
        (date(2021, 3, 5), False, True),
    ):
        activity = make.activity(account, activity_date=day, voc_kind="feedback", voc_text="x")
        if significant:
            operations.mark_significant(f"A{activity.id}", True, staff)
        if ref:
            operations.record_voc_ref(f"A{activity.id}", "V", day, staff)
    db.session.commit()

    def register_count(**filters):
        statement = register(
            staff, Filters(day_from=date(2021, 1, 1), day_to=date(2021, 3, 31), **filters)
        )
        return len(db.session.execute(statement).all())

    headers = {"Authorization": f"Bearer {api_token_for(staff)}"}
    api_total = client.get(
        "/api/v1/voc?significant=true&entered=true&from=2021-01-01&to=2021-03-31", headers=headers
    ).get_json()["pagination"]["total"]
    rows = cr1_rows(db.session, year=2021, as_of=date(2021, 12, 31), scope=office_scope("RYG"))
    figures = {row["key"]: row["cumulative"]["Q1"]["value"] for row in rows}

    assert figures["voc_significant"] == register_count(significant=True) == 2
    assert (
        figures["voc_entered"] == register_count(significant=True, entered=True) == api_total == 1
    )


def test_the_call_list_the_digest_and_the_cr1_agree_on_the_15_day_window(office, make):
    from datetime import timedelta

    from kamcrm.surveys import queries as surveys
    from kamcrm.surveys.queries import cr1_rows

    cbi = office["office"]
    day15 = make.service_job(cbi, ref="J-15", completed_on=MONDAY - timedelta(days=15))
    make.service_job(cbi, ref="J-16", completed_on=MONDAY - timedelta(days=16))
    in_time = make.service_job(cbi, completed_on=date(2021, 2, 1))
    make.survey_answer(
        cbi, channel="phone", answered_on=date(2021, 2, 16), job=in_time
    )  # day 15: counts
    late = make.service_job(cbi, completed_on=date(2021, 2, 1))
    make.survey_answer(
        cbi, channel="phone", answered_on=date(2021, 2, 17), job=late
    )  # day 16: does not
    scope = office_scope("CBI")
    listed = [job.ref for job, _code in db_rows(surveys.call_list(scope, MONDAY))]
    digest = _digest(office["manager"])
    assert listed == [item["ref"] for item in digest.survey_closing] == [day15.ref]
    missing = surveys.missing_quota(scope, MONDAY)["meter_install"]
    assert missing == digest.survey_quota["meter_install"] == 3 - 1
    meter = next(
        row
        for row in cr1_rows(None, year=2021, as_of=MONDAY, scope=scope)
        if row["key"] == "survey_quota_meter_install"
    )
    assert meter["cumulative"]["Q1"]["target_met"] is (missing == 0)


def db_rows(statement):
    from kamcrm.extensions import db

    return db.session.execute(statement).all()


@pytest.mark.parametrize(
    "submitted_on, on_time",
    [
        ("2021-04-10", True),  # day 10 after the quarter's end
        ("2021-04-11", False),  # day 11
    ],
)
def test_the_page_the_api_and_the_cr2_agree_on_an_on_time_quarter_report(
    office, make, client, login_as, api_token_for, submitted_on, on_time
):
    from kamcrm.compliance.engine import cr2_report
    from kamcrm.prevention.operations import record_plan, submit_quarter_report

    record_plan("CBI", 2021, {"title": "แผน", "submitted_on": "2021-01-10"})
    submit_quarter_report("CBI", 2021, 1, {"text": "ผล", "submitted_on": submitted_on})
    cell = cr2_report(2021, date(2021, 6, 30), office_scope("CBI"))["complaint_prevention"][
        "cumulative"
    ]["Q1"]
    assert (cell["on_time"], cell["late"]) == ((1, 0) if on_time else (0, 1))
    token = api_token_for(office["manager"])
    body = client.get(
        "/api/v1/prevention-plans/2021/CBI", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert body["reports"][0]["on_time"] is on_time
    login_as(office["manager"])
    client.get("/language/en")
    page = client.get("/prevention/CBI?year=2021").get_data(as_text=True)
    quarters = page[page.index('id="prevention-quarters"') :]
    first = quarters[: quarters.index("</tr>", quarters.index("<tbody>"))]
    assert ("✓ on time" in first) is on_time and ("✗ late" in first) is not on_time
