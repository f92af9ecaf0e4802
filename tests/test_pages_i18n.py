"""Thai first, English one click away; every page string translated; Thai dates in BE years."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from kamcrm.web import i18n

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = ROOT / "kamcrm" / "translations"


def _source_messages() -> set:
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {
        "_": None,
        "gettext": None,
        "ngettext": (1, 2),
        "_l": None,
        "lazy_gettext": None,
        "Message": None,
    }
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
    return all(strings) and not message.fuzzy


def _catalogue(language: str):
    with open(CATALOGUES / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


def test_every_page_string_has_a_thai_translation():
    catalogue = _catalogue("th")
    translated = {_key(m.id) for m in catalogue if m.id and _translated(m)}
    assert sorted(map(str, _source_messages() - translated)) == []


@pytest.mark.parametrize("language", ["th", "en"])
def test_the_compiled_catalogue_matches_its_source(language):
    with open(CATALOGUES / language / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        # Babel writes an untranslated plural as its own msgids; that is no translation.
        compiled = {
            _key(m.id): _key(m.string)
            for m in read_mo(handle)
            if m.id and _translated(m) and _key(m.string) != _key(m.id)
        }
    source = {
        _key(m.id): _key(m.string)
        for m in _catalogue(language)
        if m.id and _translated(m) and _key(m.string) != _key(m.id)
    }
    assert compiled == source


@pytest.fixture
def kamr(login_as, make):
    return login_as("kamr", office=make.office(code="CBI"))


def test_pages_are_thai_by_default(client, kamr):
    html = client.get("/accounts").get_data(as_text=True)
    assert '<html lang="th">' in html and "ลูกค้าของฉัน" in html


def test_the_language_switch_turns_the_page_english_and_back(client, kamr):
    response = client.get("/language/en?next=/accounts")
    assert response.status_code == 302 and response.headers["Location"].endswith("/accounts")
    html = client.get("/accounts").get_data(as_text=True)
    assert '<html lang="en">' in html and "My accounts" in html
    assert 'href="/language/th?next=/accounts"' in html
    client.get("/language/th")
    assert "ลูกค้าของฉัน" in client.get("/accounts").get_data(as_text=True)


def test_the_choice_is_remembered_for_the_user(client, kamr):
    client.get("/language/en")
    assert kamr.locale == "en"


def test_the_switch_never_redirects_elsewhere(client):
    response = client.get("/language/en?next=https://example.com/")
    assert response.headers["Location"] == "/"


def test_an_unknown_language_changes_nothing(client):
    response = client.get("/language/fr?next=/")
    assert "lang=" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize(
    "language, style, expected",
    [
        ("th", "medium", "5 มีนาคม 2564"),
        ("th", "short", "5 มี.ค. 2564"),
        ("en", "medium", "5 March 2021"),
        ("en", "short", "5 Mar 2021"),
        ("th", "iso", "2021-03-05"),
    ],
)
def test_dates_show_thai_months_and_be_years_on_thai_pages(app, language, style, expected):
    with app.test_request_context(), force_locale(language):
        assert i18n.format_day(date(2021, 3, 5), style) == expected
        assert i18n.format_day("2021-03-05", style) == expected


@pytest.mark.parametrize("language, expected", [("th", "ไตรมาสที่ 1-2/2564"), ("en", "Q1-2 2021")])
def test_cumulative_columns_are_headed_like_the_report_form(app, language, expected):
    with app.test_request_context(), force_locale(language):
        assert i18n.format_column("Q1-2", 2021) == expected


def test_timestamps_show_in_bangkok_time(app):
    with app.test_request_context(), force_locale("th"):
        assert (
            i18n.format_moment(datetime(2021, 3, 31, 18, 30, tzinfo=timezone.utc))
            == "1 เม.ย. 2564 01:30"
        )


@pytest.mark.parametrize("value, expected", [(54.22, "54.22%"), (100.0, "100%"), (None, "–")])
def test_percentages_print_up_to_two_decimals(app, value, expected):
    with app.test_request_context(), force_locale("en"):
        assert i18n.format_pct(value) == expected


@pytest.mark.parametrize(
    "value, digits, expected",
    [
        (1234567, 0, "1,234,567"),
        (None, 0, ""),
        (Decimal("1250.50"), 0, "1,250.50"),
        (3.14159, 2, "3.14"),
    ],
)
def test_numbers_are_grouped(value, digits, expected):
    assert i18n.format_number(value, digits) == expected


def test_the_sign_in_page_reads_thai_too(client, make):
    from kamcrm.org.auth import set_password

    set_password(make.user(role="kamr", username="somsri"), "correct horse battery", None)
    html = client.get("/login").get_data(as_text=True)
    assert "ชื่อผู้ใช้" in html and "รหัสผ่าน" in html
    client.set_cookie("lang", "en")
    assert "Username" in client.get("/login").get_data(as_text=True)
