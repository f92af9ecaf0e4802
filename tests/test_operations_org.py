"""Offices and users: one validation, conflicts for taken keys, an audit entry for every change."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kamcrm.audit.models import AuditEntry
from kamcrm.errors import Conflict, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org import operations


def entries(entity: str) -> list[AuditEntry]:
    return (
        db.session.execute(sa.select(AuditEntry).filter_by(entity=entity).order_by(AuditEntry.id))
        .scalars()
        .all()
    )


@pytest.fixture
def region(make):
    return make.region("R2")


@pytest.fixture
def admin(make, region):
    return make.user(role="admin", office=region, username="admin1")


def test_creating_an_office_writes_it_and_an_audit_entry(region, admin):
    office = operations.create_office(
        {
            "code": "RYG",
            "name": "การไฟฟ้าส่วนภูมิภาคจังหวัดระยอง",
            "office_class": "1",
            "parent_code": "R2",
            "name_en": "PEA Rayong",
        },
        admin,
    )
    assert (office.parent.code, office.name_en) == ("R2", "PEA Rayong")
    [entry] = entries("offices")
    assert (entry.action, entry.entity_key, entry.actor_name, entry.after) == (
        "create",
        "RYG",
        "admin1",
        {
            "code": "RYG",
            "name": "การไฟฟ้าส่วนภูมิภาคจังหวัดระยอง",
            "office_class": "1",
            "parent_code": "R2",
            "name_en": "PEA Rayong",
        },
    )


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"code": "X1", "office_class": "1"}, "name", "is required"),
        (
            {"code": "X1", "name": "X", "office_class": "4"},
            "office_class",
            "'4' is not an office class",
        ),
        ({"code": "X 1", "name": "X", "office_class": "1"}, "code", "may hold only letters"),
        (
            {"code": "X1", "name": "X", "office_class": "branch"},
            "parent_code",
            "a branch office needs its class 1-3 office",
        ),
        (
            {"code": "X1", "name": "X", "office_class": "1", "parent_code": "ZZ"},
            "parent_code",
            "unknown office 'ZZ'",
        ),
        (
            {"code": "X1", "name": "X", "office_class": "region"},
            "office_class",
            "the region already has its office 'R2'",
        ),
        (
            {"code": "X1", "name": "X", "office_class": "1", "colour": "red"},
            "colour",
            "is not a field of an office",
        ),
    ],
)
def test_a_bad_office_is_refused_with_the_field_and_reason(region, data, field, words):
    with pytest.raises(ValidationFailed) as caught:
        operations.create_office(data)
    assert words in " ".join(caught.value.errors[field])
    assert entries("offices") == []


def test_an_office_code_that_is_taken_is_a_conflict(region):
    with pytest.raises(Conflict):
        operations.create_office({"code": "R2", "name": "again", "office_class": "1"})


def test_updating_an_office_audits_only_the_fields_that_changed(make, region, admin):
    office = make.office(code="CBI", parent=region, name="ชลบุรี")
    operations.update_office(
        office, {"name": "การไฟฟ้าส่วนภูมิภาคจังหวัดชลบุรี", "office_class": "1"}, admin
    )
    [entry] = entries("offices")
    assert (entry.action, entry.before, entry.after) == (
        "update",
        {"name": "ชลบุรี"},
        {"name": "การไฟฟ้าส่วนภูมิภาคจังหวัดชลบุรี"},
    )


def test_an_office_with_branches_cannot_become_a_branch(make, region):
    office = make.office(code="CBI", parent=region)
    other = make.office(code="RYG", parent=region)
    make.branch(office, code="LCB")
    with pytest.raises(ValidationFailed) as caught:
        operations.update_office(office, {"office_class": "branch", "parent_code": "RYG"})
    assert caught.value.errors == {
        "office_class": ["'CBI' has offices under it, so it cannot become a branch office"]
    }
    assert other.parent_id == region.id


def test_creating_a_user_sets_no_password_and_audits_without_one(make, region, admin):
    office = make.office(code="CBI", parent=region)
    user = operations.create_user(
        {
            "username": "somchai.s",
            "full_name": "สมชาย ใจดี",
            "role": "office_manager",
            "office_code": "CBI",
            "email": "somchai@pea.co.th",
        },
        admin,
    )
    assert (user.office_id, user.exec_role, user.password_hash, user.active) == (
        office.id,
        "office_manager",
        None,
        True,
    )
    [entry] = entries("users")
    assert entry.after == {
        "username": "somchai.s",
        "full_name": "สมชาย ใจดี",
        "role": "office_manager",
        "office_code": "CBI",
        "exec_role": "office_manager",
        "email": "somchai@pea.co.th",
        "active": True,
        "locale": None,
    }


@pytest.mark.parametrize(
    "changes, field, words",
    [
        (
            {"role": "kamr", "exec_role": "office_manager"},
            "exec_role",
            "the role kamr has no exec_role",
        ),
        (
            {"role": "executive", "exec_role": "office_manager"},
            "exec_role",
            "'office_manager' is not an exec_role of the role executive (region_director, assistant_director)",
        ),
        ({"role": "chief"}, "role", "'chief' is not a role"),
        ({"office_code": "NOPE"}, "office_code", "unknown office 'NOPE'"),
        ({"email": "somchai.at.pea"}, "email", "'somchai.at.pea' is not an e-mail address"),
        ({"username": "สมชาย"}, "username", "may hold only letters"),
    ],
)
def test_a_bad_user_is_refused_with_the_field_and_reason(region, changes, field, words):
    data = {"username": "u1", "full_name": "U One", "role": "kamr", "office_code": "R2", **changes}
    with pytest.raises(ValidationFailed) as caught:
        operations.create_user(data)
    assert words in " ".join(caught.value.errors[field])


def test_a_username_that_is_taken_is_a_conflict(make, region):
    make.user(office=region, username="taken")
    with pytest.raises(Conflict):
        operations.create_user(
            {"username": "taken", "full_name": "X", "role": "kamr", "office_code": "R2"}
        )


def test_updating_a_user_audits_the_change(make, region, admin):
    user = make.user(role="kamr", office=region, username="kamr1")
    operations.update_user(user, {"active": False, "full_name": "นางสาว ทดสอบ"}, admin)
    [entry] = entries("users")
    assert (entry.before["active"], entry.after["active"], entry.after["full_name"]) == (
        True,
        False,
        "นางสาว ทดสอบ",
    )
    assert user.active is False


def test_a_key_taken_between_the_check_and_the_write_is_a_conflict_not_a_crash(
    make, region, monkeypatch
):
    make.user(office=region, username="raced")
    monkeypatch.setattr(operations, "_username_taken", lambda username: False)
    with pytest.raises(Conflict):
        operations.create_user(
            {"username": "raced", "full_name": "X", "role": "kamr", "office_code": "R2"}
        )
    # the session is still usable afterwards
    assert db.session.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar() == 0


@pytest.mark.parametrize(
    "changes, field", [({"active": False}, "active"), ({"role": "kamr"}, "role")]
)
def test_nobody_deactivates_themselves_or_changes_their_own_role(admin, changes, field):
    with pytest.raises(ValidationFailed) as caught:
        operations.update_user(admin, changes, admin)
    assert list(caught.value.errors) == [field]
    assert (admin.active, admin.role) == (True, "admin")


def test_another_admin_may_deactivate_an_admin(make, region, admin):
    other = make.user(role="admin", office=region, username="admin2")
    operations.update_user(other, {"active": False}, admin)
    assert other.active is False
