"""Validation of ``/lead/add`` and ``/lead/cancel`` bodies, the way the dialler answers 400.

The dialler is a Yii2 (PHP) application: a failed validation answers 400 with an object
keyed by field whose values are PHP arrays encoded as objects, ``{"0": "message"}``, with
Yii2's own wording (spec §2, §4). Labels are Yii2's: ``first_name`` → ``First Name``.

This module is the simulator's own reading of the spec, written independently of
leadkit's mapping (``leadkit.systems.dialler.payload``).

Example:
    >>> errors, _ = validate_add({"first_name": "John", "mobile": "12", "type": "motor-trade",
    ...                           "email": "john@example.com", "delays": -1})
    >>> errors_body(errors)
    {'surname': {'0': 'Surname cannot be blank.'}, 'mobile': {'0': 'Mobile is not a valid phone number.'}, 'delays': {'0': 'Delays must be no less than 0.'}}
    >>> normalise_phone("07840 258823"), normalise_phone("+44 (0) 7840 258823")
    ('+447840258823', '+447840258823')
"""  # noqa: E501

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

__all__ = [
    "DATA_MESSAGE",
    "AddRequest",
    "CancelRequest",
    "errors_body",
    "label",
    "normalise_phone",
    "parse_test_flag",
    "validate_add",
    "validate_cancel",
]

DATA_MESSAGE = "Empty or invalid content of `data` field"
"""The README's message for a malformed or empty ``data`` field."""

_EMAIL = re.compile(
    r"^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$"
)  # Yii2's EmailValidator pattern
_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")  # Yii2's integerPattern
_MAX_STRING = 255
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0", ""})

Errors = dict[str, list[str]]


@dataclass(frozen=True)
class AddRequest:
    """A ``/lead/add`` body that passed validation.

    Attributes:
        email: as sent (stripped).
        first_name: as sent (stripped).
        surname: as sent (stripped).
        mobile: as sent (stripped).
        mobile_key: ``mobile`` normalised to E.164, what duplicates are matched on.
        type: the lead type name.
        subtype: the subtype, if any.
        other_phone: any other number, as sent.
        data: ``data`` parsed (an object or an array), if any.
        delays: seconds to postpone the call, if given.
        test: True for a validate-only request.
    """

    email: str
    first_name: str
    surname: str
    mobile: str
    mobile_key: str
    type: str
    subtype: str | None
    other_phone: str | None
    data: Any
    delays: int | None
    test: bool


@dataclass(frozen=True)
class CancelRequest:
    """A ``/lead/cancel`` body that passed validation."""

    type: str
    mobile: str
    mobile_key: str


def label(field: str) -> str:
    """Yii2's label of an attribute.

    >>> label("first_name"), label("other_phone"), label("email")
    ('First Name', 'Other Phone', 'Email')
    """
    return " ".join(part.capitalize() for part in field.split("_"))


def errors_body(errors: Mapping[str, list[str]]) -> dict[str, dict[str, str]]:
    """The 400 body: each field's messages as a PHP array encoded as an object."""
    return {f: {str(i): m for i, m in enumerate(msgs)} for f, msgs in errors.items()}


def normalise_phone(value: str) -> str | None:
    """``value`` as an E.164 UK number if it is a possible GB (+44) number, else None."""
    if len(value) > 64:
        return None
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        return None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if number.country_code != 44 or possible != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None  # local-only numbers (no area code) cannot be dialled
    return f"+44{number.national_number}"


def parse_test_flag(value: Any) -> bool | None:
    """``test`` as a boolean (spec §4: ``true``, ``"true"`` in any case, ``1``, ``"1"``),
    or None when it is neither true nor false.

    >>> [parse_test_flag(v) for v in (True, "TRUE", 1, "1", False, "false", None, "yes")]
    [True, True, True, True, False, False, False, None]
    """
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def _blank(value: Any) -> bool:
    return (
        value is None
        or value == []
        or value == {}
        or (isinstance(value, str) and not value.strip())
    )


def _string(body: Mapping[str, Any], field: str, errors: Errors, *, required: bool) -> str | None:
    value = body.get(field)
    if _blank(value):
        if required:
            errors.setdefault(field, []).append(f"{label(field)} cannot be blank.")
        return None
    if not isinstance(value, str):
        errors.setdefault(field, []).append(f"{label(field)} must be a string.")
        return None
    if len(value) > _MAX_STRING:
        errors.setdefault(field, []).append(
            f"{label(field)} should contain at most {_MAX_STRING} characters."
        )
        return None
    return value.strip()


def _mobile(body: Mapping[str, Any], errors: Errors) -> tuple[str | None, str | None]:
    mobile = _string(body, "mobile", errors, required=True)
    if mobile is None:
        return None, None
    key = normalise_phone(mobile)
    if key is None:
        errors.setdefault("mobile", []).append("Mobile is not a valid phone number.")
    return mobile, key


def _data(body: Mapping[str, Any], errors: Errors) -> Any:
    if "data" not in body or body["data"] is None:
        return None
    value = body["data"]
    parsed: Any = None
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
    if not isinstance(parsed, dict | list):
        errors.setdefault("data", []).append(DATA_MESSAGE)
        return None
    return parsed


def _delays(body: Mapping[str, Any], errors: Errors) -> int | None:
    value = body.get("delays")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and _INTEGER.match(value)
    ):
        number = int(value)
    if number is None:
        errors.setdefault("delays", []).append("Delays must be an integer.")
        return None
    if number < 0:
        errors.setdefault("delays", []).append("Delays must be no less than 0.")
        return None
    return number


def validate_add(
    body: Mapping[str, Any], *, subtypes: Collection[str] | None = None
) -> tuple[Errors, AddRequest | None]:
    """Validate a ``/lead/add`` body (the 400 checks of spec §2, §4; unknown fields ignored).

    Args:
        body: the parsed JSON object.
        subtypes: when given, a ``subtype`` outside it is invalid.

    Returns:
        The errors per field (empty when valid) and, when valid, the request.
    """
    errors: Errors = {}
    email = _string(body, "email", errors, required=True)
    if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
        errors.setdefault("email", []).append("Email is not a valid email address.")
    first_name = _string(body, "first_name", errors, required=True)
    surname = _string(body, "surname", errors, required=True)
    mobile, mobile_key = _mobile(body, errors)
    lead_type = _string(body, "type", errors, required=True)
    subtype = _string(body, "subtype", errors, required=False)
    if subtype is not None and subtypes is not None and subtype not in subtypes:
        errors.setdefault("subtype", []).append("Subtype is invalid.")
    other_phone = _string(body, "other_phone", errors, required=False)
    data = _data(body, errors)
    delays = _delays(body, errors)
    test = parse_test_flag(body.get("test"))
    if test is None:
        errors.setdefault("test", []).append('Test must be either "true" or "false".')
    if errors:
        return errors, None
    assert email
    assert first_name
    assert surname
    assert mobile
    assert mobile_key
    assert lead_type
    request = AddRequest(
        email,
        first_name,
        surname,
        mobile,
        mobile_key,
        lead_type,
        subtype,
        other_phone,
        data,
        delays,
        bool(test),
    )
    return errors, request


def validate_cancel(body: Mapping[str, Any]) -> tuple[Errors, CancelRequest | None]:
    """Validate a ``/lead/cancel`` body (``type`` and ``mobile``; others ignored)."""
    errors: Errors = {}
    lead_type = _string(body, "type", errors, required=True)
    mobile, mobile_key = _mobile(body, errors)
    if errors:
        return errors, None
    assert lead_type
    assert mobile
    assert mobile_key
    return errors, CancelRequest(lead_type, mobile, mobile_key)
