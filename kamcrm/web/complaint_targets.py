"""The complaint part of the targets page (SPEC section 8): the year's category limits, the
(category, tier) limits, the plan 2.1 item targets, and going back to the defaults.

Its own form, beside the activity targets' one: every changed row is saved by one button or
none is, each through the operation the CLI uses (``kamcrm.complaints.operations``), which
audits it. The page itself is ``region.targets``; this module gives it the section's forms
(``kamcrm.web.complaint_target_forms``); this module answers the section's two POSTs.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from kamcrm.complaints import operations
from kamcrm.errors import KamcrmError
from kamcrm.extensions import db
from kamcrm.org.access import requires
from kamcrm.periods import year_in_range
from kamcrm.web.common import apply_errors
from kamcrm.web.complaint_target_forms import (
    ComplaintTargetsForm,
    ResetComplaintTargetsForm,
    section_forms,
)

bp = Blueprint("complaint_targets", __name__, url_prefix="/region/targets")


def _posted(form) -> bool:
    return any(field.name in request.form for field in form if field.type != "CSRFTokenField")


class _RowRefused(Exception):
    def __init__(self, form, error: KamcrmError):
        super().__init__(error.message)
        self.form, self.error = form, error


def _save(year: int, forms: dict) -> int:
    """Apply every posted row that differs from the stored settings; return how many changed."""
    targets = forms["targets"]
    saved = 0

    def apply(form, action) -> None:
        nonlocal saved
        try:
            action()
        except KamcrmError as refused:
            raise _RowRefused(form, refused) from None
        saved += 1

    stored = dict(targets.categories)
    for code, form in forms["categories"].items():
        if _posted(form) and form.limit_days.data != stored[code]:
            apply(
                form,
                lambda code=code, form=form: operations.set_category_limit(
                    year, code, form.limit_days.data, current_user
                ),
            )
    new = forms["new_category"]
    if new.code.data or new.limit_days.data is not None:
        if not new.code.data or new.limit_days.data is None:
            raise _RowRefused(
                new, KamcrmError(_("Give both the new category's code and its limit."))
            )
        if new.code.data.strip().upper() in stored:
            raise _RowRefused(
                new, KamcrmError(_("The year has that category already; change its limit above."))
            )
        apply(
            new,
            lambda: operations.set_category_limit(
                year, new.code.data, new.limit_days.data, current_user
            ),
        )
    tier_limits = dict(targets.tier_limits)
    for (code, tier), form in forms["tier_limits"].items():
        if _posted(form) and form.limit_days.data != tier_limits.get((code, tier)):
            apply(
                form,
                lambda code=code, tier=tier, form=form: operations.set_tier_limit(
                    year, code, tier, form.limit_days.data, current_user
                ),
            )
    for item, form in forms["item_targets"].items():
        if not _posted(form):
            continue
        target = targets.item(item)
        hours = target.limit_hours is not None
        current = target.limit_hours if hours else target.limit_days
        changes = {}
        if form.target_pct.data != target.target_pct:
            changes["target_pct"] = str(form.target_pct.data)
        if item != "2.1a" and form.limit.data is not None and form.limit.data != current:
            changes["limit_hours" if hours else "limit_days"] = form.limit.data
        if changes:
            apply(
                form,
                lambda item=item, changes=changes: operations.set_item_target(
                    year, item, actor=current_user, **changes
                ),
            )
    return saved


def _render_page(year: int, forms: dict, status: int):
    from kamcrm.web.region import _render_targets

    return _render_targets(year, complaint_forms=forms, status=status)


@bp.post("/<int:year>/complaints")
@requires("targets.edit")
def update_complaint_targets(year: int):
    """Save every changed complaint limit and item target of the year at once (or none)."""
    if not year_in_range(year):
        abort(404)
    forms = section_forms(year, request.form)
    if not ComplaintTargetsForm().validate_on_submit():
        flash(_("The form had expired; nothing was saved. Save again."), "error")
        return _render_page(year, forms, 422)
    rows = (
        list(forms["categories"].values())
        + [forms["new_category"]]
        + list(forms["tier_limits"].values())
        + list(forms["item_targets"].values())
    )
    # A row left out of the POST stays as it is; every posted row is checked, so each shows its errors.
    valid = all([form.validate() for form in rows if _posted(form)])
    saved = 0
    if valid:
        try:
            with db.session.begin_nested():
                saved = _save(year, forms)
        except _RowRefused as refused:
            apply_errors(refused.form, refused.error)
            valid = False
    if not valid:
        flash(_("Nothing was saved: correct the rows marked below."), "error")
        return _render_page(year, forms, 422)
    flash(
        ngettext(
            "Saved %(num)d change to the complaint limits and targets.",
            "Saved %(num)d changes to the complaint limits and targets.",
            saved,
        )
        if saved
        else _("Nothing had changed."),
        "success",
    )
    return redirect(url_for("region.targets", year=year, _anchor="complaint-targets"))


@bp.post("/<int:year>/complaints/reset")
@requires("targets.edit")
def reset_complaint_targets(year: int):
    """Drop the year's own complaint limits and targets: it uses the defaults again."""
    if not year_in_range(year):
        abort(404)
    if not ResetComplaintTargetsForm().validate_on_submit():
        flash(_("The form had expired; nothing was saved. Save again."), "error")
        return redirect(url_for("region.targets", year=year, _anchor="complaint-targets"))
    if operations.reset_complaint_year(year, current_user):
        flash(_("The complaint limits and targets of this year are the defaults again."), "success")
    else:
        flash(_("Nothing had changed."), "success")
    return redirect(url_for("region.targets", year=year, _anchor="complaint-targets"))
