"""What the API tests share: a bearer-token client and a small region with two offices.

Test modules import the fixtures they use from here (``from tests.test_api_support import
api, world``); this module holds no tests of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from kamcrm.accounts.models import Account
from kamcrm.extensions import db
from kamcrm.org.models import Office, User

PREFIX = "/api/v1"


class ApiClient:
    """The Flask test client speaking to ``/api/v1`` with one user's bearer token."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _call(self, method: str, path: str, headers=None, **options):
        headers = dict(headers or {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.client.open(PREFIX + path, method=method, headers=headers, **options)

    def get(self, path, **options):
        return self._call("GET", path, **options)

    def post(self, path, **options):
        return self._call("POST", path, **options)

    def put(self, path, **options):
        return self._call("PUT", path, **options)

    def patch(self, path, **options):
        return self._call("PATCH", path, **options)

    def delete(self, path, **options):
        return self._call("DELETE", path, **options)


@pytest.fixture
def api(client, api_token_for):
    """``api(user)`` is an ``ApiClient`` authenticated as ``user``; ``api(None)`` sends no token."""

    def as_user(user: User | None) -> ApiClient:
        return ApiClient(client, api_token_for(user) if user is not None else None)

    return as_user


@dataclass
class World:
    """Region R2 with office A (and its branch A1) and office B, their people and accounts."""

    region: Office
    office_a: Office
    branch_a1: Office
    office_b: Office
    admin: User
    staff: User
    executive: User
    manager_a: User
    kamr_a: User
    kamr_b: User
    account_a: Account
    account_a1: Account
    account_b: Account


@pytest.fixture
def world(make) -> World:
    region = make.region("R2")
    office_a = make.office("OA", office_class="1", parent=region)
    branch_a1 = make.branch(office_a, code="OA1")
    office_b = make.office("OB", office_class="2", parent=region)
    kamr_a = make.user("kamr", office=office_a, username="kamr.a")
    kamr_b = make.user("kamr", office=office_b, username="kamr.b")
    found = World(
        region=region,
        office_a=office_a,
        branch_a1=branch_a1,
        office_b=office_b,
        admin=make.user("admin", office=region, username="admin"),
        staff=make.user("regional_staff", office=region, username="staff"),
        executive=make.user(
            "executive", office=region, username="exec", exec_role="assistant_director"
        ),
        manager_a=make.user(
            "office_manager", office=office_a, username="manager.a", exec_role="office_manager"
        ),
        kamr_a=kamr_a,
        kamr_b=kamr_b,
        account_a=make.account(
            office=office_a,
            account_no="A-0001",
            name="Alpha Steel",
            kamr=kamr_a,
            tier="STRATEGIC",
            tier_from=date(2000, 1, 1),
            sector="steel",
        ),
        account_a1=make.account(
            office=branch_a1,
            account_no="A-0002",
            name="Alpha Foods",
            kamr=kamr_a,
            tier="STAR",
            tier_from=date(2000, 1, 1),
            sector="food",
        ),
        account_b=make.account(
            office=office_b,
            account_no="B-0001",
            name="Bravo Plastics",
            kamr=kamr_b,
            tier="STATUS",
            tier_from=date(2000, 1, 1),
            sector="plastics",
        ),
    )
    db.session.commit()
    return found
