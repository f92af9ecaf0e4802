"""Helpers every page shares: report parameters from the query string, paging, errors to fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from math import ceil

import sqlalchemy as sa
from flask import abort, flash, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from kamcrm import limits
from kamcrm.errors import KamcrmError, NotFound
from kamcrm.extensions import db
from kamcrm.org.access import scope_for
from kamcrm.org.scope import Scope
from kamcrm.periods import bangkok_today, year_in_range
from kamcrm.web.labels import translate

PER_PAGE = 25

#: Phrases the domain operations put into their messages as values (``Message(...,
#: what="a tier")``: ``fields.Choice``'s ``what``, ``reject_unknown_fields``'s ``what``),
#: listed so the page catalogue translates them too. Messages themselves are extracted
#: from the operations (keyword ``Message``).
OPERATION_PHRASES = (
    _l("a tier"),
    _l("a role"),
    _l("an executive role"),
    _l("a language"),
    _l("an activity type"),
    _l("a status"),
    _l("a channel"),
    _l("a kind of customer voice"),
    _l("an office class"),
    _l("a contact person"),
    _l("a follow-up"),
    _l("a user"),
    _l("an account"),
    _l("an activity"),
    _l("an office"),
)


@dataclass(frozen=True)
class ReportParams:
    """The year, ``as_of`` date and scope a dashboard shows."""

    year: int
    as_of: date
    scope: Scope
    #: The office code asked for, or None for the user's widest scope.
    office: str | None


def report_params() -> ReportParams:
    """Read ``year``, ``as_of`` and ``office`` from the query string (today, the user's scope).

    A year or date that does not parse falls back to today with a message; an office out of
    the user's sight answers 404.
    """
    today = bangkok_today()
    year = request.args.get("year", type=int)
    if year is None or not year_in_range(year):
        if "year" in request.args:
            flash(_("That year is not valid; showing the current year."), "warning")
        year = today.year
    as_of = None
    if request.args.get("as_of"):
        try:
            as_of = date.fromisoformat(request.args["as_of"])
        except ValueError:
            flash(_("That date is not valid; showing today's figures."), "warning")
    if as_of is None or as_of.year != year:
        as_of = min(date(year, 12, 31), today) if year <= today.year else date(year, 1, 1)
    office = request.args.get("office") or None
    try:
        scope = scope_for(current_user, office)
    except NotFound:
        abort(404)
    return ReportParams(year=year, as_of=as_of, scope=scope, office=office)


@dataclass(frozen=True)
class Page:
    """One page of a list."""

    items: list
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number() -> int:
    """Return the page named by ``?page=``: 1 when it is missing or bad, at most ``limits.MAX_PAGE``."""
    return min(max(1, request.args.get("page", 1, type=int) or 1), limits.MAX_PAGE)


def paginate(query: sa.Select, per_page: int = PER_PAGE, scalars: bool = True) -> Page:
    """Run ``query`` for the page named by ``?page=`` and count the whole list."""
    number = page_number()
    total = db.session.execute(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    result = db.session.execute(query.limit(per_page).offset((number - 1) * per_page))
    items = list(result.scalars() if scalars else result.all())
    return Page(items=items, number=number, per_page=per_page, total=total)


def page_url_args(number: int) -> dict:
    """Return the current query arguments with ``page`` set to ``number``."""
    args = request.args.to_dict()
    args["page"] = number
    return args


def apply_errors(form, error: KamcrmError, field_names: dict[str, str] | None = None) -> None:
    """Put an operation's per-field messages beside the form fields they belong to.

    ``field_names`` maps the operation's field names (``account_no``) to the form's
    (``account``). Messages for fields the form lacks are flashed.
    """
    field_names = field_names or {}
    for name, messages in (error.errors or {}).items():
        field = getattr(form, field_names.get(name, name), None)
        messages = [translate(message) for message in messages]
        if field is not None and hasattr(field, "errors"):
            if not isinstance(field.errors, list):
                field.errors = list(field.errors)
            field.errors.extend(messages)
        else:
            for message in messages:
                flash(message, "error")
    if not error.errors:
        flash(translate(error.message), "error")
