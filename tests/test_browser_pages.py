"""Browser tests: the pages as people use them, in Debian's Chromium driven by Playwright.

The server is its own app with its own database (a SQLite file, or a fresh PostgreSQL
database when ``KAMCRM_TEST_DATABASE_URL`` is set), served by werkzeug on 127.0.0.1 in a
thread, with CSRF on as in production. It does not share conftest's per-test rollback
connection: the server's request threads need connections of their own, and what a test
saves through the browser must really be committed for the next page to show it. The data
is built once for the module; tests that change it use accounts of their own.

Screenshots of each main page at 1280 and 375 px go to test-artifacts/screens/.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from kamcrm import create_app
from kamcrm.extensions import db
from kamcrm.periods import bangkok_today
from kamcrm.throwaway import database_for_tests

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parent.parent
SCREENS = ROOT / "test-artifacts" / "screens"
PASSWORD = "kamcrm-browser-test-1"

pytestmark = [pytest.mark.browser]


# --- the server and its data ------------------------------------------------------------------


def _own_database_url(tmp_path: Path):
    return database_for_tests(tmp_path / "browser.sqlite", "kamcrm_browser_")


def _load_region(today: date) -> dict:
    """Build a small region: two offices, a user of every role, tiered accounts, activities."""
    from kamcrm.org.auth import set_password
    from tests.factories import Factories

    make = Factories()
    region = make.region(name="การไฟฟ้าส่วนภูมิภาค เขต 2 (ภาคกลาง)", name_en="PEA Region 2")
    chonburi = make.office(code="CBI", name="กฟฟ. ชลบุรี", name_en="PEA Chonburi", parent=region)
    make.branch(chonburi, code="CBI-B1", name="กฟส. บ้านบึง")
    rayong = make.office(
        code="RYG", name="กฟฟ. ระยอง", name_en="PEA Rayong", office_class="2", parent=region
    )
    users = {
        "kamr": make.user("kamr", chonburi, "kamr.cbi", full_name="สมศรี ใจดี"),
        "office_manager": make.user(
            "office_manager",
            chonburi,
            "manager.cbi",
            full_name="ประเสริฐ มั่นคง",
            exec_role="office_manager",
        ),
        "executive": make.user(
            "executive", region, "exec.r2", full_name="วิชัย ผู้ช่วย", exec_role="assistant_director"
        ),
        "regional_staff": make.user("regional_staff", region, "staff.r2", full_name="มาลี กบล."),
        "admin": make.user("admin", region, "admin.r2", full_name="ผู้ดูแล ระบบ"),
    }
    for user in users.values():
        set_password(user, PASSWORD, None)
    kamr = users["kamr"]
    start = date(today.year, 1, 1)
    tiers = ["STRATEGIC"] * 4 + ["STAR"] * 3 + ["STATUS"] * 3 + ["STREAMLINE"] * 2
    accounts = []
    for n, tier in enumerate(tiers, start=1):
        accounts.append(
            make.account(
                office=chonburi,
                tier=tier,
                tier_from=date(today.year - 1, 1, 1),
                account_no=f"0200{n:08d}",
                name=f"บริษัท อุตสาหกรรมตะวันออก {n} จำกัด",
                kamr=kamr,
                sector="ยานยนต์" if n % 2 else "ปิโตรเคมี",
                industrial_estate="นิคมอมตะซิตี้" if n % 3 else None,
                transformer_kva=1000 + 250 * n,
            )
        )
    for n, tier in enumerate(["STRATEGIC", "STAR", "STATUS"], start=1):
        make.account(
            office=rayong, tier=tier, account_no=f"0300{n:08d}", name=f"บริษัท ระยองเคมี {n} จำกัด"
        )
    # Half the Strategic accounts have their FMS; everybody had a COM early in the year.
    for account in accounts[:2]:
        make.activity(
            account, type="FMS", activity_date=start + timedelta(days=20), performed_by=kamr
        )
    for account in accounts[:8]:
        make.activity(
            account,
            type="COM",
            activity_date=max(start, today - timedelta(days=3)),
            performed_by=kamr,
        )
    make.contact(
        accounts[0],
        name="คุณวิไล รักงาน",
        position="ผู้จัดการโรงงาน",
        phone="038-123456",
        email="wilai@example.com",
    )
    db.session.commit()
    return {
        "users": {role: user.username for role, user in users.items()},
        "accounts": [a.account_no for a in accounts],
        "names": [a.name for a in accounts],
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Serve kamcrm with the module's region; yield (base URL, facts about the data)."""
    tmp = tmp_path_factory.mktemp("browser")
    url, drop = _own_database_url(tmp)
    app = create_app(
        {
            "SECRET_KEY": "browser-test-secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": True,
            "RATELIMIT_ENABLED": False,
            "OUTBOX_DIR": str(tmp / "outbox"),
        }
    )
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        facts = _load_region(bangkok_today())
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="kamcrm-live", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", facts
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        if drop is not None:
            drop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, which `make test` installs (deploy/system-packages): its absence is a
    broken setup, so it fails the tests instead of skipping them."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `make test` (as root it installs it) "
            "or `sudo apt-get install -y chromium`",
            pytrace=False,
        )

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser, live):
    """Return ``open_page(role=None, width=1280)``: a fresh tab, signed in through the login form.

    ``bypass_csp=True`` lets a test inject a script tag of its own (the accessibility engine);
    the pages' own scripts run under the Content-Security-Policy in every other tab."""
    base, facts = live
    contexts = []

    def open_as(
        role: str | None = None,
        width: int = 1280,
        locale: str | None = None,
        bypass_csp: bool = False,
    ):
        context = browser.new_context(
            viewport={"width": width, "height": 900},
            base_url=base,
            accept_downloads=True,
            bypass_csp=bypass_csp,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        if locale:
            context.add_cookies([{"name": "lang", "value": locale, "url": base}])
        if role:
            page.goto("/login")
            page.fill("#username", facts["users"][role])
            page.fill("#password", PASSWORD)
            with page.expect_navigation():
                page.click("main button[type=submit]")
        return page

    yield open_as
    for context in contexts:
        context.close()


def shoot(page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def nav_links(page) -> list[str]:
    return page.eval_on_selector_all(
        "nav.main-nav a", "links => links.map(a => a.getAttribute('href'))"
    )


# --- roles ------------------------------------------------------------------------------------

ROLE_PAGES = {
    "kamr": (
        {"/due", "/accounts"},
        {"/region/targets", "/region/audit", "/admin/users"},
        "/region/targets",
    ),
    "office_manager": (
        {"/office/coverage", "/office/kamrs", "/region/cr2"},
        {"/region/targets", "/admin/users"},
        "/region/audit",
    ),
    "executive": (
        {"/region/", "/region/cr2"},
        {"/region/targets", "/admin/users"},
        "/region/tiers",
    ),
    "regional_staff": (
        {"/region/", "/region/targets", "/region/tiers", "/region/audit", "/region/quarters"},
        {"/admin/users"},
        "/admin/users",
    ),
    "admin": ({"/region/", "/admin/users", "/region/audit"}, set(), None),
}


@pytest.mark.parametrize("role", sorted(ROLE_PAGES))
def test_each_role_signs_in_and_sees_only_its_pages(open_page, role):
    shown, hidden, forbidden = ROLE_PAGES[role]
    page = open_page(role)
    links = set(nav_links(page))
    assert shown <= links and not hidden & links
    if forbidden:
        response = page.goto(forbidden)
        assert response.status == 403


# --- logging an activity ----------------------------------------------------------------------


def _coverage_cell(page, type_: str, tier: str) -> str:
    row = (
        page.locator("table.coverage tbody tr")
        .filter(has_text=type_)
        .filter(has=page.locator("th.tier", has_text=tier.title()))
    )
    return row.first.locator("td strong").last.inner_text()


def test_logging_an_activity_changes_the_due_list_and_the_coverage(open_page, live):
    _, facts = live
    manager = open_page("office_manager")
    manager.goto("/office/coverage")
    before = _coverage_cell(manager, "FMS", "STRATEGIC")

    page = open_page("kamr")
    target_no, target_name = facts["accounts"][2], facts["names"][2]
    page.goto("/due")
    due_fms = page.locator("table.due tbody tr").filter(has_text=target_no).filter(has_text="FMS")
    assert due_fms.count() == 1
    with page.expect_navigation():
        page.click("a.quick-log")  # click 1: from any page
    page.fill("#account", target_name.split()[1] + " 3 ")
    page.select_option("#type", "FMS")
    page.fill("#summary", "ตรวจวัดอุณหภูมิหม้อแปลงด้วยกล้องถ่ายภาพความร้อน")
    with page.expect_navigation():
        page.click("main button[type=submit]")  # click 2: saved
    assert page.locator(".flash-success").count() == 1
    assert page.url.endswith("/due") or page.goto("/due")
    assert (
        page.locator("table.due tbody tr").filter(has_text=target_no).filter(has_text="FMS").count()
        == 0
    )

    manager.goto("/office/coverage")
    assert _coverage_cell(manager, "FMS", "STRATEGIC") != before


def test_a_refused_form_keeps_what_was_typed(open_page, live):
    _, facts = live
    page = open_page("kamr")
    page.goto("/activities/new")
    tomorrow = (bangkok_today() + timedelta(days=2)).isoformat()
    page.fill("#account", facts["accounts"][5])
    page.fill("#activity_date", tomorrow)
    page.fill("#summary", "ข้อความที่ต้องไม่หาย")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.locator("#activity_date-error").is_visible()
    assert page.input_value("#summary") == "ข้อความที่ต้องไม่หาย"
    assert page.input_value("#account") == facts["accounts"][5]
    assert page.get_attribute("#activity_date", "aria-invalid") == "true"


def test_the_account_field_suggests_accounts_as_you_type(open_page):
    page = open_page("kamr")
    page.goto("/activities/new")
    page.type("#account", "ตะวันออก", delay=20)
    page.locator("#account-options option").first.wait_for(state="attached")
    assert page.locator("#account-options option").count() >= 2


def test_the_log_form_fits_a_phone(open_page):
    page = open_page("kamr", width=375)
    page.goto("/activities/new")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator("main button[type=submit]").is_visible()


# --- reports, language, keyboard -------------------------------------------------------------


@pytest.mark.parametrize("fmt, magic", [("xlsx", b"PK"), ("pdf", b"%PDF"), ("json", b"{")])
def test_the_cr2_report_downloads(open_page, fmt, magic):
    page = open_page("regional_staff")
    page.goto("/region/cr2")
    with page.expect_download() as download:
        page.click(f"a[href*='cr2.{fmt}']")
    path = download.value.path()
    assert Path(path).read_bytes()[: len(magic)] == magic
    assert download.value.suggested_filename.endswith(f".{fmt}")


def test_the_language_switch_is_one_click_away(open_page):
    page = open_page("kamr")
    page.goto("/accounts")
    assert page.get_attribute("html", "lang") == "th"
    assert page.locator("h1").inner_text() == "ลูกค้าของฉัน"
    with page.expect_navigation():
        page.click("a[hreflang=en]")
    assert (
        page.get_attribute("html", "lang") == "en"
        and page.locator("h1").inner_text() == "My accounts"
    )
    with page.expect_navigation():
        page.click("a[hreflang=th]")
    assert page.locator("h1").inner_text() == "ลูกค้าของฉัน"


def test_thai_pages_show_be_years(open_page):
    page = open_page("office_manager")
    page.goto("/office/coverage")
    be = bangkok_today().year + 543
    assert f"ไตรมาสที่ 1/{be}" in page.content()


def test_the_keyboard_reaches_a_visible_skip_link_first(open_page):
    page = open_page("kamr")
    page.goto("/accounts")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    box = page.locator(".skip-link").bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


# --- screenshots ------------------------------------------------------------------------------

SCREENS_BY_ROLE = {
    "kamr": ["/due", "/activities/new", "/accounts", "/accounts/{account}"],
    "office_manager": [
        "/office/coverage",
        "/office/coverage/accounts?type=FMS&tier=STRATEGIC&column=Q1",
        "/office/kamrs",
        "/office/executive-visits",
        "/office/late-entries",
    ],
    "regional_staff": [
        "/region/",
        "/region/cr2",
        "/region/monthly",
        "/region/targets",
        "/region/tiers",
        "/region/quarters",
        "/region/audit",
    ],
    "admin": ["/admin/users"],
}


@pytest.mark.parametrize("width", [1280, 375])
@pytest.mark.parametrize("role", sorted(SCREENS_BY_ROLE))
def test_screenshots_of_the_main_pages(open_page, live, role, width):
    _, facts = live
    page = open_page(role, width=width)
    for path in SCREENS_BY_ROLE[role]:
        response = page.goto(path.format(account=facts["accounts"][0]))
        assert response.status == 200, path
        # Wide tables and charts scroll inside their own box; the page itself never slides sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
        name = re.sub(r"[^a-z0-9]+", "-", path.split("?")[0].lower()).strip("-") or "home"
        shoot(page, f"{role}-{name}-{width}")
    page = open_page(None, width=width)
    page.goto("/login")
    shoot(page, f"login-{width}")
