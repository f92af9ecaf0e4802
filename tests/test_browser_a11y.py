"""Browser tests of the pages' accessibility and phone layout, in Chromium (Playwright).

An accessibility engine (axe-core, vendored under tests/vendor/axe/ as a test-only asset, never
served by the app) checks every main page as each role at 1280 and 375 px, in Thai and English,
and fails on any serious or critical violation. The other tests here check what an engine
cannot see: messages announced with the right urgency, tables reachable by keyboard, the
coverage table read on a phone, one name for each heatmap cell, the Buddhist-era date picker
and the folded header menu. The server, its data and the signed-in tabs are those of
tests/test_browser_pages.py (a module-scoped server of this module's own).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from kamcrm.periods import bangkok_today
from tests.test_browser_pages import PASSWORD, browser, live, open_page, shoot  # noqa: F401

pytestmark = [pytest.mark.browser]

AXE = Path(__file__).resolve().parent / "vendor" / "axe" / "axe.min.js"

#: Pages each role opens besides those in its navigation bar.
EXTRA_PAGES = {
    "kamr": ["/activities/new", "/accounts/{account}"],
    "office_manager": [
        "/activities/new",
        "/office/coverage/accounts?type=FMS&tier=STRATEGIC&column=Q1",
    ],
    "executive": ["/activities/new"],
    "regional_staff": ["/account/password"],
    "admin": [],
}


def axe_violations(page) -> list[dict]:
    """Run axe-core on the page; return its serious and critical violations, briefly."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
    }""")
    return result


def main_pages(page, role: str, facts) -> list[str]:
    links = page.eval_on_selector_all(
        "nav.main-nav a", "links => links.map(a => a.getAttribute('href'))"
    )
    return links + [path.format(account=facts["accounts"][0]) for path in EXTRA_PAGES[role]]


@pytest.mark.parametrize("locale", ["th", "en"])
@pytest.mark.parametrize("width", [1280, 375])
def test_no_main_page_has_a_serious_accessibility_violation_for_any_role(
    open_page, live, width, locale
):
    _, facts = live
    found = {}
    for role in [None] + sorted(EXTRA_PAGES):
        page = open_page(role, width=width, locale=locale, bypass_csp=True)
        paths = main_pages(page, role, facts) if role else ["/login"]
        for path in paths:
            response = page.goto(path)
            assert response.status == 200, (role, path)
            violations = axe_violations(page)
            if violations:
                found[f"{role} {path}"] = violations
            name = re.sub(r"[^a-z0-9]+", "-", path.split("?")[0].lower()).strip("-") or "home"
            shoot(page, f"a11y-{role or 'anonymous'}-{name}-{locale}-{width}")
        page.context.close()
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


# --- messages ----------------------------------------------------------------------------------


def test_errors_are_alerts_and_other_messages_a_status_of_paragraphs(open_page, live):
    _, facts = live
    page = open_page(None)
    page.goto("/login")
    page.fill("#username", facts["users"]["kamr"])
    page.fill("#password", "not-the-password")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    error = page.locator("[role=alert] > p.flash-error")
    assert error.count() == 1 and error.is_visible()
    assert page.locator("[role=status] .flash").count() == 0

    manager = open_page("office_manager")
    manager.goto("/office/coverage?as_of=31-02-2026")  # a date that is no date: a warning
    note = manager.locator("[role=status] > p.flash-warning")
    assert note.count() == 1 and note.is_visible()
    # No list item carries a live role, and no live list holds items of its own.
    for p in (page, manager):
        assert p.locator("li[role], ul[role=status], ul[role=alert]").count() == 0


# --- wide tables ---------------------------------------------------------------------------------

WIDE_TABLE_PAGES = [
    "/office/coverage",
    "/office/executive-visits",
    "/region/cr2",
    "/region/monthly",
    "/region/audit",
]

SCROLLING_BOXES = """() => Array.from(document.querySelectorAll('main *'))
    .filter(el => el.scrollWidth > el.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(el).overflowX))
    .map(el => ({tabindex: el.getAttribute('tabindex'), role: el.getAttribute('role'),
                 label: el.getAttribute('aria-label') || ''}))"""


def test_every_wide_table_that_scrolls_is_a_named_region_in_the_tab_order(open_page):
    for width in (1280, 375):
        page = open_page("regional_staff", width=width)
        scrolling = 0
        for path in WIDE_TABLE_PAGES:
            page.goto(path)
            for box in page.evaluate(SCROLLING_BOXES):
                scrolling += 1
                assert (
                    box["tabindex"] == "0" and box["role"] == "region" and box["label"].strip()
                ), (width, path, box)
        if width == 375:
            assert (
                scrolling >= 3
            )  # the check checked something: monthly and visits scroll on a phone


def test_the_keyboard_reaches_and_scrolls_a_wide_table_with_a_visible_focus(open_page):
    page = open_page("regional_staff", width=375, locale="en")
    page.goto("/region/monthly")
    wrap = page.locator("section[aria-labelledby=coverage-h] div.table-wrap")
    assert wrap.get_attribute("role") == "region"
    assert wrap.get_attribute("aria-label") == page.locator("#coverage-h").inner_text().strip()
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate(
            "document.activeElement.closest('section[aria-labelledby=coverage-h]') !== null"
        ):
            break
    else:
        pytest.fail("Tab never reached the table's scroll box")
    assert page.evaluate("document.activeElement.getAttribute('role')") == "region"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    # Polled with evaluate: wait_for_function would evaluate its text with eval, which the
    # page's CSP (script-src 'self') rightly refuses.
    for _ in range(50):
        if page.evaluate("document.activeElement.scrollLeft") > 0:
            break
        page.wait_for_timeout(100)
    assert page.evaluate("document.activeElement.scrollLeft") > 0, (
        "the arrow keys did not scroll the table"
    )
    shoot(page, "a11y-monthly-table-focused-en-375")


# --- the coverage table on a phone ------------------------------------------------------------


def test_a_phone_shows_every_quarter_of_a_coverage_rule_without_scrolling(open_page):
    page = open_page("office_manager", width=375)
    page.goto("/office/coverage")
    row = page.locator("table.coverage tbody tr").first
    cells = row.locator("td[data-label]")
    assert cells.count() == 7  # item, rule, target and four quarters (the tier heads the card)
    for n in range(cells.count()):
        box = cells.nth(n).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, cells.nth(n).get_attribute(
            "data-label"
        )
    # Each figure is read with its quarter's name beside it.
    label = page.evaluate(
        """cell => getComputedStyle(cell, '::before').content""", cells.nth(4).element_handle()
    )
    assert "1" in label and label not in ("none", "normal", '""')
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(page, "a11y-coverage-th-375")


# --- the region heatmap -----------------------------------------------------------------------


def test_each_heatmap_cell_is_one_link_that_says_what_it_opens(open_page):
    page = open_page("regional_staff", locale="en")
    page.goto("/region/")
    heatmap = page.locator("svg.heatmap")
    assert heatmap.get_attribute("role") != "img"  # an image's links would be hidden
    assert "office" in heatmap.locator("desc").text_content()
    links = page.get_by_role(
        "link", name=re.compile(r"^CBI, FMS Strategic: .+ of .+ target, .+ — open the accounts$")
    )
    assert links.count() == 1
    # One focusable element per cell, none inside another.
    nested = page.evaluate("""() => Array.from(document.querySelectorAll('svg.heatmap a'))
        .filter(a => a.querySelector('a, [tabindex], [role=img]') || a.parentElement.closest('a, [role=img]')).length""")
    assert nested == 0
    links.first.focus()
    assert (
        page.evaluate("getComputedStyle(document.activeElement.querySelector('rect')).strokeWidth")
        == "3px"
    )
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/office/coverage/accounts" in page.url and "office=CBI" in page.url


# --- Buddhist-era dates -------------------------------------------------------------------------


def _be(day) -> str:
    return f"{day.day}/{day.month}/{day.year + 543}"


def test_a_thai_date_field_shows_and_takes_a_buddhist_era_date_and_sends_iso(
    open_page, browser, live
):
    base, facts = live
    today = bangkok_today()
    page = open_page("office_manager")
    page.goto("/office/coverage")
    field = page.locator("#pick-as-of")
    assert field.get_attribute("type") == "text" and field.input_value() == _be(today)
    assert (
        page.get_by_label("ณ วันที่").get_attribute("id") == "pick-as-of"
    )  # the label stays attached
    hint = page.locator("#" + field.get_attribute("aria-describedby").split()[0])
    assert "2569" in hint.inner_text()
    field.fill("3/1/2569")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert "as_of=2026-01-03" in page.url  # URLs stay ISO
    assert page.input_value("#pick-as-of") == "3/1/2569"

    # English pages, and pages without scripts, keep the browser's own date field.
    english = open_page("office_manager", locale="en")
    english.goto("/office/coverage")
    assert english.get_attribute("#pick-as-of", "type") == "date"
    context = browser.new_context(base_url=base, java_script_enabled=False)
    try:
        plain = context.new_page()
        plain.goto("/login")
        plain.fill("#username", facts["users"]["office_manager"])
        plain.fill("#password", PASSWORD)
        with plain.expect_navigation():
            plain.click("main button[type=submit]")
        plain.goto("/office/coverage")
        assert plain.get_attribute("#pick-as-of", "type") == "date"
        plain.fill("#pick-as-of", "2026-01-03")
        with plain.expect_navigation():
            plain.click("form.filters button[type=submit]")
        assert "as_of=2026-01-03" in plain.url
    finally:
        context.close()


def test_a_christian_era_year_in_a_thai_date_field_is_refused_aloud(open_page):
    page = open_page("office_manager")
    page.goto("/office/coverage")
    before = page.url
    page.fill("#pick-as-of", "3/1/2026")
    page.keyboard.press("Tab")
    error = page.locator("#pick-as-of-be-error")
    assert error.is_visible() and error.get_attribute("role") == "alert"
    assert "2569" in error.inner_text()
    assert page.get_attribute("#pick-as-of", "aria-invalid") == "true"
    assert "pick-as-of-be-error" in page.get_attribute("#pick-as-of", "aria-describedby")
    page.click("form.filters button[type=submit]")  # nothing is sent
    assert page.url == before and page.evaluate("document.activeElement.id") == "pick-as-of"
    page.fill("#pick-as-of", "31/2/2569")
    page.keyboard.press("Tab")
    assert error.is_visible()  # no 31 February
    page.fill("#pick-as-of", "1/2/2569")
    page.keyboard.press("Tab")
    assert not error.is_visible() and page.get_attribute("#pick-as-of", "aria-invalid") is None
    page.focus("#pick-as-of")
    page.keyboard.press("ArrowUp")  # the arrows step a day
    assert page.input_value("#pick-as-of") == "2/2/2569"
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        shoot(page, f"a11y-be-date-th-{width}")


def test_a_plan_saved_with_a_buddhist_era_date_is_stored_on_its_ce_day(open_page, live):
    _, facts = live
    number = facts["accounts"][5]
    day = bangkok_today() + timedelta(days=9)
    page = open_page("kamr")
    page.goto(f"/accounts/{number}")
    page.select_option("#type", "SEM")
    page.select_option("#channel", "meeting")
    page.fill("#activity_date", _be(day))
    with page.expect_navigation():
        page.click("#planned form button[type=submit]")
    assert page.locator(".flash-success").count() == 1
    english = open_page("kamr", locale="en")
    english.goto(f"/accounts/{number}")
    assert (
        english.locator("#planned").filter(has_text="SEM").filter(has_text=str(day.year)).count()
        == 1
    )


# --- the header on a phone ---------------------------------------------------------------------


def test_on_a_phone_the_header_folds_into_a_menu_button(open_page):
    page = open_page("regional_staff", width=375)
    page.goto("/region/targets")
    button = page.get_by_role("button", name=re.compile("เมนู"))
    assert button.get_attribute("aria-expanded") == "false"
    header = page.locator("header.site-header").bounding_box()
    assert header["height"] <= 70  # one line, not a third of the screen
    assert not page.locator("nav.main-nav").is_visible()
    shoot(page, "a11y-menu-closed-th-375")
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    assert page.locator("nav.main-nav a[href='/region/audit']").is_visible()
    assert page.locator("a[hreflang=en]").is_visible()
    shoot(page, "a11y-menu-open-th-375")
    page.locator("nav.main-nav a").first.focus()
    page.keyboard.press("Escape")  # Escape folds it, focus goes back
    assert button.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.classList.contains('menu-toggle')")
    # On a wide screen nothing folds and there is no button.
    page.set_viewport_size({"width": 1280, "height": 900})
    assert page.locator("button.menu-toggle").is_hidden()
    assert page.locator("nav.main-nav a[href='/region/audit']").is_visible()
    assert page.locator("a[hreflang=en]").is_visible()
