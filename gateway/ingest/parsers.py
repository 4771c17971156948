"""Cell parsers: text in, typed value out, or :class:`InvalidInputError` naming the field.

Every parser takes the stripped cell text (never empty: missing values are
handled by the caller) and the canonical field name used in error messages.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from zoneinfo import ZoneInfo

from gateway.errors import InvalidInputError
from gateway.identifiers import normalise_mobile, normalise_resident_id

Parser = Callable[[str, str], object]
"""A cell parser: ``parser(text, field) -> value``."""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,2})?")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
_INTEGER = re.compile(r"[+-]?\d+")
_MONEY_LIMIT = Decimal("1e16")
_CENT = Decimal("0.01")
_TRUE = frozenset({"1", "true"})
_FALSE = frozenset({"0", "false"})


def text(max_length: int) -> Parser:
    """Return a parser for free text of at most ``max_length`` characters."""

    def parse(value: str, field: str) -> str:
        if len(value) > max_length:
            raise InvalidInputError(
                f"expected at most {max_length} characters, got {len(value)}", field=field
            )
        return value

    return parse


def resident_id(value: str, field: str) -> str:
    """Parse a resident ID (GB 11643; 15 digits are widened to 18)."""
    return normalise_resident_id(value, field=field)


def mobile(value: str, field: str) -> str:
    """Parse a mainland mobile number to its 11 digits."""
    return normalise_mobile(value, field=field)


def date(value: str, field: str) -> dt.date:
    """Parse an ISO date ``yyyy-mm-dd``."""
    if not _ISO_DATE.fullmatch(value):
        raise InvalidInputError("expected a date as yyyy-mm-dd", field=field)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError("expected a calendar date (yyyy-mm-dd)", field=field) from None


def timestamp(zone: ZoneInfo) -> Parser:
    """Return a parser for ISO 8601 timestamps; a value without offset is local time in ``zone``."""

    def parse(value: str, field: str) -> dt.datetime:
        if not _ISO_TIMESTAMP.fullmatch(value):
            raise InvalidInputError(
                "expected an ISO 8601 timestamp such as 2024-05-01T09:30:00+08:00", field=field
            )
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInputError("expected a calendar date and a valid time of day", field=field) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return parsed.astimezone(dt.UTC)

    return parse


def money(*, allow_negative: bool = False) -> Parser:
    """Return a parser for an amount in yuan with at most two decimal places.

    Thousands separators (``1,234.50``) and spreadsheet exponent notation
    (``5.00E+05``, as in the UCI data set) are accepted.
    """

    def parse(value: str, field: str) -> Decimal:
        # A comma is accepted only as a thousands separator: "1234,50" (decimal comma) is refused
        # rather than read as 123450.
        if "," in value and not _THOUSANDS.fullmatch(value):
            raise InvalidInputError(
                "expected a decimal amount such as 1234.50; commas only between groups of three digits",
                field=field,
            )
        cleaned = value.replace(",", "")
        if not _DECIMAL.fullmatch(cleaned):
            raise InvalidInputError("expected a decimal amount such as 1234.50", field=field)
        try:
            amount = Decimal(cleaned)
        except InvalidOperation:
            raise InvalidInputError("expected a decimal amount such as 1234.50", field=field) from None
        if abs(amount) >= _MONEY_LIMIT:
            raise InvalidInputError("expected an amount below 10^16", field=field)
        if amount != amount.quantize(_CENT):
            raise InvalidInputError("expected at most 2 decimal places", field=field)
        if amount < 0 and not allow_negative:
            raise InvalidInputError("expected an amount ≥ 0", field=field)
        return amount.quantize(_CENT)

    return parse


def integer(minimum: int, maximum: int) -> Parser:
    """Return a parser for an integer in ``[minimum, maximum]`` (``"3.0"`` counts as 3)."""

    def parse(value: str, field: str) -> int:
        cleaned = value[:-2] if value.endswith(".0") else value
        if not _INTEGER.fullmatch(cleaned):
            raise InvalidInputError("expected a whole number", field=field)
        number = int(cleaned)
        if not minimum <= number <= maximum:
            raise InvalidInputError(
                f"expected a whole number from {minimum} to {maximum}, got {number}", field=field
            )
        return number

    return parse


def choice(enum_class: type[StrEnum]) -> Parser:
    """Return a parser accepting the values of ``enum_class`` (case-insensitive)."""
    allowed = ", ".join(member.value for member in enum_class)

    def parse(value: str, field: str) -> StrEnum:
        try:
            return enum_class(value.lower())
        except ValueError:
            raise InvalidInputError(f"expected one of {allowed}", field=field) from None

    return parse


def boolean(value: str, field: str) -> bool:
    """Parse ``0``/``1``/``true``/``false`` (case-insensitive)."""
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidInputError("expected 0, 1, true or false", field=field)
