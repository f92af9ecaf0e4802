"""Helpers for report templates: Thai dates, BE years and Bangkok timestamps."""

from __future__ import annotations

from datetime import date, datetime

from kamcrm.periods import BANGKOK, THAI_MONTHS, be_year, thai_date


def thai_long_date(day: date) -> str:
    """Return e.g. ``30 มิถุนายน 2564``."""
    return thai_date(day)


def bangkok_timestamp(moment: datetime) -> str:
    """Return a UTC moment as Bangkok local time, e.g. ``5 กรกฎาคม 2564 เวลา 10:15 น.``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    local = moment.astimezone(BANGKOK)
    return f"{local.day} {THAI_MONTHS[local.month - 1]} {be_year(local.year)} เวลา {local:%H:%M} น."


def render_report_template(template: str, **context) -> str:
    """Render a report template with the helpers above available as globals."""
    from flask import render_template

    return render_template(
        template,
        be_year=be_year,
        thai_date=thai_long_date,
        bangkok_timestamp=bangkok_timestamp,
        **context,
    )
