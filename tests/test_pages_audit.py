"""The audit log page reads as a record of business changes: record kinds and fields by
their labels, values the page's way, and for a change only what changed."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from flask_babel import refresh

from kamcrm.audit.models import AuditEntry
from kamcrm.compliance.targets import default_targets
from kamcrm.extensions import db
from kamcrm.org import operations as org
from kamcrm.reports import closing
from kamcrm.web.audit_display import change_lines, shown_entries

#: 2021-Q1 closes on 16 April (Bangkok); 03:00 UTC is 10:00 in Bangkok.
CLOSED_AT = datetime(2021, 4, 16, 3, 0, tzinfo=timezone.utc)
RAW_FORMS = (
    "True",
    "False",
    "None",
    "{'",
    "['",
    "_at:",
    "frequency_rules",
    "year_targets",
    "quarter_closes",
    "users ",
)


@pytest.fixture
def staff(login_as, make):
    return login_as(
        "regional_staff", office=make.region(), username="staff1", full_name="Somsri Audit"
    )


def _log(client, query: str = "", language: str = "en") -> str:
    """The table of the audit page (not the filter form, whose values are table names)."""
    client.get(f"/language/{language}")
    html = client.get(f"/region/audit?{query}").get_data(as_text=True)
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def _text(html: str) -> str:
    """The page's text without tags, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_target_change_shows_the_rule_by_name_and_only_what_changed(client, staff):
    client.post(
        "/region/targets/2021",
        data={
            "RBA-STREAMLINE-period": "year",
            "RBA-STREAMLINE-min_count": "1",
            "RBA-STREAMLINE-target_pct": "55",
        },
    )
    text = _text(_log(client))
    assert (
        "Frequency rule RBA – relationship building · Streamline · 2021 (2021:RBA:STREAMLINE)"
        in text
    )
    assert "Target % : 40% → 55%" in text
    assert "Period :" not in text and "At least :" not in text  # unchanged fields are left out
    # The first change stores the year's targets: summarised, not dumped.
    rules = len(default_targets(2021).rules)
    assert "Year targets 2021" in text and f"Frequency rules : {rules} rules" in text
    assert "Executive-visit quotas : Region director 1" in text
    assert not [raw for raw in RAW_FORMS if raw in text]


def test_a_quarter_close_shows_bangkok_times_and_yes_or_no(client, make, staff):
    make.office(code="CBI")
    closing.close_quarter(2021, 1, staff, CLOSED_AT)
    text = _text(_log(client))
    assert "Quarter close 2021-Q1" in text
    assert "Closed at : 16 Apr 2021 10:00" in text
    assert "Closed before the due date : No" in text
    assert "CR2 kept for : CBI, R2" in text
    assert "Somsri Audit (staff1)" in text
    assert not [raw for raw in RAW_FORMS if raw in text]


def test_a_thai_page_shows_buddhist_era_years(client, make, staff):
    closing.close_quarter(2021, 1, staff, CLOSED_AT)
    text = _text(_log(client, language="th"))
    assert ": 16 เม.ย. 2564 10:00" in text
    assert "1/2564 (2021-Q1)" in text


def test_a_user_change_shows_each_changed_field_before_and_after(client, make, staff):
    someone = make.user(role="kamr", username="somchai", full_name="Somchai Old")
    org.update_user(someone, {"full_name": "Somchai New", "active": False}, actor=staff)
    text = _text(_log(client, "entity=users"))
    assert "User somchai" in text
    assert "Full name : Somchai Old → Somchai New" in text
    assert "Active : Yes → No" in text
    assert "Role :" not in text
    assert not [raw for raw in RAW_FORMS if raw in text]


def test_the_record_type_filter_offers_the_kinds_by_name_and_keeps_old_links(client, staff):
    client.get("/language/en")
    html = client.get("/region/audit?entity=quarter_closes").get_data(as_text=True)
    select = html.split('id="entity"', 1)[1].split("</select>", 1)[0]
    assert '<option value="quarter_closes" selected>Quarter close</option>' in select
    assert '<option value="users">User</option>' in select
    assert "placeholder" not in select


def test_an_unknown_record_type_in_a_link_stays_selected(client, staff):
    html = client.get("/region/audit?entity=nothing_like_this").get_data(as_text=True)
    assert '<option value="nothing_like_this" selected>nothing_like_this</option>' in html


def test_the_names_of_a_page_are_read_in_one_query(app, make):
    people = [make.user(role="regional_staff", username=f"actor{n}") for n in range(5)]
    kamrs = [make.user(role="kamr", username=f"kamr{n}") for n in range(5)]
    entries = [
        AuditEntry(
            occurred_at=CLOSED_AT,
            actor_id=who.id,
            actor_name=who.username,
            action="update",
            entity="accounts",
            entity_key=f"A-{n}",
            before={"kamr_username": None},
            after={"kamr_username": kamr.username},
        )
        for n, (who, kamr) in enumerate(zip(people, kamrs))
    ]
    statements = []
    connection = db.session.connection()
    sa.event.listen(connection, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with app.test_request_context():
        shown = shown_entries(entries)
    assert len(statements) == 1
    assert shown[2].actor == f"{people[2].full_name} (actor2)"
    assert shown[2].lines[0].value == f"{kamrs[2].full_name} (kamr2)"


def test_a_list_of_rules_shows_only_the_rules_that_differ(app, app_ctx):
    rule = {"item": "1.1.2", "type": "RBA", "period": "year", "min_count": 1}
    before = [
        {**rule, "tier": "STAR", "target_pct": 100.0},
        {**rule, "tier": "STREAMLINE", "target_pct": 40.0},
    ]
    after = [
        {**rule, "tier": "STAR", "target_pct": 100.0},
        {**rule, "tier": "STREAMLINE", "target_pct": 55.0},
    ]
    entry = AuditEntry(
        action="update",
        entity="year_targets",
        entity_key="2021",
        before={"rules": before},
        after={"rules": after},
    )
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        refresh()
        lines = change_lines(entry)
    assert [(line.label, line.before, line.value) for line in lines] == [
        (
            "Frequency rules: RBA · Streamline",
            "1.1.2 · 1 per year · 40%",
            "1.1.2 · 1 per year · 55%",
        )
    ]
