"""Page language and the Jinja filters that show dates, times and numbers the local way.

Thai is the default. The language is chosen, in order, by the ``lang`` cookie set by the
language switch, the signed-in user's saved preference, and finally the default.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date as babel_format_date
from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale, refresh
from flask_login import current_user
from markupsafe import Markup

from kamcrm.periods import (
    BANGKOK,
    THAI_MONTHS,
    THAI_MONTHS_SHORT,
    be_year,
    quarter_label,
    thai_date,
)

#: Name of the cookie that keeps the chosen language for a year.
LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600


def supported_languages() -> tuple[str, ...]:
    """Return the page languages the app offers."""
    return tuple(current_app.config.get("LANGUAGES", ("th", "en")))


def select_locale() -> str:
    """Return the language of this request: the switch's cookie, the user's saved choice, Thai."""
    languages = supported_languages()
    default = current_app.config.get("BABEL_DEFAULT_LOCALE", "th")
    if not has_request_context():  # CLI commands and jobs
        return default
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    preference = _user_preference()
    return preference if preference in languages else default


def _user_preference() -> str | None:
    if not hasattr(current_app, "login_manager"):
        return None
    user = current_user
    return getattr(user, "locale", None) if user and user.is_authenticated else None


def current_language() -> str:
    """Return the language code of the page being rendered (``th`` or ``en``)."""
    locale = get_locale()
    return locale.language if locale is not None else "th"


# --- filters -------------------------------------------------------------------------------


def format_day(day: date | str | None, style: str = "medium") -> str:
    """Show a business date: Thai month and BE year on Thai pages, ``5 Mar 2021`` in English.

    ``style`` is ``short`` (``5 มี.ค. 2564``), ``medium`` (Thai: full month name) or ``iso``.
    """
    if day is None or day == "":
        return ""
    if isinstance(day, str):  # ISO text, as JSON report data carries dates
        day = datetime.fromisoformat(day) if "T" in day else date.fromisoformat(day)
    if isinstance(day, datetime):
        day = day.astimezone(BANGKOK).date() if day.tzinfo else day.date()
    if style == "iso":
        return day.isoformat()
    if current_language() == "th":
        return thai_date(day, short=(style == "short"))
    return babel_format_date(day, format="d MMM y" if style == "short" else "d MMMM y", locale="en")


def format_moment(moment: datetime | str | None) -> str:
    """Show a UTC timestamp as a Bangkok date and time (BE year on Thai pages)."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    local = moment.astimezone(BANGKOK)
    return f"{format_day(local.date(), 'short')} {local:%H:%M}"


def format_year(year: int | None) -> str:
    """Show a CE year as the page reads it: BE on Thai pages (2564), CE in English (2021)."""
    if year is None:
        return ""
    return str(be_year(year)) if current_language() == "th" else str(year)


def format_month(day: date | None) -> str:
    """Show a month: ``มีนาคม 2564`` or ``March 2021``."""
    if day is None:
        return ""
    if current_language() == "th":
        return f"{THAI_MONTHS[day.month - 1]} {be_year(day.year)}"
    return babel_format_date(day, format="MMMM y", locale="en")


def format_month_short(month: int) -> str:
    """Show a month number as a short month name."""
    if current_language() == "th":
        return THAI_MONTHS_SHORT[month - 1]
    return babel_format_date(date(2000, month, 1), format="MMM", locale="en")


def format_quarter(year: int, quarter: int) -> str:
    """Name a quarter the way the page reads it: ``3/2569`` in Thai, ``2026-Q3`` in English."""
    if current_language() == "th":
        return f"{quarter}/{be_year(year)}"
    return str(quarter_label(year, quarter))


def format_column(column: str, year: int) -> str:
    """Head a cumulative column the way the report form does: ``ไตรมาสที่ 1-2/2564``."""
    quarters = column[1:] if column.startswith("Q") else column
    if current_language() == "th":
        return f"ไตรมาสที่ {quarters}/{be_year(year)}"
    return f"Q{quarters} {year}"


#: PEA's own abbreviations of its office names, longest first (กฟอ. บ้านโป่ง).
OFFICE_ABBREVIATIONS = (
    ("การไฟฟ้าส่วนภูมิภาคสาขาย่อย", "กฟย."),
    ("การไฟฟ้าส่วนภูมิภาคจังหวัด", "กฟจ."),
    ("การไฟฟ้าส่วนภูมิภาคอำเภอ", "กฟอ."),
    ("การไฟฟ้าส่วนภูมิภาคสาขา", "กฟส."),
    ("การไฟฟ้าส่วนภูมิภาค", "กฟภ."),
)


def short_label(text: str, limit: int = 32) -> str:
    """Return a chart label: PEA's abbreviation for an office name in ``text``, then cut with
    an ellipsis (never silently) if still longer than ``limit``."""
    for long, short in OFFICE_ABBREVIATIONS:
        if long in text:
            text = text.replace(long, short, 1)
            break
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_office_name(office, limit: int = 32) -> str:
    """Return ``CODE name`` short enough for a chart's label (see ``short_label``)."""
    return short_label(f"{office.code} {localized_name(office)}", limit)


def format_number(value, digits: int = 0) -> str:
    """Show a number with grouping (``1,234``); blank for None.

    Thai and English both group with commas and use a decimal point, so Python's own
    formatting serves both (and is much cheaper than Babel's on pages with hundreds of cells).
    """
    if value is None:
        return ""
    if isinstance(value, Decimal) and digits == 0 and value != value.to_integral_value():
        digits = 2
    return f"{value:,.{digits}f}"


def format_pct(value) -> str:
    """Show a percentage with up to two decimals (``54.22%``); an en dash for None."""
    if value is None:
        return "–"
    text = f"{float(value):,.2f}".rstrip("0").rstrip(".")
    return text + "%"


def localized_name(row) -> str:
    """Return an office's English name on English pages when it has one."""
    english = getattr(row, "name_en", None)
    if english and current_language() == "en":
        return english
    return getattr(row, "name", "") or ""


def init_app(app: Flask) -> None:
    """Register the date, number and name filters and the language helpers with ``app``."""
    # Flask-Babel caches the locale on the app context, which outlives one request when a
    # caller (a test, a CLI command rendering pages) keeps its own context pushed.
    app.before_request(refresh)
    app.jinja_env.filters.update(
        day=format_day,
        moment=format_moment,
        be_year=format_year,
        month=format_month,
        month_short=format_month_short,
        column=format_column,
        number=format_number,
        pct=format_pct,
        local_name=localized_name,
    )
    app.jinja_env.globals.update(current_language=current_language, Markup=Markup)
