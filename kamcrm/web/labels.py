"""Names of the domain's codes as people read them, in the page's language."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from kamcrm.errors import Message

ACTIVITY_TYPE_LABELS = {
    "FMS": _l("FMS – free maintenance service"),
    "RBA": _l("RBA – relationship building"),
    "COM": _l("COM – communication"),
    "EXV": _l("EXV – executive visit"),
    "SEM": _l("SEM – seminar or customer event"),
    "PLN": _l("PLN – planning participation"),
    "BOI": _l("BOI – new-customer support"),
    "BIZ": _l("BIZ – business visit"),
}
ROLE_LABELS = {
    "kamr": _l("Account manager (KAMR)"),
    "office_manager": _l("Office manager"),
    "executive": _l("Executive"),
    "regional_staff": _l("Regional staff"),
    "admin": _l("Administrator"),
}
STATUS_LABELS = {"done": _l("Done"), "planned": _l("Planned"), "cancelled": _l("Cancelled")}
CHANNEL_LABELS = {
    "visit": _l("Visit"),
    "phone": _l("Phone"),
    "email": _l("E-mail"),
    "line": _l("LINE"),
    "letter": _l("Letter"),
    "meeting": _l("Meeting"),
    "online": _l("Online meeting"),
    "other": _l("Other"),
}
EXEC_ROLE_LABELS = {
    "region_director": _l("Region director"),
    "assistant_director": _l("Assistant director"),
    "office_manager": _l("Office manager"),
}
VOC_KIND_LABELS = {
    "feedback": _l("Feedback"),
    "complaint": _l("Complaint"),
    "request": _l("Request"),
}
BIZ_OUTCOME_LABELS = {
    "interested": _l("Interested"),
    "quoted": _l("Quoted"),
    "won": _l("Won"),
    "declined": _l("Declined"),
}
PROSPECT_LIST_LABELS = {
    "HV1": _l("High Value 1 (growth and utilisation)"),
    "HV2": _l("High Value 2 (utilisation)"),
    "MT1": _l("Maintenance 1 (recent maintenance job)"),
    "MT2": _l("Maintenance 2 (large transformer, never maintained)"),
    "INCOMPLETE": _l("Incomplete consumption data"),
}
PERIOD_LABELS = {"year": _l("per year"), "half": _l("per half-year"), "quarter": _l("per quarter")}
TIER_LABELS = {
    "STRATEGIC": "Strategic",
    "STAR": "Star",
    "STATUS": "Status",
    "STREAMLINE": "Streamline",
}
TOKEN_STATE_LABELS = {"active": _l("active"), "expired": _l("expired"), "revoked": _l("revoked")}
OFFICE_CLASS_LABELS = {
    "region": _l("Regional office"),
    "1": _l("Class 1 office"),
    "2": _l("Class 2 office"),
    "3": _l("Class 3 office"),
    "branch": _l("Branch office"),
}

COMPLAINT_CATEGORY_LABELS = {
    "POWER_QUALITY": _l("Power quality"),
    "SERVICE_QUALITY": _l("Service quality"),
    "METER_BILLING": _l("Meter reading and billing"),
    "DISCONNECTION": _l("Disconnection and reconnection"),
    "NETWORK": _l("Electricity network"),
    "OTHER": _l("Other matters"),
}
COMPLAINT_CHANNEL_LABELS = {
    "phone": _l("Phone"),
    "call_centre": _l("Call centre"),
    "walk_in": _l("Walk-in"),
    "letter": _l("Letter"),
    "email": _l("E-mail"),
    "line": _l("LINE"),
    "chat": _l("Chat (IA/IR)"),
    "web": _l("Web"),
    "other": _l("Other"),
}
EXCLUSION_LABELS = {
    "misconduct": _l("Misconduct"),
    "duplicate": _l("Duplicate"),
    "withdrawn": _l("Withdrawn"),
}


AUDIT_ACTION_LABELS = {
    "create": _l("created"),
    "update": _l("changed"),
    "delete": _l("deleted"),
    "close": _l("closed"),
    "reopen": _l("reopened"),
    "revoke": _l("revoked"),
    "login": _l("signed in"),
}

#: The kinds of record the audit log holds (``AuditEntry.entity``: every ``record(...)`` call,
#: the importers and the demo seed), as the audit page names them.
AUDIT_ENTITY_LABELS = {
    "accounts": _l("Account"),
    "activities": _l("Activity"),
    "api_tokens": _l("API token"),
    "contact_persons": _l("Contact person"),
    "executive_visit_quotas": _l("Executive-visit quota"),
    "follow_ups": _l("Follow-up"),
    "frequency_rules": _l("Frequency rule"),
    "imports": _l("File import"),
    "offices": _l("Office"),
    "planned_populations": _l("Planned population"),
    "quarter_closes": _l("Quarter close"),
    "seed": _l("Demo data"),
    "tier_assignments": _l("Tier assignment"),
    "users": _l("User"),
    "year_targets": _l("Year targets"),
}

#: The fields the audit log keeps (the records' file columns and snapshot keys), as the
#: audit page names them. A field missing here is shown by its name.
AUDIT_FIELD_LABELS = {
    # users
    "username": _l("Username"),
    "full_name": _l("Full name"),
    "role": _l("Role"),
    "office_code": _l("Office"),
    "exec_role": _l("Executive role"),
    "email": _l("E-mail"),
    "active": _l("Active"),
    "locale": _l("Language"),
    "password": _l("Password"),
    "password_changed_at": _l("Password changed"),
    # offices
    "code": _l("Office code"),
    "name": _l("Name"),
    "name_en": _l("English name"),
    "office_class": _l("Office class"),
    "parent_code": _l("Parent office"),
    # accounts and tiers
    "account_no": _l("Account no."),
    "tier": _l("Tier"),
    "tier_effective_from": _l("Effective from"),
    "effective_from": _l("Effective from"),
    "kamr_username": _l("KAMR"),
    "sector": _l("Sector"),
    "industrial_estate": _l("Industrial estate"),
    "transformer_kva": _l("Transformer capacity"),
    "monthly_revenue_thb": _l("Average monthly revenue"),
    "boi": _l("BOI-promoted"),
    "spp_area": _l("SPP area"),
    "opened_on": _l("Opened"),
    "closed_on": _l("Closed on"),
    "notes": _l("Notes"),
    # contact persons
    "position": _l("Position"),
    "phone": _l("Phone"),
    "line_id": _l("LINE ID"),
    # activities and follow-ups
    "type": _l("Type"),
    "activity_date": _l("Date"),
    "performed_by": _l("Performed by"),
    "status": _l("Status"),
    "channel": _l("Channel"),
    "summary": _l("Summary"),
    "ref": _l("Reference"),
    "recorded_at": _l("Recorded"),
    "voc_kind": _l("Customer's voice"),
    "voc_category": _l("Voice category"),
    "voc_text": _l("What the customer said"),
    "is_late": _l("Late"),
    "activity_id": _l("Activity"),
    "action": _l("Follow-up action"),
    "due_on": _l("Follow-up due"),
    "done_on": _l("Done on"),
    "assignee": _l("Assignee"),
    # targets
    "year": _l("Year"),
    "item": _l("Item"),
    "period": _l("Period"),
    "min_count": _l("At least"),
    "target_pct": _l("Target %"),
    "rules": _l("Frequency rules"),
    "executive_visit_quotas": _l("Executive-visit quotas"),
    "planned_populations": _l("Planned populations"),
    "quota_per_quarter": _l("Accounts per quarter"),
    "planned": _l("Planned accounts"),
    # quarter close
    "closed_at": _l("Closed at"),
    "reopened_at": _l("Reopened at"),
    "early": _l("Closed before the due date"),
    "scopes": _l("CR2 kept for"),
    # API tokens
    "user": _l("User"),
    "prefix": _l("Starts with"),
    "expires_at": _l("Expires"),
    "revoked_at": _l("Revoked at"),
    # imports and the demo seed
    "kind": _l("File type"),
    "file": _l("File"),
    "bytes": _l("Size (bytes)"),
    "rows": _l("Rows"),
    "created": _l("New"),
    "updated": _l("Changed"),
    "unchanged": _l("Unchanged"),
    "today": _l("Today"),
    "offices": _l("Offices"),
    "users": _l("Users"),
    "quarter_closes": _l("Quarter closes"),
}


#: Texts of the sign-in pages and the security layer (kamcrm/org), shown through
#: ``translate`` in templates, so that they too read in the page's language.
SIGN_IN_TEXTS = (
    _l("Username"),
    _l("Password"),
    _l("Current password"),
    _l("New password"),
    _l("New password again"),
    _l("Name"),
    _l("Expires after (days)"),
    _l("You are signed out."),
    _l("Your password is changed."),
    _l("Please sign in to see this page."),
    _l("Your session ended after a period of inactivity; please sign in again."),
    _l("Your session has ended; please sign in again."),
    _l("The password must not be the username."),
    _l("The password must not be only spaces."),
    _l("The current password is wrong."),
    _l("The two new passwords differ."),
    _l("Choose a password different from the current one."),
    _l("No such account."),
    _l("This field is required."),
)


def translate(text) -> str:
    """Return ``text`` in the page's language when the catalogue has it, else unchanged.

    For messages made elsewhere (operations' errors, flashes, form labels of the sign-in
    pages). A ``kamcrm.errors.Message`` is looked up by its id and filled with its values
    (dates shown the page's way, phrases translated too); plain text gets no % formatting.
    A flash is kept in the session as plain text, so translate a ``Message`` before
    flashing it.
    """
    from flask_babel import get_translations

    if not isinstance(text, str) or not text:
        return text
    if not isinstance(text, Message):
        return get_translations().ugettext(text)
    translated = get_translations().ugettext(text.msgid)
    if not text.params:
        return translated
    try:
        return translated % {name: _shown(value) for name, value in text.params.items()}
    except (KeyError, ValueError, TypeError):
        # A translation whose placeholders do not match its id (tests check they do):
        # the English text rather than an error page.
        return str(text)


def _shown(value):
    """Return a message's value as the page shows it."""
    from kamcrm.periods import QuarterName
    from kamcrm.web.i18n import format_day, format_moment, format_quarter

    if isinstance(value, Message):
        return translate(value)
    if isinstance(value, QuarterName):
        return format_quarter(value.year, value.quarter)
    if isinstance(value, datetime):
        return format_moment(value)
    if isinstance(value, date):
        return format_day(value)
    return value


def label(mapping: dict, code) -> str:
    """Return the label of ``code`` in ``mapping``, or the code itself."""
    if code is None:
        return ""
    return str(mapping.get(code, code))


TEMPLATE_LABELS = {
    "type_label": lambda code: label(ACTIVITY_TYPE_LABELS, code),
    "status_label": lambda code: label(STATUS_LABELS, code),
    "channel_label": lambda code: label(CHANNEL_LABELS, code),
    "exec_role_label": lambda code: label(EXEC_ROLE_LABELS, code),
    "voc_label": lambda code: label(VOC_KIND_LABELS, code),
    "outcome_label": lambda code: label(BIZ_OUTCOME_LABELS, code),
    "prospect_list_label": lambda code: label(PROSPECT_LIST_LABELS, code),
    "period_label": lambda code: label(PERIOD_LABELS, code),
    "tier_label": lambda code: label(TIER_LABELS, code) if code else "–",
    "office_class_label": lambda code: label(OFFICE_CLASS_LABELS, code),
    "audit_action_label": lambda code: label(AUDIT_ACTION_LABELS, code),
    "token_state_label": lambda code: label(TOKEN_STATE_LABELS, code),
    "complaint_category_label": lambda code: label(COMPLAINT_CATEGORY_LABELS, code),
    "complaint_channel_label": lambda code: label(COMPLAINT_CHANNEL_LABELS, code),
    "exclusion_label": lambda code: label(EXCLUSION_LABELS, code),
    "translate": translate,
}
