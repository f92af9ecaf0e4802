"""The navigation bar: the pages each role works with, in the order they use them."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from kamcrm.org.access import STAFF, rule_for
from kamcrm.org.models import ROLES


@dataclass(frozen=True)
class NavItem:
    """A link in the navigation bar."""

    endpoint: str
    label: str
    roles: tuple[str, ...]


#: Every page in the bar, with the roles it is meant for; a link shows only when the
#: endpoint's access rule also lets the user in.
NAV_ITEMS = (
    NavItem("kamr.due", _l("Due list"), ("kamr", "office_manager")),
    NavItem("kamr.accounts", _l("Accounts"), ROLES),
    NavItem(
        "complaint_pages.complaint_list",
        _l("Complaints"),
        ("kamr", "office_manager", "executive") + STAFF,
    ),
    NavItem(
        "voc_pages.register_page",
        _l("Customer's voice"),
        ("kamr", "office_manager", "executive") + STAFF,
    ),
    NavItem(
        "prevention_pages.overview", _l("Prevention plans"), ("office_manager", "executive") + STAFF
    ),
    NavItem("office.coverage", _l("Coverage"), ("office_manager", "executive") + STAFF),
    NavItem("office.kamrs", _l("By KAMR"), ("office_manager", "executive") + STAFF),
    NavItem(
        "office.executive_visits", _l("Executive visits"), ("office_manager", "executive") + STAFF
    ),
    NavItem("office.late_entries", _l("Late entries"), ("office_manager", "executive") + STAFF),
    NavItem("region.dashboard", _l("Region"), ("executive",) + STAFF),
    NavItem("region.cr2", _l("CR2 report"), ("office_manager", "executive") + STAFF),
    NavItem("surveys.cr1", _l("CR1 report"), ("office_manager", "executive") + STAFF),
    NavItem("surveys.call_list", _l("Call list"), ("office_manager",) + STAFF),
    NavItem("region.monthly", _l("Monthly summary"), ("executive",) + STAFF),
    NavItem(
        "complaint_return.complaint_return",
        _l("Complaint return"),
        ("office_manager", "executive") + STAFF,
    ),
    NavItem("prospect_pages.lists", _l("Prospect lists"), ("office_manager", "executive") + STAFF),
    NavItem("region.targets", _l("Targets"), STAFF),
    NavItem("region.tiers", _l("Tier roster"), STAFF),
    NavItem("region.quarters", _l("Quarter close"), STAFF),
    NavItem("region.audit", _l("Audit log"), STAFF),
    NavItem("admin.users", _l("Users"), ("admin",)),
)


def navigation(user) -> list[dict]:
    """Return the links ``user`` sees, marking the current page."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    current = request.endpoint
    items = []
    for item in NAV_ITEMS:
        if user.role not in item.roles:
            continue
        rule = rule_for(current_app, item.endpoint, "GET")
        if rule is None or not rule.allows(user):
            continue
        try:
            href = url_for(item.endpoint)
        except BuildError:  # a page not registered in this app
            continue
        items.append({"href": href, "label": item.label, "current": item.endpoint == current})
    return items


def optional_url(endpoint: str, **values) -> str | None:
    """Return the URL of ``endpoint`` or None when no such page is registered."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None
