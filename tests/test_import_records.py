"""What an import writes: new records, updates by key, tiers, lateness and the audit log."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from kamcrm.accounts.models import Account, TierAssignment
from kamcrm.accounts.operations import ALWAYS
from kamcrm.activities.models import Activity
from kamcrm.audit.models import AuditEntry
from kamcrm.extensions import db
from kamcrm.imports.importer import import_file
from kamcrm.org.models import Office, User
from kamcrm.quarters.models import QuarterClose

NOW = datetime(2021, 9, 1, 3, 0, tzinfo=timezone.utc)
ACTIVITY_HEADER = "account_no,type,activity_date,performed_by,status,exec_role,ref,recorded_at\n"


def run(kind: str, text: str, **options):
    options.setdefault("now", NOW)
    result = import_file(kind, io.BytesIO(text.encode("utf-8")), f"{kind}.csv", **options)
    assert result.ok, result.errors
    return result


def audit(entity: str, action: str = "update") -> list[AuditEntry]:
    return (
        db.session.execute(
            sa.select(AuditEntry).filter_by(entity=entity, action=action).order_by(AuditEntry.id)
        )
        .scalars()
        .all()
    )


def activity(ref: str) -> Activity:
    return db.session.execute(sa.select(Activity).filter_by(ref=ref)).scalar_one()


@pytest.fixture
def region(make):
    office = make.office(code="CBI", parent=make.region("R2"))
    make.user(role="kamr", office=office, username="kamr1")
    make.user(role="kamr", office=office, username="kamr2")
    make.account(office=office, account_no="020000000001")
    make.account(office=office, account_no="020000000002")
    return office


# --- activities ------------------------------------------------------------------------------


def test_reimporting_a_known_ref_updates_that_activity_and_never_duplicates_it(region):
    run(
        "activities",
        ACTIVITY_HEADER + "020000000001,COM,2021-02-10,kamr1,,,R-1,2021-02-11T09:00:00+07:00\n",
    )
    first = activity("R-1")
    first_id, first_version = first.id, first.version
    result = run("activities", ACTIVITY_HEADER + "020000000002,RBA,2021-02-12,kamr2,,,R-1,\n")
    assert (result.created, result.updated) == (0, 1)
    again = activity("R-1")
    assert (
        again.id,
        again.account.account_no,
        again.type,
        again.activity_date,
        again.performed_by.username,
    ) == (first_id, "020000000002", "RBA", date(2021, 2, 12), "kamr2")
    assert again.version == first_version + 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 1


def test_a_reimport_can_move_an_activity_out_of_its_quarter(region):
    run("activities", ACTIVITY_HEADER + "020000000001,COM,2021-03-30,kamr1,,,R-1,\n")
    run("activities", ACTIVITY_HEADER + "020000000001,COM,2021-04-02,kamr1,,,R-1,\n")
    in_q1 = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Activity)
        .where(Activity.activity_date.between(date(2021, 1, 1), date(2021, 3, 31)))
    )
    assert in_q1 == 0
    assert activity("R-1").activity_date == date(2021, 4, 2)


def test_an_update_keeps_when_the_activity_was_first_recorded_unless_the_file_says(region):
    run(
        "activities",
        ACTIVITY_HEADER + "020000000001,COM,2021-02-10,kamr1,,,R-1,2021-02-11T09:00:00+07:00\n",
    )
    run(
        "activities",
        ACTIVITY_HEADER + "020000000001,RBA,2021-02-10,kamr1,,,R-1,\n",
        now=NOW + timedelta(days=30),
    )
    assert activity("R-1").recorded_at == datetime(2021, 2, 11, 2, 0, tzinfo=timezone.utc)


def test_reimporting_the_same_rows_changes_nothing_and_logs_no_update(region):
    text = ACTIVITY_HEADER + "020000000001,COM,2021-02-10,kamr1,,,R-1,2021-02-11T09:00:00+07:00\n"
    run("activities", text)
    version = activity("R-1").version
    result = run("activities", text)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    assert activity("R-1").version == version
    assert audit("activities") == []


def test_an_update_by_ref_is_audited_with_the_fields_before_and_after(region):
    run(
        "activities",
        ACTIVITY_HEADER + "020000000001,COM,2021-02-10,kamr1,,,R-1,2021-02-11T09:00:00+07:00\n",
    )
    run(
        "activities",
        ACTIVITY_HEADER + "020000000001,RBA,2021-02-10,kamr2,,,R-1,\n",
        reason="typo in CRM Plus",
    )
    [entry] = audit("activities")
    assert (entry.entity_key, entry.before, entry.after, entry.reason) == (
        str(activity("R-1").id),
        {"type": "COM", "performed_by": "kamr1"},
        {"type": "RBA", "performed_by": "kamr2"},
        "typo in CRM Plus",
    )


def test_an_import_writes_one_entry_naming_the_file_and_its_counts(region, make):
    actor = make.user(role="regional_staff", office=region, username="staff1")
    result = run(
        "activities",
        ACTIVITY_HEADER + "020000000001,COM,2021-02-10,kamr1,,,,\n"
        "020000000002,COM,2021-02-10,kamr1,,,,\n",
        actor=actor,
    )
    [entry] = audit("imports", "create")
    assert (entry.actor_name, entry.entity_key) == ("staff1", f"activities:{result.sha256[:16]}")
    assert entry.after == {
        "kind": "activities",
        "file": "activities.csv",
        "sha256": result.sha256,
        "bytes": entry.after["bytes"],
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }
    assert [row.recorded_by_id for row in db.session.execute(sa.select(Activity)).scalars()] == [
        actor.id
    ] * 2


@pytest.mark.parametrize(
    "recorded_at, late",
    [
        ("2021-03-05T23:59:00+07:00", False),  # the 5th of the next month, Bangkok time: on time
        ("2021-03-05T17:30:00+00:00", True),  # 00:30 on the 6th in Bangkok: late
        ("", True),  # blank: recorded now (the import's clock, September)
    ],
)
def test_lateness_follows_the_bangkok_date_the_activity_was_recorded(region, recorded_at, late):
    run("activities", ACTIVITY_HEADER + f"020000000001,COM,2021-02-20,kamr1,,,R-1,{recorded_at}\n")
    assert activity("R-1").is_late is late


def test_a_blank_recorded_at_means_now_and_a_blank_status_means_done(region):
    run("activities", ACTIVITY_HEADER + "020000000001,COM,2021-08-20,kamr1,,,R-1,\n")
    assert (activity("R-1").recorded_at, activity("R-1").status) == (NOW, "done")


def test_staff_may_import_into_a_closed_quarter_with_a_reason(region, make):
    db.session.add(QuarterClose(year=2021, quarter=1, closed_at=NOW, snapshot={}))
    staff = make.user(role="regional_staff", office=region)
    run(
        "activities",
        ACTIVITY_HEADER + "020000000001,COM,2021-02-10,kamr1,,,R-1,\n",
        actor=staff,
        reason="office sent its February report late",
    )
    [entry] = audit("imports", "create")
    assert entry.reason == "office sent its February report late"


def test_moving_an_activity_out_of_a_closed_quarter_needs_a_reason(region):
    run("activities", ACTIVITY_HEADER + "020000000001,COM,2021-02-10,kamr1,,,R-1,\n")
    db.session.add(QuarterClose(year=2021, quarter=1, closed_at=NOW, snapshot={}))
    db.session.flush()
    result = import_file(
        "activities",
        io.BytesIO((ACTIVITY_HEADER + "020000000001,COM,2021-05-10,kamr1,,,R-1,\n").encode()),
        "a.csv",
        now=NOW,
    )
    assert [(e.line, e.field) for e in result.errors] == [(2, "ref")]
    assert (
        "'R-1' is dated 2021-02-10: Quarter 2021-Q1 is closed; a reason is required."
        in result.errors[0].message
    )


# --- accounts and tiers ----------------------------------------------------------------------


def tiers(account_no: str) -> list[tuple]:
    return db.session.execute(
        sa.select(TierAssignment.tier, TierAssignment.effective_from)
        .join(Account)
        .where(Account.account_no == account_no)
        .order_by(TierAssignment.effective_from)
    ).all()


@pytest.mark.parametrize(
    "tier, effective_from, opened_on, expected",
    [
        ("STAR", "2021-04-01", "2019-01-01", [("STAR", date(2021, 4, 1))]),
        ("STAR", "", "2019-01-01", [("STAR", date(2019, 1, 1))]),
        ("star", "", "", [("STAR", ALWAYS)]),
        ("", "2021-04-01", "", [(None, date(2021, 4, 1))]),
        ("", "", "", []),
    ],
)
def test_an_account_row_gives_one_tier_assignment(
    region, tier, effective_from, opened_on, expected
):
    run(
        "accounts",
        "account_no,name,office_code,tier,tier_effective_from,opened_on\n"
        f"020000000009,Thai Auto Parts,CBI,{tier},{effective_from},{opened_on}\n",
    )
    assert tiers("020000000009") == expected


def test_reimporting_an_account_updates_it_and_leaves_out_columns_alone(region):
    run(
        "accounts",
        "account_no,name,office_code,sector,transformer_kva\n020000000009,Old Name,CBI,automotive,1000\n",
    )
    version = db.session.execute(
        sa.select(Account.version).filter_by(account_no="020000000009")
    ).scalar_one()
    result = run(
        "accounts", "account_no,name,office_code,transformer_kva\n020000000009,New Name,CBI,\n"
    )
    account = db.session.execute(
        sa.select(Account).filter_by(account_no="020000000009")
    ).scalar_one()
    assert (result.updated, account.name, account.sector, account.transformer_kva) == (
        1,
        "New Name",
        "automotive",
        None,
    )
    assert account.version == version + 1
    [entry] = audit("accounts")
    assert (entry.before, entry.after) == (
        {"name": "Old Name", "transformer_kva": "1000.00"},
        {"name": "New Name", "transformer_kva": None},
    )


@pytest.mark.parametrize(
    "kind, text",
    [
        ("tiers", "account_no,tier,effective_from\n020000000001,STAR,2021-07-01\n"),
        (
            "accounts",
            "account_no,name,office_code,tier,tier_effective_from\n020000000001,{name},CBI,STAR,2021-07-01\n",
        ),
    ],
)
def test_a_tier_change_gives_the_account_a_new_version(region, kind, text):
    account = db.session.execute(
        sa.select(Account).filter_by(account_no="020000000001")
    ).scalar_one()
    version = account.version
    run(kind, text.format(name=account.name))
    assert (
        db.session.execute(sa.select(Account.version).filter_by(id=account.id)).scalar_one()
        == version + 1
    )
    assert ("STAR", date(2021, 7, 1)) in tiers("020000000001")


def test_a_tier_row_on_a_date_that_has_one_replaces_it_and_is_audited(region):
    run("tiers", "account_no,tier,effective_from\n020000000001,STAR,2021-07-01\n")
    result = run("tiers", "account_no,tier,effective_from\n020000000001,STATUS,2021-07-01\n")
    assert (result.created, result.updated) == (0, 1)
    assert tiers("020000000001")[-1] == ("STATUS", date(2021, 7, 1))
    [entry] = audit("tier_assignments")
    assert (entry.entity_key, entry.before, entry.after) == (
        "020000000001@2021-07-01",
        {"tier": "STAR"},
        {"tier": "STATUS"},
    )


# --- offices and users -----------------------------------------------------------------------


def test_an_office_may_name_a_parent_that_comes_later_in_the_file(region):
    run("offices", "code,name,office_class,parent_code\nKLG,แกลง,branch,RYG\nRYG,ระยอง,1,R2\n")
    klaeng = db.session.execute(sa.select(Office).filter_by(code="KLG")).scalar_one()
    assert (klaeng.office_class, klaeng.parent.code, klaeng.parent.parent.code) == (
        "branch",
        "RYG",
        "R2",
    )


def test_a_second_region_is_refused(region):
    result = import_file(
        "offices", io.BytesIO(b"code,name,office_class\nR3,Region 3,region\n"), "o.csv"
    )
    assert [(e.field, e.message) for e in result.errors] == [
        ("office_class", "the region already has its office 'R2'")
    ]


def test_reimporting_users_updates_them_and_an_office_manager_counts_as_office_manager(region):
    run("users", "username,full_name,role,office_code\nsomchai,Somchai S.,kamr,CBI\n")
    result = run(
        "users", "username,full_name,role,office_code\nsomchai,Somchai S.,office_manager,CBI\n"
    )
    user = db.session.execute(sa.select(User).filter_by(username="somchai")).scalar_one()
    assert (result.updated, user.role, user.exec_role, user.password_hash) == (
        1,
        "office_manager",
        "office_manager",
        None,
    )
