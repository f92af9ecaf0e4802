"""The authorisation layer: the role × action matrix, office scope, and default deny."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Blueprint

from kamcrm.accounts import queries as account_queries
from kamcrm.activities import access as activity_access
from kamcrm.activities import queries as activity_queries
from kamcrm.errors import Forbidden, NotFound
from kamcrm.extensions import db
from kamcrm.org import access
from kamcrm.org.models import ROLES
from tests import factories

#: The matrix of the issue, action by action: the roles allowed.
EXPECTED = {
    "accounts.view": set(ROLES),
    "accounts.reassign": {"office_manager", "regional_staff", "admin"},
    "activities.create": {"kamr", "office_manager", "regional_staff", "admin"},
    "exec_visits.log": {"executive", "office_manager"},
    "targets.edit": {"regional_staff", "admin"},
    "roster.retier": {"regional_staff", "admin"},
    "reports.cr2": set(ROLES),
    "reports.monthly": set(ROLES),
    "periods.close": {"regional_staff", "admin"},
    "periods.reopen": {"admin"},
    "users.manage": {"admin"},
    "offices.manage": {"admin"},
    "tokens.manage": {"admin"},
    "audit.view": {"regional_staff", "admin"},
    "tokens.own": set(ROLES),
}


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_exactly_its_actions(make, role, action):
    user = make.user(role=role)
    assert access.can(user, action) is (role in EXPECTED[action])


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_a_deactivated_user_may_do_nothing(make, action):
    user = make.user(role="admin", active=False)
    assert not access.can(user, action)


def test_an_unknown_action_is_a_programming_error(make):
    with pytest.raises(KeyError):
        access.can(make.user(), "accounts.steal")
    with pytest.raises(KeyError):
        access.requires("accounts.steal")


def test_the_system_may_do_anything():
    assert all(access.can(None, action) for action in access.PERMISSIONS)


@pytest.fixture
def region(make):
    """Two class-1 offices, each with a branch and one account per office/branch."""
    east, west = make.office(code="EAST"), make.office(code="WEST")
    east_branch, west_branch = make.branch(east, code="EAST-B"), make.branch(west, code="WEST-B")
    accounts = {
        office.code: make.account(office=office)
        for office in (east, east_branch, west, west_branch)
    }
    return {"east": east, "east_branch": east_branch, "west": west, "accounts": accounts}


def _visible_numbers(user) -> set[str]:
    return {
        row.account_no
        for row in db.session.execute(account_queries.visible_accounts(user)).scalars()
    }


@pytest.mark.parametrize(
    "role, office, sees",
    [
        ("kamr", "east", {"EAST", "EAST-B"}),
        ("office_manager", "east", {"EAST", "EAST-B"}),
        ("kamr", "east_branch", {"EAST-B"}),
        ("executive", "east", {"EAST", "EAST-B", "WEST", "WEST-B"}),
        ("regional_staff", "east", {"EAST", "EAST-B", "WEST", "WEST-B"}),
        ("admin", "east_branch", {"EAST", "EAST-B", "WEST", "WEST-B"}),
    ],
)
def test_each_role_sees_its_office_and_branches_or_the_region(make, region, role, office, sees):
    user = make.user(role=role, office=region[office])
    expected = {region["accounts"][code].account_no for code in sees}
    assert _visible_numbers(user) == expected


def test_an_account_out_of_scope_is_not_found_not_forbidden(make, region):
    kamr = make.user(role="kamr", office=region["east"])
    outside = region["accounts"]["WEST"]
    with pytest.raises(NotFound):
        account_queries.account_for(kamr, outside.account_no)
    with pytest.raises(NotFound):
        access.require(kamr, "accounts.reassign", account=outside)


def test_an_account_in_scope_but_beyond_the_role_is_forbidden(make, region):
    kamr = make.user(role="kamr", office=region["east"])
    inside = region["accounts"]["EAST-B"]
    assert account_queries.account_for(kamr, inside.account_no) is inside
    with pytest.raises(Forbidden):
        account_queries.account_for(kamr, inside.account_no, action="accounts.reassign")


def test_activities_follow_the_scope_of_their_account(make, region):
    kamr = make.user(role="kamr", office=region["west"])
    mine = make.activity(region["accounts"]["WEST-B"])
    other = make.activity(region["accounts"]["EAST"])
    ids = set(
        db.session.execute(
            activity_queries.visible_activities(kamr).with_only_columns(
                sa.literal_column("activities.id")
            )
        ).scalars()
    )
    assert mine.id in ids and other.id not in ids
    assert activity_queries.activity_for(kamr, mine.id) is mine
    with pytest.raises(NotFound):
        activity_queries.activity_for(kamr, other.id)


@pytest.mark.parametrize(
    "role, activity_type, allowed",
    [
        ("kamr", "COM", True),
        ("kamr", "EXV", False),
        ("office_manager", "EXV", True),
        ("office_manager", "FMS", True),
        ("executive", "EXV", True),
        ("executive", "COM", False),
        ("regional_staff", "EXV", True),
        ("admin", "RBA", True),
    ],
)
@pytest.mark.parametrize("verb", ["create", "edit", "delete"])
def test_who_may_record_which_activity(make, region, role, activity_type, allowed, verb):
    user = make.user(role=role, office=region["east"])
    account = region["accounts"]["EAST"]
    if allowed:
        activity_access.require_activity_change(user, verb, activity_type, account)
    else:
        with pytest.raises(Forbidden):
            activity_access.require_activity_change(user, verb, activity_type, account)


def test_recording_on_an_account_out_of_scope_is_not_found(make, region):
    manager = make.user(role="office_manager", office=region["east"])
    with pytest.raises(NotFound):
        activity_access.require_activity_change(
            manager, "create", "EXV", region["accounts"]["WEST"]
        )


@pytest.mark.parametrize(
    "code, found", [("EAST", True), ("EAST-B", True), ("WEST", False), ("NOPE", False)]
)
def test_an_office_manager_may_narrow_only_to_offices_in_scope(make, region, code, found):
    manager = make.user(role="office_manager", office=region["east"])
    if found:
        assert access.scope_for(manager, code).code == code
    else:
        with pytest.raises(NotFound):
            access.scope_for(manager, code)


def _probe_routes(app):
    probe = Blueprint("probe", __name__)

    @probe.get("/probe/open")
    @access.public
    def open_page():
        return "open"

    @probe.get("/probe/anyone")
    @access.signed_in
    def anyone():
        return "anyone"

    @probe.get("/probe/staff")
    @access.requires("targets.edit")
    def staff():
        return "staff"

    @probe.get("/probe/forgotten")
    def forgotten():
        return "should never be served"

    app.register_blueprint(probe)


@pytest.fixture
def probe_app(extra_app):
    return extra_app(setup=_probe_routes)


def _sign_in(client, user):
    factories.sign_in(client, user)


def test_a_route_without_a_rule_is_closed_to_everyone(probe_app):
    admin = factories.Factories().user(role="admin")
    client = probe_app.test_client()
    _sign_in(client, admin)
    response = client.get("/probe/forgotten")
    assert response.status_code == 403
    assert b"should never be served" not in response.data


@pytest.mark.parametrize(
    "path, role, status",
    [
        ("/probe/open", None, 200),
        ("/probe/anyone", None, 302),
        ("/probe/anyone", "kamr", 200),
        ("/probe/staff", "kamr", 403),
        ("/probe/staff", "regional_staff", 200),
    ],
)
def test_a_declared_rule_decides(probe_app, path, role, status):
    client = probe_app.test_client()
    if role:
        _sign_in(client, factories.Factories().user(role=role))
    response = client.get(path)
    assert response.status_code == status
    if status == 302:
        assert response.headers["Location"].startswith("/login?next=")


def test_every_route_of_the_application_declares_a_rule(app):
    undeclared = sorted(
        f"{method} {rule.rule} ({rule.endpoint})"
        for rule, method, declared in access.route_rules(app)
        if declared is None
    )
    assert undeclared == []
