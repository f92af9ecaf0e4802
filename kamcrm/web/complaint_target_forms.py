"""The forms of the complaint section of the targets page (SPEC section 8): the year's
category limits, (category, tier) limits and plan 2.1 item targets.

``region.targets`` renders them through ``complaint_targets_context``; the section's POSTs are
answered by ``kamcrm.web.complaint_targets``. Kept apart from those views so that the page and
the views each import this module and not each other.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from kamcrm.accounts.models import TIERS
from kamcrm.complaints.targets import complaint_targets
from kamcrm.web.forms import REQUIRED, PageForm

#: The longest limit the operations take, in days or hours.
MAX_LIMIT = 3660


class ComplaintTargetsForm(PageForm):
    """The section's form: it carries the CSRF token; the rows are sub-forms."""


class ResetComplaintTargetsForm(PageForm):
    """Go back to the default complaint limits and targets for the year: only the token travels."""


class CategoryLimitForm(PageForm):
    """One category's limit in days."""

    limit_days = IntegerField(
        _l("Close within, days"),
        validators=[InputRequired(REQUIRED), NumberRange(min=0, max=MAX_LIMIT)],
    )


class NewCategoryForm(PageForm):
    """A category to add to the year (both blank: none)."""

    code = StringField(_l("New category code"), validators=[Optional(), Length(max=30)])
    limit_days = IntegerField(
        _l("Close within, days"), validators=[Optional(), NumberRange(min=0, max=MAX_LIMIT)]
    )


class TierLimitForm(PageForm):
    """A category's limit for accounts of one tier (blank: the category's own limit)."""

    limit_days = IntegerField(
        _l("Days"), validators=[Optional(), NumberRange(min=0, max=MAX_LIMIT)]
    )


class ItemTargetForm(PageForm):
    """A plan 2.1 item's target % and (except 2.1a) its limit."""

    target_pct = DecimalField(
        _l("Target %"), places=2, validators=[InputRequired(REQUIRED), NumberRange(min=0, max=100)]
    )
    limit = IntegerField(_l("Limit"), validators=[Optional(), NumberRange(min=0, max=MAX_LIMIT)])


def section_forms(year: int, formdata=None) -> dict:
    """Return the year's complaint settings and a sub-form per row, filled from ``formdata``
    (a POST) or from the stored values."""
    targets = complaint_targets(year)
    no_csrf = {"csrf": False}
    tier_limits = dict(targets.tier_limits)
    return {
        "targets": targets,
        "categories": {
            code: CategoryLimitForm(
                formdata=formdata, prefix=f"cat-{code}", meta=no_csrf, limit_days=days
            )
            for code, days in targets.categories
        },
        "new_category": NewCategoryForm(formdata=formdata, prefix="newcat", meta=no_csrf),
        "tier_limits": {
            (code, tier): TierLimitForm(
                formdata=formdata,
                prefix=f"tl-{code}-{tier}",
                meta=no_csrf,
                limit_days=tier_limits.get((code, tier)),
            )
            for code in targets.category_codes
            for tier in TIERS
        },
        "item_targets": {
            target.item: ItemTargetForm(
                formdata=formdata,
                prefix=f"item-{target.item}",
                meta=no_csrf,
                target_pct=target.target_pct,
                limit=target.limit_hours if target.limit_hours is not None else target.limit_days,
            )
            for target in targets.items
        },
        "form": ComplaintTargetsForm(formdata=None),
        "reset_form": ResetComplaintTargetsForm(formdata=None),
        "tiers": TIERS,
    }


def complaint_targets_context(year: int, forms: dict | None = None) -> dict:
    """Return what ``region/_targets_complaints.html`` needs, as ``complaints`` for the page."""
    return {"complaints": forms or section_forms(year)}
