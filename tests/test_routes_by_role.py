"""Walk every route of the application as every role (and anonymously) and check the answer.

Each (route, method) is called by each role with URL parameters filled from a small world:
an office ``CBI`` with a branch where every user works, and a second office ``RYG`` whose
rows are out of scope for KAMRs and office managers. The expected answer follows from the
route's declared access rule (``kamcrm.org.access``) and the role's scope:

* anonymous: public routes answer; pages redirect to the login page; the API answers 401;
* a role the rule does not allow: 403;
* an allowed role: anything but 401/403 (403 allowed only where the rule names several
  actions, whose finer checks live in the view) and never a server error; with a row out of
  its scope in the URL: 404 (or, for a write, 400/422 when the empty body is refused
  before the row is looked up, which is the same answer for any key).

A route added later is walked automatically. A route without a rule fails here (default
deny), and so does a URL parameter this file cannot fill: add it to ``PLAIN`` or ``SCOPED``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import pytest
from flask import url_for

from kamcrm import create_app
from kamcrm.org import access
from kamcrm.org.models import REGION_ROLES, ROLES
from kamcrm.org.tokens import issue_token
from tests.factories import sign_in

ANONYMOUS = "anonymous"

#: URL parameters that name no row: one valid value each.
PLAIN = {
    "year": 2021,
    "tier": "STAR",
    "type": "FMS",
    "type_": "FMS",
    "exec_role": "office_manager",
    "role": "office_manager",
    "kind": "accounts",
    "fmt": "json",
    "filename": "css/kamcrm.css",
    "code_or_region": "CBI",
    "month": "2021-03",
    "quarter": "2021-Q1",
    "run_id": 1,
    "quarter_no": 1,
    "category": "OTHER",
    "item": "2.1d",
}

#: URL parameters naming a row, with the roles that see the row outside the caller's office.
SCOPED = {
    "account_no": REGION_ROLES,
    "activity_id": REGION_ROLES,
    "follow_up_id": REGION_ROLES,
    "contact_id": REGION_ROLES,
    "code": REGION_ROLES,
    "office_code": REGION_ROLES,
    "username": REGION_ROLES,
    "user_id": REGION_ROLES,
    "token_id": ("admin",),  # another user's token: only token managers see it
    "ref": REGION_ROLES,  # a complaint, by its handling office
    "voc_key": REGION_ROLES,  # a VOC entry (a KAMR sees only its own accounts' voices)
    "job_ref": REGION_ROLES,  # a service job, by its office
    "answer_id": REGION_ROLES,  # a survey answer, by its job's office
}


def _routes():
    application = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "collect",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        }
    )
    found = []
    for rule in application.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule.rule, tuple(sorted(rule.arguments))))
    return sorted(found, key=lambda route: (route[2], route[1]))


ROUTES = _routes()


def _cases():
    for endpoint, method, path, arguments in ROUTES:
        scoped = [name for name in arguments if name in SCOPED]
        for role in (ANONYMOUS, *ROLES):
            yield pytest.param(
                endpoint, method, arguments, role, True, id=f"{method} {path} {role}"
            )
            if scoped and role != ANONYMOUS:
                yield pytest.param(
                    endpoint,
                    method,
                    arguments,
                    role,
                    False,
                    id=f"{method} {path} {role} out-of-scope",
                )


@dataclass
class World:
    """Rows in scope (office CBI and its branch) and out of it (office RYG)."""

    inside: dict
    outside: dict


@pytest.fixture
def world(make):
    from kamcrm.activities.operations import add_follow_up

    region = make.region()
    cbi, ryg = make.office(code="CBI"), make.office(code="RYG", office_class="2")
    make.branch(cbi, code="CBI-B")
    sides = {}
    for name, office in (("inside", cbi), ("outside", ryg)):
        owner = make.user(role="kamr", office=office)
        account = make.account(office=office)
        activity = make.activity(
            account,
            performed_by=owner,
            activity_date=date(2021, 2, 1),
            voc_kind="complaint",
            voc_category="OTHER",
            voc_text="the lights flicker",
        )
        contact = make.contact(account)
        follow_up = add_follow_up(activity, {"action": "send a quote", "due_on": "2021-03-01"})
        complaint = make.complaint(office, closed_at="2021-02-02T09:00:00+07:00")
        job, answer = make.survey_answer(office, score=1)
        sides[name] = {
            "ref": complaint.ref,
            "voc_key": f"A{activity.id}",
            "job_ref": job.ref,
            "answer_id": answer.id,
            "account_no": account.account_no,
            "activity_id": activity.id,
            "contact_id": contact.id,
            "follow_up_id": follow_up.id,
            "code": office.code,
            "office_code": office.code,
            "username": owner.username,
            "user_id": owner.id,
            "token_id": issue_token(owner, "theirs", actor=None)[0].id,
        }
    assert region is not None
    return World(inside=sides["inside"], outside=sides["outside"]), cbi


def _url(app, endpoint, arguments, values):
    missing = [name for name in arguments if name not in values]
    assert not missing, (
        f"tests/test_routes_by_role.py cannot fill URL parameter(s) {missing}: add them"
    )
    with app.test_request_context():
        return url_for(endpoint, **{name: values[name] for name in arguments})


def _sign_in(client, user):
    sign_in(client, user)


@pytest.mark.parametrize("endpoint, method, arguments, role, inside", list(_cases()))
def test_every_route_answers_every_role_as_its_rule_says(
    app, client, make, world, endpoint, method, arguments, role, inside
):
    rows, office = world
    rule = access.rule_for(app, endpoint, method)
    assert rule is not None, f"{method} {endpoint} declares no access rule"
    user = None if role == ANONYMOUS else make.user(role=role, office=office)
    values = dict(PLAIN, **(rows.inside if inside else rows.outside))
    if user is not None and "token_id" in arguments and inside:
        values["token_id"] = issue_token(user, "mine", actor=None)[0].id
    url = _url(app, endpoint, arguments, values)
    is_api = url.startswith(access.API_PREFIX)
    headers = {}
    if user is not None:
        if is_api:
            headers["Authorization"] = "Bearer " + issue_token(user, "walk", actor=None)[1]
        else:
            _sign_in(client, user)
    body = {"json": {}} if is_api and method != "GET" else {}

    response = client.open(url, method=method, headers=headers, **body)
    status = response.status_code
    where = f"{method} {url} as {role}: {status} {response.get_data(as_text=True)[:200]!r}"
    response.close()

    assert status < 500, where
    if rule.public:
        assert status not in (401, 403), where
    elif user is None:
        if is_api:
            assert status == 401 and response.get_json()["code"] == 401, where
        else:
            assert status == 302 and response.headers["Location"].startswith("/login"), where
    elif not rule.allows(user):
        assert status == 403, where
    elif not inside and not any(role in SCOPED[name] for name in arguments if name in SCOPED):
        # An empty body may be refused (400/422) before the row is looked up; that answer
        # is the same for any key, so it reveals nothing.
        assert status == 404 or (method != "GET" and status in (400, 422)), where
    else:
        assert status != 401, where
        assert status != 403 or len(rule.actions) > 1, where
        if status == 302 and endpoint != "auth.logout":
            assert not response.headers["Location"].startswith("/login"), where


def test_every_route_declares_a_rule(app):
    undeclared = [
        f"{method} {rule.rule}" for rule, method, found in access.route_rules(app) if found is None
    ]
    assert undeclared == []


def test_the_walk_covers_the_application_routes(app):
    walked = {(endpoint, method) for endpoint, method, _, _ in ROUTES}
    present = {(rule.endpoint, method) for rule, method, _ in access.route_rules(app)}
    assert present <= walked
