"""Pages by role: each role's home, navigation, and the pages it may not open."""

from __future__ import annotations

import re

import pytest

ROLES = ("kamr", "office_manager", "executive", "regional_staff", "admin")

#: GET pages and the roles that may open them (the access layer's matrix, as pages see it).
PAGES = {
    "/due": ROLES,
    "/accounts": ROLES,
    "/activities/new": ROLES,
    "/office/coverage": ROLES,
    "/region/": ROLES,
    "/region/cr2": ROLES,
    "/region/targets": ("regional_staff", "admin"),
    "/region/tiers": ("regional_staff", "admin"),
    "/region/audit": ("regional_staff", "admin"),
}


@pytest.fixture
def office(make):
    return make.office(code="CBI", name="กฟฟ. ชลบุรี")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(PAGES))
def test_a_page_opens_only_for_the_roles_allowed(client, login_as, office, role, path):
    login_as(role, office=office, exec_role="assistant_director" if role == "executive" else None)
    response = client.get(path)
    assert response.status_code == (200 if role in PAGES[path] else 403)


@pytest.mark.parametrize("path", sorted(PAGES))
def test_an_anonymous_visitor_is_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "role, home",
    [
        ("kamr", "/due"),
        ("office_manager", "/office/coverage"),
        ("executive", "/region/"),
        ("regional_staff", "/region/"),
        ("admin", "/region/"),
    ],
)
def test_home_sends_each_role_to_its_work_page(client, login_as, office, role, home):
    login_as(role, office=office)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith(home)


def _nav_links(html: str) -> list[str]:
    nav = re.search(r'<nav class="main-nav".*?</nav>', html, re.S)
    return re.findall(r'href="([^"]+)"', nav.group(0)) if nav else []


@pytest.mark.parametrize(
    "role, present, absent",
    [
        ("kamr", ["/due", "/accounts"], ["/region/targets", "/region/audit", "/admin/users"]),
        (
            "office_manager",
            ["/office/coverage", "/office/kamrs"],
            ["/region/targets", "/region/audit"],
        ),
        (
            "regional_staff",
            ["/region/", "/region/targets", "/region/tiers", "/region/audit"],
            ["/admin/users"],
        ),
    ],
)
def test_navigation_shows_only_the_pages_of_the_role(
    client, login_as, office, role, present, absent
):
    login_as(role, office=office)
    links = _nav_links(client.get("/accounts").get_data(as_text=True))
    assert set(present) <= set(links)
    assert not set(absent) & set(links)


def test_an_account_outside_the_scope_is_not_found(client, login_as, make, office):
    elsewhere = make.account(office=make.office(code="RYG"), account_no="OUT-1")
    login_as("kamr", office=office)
    assert client.get(f"/accounts/{elsewhere.account_no}").status_code == 404
    assert "OUT-1" not in client.get("/accounts?all=1&q=OUT").get_data(as_text=True)
    assert client.get("/accounts/search?q=OUT").get_json() == {"results": []}


def test_an_office_outside_the_scope_is_not_found(client, login_as, make, office):
    make.office(code="RYG")
    login_as("office_manager", office=office)
    assert client.get("/office/coverage?office=RYG").status_code == 404


def test_pages_load_no_inline_script_and_nothing_from_elsewhere(client, login_as, office):
    login_as("kamr", office=office)
    html = client.get("/activities/new").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\ssrc=)", html)
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r'(src|href)="(https?:)?//', html)
