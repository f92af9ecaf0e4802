"""Marshmallow fields of the API: the shape checks that sit in front of the operations.

They only check what JSON itself cannot say (a string, a number, an ISO date) and what
no database can store (NUL characters, lone surrogates, numbers beyond any column). The
meaning of a value (a known office, a tier, a date in an open quarter) is the operations'
business, checked once, there.
"""

from __future__ import annotations

from decimal import Decimal

import marshmallow as ma

#: The largest id or count a request may name (PostgreSQL ``integer``).
MAX_INT = 2**31 - 1
#: No kVA or baht figure comes near this; larger JSON numbers are malformed input, refused
#: before any arithmetic on them (the operations check each column's own precision).
MAX_NUMBER = Decimal(10) ** 15


def _storable(value: str) -> None:
    # PostgreSQL refuses NUL in text and no driver can encode a lone surrogate, so such
    # a string is malformed input, not a business rule.
    if "\x00" in value:
        raise ma.ValidationError("Must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ma.ValidationError("Must be valid Unicode text.") from None


class Text(ma.fields.String):
    """A string that PostgreSQL and SQLite can both store.

    ``doc`` adds OpenAPI keywords (``maxLength``, ``format``, ``enum``) to the document
    only: in a request body the operation checks them, with its own messages.
    """

    def __init__(self, *args, doc: dict | None = None, **kwargs):
        metadata = {**(kwargs.pop("metadata", None) or {}), **(doc or {})}
        if "enum" in metadata and kwargs.get("allow_none"):
            metadata["enum"] = [*metadata["enum"], None]
        super().__init__(*args, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        _storable(text)
        return text


class Choice(Text):
    """A query parameter naming one of ``choices`` (checked here: no operation reads it)."""

    def __init__(self, choices, *args, **kwargs):
        validators = list(kwargs.pop("validate", None) or [])
        validators.append(ma.validate.OneOf(list(choices)))
        super().__init__(*args, validate=validators, doc={"enum": list(choices)}, **kwargs)


class Number(ma.fields.Field):
    """A JSON number (never a boolean), handed on as a ``Decimal``; dumped as a number."""

    def __init__(self, *args, doc: dict | None = None, **kwargs):
        metadata = {"type": "number", **(kwargs.pop("metadata", None) or {}), **(doc or {})}
        super().__init__(*args, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise ma.ValidationError("Not a valid number.")
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():
            raise ma.ValidationError("Must be a finite number.")
        if abs(number) >= MAX_NUMBER:
            raise ma.ValidationError("Is far too large.")
        return number

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)


class Id(ma.fields.Integer):
    """A positive row id or count that fits PostgreSQL's ``integer``."""

    def __init__(self, *args, **kwargs):
        validators = list(kwargs.pop("validate", None) or [])
        validators.append(ma.validate.Range(min=1, max=MAX_INT))
        super().__init__(*args, strict=True, validate=validators, **kwargs)


class Int32(ma.fields.Integer):
    """A JSON integer that fits a database ``integer`` (its meaning is the operation's)."""

    def __init__(self, *args, **kwargs):
        validators = list(kwargs.pop("validate", None) or [])
        validators.append(ma.validate.Range(min=-MAX_INT - 1, max=MAX_INT))
        super().__init__(*args, strict=True, validate=validators, **kwargs)
