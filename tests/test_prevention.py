"""CR2 plan 2.2 (SPEC section 8): complaint-prevention plans, their quarter reports, and
the ``complaint_prevention`` figure, each case worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from kamcrm.audit.models import AuditEntry
from kamcrm.compliance.engine import cr2_report
from kamcrm.errors import Forbidden, NotFound, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.scope import office_scope, region_scope
from kamcrm.prevention.operations import record_plan, submit_quarter_report
from kamcrm.prevention.queries import (
    LATE,
    MISSING,
    NOT_DUE,
    ON_TIME,
    PENDING,
    report_due_on,
    report_state,
)

YEAR = 2021
LATER = date(2022, 3, 1)  # "today" for setting up: every quarter of 2021 has ended


def plan(office, submitted_on, actor=None):
    return record_plan(
        office.code,
        YEAR,
        {"title": "แผนป้องกันข้อร้องเรียน", "submitted_on": submitted_on},
        actor,
        today=LATER,
    )


def report(office, quarter, submitted_on, actor=None):
    return submit_quarter_report(
        office.code,
        YEAR,
        quarter,
        {"text": "ผลการดำเนินงาน", "submitted_on": submitted_on},
        actor,
        today=LATER,
    )


@pytest.fixture
def offices(make):
    """Four class 1-3 offices and a branch, with plans and reports:

    A (class 1): plan Jan 15; Q1 report Apr 10 (day 10: on time); Q2 report Jul 11 (day 11: late).
    B (class 2): plan Feb 1; Q1 report Apr 11 (late); no Q2 report.
    C (class 3): plan Apr 5; Q1 report Apr 6 (on time); Q2 report Jul 5 (on time).
    D (class 1): no plan at all.  The branch under A keeps none (it is not class 1-3).
    """
    a = make.office("A", office_class="1")
    b = make.office("B", office_class="2")
    c = make.office("C", office_class="3")
    d = make.office("D", office_class="1")
    branch = make.branch(a, "A-BR")
    plan(a, date(2021, 1, 15))
    report(a, 1, date(2021, 4, 10))
    report(a, 2, date(2021, 7, 11))
    plan(b, date(2021, 2, 1))
    report(b, 1, date(2021, 4, 11))
    plan(c, date(2021, 4, 5))
    report(c, 1, date(2021, 4, 6))
    report(c, 2, date(2021, 7, 5))
    return {"A": a, "B": b, "C": c, "D": d, "branch": branch}


def prevention(as_of, scope=None):
    return cr2_report(YEAR, as_of, scope or region_scope())["complaint_prevention"]


def counts(cell):
    return (
        cell["offices"],
        cell["with_plan"],
        cell["reports_due"],
        cell["on_time"],
        cell["late"],
        cell["missing"],
        cell["pending"],
    )


def test_report_states_day_10_on_time_day_11_late():
    assert report_due_on(YEAR, 1) == date(2021, 4, 10)
    assert report_due_on(YEAR, 4) == date(2022, 1, 10)
    assert report_state(YEAR, 1, date(2021, 4, 10), date(2021, 12, 31)) == ON_TIME
    assert report_state(YEAR, 1, date(2021, 4, 11), date(2021, 12, 31)) == LATE
    assert report_state(YEAR, 1, None, date(2021, 4, 10)) == PENDING
    assert report_state(YEAR, 1, None, date(2021, 4, 11)) == MISSING
    assert report_state(YEAR, 1, date(2021, 4, 3), date(2021, 4, 2)) == PENDING  # not in by as_of
    assert report_state(YEAR, 2, None, date(2021, 6, 30)) == NOT_DUE


def test_the_entry_has_its_shape_and_null_columns_after_as_of(offices):
    entry = prevention(date(2021, 7, 10))
    assert list(entry) == ["item", "report_days", "offices", "cumulative"]
    assert (entry["item"], entry["report_days"], entry["offices"]) == ("2.2", 10, 4)
    assert list(entry["cumulative"]) == ["Q1", "Q1-2", "Q1-3", "Q1-4"]
    assert entry["cumulative"]["Q1-4"] is None
    assert list(entry["cumulative"]["Q1"]) == [
        "offices",
        "with_plan",
        "plan_pct",
        "reports_due",
        "on_time",
        "late",
        "missing",
        "pending",
        "pct",
        "target_met",
        "final",
    ]


def test_region_on_the_q2_due_day(offices):
    # as_of Jul 10 is Q2's due day: A's Jul 11 report is not in yet, and the offices
    # without a Q2 report are still pending. D's Q1 report is missing.
    entry = prevention(date(2021, 7, 10))["cumulative"]
    assert counts(entry["Q1"]) == (4, 2, 4, 2, 1, 1, 0)  # plans by Mar 31: A, B
    assert (
        entry["Q1"]["pct"],
        entry["Q1"]["plan_pct"],
        entry["Q1"]["target_met"],
        entry["Q1"]["final"],
    ) == (50.0, 50.0, False, True)
    assert counts(entry["Q1-2"]) == (4, 3, 8, 3, 1, 1, 3)
    assert (entry["Q1-2"]["pct"], entry["Q1-2"]["final"]) == (60.0, False)
    # Q3 has not ended by Jul 10: it expects no report yet.
    assert counts(entry["Q1-3"]) == (4, 3, 8, 3, 1, 1, 3)


def test_region_the_day_after_the_q2_due_day(offices):
    entry = prevention(date(2021, 7, 11))["cumulative"]
    assert counts(entry["Q1-2"]) == (4, 3, 8, 3, 2, 3, 0)
    assert (entry["Q1-2"]["pct"], entry["Q1-2"]["final"]) == (37.5, True)


def test_reports_after_as_of_do_not_count_yet(offices):
    # Apr 5: Q1 has ended, nothing reported by then, Apr 10 not yet passed.
    entry = prevention(date(2021, 4, 5))["cumulative"]
    assert counts(entry["Q1"]) == (4, 2, 4, 0, 0, 0, 4)
    assert (entry["Q1"]["pct"], entry["Q1"]["final"]) == (None, False)
    assert counts(entry["Q1-2"]) == (4, 3, 4, 0, 0, 0, 4)  # C's plan of Apr 5 counts; Q2 not ended
    assert entry["Q1-3"] is None


def test_office_scope_counts_the_office_only_and_a_branch_scope_none(offices):
    entry = prevention(date(2021, 7, 11), office_scope("A"))
    assert entry["offices"] == 1
    assert counts(entry["cumulative"]["Q1"]) == (1, 1, 1, 1, 0, 0, 0)
    assert (entry["cumulative"]["Q1"]["pct"], entry["cumulative"]["Q1"]["target_met"]) == (
        100.0,
        True,
    )
    assert counts(entry["cumulative"]["Q1-2"]) == (1, 1, 2, 1, 1, 0, 0)
    assert entry["cumulative"]["Q1-2"]["pct"] == 50.0
    none = prevention(date(2021, 7, 11), office_scope("A-BR"))
    assert none["offices"] == 0
    assert none["cumulative"]["Q1"] == {
        "offices": 0,
        "with_plan": 0,
        "plan_pct": None,
        "reports_due": 0,
        "on_time": 0,
        "late": 0,
        "missing": 0,
        "pending": 0,
        "pct": None,
        "target_met": None,
        "final": True,
    }
    assert prevention(date(2021, 7, 11), office_scope("D"))["cumulative"]["Q1"]["missing"] == 1


def test_a_plan_of_another_year_does_not_count(make):
    office = make.office("E")
    record_plan("E", 2020, {"title": "2020", "submitted_on": date(2020, 1, 5)}, today=LATER)
    cell = prevention(date(2021, 12, 31))["cumulative"]["Q1-4"]
    # On Dec 31 Q4 has not ended: three reports expected. Q4's is due Jan 10 of the next
    # year: pending until then, missing after.
    assert (
        cell["offices"],
        cell["with_plan"],
        cell["reports_due"],
        cell["missing"],
        cell["pending"],
    ) == (1, 0, 3, 3, 0)
    assert prevention(date(2022, 1, 10))["cumulative"]["Q1-4"]["pending"] == 1
    after = prevention(date(2022, 1, 11))["cumulative"]["Q1-4"]
    assert (after["missing"], after["pending"], after["pct"], after["target_met"]) == (
        4,
        0,
        0.0,
        False,
    )
    assert office.code == "E"


# --- operations -----------------------------------------------------------------------


def test_a_report_for_a_quarter_that_has_not_ended_is_refused(make):
    office = make.office("F")
    record_plan("F", YEAR, {"title": "แผน"}, today=date(2021, 1, 5))
    with pytest.raises(ValidationFailed) as refused:
        submit_quarter_report("F", YEAR, 1, {"text": "x"}, today=date(2021, 3, 31))
    assert "quarter" in refused.value.errors
    made = submit_quarter_report("F", YEAR, 1, {"text": "x"}, today=date(2021, 4, 1))
    assert made.submitted_on == date(2021, 4, 1)
    assert office.id == made.plan.office_id


@pytest.mark.parametrize(
    "submitted_on, field",
    [
        (date(2021, 4, 2), "submitted_on"),  # in the future of "today" (Apr 1)
        (date(2021, 3, 31), "submitted_on"),  # within the quarter reported on
        ("2021-13-01", "submitted_on"),  # not a date
    ],
)
def test_report_dates_are_refused(make, submitted_on, field):
    make.office("G")
    record_plan(
        "G", YEAR, {"title": "แผน", "submitted_on": date(2021, 1, 5)}, today=date(2021, 1, 5)
    )
    with pytest.raises(ValidationFailed) as refused:
        submit_quarter_report(
            "G", YEAR, 1, {"text": "x", "submitted_on": submitted_on}, today=date(2021, 4, 1)
        )
    assert field in refused.value.errors


def test_plan_refusals(make):
    make.office("H")
    with pytest.raises(ValidationFailed) as refused:
        record_plan(
            "H", YEAR, {"title": "", "submitted_on": date(2021, 2, 2)}, today=date(2021, 2, 1)
        )
    assert set(refused.value.errors) == {"title", "submitted_on"}
    with pytest.raises(ValidationFailed) as refused:
        record_plan("H", YEAR, {"title": "x", "colour": "red"}, today=date(2021, 2, 1))
    assert "colour" in refused.value.errors
    with pytest.raises(ValidationFailed):
        submit_quarter_report("H", YEAR, 1, {"text": "no plan yet"}, today=LATER)
    with pytest.raises(ValidationFailed):
        submit_quarter_report("H", YEAR, 5, {"text": "x"}, today=LATER)
    with pytest.raises(NotFound):
        record_plan("NOPE", YEAR, {"title": "x"}, today=LATER)


def test_who_may_record(make):
    own = make.office("J")
    other = make.office("K")
    branch = make.branch(own, "J-BR")
    manager = make.user("office_manager", own)
    plan_ = record_plan("J", YEAR, {"title": "แผน J"}, manager, today=date(2021, 1, 10))
    assert plan_.submitted_by_id == manager.id
    with pytest.raises(NotFound):  # another office: out of sight
        record_plan("K", YEAR, {"title": "x"}, manager, today=LATER)
    with pytest.raises(NotFound):  # a branch keeps no plan
        record_plan(
            "J-BR", YEAR, {"title": "x"}, make.user("regional_staff", make.region()), today=LATER
        )
    with pytest.raises(Forbidden):  # a KAMR of the office reads only
        record_plan("J", YEAR, {"title": "x"}, make.user("kamr", own), today=LATER)
    with pytest.raises(Forbidden):
        submit_quarter_report("J", YEAR, 1, {"text": "x"}, make.user("kamr", own), today=LATER)
    staff = make.user("regional_staff", make.region())
    record_plan("K", YEAR, {"title": "แผน K"}, staff, today=LATER)
    assert branch.parent_id == own.id and other.code == "K"


def test_recording_again_replaces_and_every_change_is_audited(make):
    make.office("L")
    record_plan("L", YEAR, {"title": "v1", "submitted_on": date(2021, 1, 5)}, today=LATER)
    again = record_plan("L", YEAR, {"title": "v2", "submitted_on": date(2021, 1, 6)}, today=LATER)
    assert (again.title, again.submitted_on) == ("v2", date(2021, 1, 6))
    submit_quarter_report(
        "L", YEAR, 1, {"text": "a", "submitted_on": date(2021, 4, 20)}, today=LATER
    )
    replaced = submit_quarter_report(
        "L", YEAR, 1, {"text": "b", "submitted_on": date(2021, 4, 9)}, today=LATER
    )
    assert (replaced.text, replaced.submitted_on, len(replaced.plan.reports)) == (
        "b",
        date(2021, 4, 9),
        1,
    )
    entries = db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.entity, AuditEntry.entity_key, AuditEntry.after)
        .where(AuditEntry.entity.in_(("prevention_plans", "prevention_reports")))
        .order_by(AuditEntry.id)
    ).all()
    assert [(e.action, e.entity, e.entity_key) for e in entries] == [
        ("create", "prevention_plans", "L/2021"),
        ("update", "prevention_plans", "L/2021"),
        ("create", "prevention_reports", "L/2021/Q1"),
        ("update", "prevention_reports", "L/2021/Q1"),
    ]
    assert entries[1].after == {"title": "v2", "submitted_on": "2021-01-06"}


# --- CLI ----------------------------------------------------------------------------------


def test_cli_records_a_plan_and_a_report_and_lists_them(runner, make):
    make.office("M")
    make.office("N", office_class="2")
    plan = runner.invoke(
        args=[
            "prevention",
            "plan",
            "M",
            "--year",
            "2021",
            "--title",
            "แผน",
            "--submitted-on",
            "2021-01-08",
        ]
    )
    assert plan.exit_code == 0, plan.output
    report = runner.invoke(
        args=[
            "prevention",
            "report",
            "M",
            "--year",
            "2021",
            "--quarter",
            "1",
            "--text",
            "ผล",
            "--submitted-on",
            "2021-04-11",
        ]
    )
    assert report.exit_code == 0 and "due by 2021-04-10, late" in report.output
    listed = runner.invoke(args=["prevention", "list", "--year", "2021", "--as-of", "2021-07-11"])
    assert listed.output.splitlines()[1:] == [
        "M\t2021-01-08\tlate\tmissing\tnot_due\tnot_due",
        "N\tnone\tmissing\tmissing\tnot_due\tnot_due",
    ]
    refused = runner.invoke(
        args=["prevention", "report", "N", "--year", "2021", "--quarter", "1", "--text", "x"]
    )
    assert refused.exit_code == 1 and "record the plan first" in refused.output
    unknown = runner.invoke(args=["prevention", "plan", "ZZ", "--year", "2021", "--title", "x"])
    assert unknown.exit_code == 1 and "No class 1-3 office has the code 'ZZ'" in unknown.output
