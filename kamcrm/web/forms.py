"""Page forms (Flask-WTF: every POST carries a CSRF token). Field checks here are only about
shape; the rules live in the domain operations, whose errors are shown beside the fields."""

from __future__ import annotations

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from kamcrm import limits
from kamcrm.accounts.models import TIERS
from kamcrm.activities.models import ACTIVITY_TYPES, BIZ_OUTCOMES, CHANNELS, VOC_KINDS
from kamcrm.complaints.models import CHANNELS as COMPLAINT_CHANNELS
from kamcrm.complaints.models import EXCLUSION_REASONS
from kamcrm.complaints.targets import DEFAULT_CATEGORIES
from kamcrm.org.models import EXEC_ROLES, ROLES
from kamcrm.periods import FIRST_ACCOUNT_YEAR, FIRST_YEAR, LAST_YEAR, PERIOD_KINDS, bangkok_today
from kamcrm.web.labels import (
    ACTIVITY_TYPE_LABELS,
    BIZ_OUTCOME_LABELS,
    CHANNEL_LABELS,
    COMPLAINT_CATEGORY_LABELS,
    COMPLAINT_CHANNEL_LABELS,
    EXCLUSION_LABELS,
    EXEC_ROLE_LABELS,
    PERIOD_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    TIER_LABELS,
    VOC_KIND_LABELS,
)

REQUIRED = _l("This field is required.")
#: The largest value a business visit's quote may give (THB; NUMERIC(16, 2)).
MAX_QUOTED_THB = 10**13

#: The WTForms messages these forms can show, listed so that extraction puts them in the
#: page catalogue (WTForms ships no Thai catalogue of its own).
WTFORMS_MESSAGES = (
    _l("Not a valid date value."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid choice."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("Field must be between %(min)d and %(max)d characters long."),
)


class _PageTranslations:
    """WTForms' messages from the page catalogue, in the page's language."""

    def gettext(self, string):
        return get_translations().ugettext(string)

    def ngettext(self, singular, plural, n):
        return get_translations().ungettext(singular, plural, n)


class PageForm(FlaskForm):
    """A page form: CSRF-protected, with WTForms' own messages translated."""

    class Meta:
        def get_translations(self, form):
            return _PageTranslations()


NOT_A_DATE = _l("Enter a date such as 2026-03-31.")

#: What the date pickers offer; the operations refuse anything outside whatever the picker did.
DATE_RANGE = {"min": f"{FIRST_YEAR}-01-01", "max": f"{LAST_YEAR}-12-31"}
ACCOUNT_DATE_RANGE = {"min": f"{FIRST_ACCOUNT_YEAR}-01-01", "max": f"{LAST_YEAR}-12-31"}


def _choices(codes, labels, blank=None) -> list[SelectChoice]:
    found = [SelectChoice(code, labels.get(code, code)) for code in codes]
    return ([SelectChoice("", blank)] if blank is not None else []) + found


#: The channel an activity type implies, preset when the type is chosen: a free
#: maintenance service and an executive visit happen on site. Other types say nothing.
IMPLIED_CHANNELS = {"FMS": "visit", "EXV": "visit"}


def activity_type_choices(types) -> list[SelectChoice]:
    """Return the choices of an activity-type field: ``types``, after a blank "choose" when
    there is more than one (a single allowed type is simply the one offered)."""
    blank = _l("— choose —") if len(types) > 1 else None
    return _choices(types, ACTIVITY_TYPE_LABELS, blank=blank)


class ActivityForm(PageForm):
    """Log one activity: the account, what was done and when; the rest is optional."""

    account = StringField(
        _l("Account (number or name)"),
        validators=[InputRequired(REQUIRED), Length(max=limits.ACCOUNT_NAME)],
    )
    #: No default type or channel: a default is a guess, and a wrong guess (a phone call
    #: saved as a visit) is saved silently. The view offers only the types the role may log.
    type = SelectField(
        _l("Activity"),
        choices=activity_type_choices(ACTIVITY_TYPES),
        default="",
        validators=[InputRequired(REQUIRED)],
    )
    activity_date = DateField(
        _l("Date"),
        validators=[InputRequired(REQUIRED)],
        default=bangkok_today,
        render_kw=DATE_RANGE,
    )
    status = SelectField(
        _l("Status"), choices=_choices(("done", "planned"), STATUS_LABELS), default="done"
    )
    channel = SelectField(
        _l("Channel"),
        choices=_choices(CHANNELS, CHANNEL_LABELS, blank=_l("— choose —")),
        default="",
        validators=[InputRequired(REQUIRED)],
    )
    exec_role = SelectField(
        _l("Counts for (executive visits)"),
        choices=_choices(EXEC_ROLES, EXEC_ROLE_LABELS, blank=_l("— not an executive visit —")),
        default="",
        validators=[Optional()],
    )
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=limits.SUMMARY)])
    voc_kind = SelectField(
        _l("Customer's voice"),
        choices=_choices(VOC_KINDS, VOC_KIND_LABELS, blank=_l("— none —")),
        default="",
        validators=[Optional()],
    )
    voc_category = StringField(
        _l("Voice category"), validators=[Optional(), Length(max=limits.VOC_CATEGORY)]
    )
    voc_text = TextAreaField(
        _l("What the customer said"), validators=[Optional(), Length(max=limits.VOC_TEXT)]
    )
    outcome = SelectField(
        _l("Outcome (business visits)"),
        choices=_choices(BIZ_OUTCOMES, BIZ_OUTCOME_LABELS, blank=_l("— none —")),
        default="",
        validators=[Optional()],
    )
    quoted_value_thb = DecimalField(
        _l("Quoted value (THB)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=MAX_QUOTED_THB)],
    )
    follow_up_action = StringField(
        _l("Follow-up action"), validators=[Optional(), Length(max=limits.FOLLOW_UP_ACTION)]
    )
    follow_up_due = DateField(_l("Follow-up due"), validators=[Optional()], render_kw=DATE_RANGE)
    reason = StringField(
        _l("Reason (closed quarter only)"), validators=[Optional(), Length(max=limits.REASON)]
    )
    #: The answer to "this account has a matching plan: mark it done?" (a plan's id, or
    #: ``new``); choices are set by the view when it asks.
    plan = RadioField(
        _l("A matching activity is planned"),
        choices=[],
        validate_choice=False,
        validators=[Optional()],
    )
    next = HiddenField()

    def operation_data(self, account_no: str) -> dict:
        """Return the activity row the operations take."""
        data = {
            "account_no": account_no,
            "type": self.type.data,
            "activity_date": self.activity_date.data.isoformat()
            if self.activity_date.data
            else None,
            "status": self.status.data,
            "channel": self.channel.data or None,
            "exec_role": (self.exec_role.data or None) if self.type.data == "EXV" else None,
            "summary": self.summary.data or None,
        }
        if self.voc_kind.data or self.voc_category.data or self.voc_text.data:
            data.update(
                voc_kind=self.voc_kind.data or None,
                voc_category=self.voc_category.data or None,
                voc_text=self.voc_text.data or None,
            )
        if self.type.data == "BIZ" and (
            self.outcome.data or self.quoted_value_thb.data is not None
        ):
            data.update(
                outcome=self.outcome.data or None,
                quoted_value_thb=None
                if self.quoted_value_thb.data is None
                else str(self.quoted_value_thb.data),
            )
        return data


class PlanVisitForm(PageForm):
    """Plan the next contact with an account (a planned activity)."""

    type = SelectField(
        _l("Activity"),
        choices=activity_type_choices(ACTIVITY_TYPES),
        default="",
        validators=[InputRequired(REQUIRED)],
    )
    activity_date = DateField(
        _l("Planned date"), validators=[InputRequired(REQUIRED)], render_kw=DATE_RANGE
    )
    channel = SelectField(
        _l("Channel"),
        choices=_choices(CHANNELS, CHANNEL_LABELS, blank=_l("— choose —")),
        default="",
        validators=[InputRequired(REQUIRED)],
    )
    summary = TextAreaField(_l("Purpose"), validators=[Optional(), Length(max=limits.SUMMARY)])


class CompleteFollowUpForm(PageForm):
    """Mark a follow-up action done (only the CSRF token travels)."""


class RuleForm(PageForm):
    """Change one frequency rule of a year."""

    period = SelectField(_l("Period"), choices=_choices(PERIOD_KINDS, PERIOD_LABELS))
    min_count = IntegerField(
        _l("At least"), validators=[InputRequired(REQUIRED), NumberRange(min=1)]
    )
    target_pct = DecimalField(
        _l("Target %"), places=2, validators=[InputRequired(REQUIRED), NumberRange(min=0, max=100)]
    )


class QuotaForm(PageForm):
    """Set an executive role's quota per quarter."""

    quota = IntegerField(
        _l("Accounts per quarter"), validators=[InputRequired(REQUIRED), NumberRange(min=0)]
    )


class TargetsForm(PageForm):
    """The one form of the targets page: it carries the CSRF token; the rows are sub-forms."""


class PlannedForm(PageForm):
    """Set the planned population of a tier (blank: none)."""

    planned = IntegerField(_l("Planned accounts"), validators=[Optional(), NumberRange(min=0)])


#: The roster form's explicit "no tier" choice (a blank choice means "not chosen yet").
NO_TIER = "NONE"


class RetierSelectionForm(PageForm):
    """Give the selected accounts a tier from a date, or (said explicitly) remove their tier."""

    account_nos = TextAreaField(
        _l("Account numbers (one per line)"), validators=[InputRequired(REQUIRED)]
    )
    #: A required choice: an account without a tier drops out of every rule and CR2
    #: population, so "no tier" is never where the form starts.
    tier = SelectField(
        _l("New tier"),
        choices=_choices(TIERS, TIER_LABELS, blank=_l("— choose —"))
        + [SelectChoice(NO_TIER, _l("No tier (remove the tier)"))],
        default="",
        validators=[InputRequired(REQUIRED)],
    )
    effective_from = DateField(
        _l("Effective from"), validators=[InputRequired(REQUIRED)], render_kw=ACCOUNT_DATE_RANGE
    )
    confirm_removal = BooleanField(
        _l("Yes, remove the tier: these accounts leave every rule and CR2 population")
    )


class RetierFileForm(PageForm):
    """Upload a tiers file (account_no, tier, effective_from)."""

    file = FileField(_l("Tiers file (CSV or XLSX)"), validators=[InputRequired(REQUIRED)])


class QuarterCloseForm(PageForm):
    """Close or reopen a quarter."""

    #: Choices (the quarters the page lists) are set by the view, named the page's way.
    quarter = SelectField(_l("Quarter"), validators=[InputRequired(REQUIRED)])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=limits.REASON)])


class UserForm(PageForm):
    """Create a user."""

    username = StringField(
        _l("Username"), validators=[InputRequired(REQUIRED), Length(max=limits.USERNAME)]
    )
    full_name = StringField(
        _l("Full name"), validators=[InputRequired(REQUIRED), Length(max=limits.PERSON_NAME)]
    )
    role = SelectField(_l("Role"), choices=_choices(ROLES, ROLE_LABELS))
    office_code = StringField(
        _l("Office code"), validators=[InputRequired(REQUIRED), Length(max=limits.OFFICE_CODE)]
    )
    exec_role = SelectField(
        _l("Executive role"),
        choices=_choices(EXEC_ROLES, EXEC_ROLE_LABELS, blank=_l("— none —")),
        validators=[Optional()],
    )
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=limits.EMAIL)])
    #: Without a first password a user added here could never sign in (no page sets one).
    password = PasswordField(
        _l("First password"), validators=[InputRequired(REQUIRED), Length(max=1024)]
    )
    confirm = PasswordField(
        _l("First password again"), validators=[InputRequired(REQUIRED), Length(max=1024)]
    )


class SetPasswordForm(PageForm):
    """An administrator sets a user's password (a first one, or a forgotten one)."""

    password = PasswordField(
        _l("New password"), validators=[InputRequired(REQUIRED), Length(max=1024)]
    )
    confirm = PasswordField(
        _l("New password again"), validators=[InputRequired(REQUIRED), Length(max=1024)]
    )


class UserActiveForm(PageForm):
    """Activate or deactivate a user."""

    active = BooleanField(_l("Active"))


class TokenForm(PageForm):
    """Issue an API token for a user."""

    name = StringField(
        _l("Token name"), validators=[InputRequired(REQUIRED), Length(max=limits.TOKEN_NAME)]
    )
    expires_days = IntegerField(
        _l("Expires after (days)"), validators=[Optional(), NumberRange(min=1, max=3650)]
    )


# --- complaints (SPEC section 8) -------------------------------------------------------------


def complaint_category_choices(codes) -> list[SelectChoice]:
    """Return the choices of a category field: the year's categories."""
    return _choices(codes, COMPLAINT_CATEGORY_LABELS, blank=_l("— choose —"))


class ComplaintForm(PageForm):
    """Record a complaint: on an account (its office handles it) or at an office."""

    ref = StringField(
        _l("Complaint number"),
        validators=[InputRequired(REQUIRED), Length(max=limits.COMPLAINT_REF)],
    )
    account = StringField(
        _l("Account number (key accounts only)"),
        validators=[Optional(), Length(max=limits.ACCOUNT_NO)],
    )
    office_code = SelectField(
        _l("Handling office"), choices=[], validate_choice=False, validators=[Optional()]
    )
    category = SelectField(
        _l("Category"),
        choices=complaint_category_choices(tuple(c for c, _ in DEFAULT_CATEGORIES)),
        default="",
        validate_choice=False,
        validators=[InputRequired(REQUIRED)],
    )
    channel = SelectField(
        _l("Channel"),
        choices=_choices(COMPLAINT_CHANNELS, COMPLAINT_CHANNEL_LABELS, blank=_l("— choose —")),
        default="",
        validators=[Optional()],
    )
    urgent = BooleanField(_l("Urgent (to be closed within 24 hours)"))
    received_at = DateTimeLocalField(
        _l("Received (Bangkok time)"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    summary = TextAreaField(
        _l("What the customer complains about"),
        validators=[Optional(), Length(max=limits.COMPLAINT_SUMMARY)],
    )


class CloseComplaintForm(PageForm):
    """Close a complaint with its resolution."""

    resolution = TextAreaField(
        _l("Resolution"),
        validators=[InputRequired(REQUIRED), Length(max=limits.COMPLAINT_RESOLUTION)],
    )
    closed_at = DateTimeLocalField(
        _l("Closed (Bangkok time; default now)"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )


class ExcludeComplaintForm(PageForm):
    """Exclude a complaint from the figures, with a reason from the list (blank: count it again)."""

    excluded = SelectField(
        _l("Exclusion"),
        choices=_choices(EXCLUSION_REASONS, EXCLUSION_LABELS, blank=_l("— counted —")),
        default="",
        validators=[Optional()],
    )


class ReassignComplaintForm(PageForm):
    """Give a complaint to someone else of the office."""

    assigned_to = SelectField(
        _l("Assigned to"), choices=[], validate_choice=False, validators=[Optional()]
    )


class ComplaintActionForm(PageForm):
    """A button (reopen): only the CSRF token travels."""
