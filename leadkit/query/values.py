"""Raw filter values → typed Python values, one converter per field type.

Each converter returns the typed value or raises ``ValueError`` whose text completes the
sentence "``<value>`` ...", e.g. ``is not a whole number``.

Dates and times are UTC. Accepted forms: ``YYYY-MM-DD``, ``YYYY-MM-DD HH:mm``, with
``:ss`` and fractions of a second, ``T`` instead of the space, and a ``Z`` or ``±HH:MM``
offset (converted to UTC). A ``+`` offset that arrived as a space (an unencoded ``+`` in a
URL) is accepted too. A date alone means 00:00:00; ``HH:mm`` means ``HH:mm:00``.

>>> parse_timestamp("2021-03-11 10:00")
datetime.datetime(2021, 3, 11, 10, 0, tzinfo=datetime.timezone.utc)
>>> parse_timestamp("2021-03-11T12:00:30+02:00")
datetime.datetime(2021, 3, 11, 10, 0, 30, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from leadkit.query.catalog import FieldType

__all__ = ["CONVERTERS", "parse_bool", "parse_date", "parse_timestamp"]

_INT = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
    r"(?P<zone>[Zz]|[+-][0-9]{2}:?[0-9]{2}| [0-9]{2}:[0-9]{2})?)?"
)
_INT64 = (-(2**63), 2**63 - 1)
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}

DATE_FORMS = "YYYY-MM-DD"
TIMESTAMP_FORMS = "YYYY-MM-DD or YYYY-MM-DD HH:mm (UTC)"


def parse_int(text: str) -> int:
    """A whole number (64-bit)."""
    if not _INT.fullmatch(text):
        raise ValueError("is not a whole number")
    value = int(text) if len(text) <= 20 else _INT64[1] + 1  # int() refuses huge strings
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValueError("is out of range for a whole number")
    return value


def parse_float(text: str) -> float:
    """A decimal number such as ``1.5`` or ``2e3`` (no nan/inf)."""
    if not _NUMBER.fullmatch(text):
        raise ValueError("is not a number")
    return float(text)


def parse_decimal(text: str) -> Decimal:
    """A decimal number kept exact."""
    if not _NUMBER.fullmatch(text):
        raise ValueError("is not a number")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes these
        raise ValueError("is not a number") from None


def parse_bool(text: str) -> bool:
    """``true``/``false``/``1``/``0``, any case.

    Example:
        >>> parse_bool("TRUE"), parse_bool("0")
        (True, False)
    """
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValueError("is not a boolean; use true, false, 1 or 0")


def parse_date(text: str) -> dt.date:
    """A calendar date ``YYYY-MM-DD``."""
    match = _DATE.fullmatch(text)
    try:
        if match:
            return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        pass
    raise ValueError(f"is not a date; use {DATE_FORMS}")


def parse_timestamp(text: str) -> dt.datetime:
    """An instant, returned as an aware UTC datetime (see the module docstring)."""
    match = _TIMESTAMP.fullmatch(text)
    try:
        if match:
            year, month, day, hour, minute, second, fraction = match.groups()[:7]
            value = dt.datetime(
                int(year),
                int(month),
                int(day),
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                int((fraction or "0").ljust(6, "0")),
                tzinfo=_zone(match["zone"]),
            )
            return value.astimezone(dt.UTC)
    except ValueError:
        pass
    raise ValueError(f"is not a date; use {TIMESTAMP_FORMS}")


def _zone(text: str | None) -> dt.tzinfo:
    if text is None or text in ("Z", "z"):
        return dt.UTC
    sign = -1 if text[0] == "-" else 1  # a leading space was a "+" before URL decoding
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if minutes >= 60:
        raise ValueError("bad offset")
    offset = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(sign * offset)


CONVERTERS: dict[FieldType, Callable[[str], object]] = {
    FieldType.INTEGER: parse_int,
    FieldType.FLOAT: parse_float,
    FieldType.DECIMAL: parse_decimal,
    FieldType.STRING: str,
    FieldType.BOOLEAN: parse_bool,
    FieldType.DATE: parse_date,
    FieldType.TIMESTAMP: parse_timestamp,
}
"""The converter for each scalar field type."""
