"""Checking and normalising contact details before a lead is sent.

Destinations call these from :meth:`leadkit.push.base.Destination.prepare`; a value that
cannot be fixed raises :class:`~leadkit.push.base.LeadRejected` with the reason, so a broken
lead is recorded as ``rejected`` instead of being sent. Phone numbers use Google's
libphonenumber (the ``phonenumbers`` package).

Example:
    >>> normalise_email("  Ann.Smith@Example.COM ")
    'Ann.Smith@example.com'
    >>> normalise_phone("07840 258823", region="GB")
    '+447840258823'
    >>> normalise_phone("07840 258823", region="GB", style="national")
    '07840258823'
    >>> normalise_phone("040 123 4567", region="FI")
    '+358401234567'
    >>> normalise_phone("12345", region="GB")
    Traceback (most recent call last):
    ...
    leadkit.push.base.LeadRejected: phone '12345' is not a valid GB number
"""

from __future__ import annotations

import re
from typing import Literal

import phonenumbers

from leadkit.errors import short_repr
from leadkit.push.base import LeadRejected

__all__ = ["PhoneStyle", "is_email", "normalise_email", "normalise_phone", "text_or_none"]

PhoneStyle = Literal["e164", "national", "international"]

# The WHATWG "valid e-mail address" pattern, with a dot required in the domain.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)

_STYLES = {
    "e164": phonenumbers.PhoneNumberFormat.E164,
    "national": phonenumbers.PhoneNumberFormat.NATIONAL,
    "international": phonenumbers.PhoneNumberFormat.INTERNATIONAL,
}


def text_or_none(value: object) -> str | None:
    """``value`` as trimmed text, or None when it is None or blank (a column to a field).

    >>> text_or_none("  Matti "), text_or_none("   "), text_or_none(None), text_or_none(42)
    ('Matti', None, None, '42')
    """
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def is_email(value: str) -> bool:
    """Whether ``value`` is a plausible e-mail address (WHATWG syntax, dotted domain).

    >>> is_email("a@b.co"), is_email("a@b"), is_email("a b@c.de")
    (True, False, False)
    """
    return _EMAIL.fullmatch(value) is not None


def normalise_email(value: object, *, field: str = "email") -> str:
    """Trim an e-mail address and lower-case its domain.

    Raises:
        LeadRejected: missing, or not an e-mail address.
    """
    if not isinstance(value, str) or not value.strip():
        raise LeadRejected(f"{field} is missing", field=field)
    text = value.strip()
    local, _, domain = text.rpartition("@")
    text = f"{local}@{domain.lower()}" if local else text
    if not is_email(text):
        raise LeadRejected(
            f"{field} {short_repr(value)} is not a valid e-mail address", field=field
        )
    return text


def normalise_phone(
    value: object,
    *,
    region: str,
    field: str = "phone",
    style: PhoneStyle = "e164",
    mobile_only: bool = False,
    regions: tuple[str, ...] | None = None,
) -> str:
    """Parse a phone number and format it in ``style``.

    Args:
        value: the number as stored (any common format; ``+``-prefixed numbers keep their
            own country).
        region: the country assumed for numbers without ``+`` (ISO 3166 code: GB, FI, US).
        field: the destination field, for the message.
        style: ``e164`` (``+447840258823``), ``national`` (digits only, ``07840258823``) or
            ``international`` (``+44 7700 900123``).
        mobile_only: refuse numbers that are not mobile numbers.
        regions: the countries allowed (default: any).

    Raises:
        LeadRejected: missing, unparseable, invalid, not mobile, or from another country.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise LeadRejected(f"{field} is missing", field=field)
    text = str(value).strip()
    shown = short_repr(text)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise LeadRejected(f"{field} {shown} is not a phone number", field=field) from None
    country = phonenumbers.region_code_for_number(number) or region
    if not phonenumbers.is_valid_number(number):
        raise LeadRejected(f"{field} {shown} is not a valid {country} number", field=field)
    if regions is not None and country not in regions:
        allowed = ", ".join(regions)
        raise LeadRejected(
            f"{field} {shown} is a {country} number; allowed: {allowed}", field=field
        )
    if mobile_only:
        kind = phonenumbers.number_type(number)
        mobile = (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
        if kind not in mobile:
            raise LeadRejected(f"{field} {shown} is not a mobile number", field=field)
    formatted = phonenumbers.format_number(number, _STYLES[style])
    if style == "national":
        return re.sub(r"[^0-9+]", "", formatted)
    return formatted
