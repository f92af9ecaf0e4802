"""Browser tests of the page forms as each role meets them, in Chromium (Playwright): the
tier roster, the log and plan forms, users' first passwords, the targets form and the
wording of the report pages. The server, its data and the signed-in tabs are those of
tests/test_browser_pages.py (a module-scoped server of this module's own).

Screenshots of the pages changed here, at 1280 and 375 px in Thai and English, go to
test-artifacts/screens/forms-*.png.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from kamcrm.periods import bangkok_today, last_complete_month, month_key
from kamcrm.reports.cr2 import PLAN_TITLE
from tests.test_browser_pages import PASSWORD, browser, live, open_page, shoot  # noqa: F401

pytestmark = [pytest.mark.browser]


def _submit(page, selector: str = "main form.stack button[type=submit]") -> None:
    with page.expect_navigation():
        page.click(selector)


# --- the tier roster ---------------------------------------------------------------------------


def _current_tier(page, account_no: str) -> str:
    return (
        page.locator("table.current-tiers tr")
        .filter(has_text=account_no)
        .locator("td.tier")
        .inner_text()
    )


def test_staff_cannot_remove_a_tier_without_saying_so(open_page, live):
    _, facts = live
    number = facts["accounts"][11]  # a Streamline account no other test here uses
    page = open_page("regional_staff")
    page.goto(f"/region/tiers?accounts={number}")
    assert page.input_value("#pick-tier") == ""  # no tier is never where it starts
    assert _current_tier(page, number) == "Streamline"
    page.fill("#pick-effective_from", bangkok_today().isoformat())
    _submit(page)  # nothing chosen: refused
    assert page.locator("#pick-tier-error").is_visible()
    page.select_option("#pick-tier", "NONE")
    _submit(page)  # "no tier" without the tick: refused
    assert page.locator("#pick-confirm_removal-error").is_visible()
    assert _current_tier(page, number) == "Streamline"
    page.check("#pick-confirm_removal")
    _submit(page)
    assert "ไม่มีกลุ่มลูกค้าตั้งแต่" in page.locator(".flash-success").inner_text()
    assert _current_tier(page, number) == "ไม่มีกลุ่ม"


def test_a_re_tier_says_how_many_accounts_changed(open_page, live):
    _, facts = live
    number = facts["accounts"][10]
    page = open_page("regional_staff", locale="en")
    page.goto(f"/region/tiers?accounts={number}")
    page.select_option("#pick-tier", "STAR")
    page.fill("#pick-effective_from", bangkok_today().isoformat())
    _submit(page)
    assert "1 account re-tiered to Star" in page.locator(".flash-success").inner_text()
    assert _current_tier(page, number) == "Star"
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        shoot(page, f"forms-tiers-en-{width}")


# --- the log and plan forms -------------------------------------------------------------------


def test_a_phone_call_is_never_saved_as_a_visit_by_default(open_page, live):
    _, facts = live
    page = open_page("kamr")
    page.goto("/activities/new")
    assert page.input_value("#type") == "" and page.input_value("#channel") == ""
    page.fill("#account", facts["accounts"][9])
    page.select_option("#type", "COM")
    assert page.input_value("#channel") == ""  # a communication implies no channel
    _submit(page)
    assert page.locator("#channel-error").is_visible()  # the user must say it was a call
    page.select_option("#channel", "phone")
    _submit(page)
    assert page.locator(".flash-success").count() == 1
    page.goto(f"/accounts/{facts['accounts'][9]}")
    assert "· โทรศัพท์" in page.locator("main").inner_text()  # the timeline: a phone call


def test_choosing_a_site_type_presets_its_channel_until_the_user_picks_one(open_page):
    page = open_page("kamr")
    page.goto("/activities/new")
    page.select_option("#type", "FMS")
    assert page.input_value("#channel") == "visit"
    page.select_option("#type", "COM")
    assert page.input_value("#channel") == ""  # the preset follows the type...
    page.select_option("#channel", "email")
    page.select_option("#type", "FMS")
    assert page.input_value("#channel") == "email"  # ...but never overrides a choice


def test_the_plan_form_makes_the_user_choose_the_type(open_page, live):
    _, facts = live
    page = open_page("kamr")
    page.goto(f"/accounts/{facts['accounts'][8]}")
    assert page.input_value("#type") == "" and page.input_value("#channel") == ""


def test_logging_a_done_activity_offers_to_mark_its_plan_done(open_page, live):
    _, facts = live
    number = facts["accounts"][7]
    page = open_page("kamr")
    page.goto(f"/accounts/{number}")
    page.select_option("#type", "RBA")
    page.select_option("#channel", "meeting")
    page.fill("#activity_date", (bangkok_today() + timedelta(days=5)).isoformat())
    _submit(page, "#planned form button[type=submit]")
    assert page.locator(".flash-success").count() == 1
    assert page.locator("#planned > p").filter(has_text="RBA").count() == 1

    page.goto(f"/activities/new?account={number}")
    page.select_option("#type", "RBA")
    page.select_option("#channel", "meeting")
    _submit(page)
    question = page.locator("#plan-question")
    assert question.is_visible()  # asked first; nothing saved yet
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        shoot(page, f"forms-plan-question-th-{width}")
    page.locator("#plan-question input[type=radio]").first.check()
    _submit(page)
    assert page.locator(".flash-success").count() == 1
    page.goto(f"/accounts/{number}")
    assert page.locator("#planned > p").filter(has_text="RBA").count() == 0  # the plan is done


def test_an_executive_is_offered_only_executive_visits(open_page):
    page = open_page("executive")
    page.goto("/activities/new")
    values = page.eval_on_selector_all("#type option", "options => options.map(o => o.value)")
    assert values == ["EXV"] and page.input_value("#type") == "EXV"


# --- users -------------------------------------------------------------------------------------


def test_a_user_the_admin_adds_on_the_page_can_sign_in(open_page):
    page = open_page("admin")
    page.goto("/admin/users")
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        shoot(page, f"forms-users-th-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.fill("#username", "newkamr")
    page.fill("#full_name", "สมใจ ใหม่")
    page.select_option("#role", "kamr")
    page.fill("#office_code", "CBI")
    page.fill("#password", "first-sign-in-2569")
    page.fill("#confirm", "first-sign-in-2569")
    _submit(page, "main section.panel form button[type=submit]")
    assert page.locator(".flash-success").count() == 1

    newcomer = open_page()
    newcomer.goto("/login")
    newcomer.fill("#username", "newkamr")
    newcomer.fill("#password", "first-sign-in-2569")
    _submit(newcomer, "main button[type=submit]")
    assert newcomer.url.endswith("/due")


def test_the_admins_own_row_offers_no_deactivate(open_page, live):
    _, facts = live
    page = open_page("admin")
    page.goto("/admin/users?q=admin.r2")
    row = page.locator("table tbody tr").filter(has_text=facts["users"]["admin"])
    assert row.locator("button").count() == 0
    page.goto(f"/admin/users?q={facts['users']['kamr']}")
    assert page.locator("table tbody tr button").count() == 1


# --- reports and wording -----------------------------------------------------------------------


def test_targets_edited_in_several_rows_are_all_saved_by_one_button(open_page):
    year = bangkok_today().year + 3  # a year of its own: the other tests read this year's targets
    page = open_page("regional_staff")
    page.goto(f"/region/targets?year={year}")
    # The rules, quotas and populations are one form (the complaint limits have their own).
    for field in ("#RBA-STREAMLINE-target_pct", "#office_manager-quota", "#STAR-planned"):
        assert page.locator(f"#targets-form {field}").count() == 1
    page.fill("#RBA-STREAMLINE-target_pct", "55")
    page.fill("#office_manager-quota", "4")
    page.fill("#STAR-planned", "120")
    _submit(page, "#targets-form button[type=submit]")
    assert page.input_value("#RBA-STREAMLINE-target_pct") in ("55", "55.00")
    assert (
        page.input_value("#office_manager-quota") == "4"
        and page.input_value("#STAR-planned") == "120"
    )
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        shoot(page, f"forms-targets-th-{width}")


def test_in_an_offices_view_the_region_directors_row_says_it_counts_that_office(open_page):
    page = open_page("regional_staff")
    page.goto("/office/executive-visits?office=CBI")
    section = page.locator("section.panel").filter(has=page.locator("h2", has_text="ผู้อำนวยการเขต"))
    label = section.locator("tbody th").first.inner_text()
    assert "CBI" in label and "ทั้งเขต" not in label


def test_english_counts_of_one_read_singular(open_page, live):
    _, facts = live
    page = open_page("kamr")
    page.goto(f"/activities/new?account={facts['accounts'][6]}")
    page.select_option("#type", "PLN")
    page.select_option("#channel", "meeting")
    _submit(page)
    english = open_page("regional_staff", locale="en")
    english.goto("/region/cr2")
    text = english.locator("table.cr2:not(#plan2)").inner_text()
    assert "1 activity, 1 account" in text
    assert not re.search(r"\b1 (activities|accounts|units)\b", text)
    for width in (1280, 375):
        english.set_viewport_size({"width": width, "height": 900})
        shoot(english, f"forms-cr2-en-{width}")


def test_the_cr2_page_titles_plan_1_as_the_downloads_do(open_page):
    page = open_page("executive")
    page.goto("/region/cr2")
    assert page.locator("table.cr2:not(#plan2) caption").inner_text().strip() == PLAN_TITLE


def test_the_monthly_summary_opens_on_the_last_complete_month(open_page):
    page = open_page("office_manager")
    page.goto("/region/monthly")
    assert page.input_value("#month") == month_key(*last_complete_month(bangkok_today()))


def test_tier_names_in_dense_tables_are_not_small_bold(open_page):
    page = open_page("office_manager")
    page.goto("/office/coverage")
    style = page.eval_on_selector(
        "table.coverage .tier",
        """cell => {
        const s = getComputedStyle(cell); return [parseFloat(s.fontSize), parseInt(s.fontWeight)]; }""",
    )
    size, weight = style
    assert size >= 15 and weight <= 600
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        shoot(page, f"forms-coverage-th-{width}")
