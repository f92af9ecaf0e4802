"""Every ``next`` a client sends goes to a page of this site or to the home page: no open
redirect, and no 500 for a value that would split the Location header."""

from __future__ import annotations

import functools
from datetime import date
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from kamcrm.activities.models import FollowUp
from kamcrm.extensions import db
from kamcrm.org.passwords import hash_password
from kamcrm.periods import bangkok_today
from kamcrm.web.redirects import safe_next

PASSWORD = "correct horse battery"
SITE = "http://localhost"

#: Hostile values of ``next`` as they appear in a query string (percent-encoded).
HOSTILE = [
    "/%09/evil.example/",  # a tab a browser drops: //evil.example/
    "/%09evil.example",
    "%09//evil.example",
    "/%0a/evil.example",
    "/%0d%0aSet-Cookie:%20x=1",  # CR LF: a header of our own answer
    "%0d%0a//evil.example",
    "/%5C%5Cevil.example",  # /\\evil.example
    "/%5Cevil.example",  # /\evil.example: a browser reads //evil.example
    "%5C%5Cevil.example",
    "https://evil.example/",
    "HTTPS:%2F%2Fevil.example",
    "//evil.example",
    "///evil.example",
    "/%2F%2Fevil.example",  # ///evil.example once decoded
    "/%252F%252Fevil.example",  # decoded twice on the way
    "/%25%35%43evil.example",  # /%5Cevil.example
    "%20//evil.example",
    "/%E2%80%8B/evil.example",  # a zero-width space
    "javascript:alert(1)",
    "evil.example",
]


def leaves_the_site(location: str) -> bool:
    """Whether a browser following ``location`` from a page of SITE lands elsewhere."""
    # What browsers do to a URL before they read it: drop tabs and newlines, \ is /.
    cleaned = "".join(c for c in location if c not in "\t\r\n").strip().replace("\\", "/")
    landed = urlsplit(urljoin(SITE + "/login", cleaned))
    return landed.scheme not in ("http", "https") or landed.netloc != "localhost"


@functools.cache
def stored_hash() -> str:
    return hash_password(PASSWORD)


def _goes_home(response) -> None:
    assert response.status_code == 302
    location = response.headers["Location"]
    assert not leaves_the_site(location), location
    assert location == "/"


@pytest.mark.parametrize("raw", HOSTILE)
def test_the_sign_in_page_never_sends_elsewhere(client, make, raw):
    make.user(role="kamr", username="somchai", password_hash=stored_hash())
    response = client.post(
        "/login", data={"username": "somchai", "password": PASSWORD, "next": unquote(raw)}
    )
    _goes_home(response)


@pytest.mark.parametrize("raw", HOSTILE)
def test_the_sign_in_page_of_a_signed_in_user_never_sends_elsewhere(client, login_as, raw):
    login_as("kamr")
    _goes_home(client.get(f"/login?next={raw}"))


@pytest.mark.parametrize("raw", HOSTILE)
def test_the_language_switch_never_sends_elsewhere(client, raw):
    _goes_home(client.get(f"/language/en?next={raw}"))


@pytest.fixture
def kamr_with_account(login_as, make):
    office = make.office(code="CBI")
    kamr = login_as("kamr", office=office)
    return kamr, make.account(office=office, account_no="020001234567", kamr=kamr)


@pytest.mark.parametrize("raw", HOSTILE)
def test_logging_an_activity_never_sends_elsewhere(client, kamr_with_account, raw):
    _, account = kamr_with_account
    response = client.post(
        "/activities/new",
        data={
            "account": account.account_no,
            "type": "FMS",
            "activity_date": bangkok_today().isoformat(),
            "status": "done",
            "channel": "visit",
            "next": unquote(raw),
        },
    )
    _goes_home(response)


@pytest.mark.parametrize("raw", HOSTILE)
def test_marking_a_follow_up_done_never_sends_elsewhere(client, make, kamr_with_account, raw):
    kamr, account = kamr_with_account
    follow_up = FollowUp(
        activity=make.activity(account, performed_by=kamr), action="โทรกลับ", due_on=date(2021, 2, 8)
    )
    db.session.add(follow_up)
    db.session.flush()
    _goes_home(client.post(f"/follow-ups/{follow_up.id}/done?next={raw}"))


@pytest.mark.parametrize(
    "target", ["/accounts", "/a?b=1", "/kamr/due?q=a%20b", "/accounts/%E0%B8%81"]
)
def test_a_path_on_this_site_is_kept(app, target):
    with app.test_request_context():
        assert safe_next(target) == target


def test_the_language_switch_still_goes_back_to_the_page(client):
    response = client.get("/language/en?next=/accounts%3Fpage%3D2")
    assert response.headers["Location"] == "/accounts?page=2"
