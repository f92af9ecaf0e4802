"""Parsing the values of an interchange row (SPEC section 7) into Python values.

A row is a mapping of column name to raw value: text from a CSV file or a form, or a cell
value from an XLSX sheet (numbers, dates, booleans). Each parser returns the clean value
and, for a bad one, adds a message naming the value to ``errors`` (field → messages).
They are plain functions on purpose: a bulk import calls them millions of times.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from kamcrm import limits
from kamcrm.errors import Message
from kamcrm.periods import (
    BE_OFFSET,
    FIRST_ACCOUNT_YEAR,
    FIRST_YEAR,
    LAST_YEAR,
    looks_buddhist,
    year_in_range,
)

Errors = dict[str, list[str]]

#: Bounded memories of values already parsed: a big file repeats its types, statuses and
#: dates millions of times.
_MEMORY = 10_000
_DAYS: dict[str, date] = {}
_CHOICES: dict[tuple, Choice] = {}

#: The message of a blank required field.
REQUIRED = Message("is required")

_TRUE = frozenset({"true", "t", "yes", "y", "1", "ใช่"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "ไม่ใช่"})


def add_error(errors: Errors, field: str, message: str) -> None:
    """Add ``message`` to the messages of ``field``."""
    errors.setdefault(field, []).append(message)


def clean(value: object) -> object:
    """Return ``value`` with surrounding blanks removed; empty text becomes None."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def text(
    raw: Mapping[str, object],
    field: str,
    errors: Errors,
    *,
    max_length: int,
    required: bool = False,
    one_line: bool = False,
) -> str | None:
    """Return the text of ``field``; None when blank.

    Every text has a ``max_length`` (``kamcrm.limits``), and no text may hold what no
    database can store: a NUL character (PostgreSQL refuses it) or a lone surrogate (no
    driver can encode it). A ``one_line`` text (a person's name, which goes into e-mail
    headers) holds no control character either: no line break, tab or escape. Pages, API,
    imports and CLI all reach this check.
    """
    value = raw.get(field)
    if value.__class__ is str:  # the common case, without a call to clean()
        value = value.strip() or None
    else:
        value = clean(value)
    if value is None:
        if required:
            add_error(errors, field, REQUIRED)
        return None
    if not isinstance(value, str):
        # A spreadsheet cell holding 1234 for an account number means the text "1234".
        value = _cell_text(value)
    if len(value) > max_length:
        add_error(
            errors,
            field,
            Message(
                "%(value)s is longer than %(max_length)s characters",
                value=_show(value),
                max_length=max_length,
            ),
        )
        return None
    if not _storable(value):
        add_error(
            errors,
            field,
            Message("contains a NUL character or invalid Unicode; write it as plain text"),
        )
        return None
    if one_line and not _one_line(value):
        add_error(
            errors,
            field,
            Message("must be one line without control characters (no line break or tab)"),
        )
        return None
    return value


#: Unicode categories a one-line text may not hold: control characters (CR, LF, tab, ESC …)
#: and the line and paragraph separators.
_NOT_ONE_LINE = frozenset({"Cc", "Zl", "Zp"})


def _one_line(value: str) -> bool:
    if value.isprintable():  # the common case: no control or separator at all
        return True
    return not any(unicodedata.category(character) in _NOT_ONE_LINE for character in value)


def _storable(value: str) -> bool:
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Choice:
    """A field that takes one of ``choices``, compiled once: each spelling met is remembered,
    so a file that repeats ``COM`` a million times pays one dict lookup per row."""

    def __init__(
        self, choices: tuple[str, ...], *, what: str, upper: bool = False, lower: bool = False
    ):
        self.choices, self.what, self.upper, self.lower = choices, what, upper, lower
        #: Raw text seen → its choice, or "" for a blank.
        self.spellings: dict[str, str] = {}

    def __call__(
        self, raw: Mapping[str, object], field: str, errors: Errors, *, required: bool = False
    ) -> str | None:
        value = raw.get(field)
        found = self.spellings.get(value) if value.__class__ is str else None
        if found:
            return found
        if found is None:
            cleaned = clean(value)
            if cleaned is not None:
                text_value = _cell_text(cleaned) if not isinstance(cleaned, str) else cleaned
                key = (
                    text_value.upper()
                    if self.upper
                    else text_value.lower()
                    if self.lower
                    else text_value
                )
                if key not in self.choices:
                    # ``what`` is a phrase ("a tier") the page catalogue lists (kamcrm.web.common).
                    add_error(
                        errors,
                        field,
                        Message(
                            "%(value)s is not %(what)s (%(choices)s)",
                            value=_show(text_value),
                            what=Message(self.what),
                            choices=", ".join(self.choices),
                        ),
                    )
                    return None
                if value.__class__ is str and len(self.spellings) < _MEMORY:
                    self.spellings[value] = key
                return key
            if value.__class__ is str and len(self.spellings) < _MEMORY:
                self.spellings[value] = ""
        if required:
            add_error(errors, field, REQUIRED)
        return None


def choice(
    raw: Mapping[str, object],
    field: str,
    errors: Errors,
    choices: tuple[str, ...],
    *,
    required: bool = False,
    what: str,
    upper: bool = False,
    lower: bool = False,
) -> str | None:
    """Return the value of ``field`` if it is one of ``choices``; None when blank."""
    key = (choices, what, upper, lower)
    compiled = _CHOICES.get(key)
    if compiled is None:
        compiled = _CHOICES[key] = Choice(choices, what=what, upper=upper, lower=lower)
    return compiled(raw, field, errors, required=required)


def day(
    raw: Mapping[str, object],
    field: str,
    errors: Errors,
    *,
    required: bool = False,
    first_year: int = FIRST_YEAR,
) -> date | None:
    """Return the date of ``field`` (``YYYY-MM-DD``, or a date cell); None when blank.

    The year must lie between ``first_year`` and ``periods.LAST_YEAR``: a Buddhist-era year
    typed as CE (2569 for 2026) is refused with the CE year it probably means, and nothing
    later can overflow on a year like 9999.
    """
    value = raw.get(field)
    if value.__class__ is str:
        found = _DAYS.get(value)
        if found is not None:
            return (
                found
                if found.year >= first_year
                else _out_of_range(errors, field, value, found, first_year)
            )
    value = clean(value)
    if value is None:
        if required:
            add_error(errors, field, REQUIRED)
        return None
    parsed = None
    if isinstance(value, datetime):
        if value.time() == datetime.min.time() and value.tzinfo is None:
            parsed = value.date()
    elif isinstance(value, date):
        parsed = value
    elif isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            pass
    if parsed is None:
        add_error(
            errors,
            field,
            Message("%(value)s is not a date; write it as YYYY-MM-DD", value=_show(value)),
        )
        return None
    if not year_in_range(parsed.year, FIRST_ACCOUNT_YEAR):
        return _out_of_range(errors, field, value, parsed, first_year)
    if isinstance(value, str) and len(_DAYS) < _MEMORY:
        _DAYS[value] = parsed
    if parsed.year < first_year:
        return _out_of_range(errors, field, value, parsed, first_year)
    return parsed


def _out_of_range(errors: Errors, field: str, value: object, parsed: date, first_year: int) -> None:
    if looks_buddhist(parsed.year):
        add_error(
            errors,
            field,
            Message(
                "%(value)s is in the year %(year)s, a Buddhist-era year? Write the CE year (%(ce_year)s)",
                value=_show(value),
                year=parsed.year,
                ce_year=parsed.year - BE_OFFSET,
            ),
        )
    else:
        add_error(
            errors,
            field,
            Message(
                "%(value)s is not between the years %(first)s and %(last)s",
                value=_show(value),
                first=first_year,
                last=LAST_YEAR,
            ),
        )
    return None


def moment(raw: Mapping[str, object], field: str, errors: Errors) -> datetime | None:
    """Return the timezone-aware timestamp of ``field`` (ISO 8601 with offset); None when blank."""
    value = clean(raw.get(field))
    if value is None:
        return None
    parsed = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and len(value) >= 16 and value[4] == "-":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None:
        add_error(
            errors,
            field,
            Message(
                "%(value)s is not a timestamp; write it as ISO 8601 with an "
                "offset, e.g. 2021-03-05T14:30:00+07:00",
                value=_show(value),
            ),
        )
        return None
    if parsed.tzinfo is None:
        add_error(
            errors,
            field,
            Message("%(value)s has no UTC offset; add one, e.g. +07:00", value=_show(value)),
        )
        return None
    return parsed


def number(
    raw: Mapping[str, object],
    field: str,
    errors: Errors,
    *,
    digits: int,
    places: int,
    minimum: Decimal | None = Decimal(0),
) -> Decimal | None:
    """Return the number in ``field`` as a Decimal fitting NUMERIC(digits, places); None when blank.

    Thousands separators (``1,500.50``) are accepted because spreadsheets write them.
    """
    value = clean(raw.get(field))
    if value is None:
        return None
    if isinstance(value, bool):
        parsed = None
    elif isinstance(value, (int, Decimal)):
        parsed = Decimal(value)
    elif isinstance(value, float):
        parsed = Decimal(repr(value))
    else:
        try:
            parsed = Decimal(str(value).replace(",", ""))
        except InvalidOperation:
            parsed = None
    if parsed is None or not parsed.is_finite():
        add_error(errors, field, Message("%(value)s is not a number", value=_show(value)))
        return None
    if minimum is not None and parsed < minimum:
        add_error(
            errors,
            field,
            Message("%(value)s is below %(minimum)s", value=_show(value), minimum=minimum),
        )
        return None
    # Check the size before rounding: quantize() cannot hold a value like 1e40 at two places
    # and would raise instead of letting the row be reported.
    if parsed.adjusted() >= digits - places:
        add_error(errors, field, _too_large(value))
        return None
    parsed = parsed.quantize(Decimal(1).scaleb(-places))
    if parsed.adjusted() >= digits - places:  # rounding can carry into one more digit
        add_error(errors, field, _too_large(value))
        return None
    return parsed


def boolean(
    raw: Mapping[str, object], field: str, errors: Errors, *, default: bool | None = False
) -> bool | None:
    """Return the true/false value of ``field``; ``default`` when blank."""
    value = clean(raw.get(field))
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    key = str(value).lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    add_error(
        errors,
        field,
        Message(
            "%(value)s is not true or false (write true/false, yes/no or 1/0)", value=_show(value)
        ),
    )
    return default


#: Characters that never belong in one plain address: a display name's brackets and quotes,
#: list separators, and anything an e-mail header would read as structure.
_NOT_IN_ADDRESS = frozenset('<>()[],;:"\\')


def email(raw: Mapping[str, object], field: str, errors: Errors) -> str | None:
    """Return the e-mail address in ``field``; None when blank.

    One plain ``local@domain`` address: ``a@b.example, eve@evil.example`` or
    ``Eve <eve@evil.example>`` would add recipients to the e-mails kamcrm sends.
    """
    value = text(raw, field, errors, max_length=limits.EMAIL, one_line=True)
    if value is None:
        return None
    local, at, domain = value.partition("@")
    if not (
        local
        and at
        and "." in domain
        and "@" not in domain
        and not domain.startswith(".")
        and not any(character.isspace() or character in _NOT_IN_ADDRESS for character in value)
    ):
        add_error(errors, field, Message("%(value)s is not an e-mail address", value=_show(value)))
        return None
    return value


def _too_large(value: object) -> Message:
    return Message("%(value)s is too large", value=_show(value))


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _show(value: object) -> str:
    """Quote a bad value for a message, shortened so a stray paragraph stays readable."""
    shown = value if isinstance(value, str) else _cell_text(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"'{shown}'"
