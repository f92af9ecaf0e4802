"""Server-rendered pages for account managers, office managers and the regional office."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask_babel import gettext as _

from kamcrm.periods import BE_OFFSET, FIRST_YEAR, LAST_YEAR, bangkok_today, parse_month

LANGUAGE_NAMES = {"th": "ไทย", "en": "English"}


def init_app(app: Flask) -> None:
    """Register the page blueprints and the helpers their templates use."""
    from kamcrm.reports import charts
    from kamcrm.web import (
        admin,
        complaint_return,
        complaint_targets,
        complaints,
        i18n,
        kamr,
        office,
        prevention,
        prospects,
        region,
        surveys,
        views,
        voc,
    )
    from kamcrm.web.labels import ROLE_LABELS, TEMPLATE_LABELS, label
    from kamcrm.web.nav import navigation, optional_url

    i18n.init_app(app)
    app.jinja_env.add_extension("jinja2.ext.do")
    for module in (
        views,
        kamr,
        office,
        region,
        admin,
        complaints,
        complaint_return,
        complaint_targets,
        prevention,
        voc,
        surveys,
        prospects,
    ):
        app.register_blueprint(module.bp)

    # Globals rather than a context processor, so that imported macros see them too.
    app.jinja_env.globals.update(
        {
            "navigation": navigation,
            "optional_url": optional_url,
            "role_label": lambda role: label(ROLE_LABELS, role),
            "language_links": lambda: [
                (code, LANGUAGE_NAMES.get(code, code))
                for code in app.config["LANGUAGES"]
                if code != i18n.current_language()
            ],
            "bangkok_today": bangkok_today,
            "year_choices": year_choices,
            "month_choices": month_choices,
            "progress_bar": charts.progress_bar,
            "consumption_chart": charts.consumption_chart,
            "chart_status": charts.status,
            "quota_status": charts.quota_status,
            "field_attrs": field_attrs,
            "be_date_messages": be_date_messages,
            **TEMPLATE_LABELS,
        }
    )


#: How many past years the year pickers offer (the plan year and the ones reported against).
PAST_YEARS = 5


def year_choices(selected: int) -> list[int]:
    """The years a year picker offers, newest first: next year back to ``PAST_YEARS`` ago,
    widened to include ``selected`` (a year reached by URL stays selectable)."""
    this_year = bangkok_today().year
    newest = max(this_year + 1, selected)
    oldest = min(this_year - PAST_YEARS, selected)
    return list(range(newest, oldest - 1, -1))


def month_choices(selected: str) -> list[date]:
    """The months a month picker offers, newest first, as their first days: this month back
    through the first month of ``PAST_YEARS`` ago, widened to include ``selected``
    (``YYYY-MM``, already validated)."""
    today = bangkok_today()
    year, month = parse_month(selected)
    # Months counted from year 0, so that a range steps across year ends.
    newest = max(today.year * 12 + today.month - 1, year * 12 + month - 1)
    oldest = min((today.year - PAST_YEARS) * 12, year * 12 + month - 1)
    return [date(index // 12, index % 12 + 1, 1) for index in range(newest, oldest - 1, -1)]


def field_attrs(field, hint, extra: dict) -> dict:
    """Return the HTML attributes of a form control: its hint and error tie-ins for screen readers."""
    described = []
    if hint:
        described.append(f"{field.id}-hint")
    if field.errors:
        described.append(f"{field.id}-error")
    attrs = dict(extra)
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return attrs


def be_date_messages() -> dict:
    """Return what js/be-dates.js needs on a Thai page: the years a date may lie in and its
    texts (the field's format hint and its errors), already translated."""
    example = "3/12/2569"
    return {
        "offset": BE_OFFSET,
        "first": FIRST_YEAR,
        "last": LAST_YEAR,
        "hint": _("Day/month/Buddhist-era year, e.g. %(example)s", example=example),
        "invalid": _(
            "Write the date as day/month/Buddhist-era year, e.g. %(example)s.", example=example
        ),
        # {typed} and {be} are filled in by the script.
        "ce_year": _(
            "%(typed)s is a Christian-era year: write the Buddhist-era year %(be)s.",
            typed="{typed}",
            be="{be}",
        ),
        "range": _(
            "The year must lie between %(first)s and %(last)s.",
            first=FIRST_YEAR + BE_OFFSET,
            last=LAST_YEAR + BE_OFFSET,
        ),
    }
