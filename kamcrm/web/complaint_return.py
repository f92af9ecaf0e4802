"""The monthly complaint return page (SPEC section 8) and its downloads: an office manager
sees their office's return, regional staff any office's or the region's; as of now or as
reported on the due day, with what changed since it was reported."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from kamcrm.db import utcnow
from kamcrm.errors import NotFound
from kamcrm.org.access import requires
from kamcrm.periods import bangkok_today, last_complete_month, month_key, parse_month
from kamcrm.reports.complaint_return import NotReportedYet, complaint_return_for
from kamcrm.reports.complaint_return_export import (
    MEDIA_TYPES,
    RETURN_FORMATS,
    render_return,
    return_filename,
)

bp = Blueprint("complaint_return", __name__, url_prefix="/complaints")


@bp.get("/return")
@requires("reports.monthly")
def complaint_return():
    """Show the month's complaint return, as of now or as reported, with the difference."""
    from kamcrm.web.office import _offices_to_choose

    default_month = month_key(*last_complete_month(bangkok_today()))
    month = request.args.get("month") or default_month
    try:
        month = month_key(*parse_month(month))  # one spelling for the picker and the links
    except ValueError:
        flash(_("That month is not valid; showing the last complete month."), "warning")
        month = default_month
    as_reported = request.args.get("view") == "reported"
    office = request.args.get("office") or None
    view, missing = None, False
    try:
        view = complaint_return_for(current_user, month, office, utcnow(), as_reported=as_reported)
    except NotReportedYet:
        missing = True
    except NotFound:
        abort(404)  # an office out of the user's sight
    return render_template(
        "complaints/return.html",
        view=view,
        missing=missing,
        month=month,
        as_reported=as_reported,
        office=office,
        offices=_offices_to_choose(),
    )


@bp.get("/return.<fmt>")
@requires("reports.monthly")
def complaint_return_download(fmt: str):
    """Download the complaint return as XLSX, PDF, HTML or JSON (the page's figures)."""
    if fmt not in RETURN_FORMATS:
        abort(404)
    try:
        month = month_key(*parse_month(request.args.get("month") or ""))
    except ValueError:
        abort(404)
    view = complaint_return_for(
        current_user,
        month,
        request.args.get("office") or None,
        utcnow(),
        as_reported=request.args.get("view") == "reported",
    )
    response = Response(render_return(view, fmt), mimetype=MEDIA_TYPES[fmt].split(";")[0])
    response.headers["Content-Disposition"] = f'attachment; filename="{return_filename(view, fmt)}"'
    return response
