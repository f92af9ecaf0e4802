"""Calendar arithmetic for business dates: years, halves, quarters, months, BE years.

All functions are pure. Business dates are Asia/Bangkok local dates (SPEC section 5).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")

#: Days after a month's end within which its activities must be recorded (SPEC section 5).
RECORDING_GRACE_DAYS = 5
#: Days after a quarter's end within which the regional summary is due; the quarter
#: closes the day after.
QUARTER_CLOSE_DAYS = 15

PERIOD_KINDS = ("year", "half", "quarter")

#: The CE years business dates, reports and targets may lie in. The records start in 2000
#: and nothing is planned past 2200; a year outside is a typing error (a Buddhist-era year
#: typed as CE, 9999), refused before any date arithmetic could overflow on it.
FIRST_YEAR, LAST_YEAR = 2000, 2200
#: The earliest year of an account's own dates (opened, tier from): customers are older
#: than the CRM.
FIRST_ACCOUNT_YEAR = 1900
#: What a CE year becomes in the Buddhist era.
BE_OFFSET = 543

THAI_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
THAI_MONTHS_SHORT = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)


@dataclass(frozen=True)
class Window:
    """An inclusive range of business dates."""

    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    def cut(self, last: date) -> Window | None:
        """Return this window ended no later than ``last``, or None if it starts after it."""
        if last < self.start:
            return None
        return Window(self.start, min(self.end, last))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def bangkok_today(now: datetime | None = None) -> date:
    """Return today's date in Bangkok (for ``now``, default the current time)."""
    now = now or datetime.now(timezone.utc)
    return now.astimezone(BANGKOK).date()


def bangkok_date(moment: datetime) -> date:
    """Return the Bangkok local date of a timezone-aware moment."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(BANGKOK).date()


def month_end(year: int, month: int) -> date:
    """Return the last day of a month."""
    return date(year, month, calendar.monthrange(year, month)[1])


def year_window(year: int) -> Window:
    """Return Jan 1 – Dec 31 of ``year``."""
    return Window(date(year, 1, 1), date(year, 12, 31))


class QuarterName(str):
    """A quarter's name, ``YYYY-Qn``, that still knows its year and number.

    It is the plain text everywhere (API, CLI, logs); a page shows it its own way
    (``3/2569`` on a Thai page) when it fills a message with it.
    """

    year: int
    quarter: int

    def __new__(cls, year: int, quarter: int) -> QuarterName:
        name = super().__new__(cls, f"{year}-Q{quarter}")
        name.year, name.quarter = year, quarter
        return name


def quarter_label(year: int, quarter: int) -> QuarterName:
    """Return the quarter's name, ``YYYY-Qn``."""
    return QuarterName(year, quarter)


def quarter_of(day: date) -> int:
    """Return the calendar quarter (1-4) of a date."""
    return (day.month - 1) // 3 + 1


def half_of(day: date) -> int:
    """Return the half (1 or 2) of a date."""
    return 1 if day.month <= 6 else 2


def quarter_window(year: int, quarter: int) -> Window:
    """Return the dates of quarter ``quarter`` (1-4) of ``year``."""
    if quarter not in (1, 2, 3, 4):
        raise ValueError(f"quarter must be 1-4, not {quarter}")
    first_month = 3 * (quarter - 1) + 1
    return Window(date(year, first_month, 1), month_end(year, first_month + 2))


def half_window(year: int, half: int) -> Window:
    """Return the dates of half ``half`` (1 = Jan-Jun, 2 = Jul-Dec) of ``year``."""
    if half not in (1, 2):
        raise ValueError(f"half must be 1 or 2, not {half}")
    return (
        Window(date(year, 1, 1), date(year, 6, 30))
        if half == 1
        else Window(date(year, 7, 1), date(year, 12, 31))
    )


def month_window(year: int, month: int) -> Window:
    """Return the dates of a month."""
    return Window(date(year, month, 1), month_end(year, month))


def period_windows(kind: str, year: int) -> list[Window]:
    """Return every period of ``kind`` ('year', 'half', 'quarter') in ``year``, in order."""
    if kind == "year":
        return [year_window(year)]
    if kind == "half":
        return [half_window(year, 1), half_window(year, 2)]
    if kind == "quarter":
        return [quarter_window(year, q) for q in (1, 2, 3, 4)]
    raise ValueError(f"unknown period kind {kind!r}")


def period_containing(kind: str, day: date) -> Window:
    """Return the period of ``kind`` that contains ``day``."""
    if kind == "year":
        return year_window(day.year)
    if kind == "half":
        return half_window(day.year, half_of(day))
    if kind == "quarter":
        return quarter_window(day.year, quarter_of(day))
    raise ValueError(f"unknown period kind {kind!r}")


def cumulative_windows(
    kind: str, year: int, through_quarter: int, as_of: date | None
) -> list[Window] | None:
    """Return the windows behind the cumulative column "Q1-k" of a frequency rule.

    Every period of ``kind`` that starts on or before the end of quarter ``k`` is taken,
    its end cut at the end of Qk and at ``as_of``. Returns None when the column is null
    because quarter ``k`` starts after ``as_of`` (SPEC section 5).
    """
    column_end = quarter_window(year, through_quarter).end
    if as_of is not None:
        if as_of < quarter_window(year, through_quarter).start:
            return None
        column_end = min(column_end, as_of)
    windows = []
    for period in period_windows(kind, year):
        if period.start > quarter_window(year, through_quarter).end:
            continue
        cut = period.cut(column_end)
        if cut is not None:
            windows.append(cut)
    return windows


def recording_deadline(activity_date: date) -> date:
    """Return the last Bangkok date on which an activity dated ``activity_date`` is on time."""
    year, month = activity_date.year, activity_date.month
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return date(year, month, RECORDING_GRACE_DAYS)


def is_late_entry(activity_date: date, recorded_at: datetime) -> bool:
    """Return whether an activity was recorded after the 5th day of the following month."""
    return bangkok_date(recorded_at) > recording_deadline(activity_date)


def quarter_close_date(year: int, quarter: int) -> date:
    """Return the first day on which quarter ``quarter`` of ``year`` is closed (the 16th day)."""
    return quarter_window(year, quarter).end + timedelta(days=QUARTER_CLOSE_DAYS + 1)


def quarter_is_closed_on(year: int, quarter: int, today: date) -> bool:
    """Return whether the quarter's close date has come by ``today``."""
    return today >= quarter_close_date(year, quarter)


def be_year(year: int) -> int:
    """Return the Buddhist-era year of a CE year."""
    return year + BE_OFFSET


def year_in_range(year: int, first: int = FIRST_YEAR) -> bool:
    """Return whether ``year`` (CE) lies between ``first`` and :data:`LAST_YEAR`."""
    return first <= year <= LAST_YEAR


def looks_buddhist(year: int) -> bool:
    """Return whether an out-of-range ``year`` is probably a BE year written where CE belongs."""
    return year_in_range(year - BE_OFFSET)


def thai_date(day: date, short: bool = False) -> str:
    """Return a date the Thai way: day, Thai month name and BE year."""
    months = THAI_MONTHS_SHORT if short else THAI_MONTHS
    return f"{day.day} {months[day.month - 1]} {be_year(day.year)}"


def parse_quarter(text: str) -> tuple[int, int]:
    """Parse ``YYYY-Qn`` into (year, quarter); raise ValueError with a clear message."""
    try:
        year_text, quarter_text = text.strip().upper().split("-Q")
        year, quarter = int(year_text), int(quarter_text)
    except ValueError:
        raise ValueError(f"{text!r} is not a quarter; write it as YYYY-Qn, e.g. 2026-Q3") from None
    if quarter not in (1, 2, 3, 4) or not year_in_range(year):
        raise ValueError(f"{text!r} is not a quarter; write it as YYYY-Qn, e.g. 2026-Q3")
    return year, quarter


def month_key(year: int, month: int) -> str:
    """Return the ``YYYY-MM`` name of a month (what ``parse_month`` reads)."""
    return f"{year:04d}-{month:02d}"


def last_complete_month(today: date) -> tuple[int, int]:
    """Return (year, month) of the last month that has ended by ``today``."""
    return (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)


def parse_month(text: str) -> tuple[int, int]:
    """Parse ``YYYY-MM`` into (year, month); raise ValueError with a clear message."""
    try:
        year_text, month_text = text.strip().split("-")
        year, month = int(year_text), int(month_text)
        date(year, month, 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a month; write it as YYYY-MM, e.g. 2026-10") from None
    if not year_in_range(year):
        # A month's report reads the month after it (the recording deadline): 9999-12 would
        # overflow there, and no such month holds any record.
        raise ValueError(
            f"{text!r} is not a month between {FIRST_YEAR} and {LAST_YEAR}; "
            "write it as YYYY-MM (CE), e.g. 2026-10"
        )
    return year, month
