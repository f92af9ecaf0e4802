"""Operations' messages that carry values: Thai on Thai pages, English in the API and the CLI."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from kamcrm.errors import Conflict, Message
from kamcrm.web.labels import translate
from tests.test_api_support import api, world  # noqa: F401  (fixtures)

CATALOGUE = (
    Path(__file__).resolve().parent.parent
    / "kamcrm"
    / "translations"
    / "th"
    / "LC_MESSAGES"
    / "messages.po"
)


@pytest.fixture
def staff(login_as, make):
    return login_as("regional_staff", office=make.region())


@pytest.fixture
def admin(login_as, make):
    return login_as("admin", office=make.region())


def english(client):
    client.set_cookie("lang", "en")


# --- the message itself ------------------------------------------------------------------------


def test_a_message_is_its_english_text_wherever_a_string_is_used():
    message = Message("unknown account '%(account_no)s'", account_no="A-1")
    assert message == "unknown account 'A-1'"
    assert (
        json.dumps({"errors": {"account_no": [message]}})
        == '{"errors": {"account_no": ["unknown account \'A-1\'"]}}'
    )
    assert Conflict(message).as_dict() == {
        "code": 409,
        "message": "unknown account 'A-1'",
        "errors": {},
    }


@pytest.mark.parametrize(
    ("language", "expected"),
    [("th", "ไม่พบลูกค้า 'A-1'"), ("en", "unknown account 'A-1'")],
)
def test_a_page_shows_a_message_in_its_language(app, language, expected):
    with app.test_request_context(), force_locale(language):
        assert translate(Message("unknown account '%(account_no)s'", account_no="A-1")) == expected


def test_values_that_are_phrases_or_dates_are_shown_the_pages_way(app):
    with app.test_request_context(), force_locale("th"):
        choice = Message(
            "%(value)s is not %(what)s (%(choices)s)",
            value="'GOLD'",
            what=Message("a tier"),
            choices="STAR, STATUS",
        )
        closed = Message(
            "Quarter %(label)s has not ended yet; it closes on %(due)s.",
            label="2026-Q4",
            due=date(2027, 1, 15),
        )
        assert translate(choice) == "'GOLD' ไม่ใช่กลุ่มลูกค้าที่ใช้ได้ (STAR, STATUS)"
        assert translate(closed) == "ไตรมาส 2026-Q4 ยังไม่สิ้นสุด จะปิดในวันที่ 15 มกราคม 2570"
    assert str(closed) == "Quarter 2026-Q4 has not ended yet; it closes on 2027-01-15."


def test_a_translation_that_does_not_fit_its_values_falls_back_to_english(app, monkeypatch):
    from flask_babel import get_translations

    with app.test_request_context(), force_locale("th"):
        monkeypatch.setattr(type(get_translations()), "ugettext", lambda self, text: "%(missing)s")
        assert translate(Message("Quarter %(label)s is already closed.", label="2021-Q1")) == (
            "Quarter 2021-Q1 is already closed."
        )


def test_every_thai_message_uses_only_the_values_its_message_carries():
    with open(CATALOGUE, "rb") as handle:
        catalogue = read_po(handle, locale="th")
    placeholder = re.compile(r"%\((\w+)\)")
    wrong = []
    for message in catalogue:
        ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        allowed = {name for text in ids if text for name in placeholder.findall(text)}
        for text in strings:
            if text and not set(placeholder.findall(text)) <= allowed:
                wrong.append(message.id)
    assert wrong == []


# --- refused forms on Thai pages ---------------------------------------------------------------


def test_re_tiering_an_unknown_account_says_so_in_thai_and_keeps_the_list(client, make, staff):
    make.account(account_no="R-1")
    response = client.post(
        "/region/tiers/selection",
        data={
            "pick-account_nos": "R-1\nNOPE-9",
            "pick-tier": "STAR",
            "pick-effective_from": "2021-07-01",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "ไม่พบลูกค้า &#39;NOPE-9&#39;" in html
    assert "unknown account" not in html
    assert "R-1\nNOPE-9" in html


def test_re_tiering_an_unknown_account_reads_english_on_an_english_page(client, make, staff):
    english(client)
    html = client.post(
        "/region/tiers/selection",
        data={
            "pick-account_nos": "NOPE-9",
            "pick-tier": "STAR",
            "pick-effective_from": "2021-07-01",
        },
    ).get_data(as_text=True)
    assert "unknown account &#39;NOPE-9&#39;" in html


def test_closing_a_closed_quarter_says_so_in_thai_beside_the_field(client, staff):
    from kamcrm.periods import bangkok_today

    year = bangkok_today().year - 1  # last year's Q1: due, and offered by the page
    client.post("/region/quarters", data={"quarter": f"{year}-Q1", "action": "close"})
    response = client.post("/region/quarters", data={"quarter": f"{year}-Q1", "action": "close"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="quarter-error"' in html and f"ไตรมาส 1/{year + 543} ปิดแล้ว" in html
    assert "already closed" not in html


def test_closing_a_quarter_that_has_not_ended_gives_its_close_date_in_thai(client, staff):
    from kamcrm.periods import THAI_MONTHS, bangkok_today, quarter_close_date, quarter_of

    today = bangkok_today()
    year, quarter = today.year, quarter_of(today)  # the running quarter
    due = quarter_close_date(year, quarter)
    response = client.post(
        "/region/quarters", data={"quarter": f"{year}-Q{quarter}", "action": "close"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    # The quarter and the date both in Buddhist-era years, never "2026-Q4" on a Thai page.
    assert (
        f"ไตรมาส {quarter}/{year + 543} ยังไม่สิ้นสุด จะปิดในวันที่ "
        f"{due.day} {THAI_MONTHS[due.month - 1]} {due.year + 543}"
    ) in html


def test_adding_a_user_whose_name_is_taken_says_so_in_thai_and_keeps_the_input(client, make, admin):
    office = make.office(code="CBI")
    make.user(username="somchai", office=office)
    response = client.post(
        "/admin/users",
        data={
            "username": "somchai",
            "full_name": "สมชาย ใจดี",
            "role": "kamr",
            "office_code": "CBI",
            "password": "first-sign-in-2569",
            "confirm": "first-sign-in-2569",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "มีผู้ใช้ชื่อ &#39;somchai&#39; อยู่แล้ว" in html
    assert "สมชาย ใจดี" in html


@pytest.mark.parametrize(
    ("body", "status", "message", "errors"),
    [
        (
            {"username": "kamr.a", "full_name": "A", "role": "kamr", "office_code": "OA"},
            409,
            "A user with the username 'kamr.a' already exists.",
            {},
        ),
        (
            {"username": "kamr.z", "full_name": "Z", "role": "kamr", "office_code": "ZZ"},
            422,
            "The input is not valid.",
            {"office_code": ["unknown office 'ZZ'"]},
        ),
    ],
)
def test_the_api_answers_in_english_in_its_own_error_shape(
    client, api, world, body, status, message, errors
):
    client.set_cookie("lang", "th")  # the API reads no cookie, so no language either

    response = api(world.admin).post("/users", json=body)

    assert response.status_code == status
    assert response.get_json() == {"code": status, "message": message, "errors": errors}


def test_the_cli_answers_in_english(runner, make, staff):
    from kamcrm.reports.closing import close_quarter

    close_quarter(2021, 1, staff)
    result = runner.invoke(args=["periods", "close", "2021-Q1"])
    assert result.exit_code == 1 and "Quarter 2021-Q1 is already closed." in result.output
