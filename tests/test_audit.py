"""The audit log: every change is recorded, staff can read it, nobody can change it."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

import kamcrm
from kamcrm.audit.guard import AppendOnlyLog
from kamcrm.audit.models import AuditEntry
from kamcrm.audit.operations import record
from kamcrm.errors import Forbidden
from kamcrm.extensions import db
from kamcrm.history.queries import AuditFilter, audit_entries

T0 = datetime(2021, 3, 31, 16, 30, tzinfo=timezone.utc)  # 31 Mar 23:30 in Bangkok


def _entry(action="update", entity="accounts", key="020000000001", actor=None, at=T0, **fields):
    entry = record(action, entity, key, actor=actor, **fields)
    entry.occurred_at = at  # before the INSERT: the row is written with this time
    db.session.flush()
    return entry


@pytest.mark.parametrize(
    "role, allowed",
    [
        ("kamr", False),
        ("office_manager", False),
        ("executive", False),
        ("regional_staff", True),
        ("admin", True),
    ],
)
def test_only_regional_staff_and_admins_read_the_log(make, role, allowed):
    _entry()
    reader = make.user(role=role)
    if allowed:
        assert audit_entries(reader).total == 1
    else:
        with pytest.raises(Forbidden):
            audit_entries(reader)


@pytest.fixture
def log(make):
    """A few entries by two people and the system, over two Bangkok days."""
    somchai, malee = make.user(username="somchai"), make.user(username="malee")
    return {
        "first": _entry(
            "create", "accounts", "020000000001", somchai, T0, after={"name": "บริษัท ไทยเหล็ก จำกัด"}
        ),
        "second": _entry(
            "update",
            "accounts",
            "020000000001",
            malee,
            T0 + timedelta(hours=1),
            before={"tier": "STAR"},
            after={"tier": "STRATEGIC"},
        ),
        "third": _entry(
            "delete", "activities", "17", None, T0 + timedelta(days=2), reason="duplicate entry"
        ),
        "somchai": somchai,
    }


@pytest.mark.parametrize(
    "criteria, expected",
    [
        (AuditFilter(), ["third", "second", "first"]),
        (AuditFilter(entity="accounts"), ["second", "first"]),
        (AuditFilter(entity="accounts", key="020000000001", action="update"), ["second"]),
        (AuditFilter(actor="somchai"), ["first"]),
        (AuditFilter(actor="system"), ["third"]),
        (AuditFilter(actor="nobody"), []),
        (AuditFilter(date_to=date(2021, 3, 31)), ["first"]),  # 23:30 in Bangkok
        (AuditFilter(date_from=date(2021, 4, 1), date_to=date(2021, 4, 1)), ["second"]),
        (AuditFilter(text="strategic"), ["second"]),
        (AuditFilter(text="ไทยเหล็ก"), ["first"]),
        (AuditFilter(text="DUPLICATE"), ["third"]),
        (AuditFilter(text="100%"), []),
    ],
    ids=[
        "all-newest-first",
        "entity",
        "entity-key-action",
        "actor",
        "system",
        "unknown-actor",
        "bangkok-date-to",
        "bangkok-day",
        "text-in-values",
        "thai-text",
        "text-in-reason",
        "wildcards-literal",
    ],
)
def test_the_log_filters(log, criteria, expected):
    found = audit_entries(None, criteria).items
    assert [entry.id for entry in found] == [log[name].id for name in expected]


def test_the_log_is_paginated(log):
    first = audit_entries(None, page=1, per_page=2)
    second = audit_entries(None, page=2, per_page=2)
    assert (first.total, first.pages) == (3, 2)
    assert [e.id for e in first.items + second.items] == [
        log["third"].id,
        log["second"].id,
        log["first"].id,
    ]


def test_an_entry_cannot_be_changed(log):
    log["first"].reason = "tampered"
    with pytest.raises(AppendOnlyLog):
        db.session.flush()


def test_an_entry_cannot_be_deleted(log):
    db.session.delete(log["first"])
    with pytest.raises(AppendOnlyLog):
        db.session.flush()


@pytest.mark.parametrize(
    "statement",
    [sa.update(AuditEntry).values(reason="x"), sa.delete(AuditEntry)],
    ids=["bulk-update", "bulk-delete"],
)
def test_no_bulk_statement_touches_the_log(log, statement):
    with pytest.raises(AppendOnlyLog):
        db.session.execute(statement)


def test_audit_list_prints_the_entries(runner, log):
    result = runner.invoke(args=["audit", "list", "--entity", "accounts"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and "malee" in lines[0] and "STAR" in lines[0] and "somchai" in lines[1]
    assert "2021-04-01 00:30:00" in lines[0]  # Bangkok time


def test_audit_list_prints_json_lines(runner, log):
    result = runner.invoke(args=["audit", "list", "--actor", "system", "--json"])
    [line] = result.stdout.splitlines()
    assert json.loads(line)["reason"] == "duplicate entry"


# --- every change is recorded ----------------------------------------------------------------


@pytest.fixture
def world(make):
    """Rows for every operation of the sweep to act on."""
    from kamcrm.activities.operations import add_follow_up

    office = make.office(code="CBI")
    admin = make.user(role="admin", username="root", office=make.region())
    kamr = make.user(role="kamr", username="kamr1", office=office)
    account = make.account(office=office, account_no="020000000001")
    activity = make.activity(account, performed_by=kamr, activity_date=date(2026, 1, 5))
    contact = make.contact(account)
    follow_up = add_follow_up(
        activity, {"action": "send quote", "due_on": "2026-02-01"}, actor=admin
    )
    complaint = make.complaint(office, ref="C-1", received_at="2026-01-05T09:00:00+07:00")
    closed = make.complaint(
        office,
        ref="C-2",
        received_at="2026-01-05T09:00:00+07:00",
        closed_at="2026-01-06T09:00:00+07:00",
    )
    job = make.service_job(office, ref="J-1", completed_on=date(2026, 1, 5))
    _, low = make.survey_answer(office, score=1, answered_on=date(2026, 1, 6))
    from kamcrm.surveys.models import SmileBoxDay

    db.session.add(
        SmileBoxDay(
            office_id=office.id,
            day=date(2026, 1, 5),
            served=10,
            score_1=1,
            score_2=0,
            score_3=5,
            followed_up=0,
        )
    )
    return {
        "office": office,
        "admin": admin,
        "kamr": kamr,
        "account": account,
        "activity": activity,
        "contact": contact,
        "follow_up": follow_up,
        "complaint": complaint,
        "closed_complaint": closed,
        "job": job,
        "low_answer": low,
    }


def _sweep():
    """(operation name, call, entity and action the log must show)."""
    from kamcrm.accounts import operations as accounts
    from kamcrm.activities import operations as activities
    from kamcrm.complaints import operations as complaints
    from kamcrm.compliance import operations as compliance
    from kamcrm.org import auth, tokens
    from kamcrm.org import operations as org
    from kamcrm.prevention import operations as prevention
    from kamcrm.reports import closing
    from kamcrm.surveys import operations as surveys
    from kamcrm.voc import operations as voc

    now = datetime(2026, 5, 1, 3, tzinfo=timezone.utc)

    def voice(w) -> str:
        """Give the world's activity a complaint-kind voice; return its VOC key."""
        w["activity"].voc_kind, w["activity"].voc_category, w["activity"].voc_text = (
            "complaint",
            "OTHER",
            "x",
        )
        db.session.flush()
        return f"A{w['activity'].id}"

    later = date(2026, 5, 1)
    return [
        (
            "create_office",
            lambda w: org.create_office(
                {"code": "RYG", "name": "ระยอง", "office_class": "2"}, w["admin"]
            ),
            "offices",
            "create",
        ),
        (
            "update_office",
            lambda w: org.update_office(w["office"], {"name": "ชลบุรี"}, w["admin"]),
            "offices",
            "update",
        ),
        (
            "create_user",
            lambda w: org.create_user(
                {"username": "new", "full_name": "N", "role": "kamr", "office_code": "CBI"},
                w["admin"],
            ),
            "users",
            "create",
        ),
        (
            "update_user",
            lambda w: org.update_user(w["kamr"], {"full_name": "Someone"}, w["admin"]),
            "users",
            "update",
        ),
        (
            "set_password",
            lambda w: auth.set_password(w["kamr"], "a long enough password", w["admin"]),
            "users",
            "update",
        ),
        (
            "issue_token",
            lambda w: tokens.issue_token(w["kamr"], "etl", w["kamr"]),
            "api_tokens",
            "create",
        ),
        (
            "revoke_token",
            lambda w: tokens.revoke_token(tokens.issue_token(w["kamr"], "etl", None)[0], w["kamr"]),
            "api_tokens",
            "revoke",
        ),
        (
            "create_account",
            lambda w: accounts.create_account(
                {"account_no": "020000000002", "name": "X", "office_code": "CBI"}, w["admin"]
            ),
            "accounts",
            "create",
        ),
        (
            "update_account",
            lambda w: accounts.update_account(w["account"], {"notes": "ok"}, w["admin"]),
            "accounts",
            "update",
        ),
        (
            "set_tier",
            lambda w: accounts.set_tier(w["account"], "STAR", "2026-01-01", w["admin"]),
            "tier_assignments",
            "create",
        ),
        (
            "add_contact",
            lambda w: accounts.add_contact(w["account"], {"name": "คุณนก"}, w["admin"]),
            "contact_persons",
            "create",
        ),
        (
            "update_contact",
            lambda w: accounts.update_contact(w["contact"], {"phone": "038000000"}, w["admin"]),
            "contact_persons",
            "update",
        ),
        (
            "delete_contact",
            lambda w: accounts.delete_contact(w["contact"], w["admin"]),
            "contact_persons",
            "delete",
        ),
        (
            "create_activity",
            lambda w: activities.create_activity(
                {
                    "account_no": "020000000001",
                    "type": "RBA",
                    "activity_date": "2026-01-06",
                    "performed_by": "kamr1",
                },
                w["kamr"],
                now=now,
            ),
            "activities",
            "create",
        ),
        (
            "update_activity",
            lambda w: activities.update_activity(
                w["activity"], {"summary": "met"}, w["kamr"], now=now
            ),
            "activities",
            "update",
        ),
        (
            "delete_activity",
            lambda w: activities.delete_activity(w["activity"], w["kamr"]),
            "activities",
            "delete",
        ),
        (
            "add_follow_up",
            lambda w: activities.add_follow_up(
                w["activity"], {"action": "call", "due_on": "2026-02-01"}, w["kamr"]
            ),
            "follow_ups",
            "create",
        ),
        (
            "complete_follow_up",
            lambda w: activities.complete_follow_up(
                w["follow_up"], w["kamr"], done_on=date(2026, 1, 20)
            ),
            "follow_ups",
            "update",
        ),
        (
            "materialise_year",
            lambda w: compliance.materialise_year(2026, w["admin"]),
            "year_targets",
            "create",
        ),
        (
            "update_rule",
            lambda w: compliance.update_rule(2026, "FMS", "STAR", {"target_pct": 90}, w["admin"]),
            "frequency_rules",
            "update",
        ),
        (
            "add_rule",
            lambda w: compliance.add_rule(
                2026,
                "PLN",
                "STAR",
                {"period": "year", "min_count": 1, "target_pct": 50, "item": "1.1.3"},
                w["admin"],
            ),
            "frequency_rules",
            "create",
        ),
        (
            "remove_rule",
            lambda w: compliance.remove_rule(2026, "FMS", "STAR", w["admin"]),
            "frequency_rules",
            "delete",
        ),
        (
            "set_quota",
            lambda w: compliance.set_quota(2026, "office_manager", 5, w["admin"]),
            "executive_visit_quotas",
            "update",
        ),
        (
            "set_planned",
            lambda w: compliance.set_planned(2026, "STAR", 100, w["admin"]),
            "planned_populations",
            "update",
        ),
        (
            "reset_year",
            lambda w: (
                compliance.materialise_year(2026, None),
                compliance.reset_year(2026, w["admin"]),
            ),
            "year_targets",
            "delete",
        ),
        (
            "create_complaint",
            lambda w: complaints.create_complaint(
                {"ref": "C-3", "office_code": "CBI", "category": "OTHER"}, w["kamr"], now=now
            ),
            "complaints",
            "create",
        ),
        (
            "update_complaint",
            lambda w: complaints.update_complaint(
                w["complaint"], {"summary": "x"}, w["kamr"], now=now
            ),
            "complaints",
            "update",
        ),
        (
            "close_complaint",
            lambda w: complaints.close_complaint(w["complaint"], "fixed", w["kamr"], now=now),
            "complaints",
            "close",
        ),
        (
            "reopen_complaint",
            lambda w: complaints.reopen_complaint(w["closed_complaint"], w["kamr"], now=now),
            "complaints",
            "reopen",
        ),
        (
            "reassign_complaint",
            lambda w: complaints.reassign_complaint(w["complaint"], "kamr1", w["admin"], now=now),
            "complaints",
            "update",
        ),
        (
            "exclude_complaint",
            lambda w: complaints.exclude_complaint(
                w["complaint"], "duplicate", w["admin"], now=now
            ),
            "complaints",
            "update",
        ),
        (
            "materialise_complaint_year",
            lambda w: complaints.materialise_complaint_year(2026, w["admin"]),
            "complaint_targets",
            "create",
        ),
        (
            "set_category_limit",
            lambda w: complaints.set_category_limit(2026, "OTHER", 10, w["admin"]),
            "complaint_categories",
            "update",
        ),
        (
            "set_tier_limit",
            lambda w: complaints.set_tier_limit(2026, "OTHER", "STAR", 5, w["admin"]),
            "complaint_tier_limits",
            "update",
        ),
        (
            "set_item_target",
            lambda w: complaints.set_item_target(2026, "2.1d", target_pct=75, actor=w["admin"]),
            "complaint_item_targets",
            "update",
        ),
        (
            "mark_significant",
            lambda w: voc.mark_significant(voice(w), True, w["admin"], now=now),
            "voc_entries",
            "update",
        ),
        (
            "record_voc_ref",
            lambda w: voc.record_voc_ref(voice(w), "V-1", "2026-01-06", w["admin"], now=now),
            "voc_entries",
            "update",
        ),
        (
            "record_voc_refs",
            lambda w: voc.record_voc_refs(
                [(2, {"key": voice(w), "voc_ref": "V-1", "voc_ref_on": "2026-01-06"})],
                w["admin"],
                now=now,
            ),
            "voc_entries",
            "update",
        ),
        (
            "convert_to_complaint",
            lambda w: voc.convert_to_complaint(voice(w), None, w["admin"], now=now),
            "voc_entries",
            "update",
        ),
        (
            "set_survey_targets",
            lambda w: surveys.set_survey_targets(w["admin"], 2026, {"quota_extension": 4}),
            "survey_targets",
            "update",
        ),
        (
            "record_phone_answer",
            lambda w: surveys.record_phone_answer(
                w["admin"], "J-1", {"score": 4, "answered_on": "2026-01-10"}, today=date(2026, 5, 1)
            ),
            "survey_answers",
            "create",
        ),
        (
            "set_smile_box_follow_ups",
            lambda w: surveys.set_smile_box_follow_ups(w["admin"], "CBI", "2026-01-05", 1),
            "smile_box_days",
            "update",
        ),
        (
            "record_follow_up",
            lambda w: surveys.record_follow_up(
                w["admin"], w["low_answer"], date(2026, 1, 8), "called", today=date(2026, 5, 1)
            ),
            "survey_answers",
            "update",
        ),
        (
            "reset_complaint_year",
            lambda w: (
                complaints.materialise_complaint_year(2026, None),
                complaints.reset_complaint_year(2026, w["admin"]),
            ),
            "complaint_targets",
            "delete",
        ),
        (
            "record_plan",
            lambda w: prevention.record_plan(
                "CBI", 2026, {"title": "แผน"}, w["admin"], today=later
            ),
            "prevention_plans",
            "create",
        ),
        (
            "submit_quarter_report",
            lambda w: (
                prevention.record_plan("CBI", 2026, {"title": "แผน"}, None, today=later),
                prevention.submit_quarter_report(
                    "CBI", 2026, 1, {"text": "ผล"}, w["admin"], today=later
                ),
            ),
            "prevention_reports",
            "create",
        ),
        (
            "close_quarter",
            lambda w: closing.close_quarter(2026, 1, w["admin"], now),
            "quarter_closes",
            "close",
        ),
        (
            "reopen_quarter",
            lambda w: (
                closing.close_quarter(2026, 1, None, now),
                closing.reopen_quarter(2026, 1, w["admin"], reason="late"),
            ),
            "quarter_closes",
            "reopen",
        ),
    ]


@pytest.mark.parametrize("name, call, entity, action", _sweep(), ids=[row[0] for row in _sweep()])
def test_every_change_is_recorded(world, name, call, entity, action):
    before = db.session.scalar(sa.select(sa.func.max(AuditEntry.id))) or 0
    call(world)
    db.session.flush()
    written = db.session.execute(
        sa.select(AuditEntry.entity, AuditEntry.action).where(AuditEntry.id > before)
    ).all()
    assert (entity, action) in written


#: Names of operations that change data (a new one must join the sweep above).
_CHANGING = (
    "create_",
    "update_",
    "delete_",
    "add_",
    "remove_",
    "set_",
    "reset_",
    "complete_",
    "materialise_",
    "close_",
    "reopen_",
    "issue_",
    "revoke_",
)
#: Operations whose changes are audited by the operation they delegate to, or that are
#: no separate change: ``close_due_quarter`` calls ``close_quarter``; ``change_password``
#: calls ``set_password``.
_DELEGATING = {"close_due_quarter", "change_password"}


def _changing_operations():
    modules = ["kamcrm.org.auth", "kamcrm.org.tokens", "kamcrm.reports.closing"]
    for info in pkgutil.walk_packages(kamcrm.__path__, "kamcrm."):
        if info.name.endswith(".operations") and info.name != "kamcrm.audit.operations":
            modules.append(info.name)
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if (
                function.__module__ == module_name
                and name.startswith(_CHANGING)
                and name not in _DELEGATING
            ):
                yield f"{module_name}.{name}"


def test_the_sweep_covers_every_changing_operation():
    swept = {row[0] for row in _sweep()}
    missing = sorted(path for path in _changing_operations() if path.rsplit(".", 1)[1] not in swept)
    assert missing == [], "add these operations to the audit sweep in tests/test_audit.py"


@pytest.mark.parametrize("field", ["entity", "key", "actor", "text"])
def test_a_nul_byte_in_a_filter_finds_nothing(log, field):
    assert audit_entries(None, AuditFilter(**{field: "a\x00b"})).total == 0


def test_record_many_writes_what_record_writes(make):
    from kamcrm.audit.operations import Change, record_many

    malee = make.user(username="malee")
    single = _entry(
        "update",
        "tier_assignments",
        "020000000001@2026-01-01",
        malee,
        T0,
        before={"tier": "STAR"},
        after={"tier": "STATUS"},
        reason="re-tiering",
    )
    assert (
        record_many(
            [
                Change(
                    "update",
                    "tier_assignments",
                    "020000000002@2026-01-01",
                    {"tier": "STAR"},
                    {"tier": "STATUS"},
                ),
                Change(
                    "create",
                    "tier_assignments",
                    "020000000003@2026-01-01",
                    None,
                    {"tier": None, "effective_from": date(2026, 1, 1)},
                ),
            ],
            actor=malee,
            reason="re-tiering",
            occurred_at=T0,
        )
        == 2
    )
    assert record_many([], actor=malee) == 0
    rows = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.id > single.id).order_by(AuditEntry.id)
    ).scalars()
    fields = ("occurred_at", "actor_id", "actor_name", "action", "entity", "before", "reason")
    assert [tuple(getattr(row, name) for name in fields) for row in rows] == [
        tuple(getattr(single, name) for name in fields),
        (T0, malee.id, "malee", "create", "tier_assignments", None, "re-tiering"),
    ]
    [third] = audit_entries(None, AuditFilter(key="020000000003@2026-01-01")).items
    assert third.after == {"tier": None, "effective_from": "2026-01-01"}
