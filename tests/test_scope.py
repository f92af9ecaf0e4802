"""Scope: what a person attached to an office can see (SPEC section 1)."""

import sqlalchemy as sa

from kamcrm.extensions import db
from kamcrm.org.models import Office
from kamcrm.org.scope import scope_for_user


def _visible_codes(scope) -> set[str]:
    return set(db.session.scalars(sa.select(Office.code).where(scope.covers(Office.id))))


def test_an_office_manager_sees_the_office_and_its_branches_only(make):
    region = make.region()
    office = make.office(code="CBI", parent=region)
    make.branch(office, code="CBI-B1")
    make.office(code="RYG", parent=region)
    manager = make.user(role="office_manager", office=office)
    assert _visible_codes(scope_for_user(manager)) == {"CBI", "CBI-B1"}


def test_a_kamr_at_a_branch_sees_that_branch_only(make):
    office = make.office(code="CBI")
    branch = make.branch(office, code="CBI-B1")
    make.branch(office, code="CBI-B2")
    kamr = make.user(role="kamr", office=branch)
    assert _visible_codes(scope_for_user(kamr)) == {"CBI-B1"}


def test_a_kamr_at_the_regional_office_sees_its_own_accounts_not_the_offices_under_it(make):
    region = make.region()
    make.office(code="CBI", parent=region)
    kamr = make.user(role="kamr", office=region)
    assert _visible_codes(scope_for_user(kamr)) == {region.code}


def test_an_executive_sees_the_region(make):
    region = make.region()
    office = make.office(code="CBI", parent=region)
    make.branch(office, code="CBI-B1")
    executive = make.user(role="executive", office=office)
    assert scope_for_user(executive).is_region
    assert _visible_codes(scope_for_user(executive)) == {region.code, "CBI", "CBI-B1"}


def test_a_resolved_scope_covers_the_same_offices(make):
    """``Scope.resolved`` (the CR2's office ids looked up once) covers what the scope covers."""
    region = make.region()
    office = make.office(code="CBI", parent=region)
    branch = make.branch(office, code="CBI-B1")
    make.office(code="RYG", parent=region)
    manager = make.user(role="office_manager", office=office)
    kamr = make.user(role="kamr", office=branch)
    regional = make.user(role="kamr", office=region)
    executive = make.user(role="executive", office=region)
    for person, expected in (
        (manager, {"CBI", "CBI-B1"}),
        (kamr, {"CBI-B1"}),
        (regional, {region.code}),
        (executive, {region.code, "CBI", "CBI-B1", "RYG"}),
    ):
        scope = scope_for_user(person)
        resolved = scope.resolved()
        assert _visible_codes(resolved) == _visible_codes(scope) == expected
        assert (resolved.code, resolved.office_id, resolved.unit_office_id) == (
            scope.code,
            scope.office_id,
            scope.unit_office_id,
        )
        assert resolved.resolved() is resolved
