"""The VOC register (SPEC section 9): who sees which voice, the marks, bulk references all or
nothing, turning a voice into a complaint once, and the CR1 3.4 counts worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from kamcrm.activities.models import Activity
from kamcrm.complaints.models import Complaint
from kamcrm.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.scope import office_scope, region_scope
from kamcrm.voc import operations
from kamcrm.voc.queries import Filters, VocEntry, cr1_rows, entry_for, mark_of, parse_key, register
from tests.test_api_support import world  # noqa: F401  (fixture)

NOW = "2021-12-20T10:00:00+07:00"


def voice(
    make, account, day, kind="feedback", *, by=None, category="SERVICE", text="a voice", **fields
):
    """An activity with a customer's voice; returns its register key."""
    activity = make.activity(
        account,
        "COM",
        day,
        performed_by=by,
        voc_kind=kind,
        voc_category=category,
        voc_text=text,
        **fields,
    )
    return f"A{activity.id}"


def keys(user, **filters) -> list[str]:
    statement = register(user, Filters(**filters))
    return (
        []
        if statement is None
        else [VocEntry.from_row(row).key for row in db.session.execute(statement)]
    )


def test_a_key_names_a_source_and_an_id():
    assert parse_key("a12") == ("activity", 12)
    assert parse_key("C7") == ("complaint", 7)
    for bad in ("", "X1", "A", "A-1", "A99999999999999"):
        with pytest.raises(NotFound):
            parse_key(bad)


def test_the_register_reads_voices_of_done_activities_and_complaints(make, world):
    heard = voice(make, world.account_a, date(2021, 2, 1), "request", by=world.kamr_a)
    make.activity(world.account_a, "COM", date(2021, 2, 2), performed_by=world.kamr_a)  # no voice
    voice(
        make, world.account_a, date(2021, 2, 3), status="planned", by=world.kamr_a
    )  # not heard yet
    complaint = make.complaint(
        world.office_b, ref="CB-1", received_at="2021-02-04T23:30:00+07:00", summary="outage"
    )

    found = keys(world.staff)

    assert found == [f"C{complaint.id}", heard]
    entry = entry_for(world.staff, f"C{complaint.id}")
    assert (entry.kind, entry.day, entry.text, entry.office_code) == (
        "complaint",
        date(2021, 2, 4),
        "outage",
        "OB",
    )
    assert entry_for(world.staff, heard).kamr_username == "kamr.a"


def test_scope_kamr_own_accounts_manager_office_with_branches_staff_region(make, world):
    on_a = voice(make, world.account_a, date(2021, 2, 1), by=world.kamr_a)
    on_a1 = voice(make, world.account_a1, date(2021, 2, 2), by=world.kamr_a)
    on_b = voice(make, world.account_b, date(2021, 2, 3), by=world.kamr_b)
    other_kamr = make.user("kamr", office=world.office_a, username="kamr.a2")

    assert set(keys(world.staff)) == set(keys(world.executive)) == {on_a, on_a1, on_b}
    assert set(keys(world.manager_a)) == {on_a, on_a1}
    assert set(keys(world.kamr_a)) == {on_a, on_a1}
    assert set(keys(world.kamr_b)) == {on_b}
    assert keys(other_kamr) == []
    for user, key in ((world.kamr_b, on_a), (world.manager_a, on_b), (other_kamr, on_a)):
        with pytest.raises(NotFound):
            entry_for(user, key)


def test_filters(make, world):
    feedback = voice(
        make, world.account_a, date(2021, 2, 1), "feedback", by=world.kamr_a, category="PRICE"
    )
    request = voice(make, world.account_a1, date(2021, 3, 1), "request", by=world.kamr_a)
    on_b = voice(make, world.account_b, date(2021, 4, 1), "complaint", by=world.kamr_b)
    operations.mark_significant(request, True, world.staff)
    operations.record_voc_ref(on_b, "VOC-9", "2021-04-02", world.staff)

    assert keys(world.staff, kind="feedback") == [feedback]
    assert keys(world.staff, category="PRICE") == [feedback]
    assert set(keys(world.staff, office_scope=office_scope("OA"))) == {feedback, request}
    assert keys(world.staff, office_scope=office_scope("OA1")) == [request]
    assert keys(world.staff, kamr_id=world.kamr_b.id) == [on_b]
    assert keys(world.staff, significant=True) == [request]
    assert set(keys(world.staff, significant=False)) == {feedback, on_b}
    assert keys(world.staff, entered=True) == [on_b]
    assert keys(world.staff, day_from=date(2021, 2, 15), day_to=date(2021, 3, 31)) == [request]


def test_only_managers_and_staff_mark_and_record(make, world):
    key = voice(make, world.account_a, date(2021, 2, 1), by=world.kamr_a)
    with pytest.raises(Forbidden):
        operations.mark_significant(key, True, world.kamr_a)
    with pytest.raises(Forbidden):
        operations.record_voc_ref(key, "X", "2021-02-02", world.kamr_a)
    with pytest.raises(NotFound):
        operations.mark_significant(key, True, make.user("office_manager", office=world.office_b))

    mark = operations.mark_significant(key, True, world.manager_a)
    assert (mark.significant, mark.significant_by_id) == (True, world.manager_a.id)
    operations.mark_significant(key, False, world.manager_a)
    assert (mark.significant, mark.significant_at, mark.significant_by_id) == (False, None, None)


@pytest.mark.parametrize(
    "ref, day, field",
    [
        ("VOC-1", None, "voc_ref_on"),
        (None, "2021-02-03", "voc_ref"),
        ("VOC-1", "2021-01-31", "voc_ref_on"),  # before the voice was heard
        ("VOC-1", "2099-01-01", "voc_ref_on"),  # in the future
        ("VOC-1", "31/01/2021", "voc_ref_on"),
        ("two\nlines", "2021-02-03", "voc_ref"),
    ],
)
def test_a_bad_reference_is_refused(make, world, ref, day, field):
    key = voice(make, world.account_a, date(2021, 2, 1), by=world.kamr_a)
    with pytest.raises(ValidationFailed) as refused:
        operations.record_voc_ref(key, ref, day, world.staff)
    assert field in refused.value.errors


def test_marks_are_audited(make, world):
    from kamcrm.audit.models import AuditEntry

    key = voice(make, world.account_a, date(2021, 2, 1), by=world.kamr_a)
    operations.mark_significant(key, True, world.manager_a)
    operations.record_voc_ref(key, "VOC-7", "2021-02-05", world.manager_a)
    entries = (
        db.session.execute(
            sa.select(AuditEntry)
            .where(AuditEntry.entity == "voc_entries", AuditEntry.entity_key == key)
            .order_by(AuditEntry.id)
        )
        .scalars()
        .all()
    )
    assert [entry.after for entry in entries] == [
        {"significant": True},
        {"voc_ref": "VOC-7", "voc_ref_on": "2021-02-05"},
    ]


def test_a_list_of_references_is_recorded_whole(make, world):
    first = voice(make, world.account_a, date(2021, 2, 1), by=world.kamr_a)
    second = voice(make, world.account_a1, date(2021, 2, 2), by=world.kamr_a)
    count = operations.record_voc_refs(
        [
            (2, {"key": first, "voc_ref": "V-1", "voc_ref_on": "2021-02-03"}),
            (3, {"key": second.lower(), "voc_ref": "V-2", "voc_ref_on": "2021-02-04"}),
        ],
        world.manager_a,
    )
    assert count == 2
    assert mark_of("activity", int(second[1:])).voc_ref == "V-2"


def test_one_bad_line_stores_nothing_and_every_bad_line_is_named(make, world):
    good = voice(make, world.account_a, date(2021, 2, 1), by=world.kamr_a)
    other = voice(make, world.account_a, date(2021, 2, 2), by=world.kamr_a)
    theirs = voice(make, world.account_b, date(2021, 2, 3), by=world.kamr_b)
    lines = [
        (2, {"key": good, "voc_ref": "V-1", "voc_ref_on": "2021-02-03"}),
        (3, {"key": other, "voc_ref": "V-2", "voc_ref_on": "2021-13-01"}),
        (
            4,
            {"key": theirs, "voc_ref": "V-3", "voc_ref_on": "2021-02-04"},
        ),  # out of the manager's scope
        (5, {"key": good, "voc_ref": "V-4", "voc_ref_on": "2021-02-04"}),
        (6, {"key": "Q1", "voc_ref": "V-5", "voc_ref_on": "2021-02-04"}),
    ]
    with pytest.raises(ValidationFailed) as refused:
        operations.record_voc_refs(lines, world.manager_a)

    assert sorted(refused.value.errors) == ["line 3", "line 4", "line 5", "line 6"]
    assert "line 2" in refused.value.errors["line 5"][0]
    assert mark_of("activity", int(good[1:])) is None


def test_a_complaint_voice_becomes_a_complaint_once_linked_both_ways(make, world):
    key = voice(
        make,
        world.account_a,
        date(2021, 2, 1),
        "complaint",
        by=world.kamr_a,
        category="power_quality",
        text="voltage drops every evening",
    )
    complaint = operations.convert_to_complaint(key, None, world.kamr_a)

    assert (complaint.ref, complaint.category, complaint.summary) == (
        f"VOC-{key}",
        "POWER_QUALITY",
        "voltage drops every evening",
    )
    assert complaint.account_id == world.account_a.id and complaint.office_id == world.office_a.id
    assert complaint.received_on == date(2021, 2, 1)
    assert entry_for(world.kamr_a, key).complaint_ref == complaint.ref
    assert entry_for(world.kamr_a, f"C{complaint.id}").origin_key == key

    with pytest.raises(Conflict):
        operations.convert_to_complaint(key, {"ref": "ANOTHER"}, world.manager_a)
    assert db.session.execute(sa.select(sa.func.count()).select_from(Complaint)).scalar() == 1


def test_only_a_complaint_kind_voice_on_an_activity_converts(make, world):
    request = voice(make, world.account_a, date(2021, 2, 1), "request", by=world.kamr_a)
    complaint = make.complaint(world.office_a, ref="CA-9")
    for key in (request, f"C{complaint.id}"):
        with pytest.raises(Conflict):
            operations.convert_to_complaint(key, None, world.staff)
    # a category that is none of the year's is the complaint operation's refusal, and nothing is linked
    odd = voice(
        make, world.account_a, date(2021, 2, 1), "complaint", by=world.kamr_a, category="weird"
    )
    with pytest.raises(ValidationFailed) as refused:
        operations.convert_to_complaint(odd, None, world.staff)
    assert "category" in refused.value.errors


# --- CR1 3.4 ------------------------------------------------------------------------------


def cells(rows, key, office_code=None, field="value"):
    row = next(r for r in rows if r["key"] == key and r["office_code"] == office_code)
    return [None if cell is None else cell[field] for cell in row["cumulative"].values()]


@pytest.fixture
def cr1_world(make, world):
    """Significant voices: OA on Mar 31 (entered Apr 2), branch OA1 on Apr 1 (not entered),
    an OB complaint on May 10 (entered); not counted: OA unmarked, OA significant of 2020."""
    end_of_q1 = voice(make, world.account_a, date(2021, 3, 31), by=world.kamr_a)
    april_first = voice(make, world.account_a1, date(2021, 4, 1), by=world.kamr_a)
    complaint = make.complaint(world.office_b, ref="CB-5", received_at="2021-05-10T08:00:00+07:00")
    unmarked = voice(make, world.account_a, date(2021, 2, 1), by=world.kamr_a)
    last_year = voice(make, world.account_a, date(2020, 12, 31), by=world.kamr_a)
    for key in (end_of_q1, april_first, f"C{complaint.id}", last_year):
        operations.mark_significant(key, True, world.staff)
    operations.record_voc_ref(end_of_q1, "VOC-1", "2021-04-02", world.staff)
    operations.record_voc_ref(f"C{complaint.id}", "VOC-2", "2021-05-11", world.staff)
    operations.record_voc_ref(unmarked, "VOC-3", "2021-02-02", world.staff)
    return world


def test_cr1_counts_by_hand_for_the_region_and_each_office(cr1_world):
    rows = cr1_rows(db.session, year=2021, as_of=date(2021, 12, 31), scope=region_scope())

    assert cells(rows, "voc_significant") == [1, 3, 3, 3]
    assert cells(rows, "voc_entered") == [1, 2, 2, 2]
    assert cells(rows, "voc_significant", "OA") == [1, 2, 2, 2]  # the branch rolls up
    assert cells(rows, "voc_entered", "OA") == [1, 1, 1, 1]
    assert cells(rows, "voc_significant", "OB") == [0, 1, 1, 1]
    assert cells(rows, "voc_entered", "OB") == [0, 1, 1, 1]
    assert {r["office_code"] for r in rows} == {None, "OA", "OB"}
    row = rows[0]
    assert (row["item"], row["unit"], row["target"], row["label"]) == (
        "3.4",
        "count",
        None,
        "Significant customer voices",
    )
    assert row["cumulative"]["Q1"] == {
        "value": 1,
        "numerator": None,
        "denominator": None,
        "target_met": None,
    }


def test_cr1_columns_are_cut_at_as_of(cr1_world):
    rows = cr1_rows(db.session, year=2021, as_of=date(2021, 3, 31), scope=region_scope())
    assert cells(rows, "voc_significant") == [1, None, None, None]
    # the reference was entered on Apr 2, after as_of
    assert cells(rows, "voc_entered") == [0, None, None, None]

    rows = cr1_rows(db.session, year=2021, as_of=date(2021, 5, 9), scope=region_scope())
    assert cells(rows, "voc_significant") == [1, 2, None, None]


def test_cr1_in_an_office_scope_counts_the_office_and_its_branches_only(cr1_world):
    rows = cr1_rows(db.session, year=2021, as_of=date(2021, 12, 31), scope=office_scope("OA"))
    assert {r["office_code"] for r in rows} == {None}
    assert cells(rows, "voc_significant") == [1, 2, 2, 2]
    rows = cr1_rows(db.session, year=2021, as_of=date(2021, 12, 31), scope=office_scope("OA1"))
    assert cells(rows, "voc_significant") == [0, 1, 1, 1]


def test_an_office_manager_marking_a_kamrs_voice_moves_the_count(make, world):
    key = voice(make, world.account_a, date(2021, 2, 1), by=world.kamr_a)

    def counts():
        rows = cr1_rows(db.session, year=2021, as_of=date(2021, 12, 31), scope=office_scope("OA"))
        return cells(rows, "voc_significant")[0], cells(rows, "voc_entered")[0]

    assert counts() == (0, 0)
    operations.mark_significant(key, True, world.manager_a)
    assert counts() == (1, 0)
    operations.record_voc_ref(key, "VOC-55", "2021-02-10", world.manager_a)
    assert counts() == (1, 1)


def test_a_deleted_activity_takes_its_marks_with_it(make, world):
    from kamcrm.activities.operations import delete_activity

    key = voice(make, world.account_a, date(2021, 2, 1), by=world.kamr_a)
    operations.mark_significant(key, True, world.staff)
    activity_id = int(key[1:])
    delete_activity(db.session.get(Activity, activity_id), world.staff)
    db.session.flush()
    assert mark_of("activity", activity_id) is None


def test_a_survey_comment_is_a_voice_of_the_jobs_office_and_counts_once_significant(make, world):
    from kamcrm.surveys.models import SurveyAnswer

    job, answer = make.survey_answer(world.office_b, score=2, answered_on=date(2021, 2, 5))
    answer.comment = "the crew left the gate open"
    _job, silent = make.survey_answer(
        world.office_b, answered_on=date(2021, 2, 6)
    )  # no comment: no voice
    db.session.flush()
    key = f"S{answer.id}"

    assert keys(world.staff, source="survey") == [key]
    assert keys(world.manager_a, source="survey") == []  # office B's job is out of A's sight
    entry = entry_for(world.staff, key)
    assert (entry.kind, entry.day, entry.text, entry.office_code, entry.source_ref) == (
        "feedback",
        date(2021, 2, 5),
        "the crew left the gate open",
        "OB",
        job.ref,
    )
    assert keys(world.staff, kind="complaint", source="survey") == []
    assert silent.id != answer.id and isinstance(silent, SurveyAnswer)

    operations.mark_significant(key, True, world.staff)
    total = next(
        row
        for row in cr1_rows(db.session, year=2021, as_of=date(2021, 12, 31), scope=region_scope())
        if row["key"] == "voc_significant" and row["office_code"] is None
    )
    assert total["cumulative"]["Q1"]["value"] == 1
