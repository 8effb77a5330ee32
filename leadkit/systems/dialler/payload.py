"""The dialler's payloads and the mapping from a warehouse lead to them.

:class:`DiallerLead` is the ``/lead/add`` body and :class:`DiallerCancel` the
``/lead/cancel`` body (spec §2, §3), both strict pydantic models. :func:`build_payload`
maps one warehouse row:

=====================  =====================================================================
dialler field          from
=====================  =====================================================================
``email``              ``email``, trimmed and lower-cased; must be a valid address
``first_name``         ``first_name``, else split from ``full_name``
``surname``            ``last_name``, else split from ``full_name``
``mobile``             ``phone`` (``mobile_field``), normalised to UK national ``07…``; must
                       be a valid UK mobile
``type``/``subtype``   the settings ``lead_type`` / ``subtype``
``other_phone``        ``other_phone_field`` (when set and a valid UK number)
``delays``             the settings ``delays_s``
``data``               every other non-null column as a JSON **string** (``json.dumps``);
                       left out when there is nothing (never ``""``)
=====================  =====================================================================

A lead that cannot be fixed raises :class:`~leadkit.push.base.LeadRejected` naming every
problem and the offending values.

Example:
    >>> normalise_uk_mobile("+44 (0) 7840 258823")
    '07840258823'
    >>> normalise_uk_mobile("020 7946 0958")
    Traceback (most recent call last):
    ...
    leadkit.push.base.LeadRejected: mobile '020 7946 0958' is a UK landline number, not a mobile
    >>> split_name("Mr John van der Berg")
    ('John', 'van der Berg')
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import phonenumbers
from phonenumbers import PhoneNumberType
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from leadkit.errors import short_repr
from leadkit.push.base import Lead, LeadRejected

if TYPE_CHECKING:
    from leadkit.systems.dialler.settings import DiallerSettings

__all__ = [
    "EMAIL_PATTERN",
    "MOBILE_PATTERN",
    "DiallerCancel",
    "DiallerLead",
    "build_cancel",
    "build_payload",
    "data_json",
    "normalise_email",
    "normalise_uk_mobile",
    "normalise_uk_phone",
    "split_name",
]

#: What the dialler accepts as an e-mail address (the Yii2 framework's rule it runs).
EMAIL_PATTERN = (
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$"
)
#: A UK mobile in national form, as sent at add and at cancel (spec Q7).
MOBILE_PATTERN = r"^07\d{9}$"

_EMAIL = re.compile(EMAIL_PATTERN)
_MOBILE = re.compile(MOBILE_PATTERN)
_MAX_TEXT = 255
_MAX_PHONE_INPUT = 40
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev"})
_PARTICLES = frozenset(
    {"van", "von", "de", "der", "den", "da", "di", "du", "del", "della", "la", "le", "st", "st."}
)
_TYPE_WORDS = {
    PhoneNumberType.FIXED_LINE: "a UK landline number",
    PhoneNumberType.TOLL_FREE: "a UK freephone number",
    PhoneNumberType.PREMIUM_RATE: "a UK premium-rate number",
    PhoneNumberType.SHARED_COST: "a UK shared-cost number",
    PhoneNumberType.VOIP: "a UK VoIP number",
    PhoneNumberType.PERSONAL_NUMBER: "a UK personal number",
    PhoneNumberType.PAGER: "a UK pager number",
    PhoneNumberType.UAN: "a UK corporate number",
    PhoneNumberType.VOICEMAIL: "a UK voicemail number",
}


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DiallerLead(_Payload):
    """The ``POST /lead/add`` body (spec §2).

    Example:
        >>> DiallerLead(email="john@example.com", first_name="John", surname="Doe",
        ...             mobile="07840258823", type="motor-trade", data='{"a":1}').data
        '{"a":1}'
        >>> DiallerLead(email="john@example.com", first_name="John", surname="Doe",
        ...             mobile="07840258823", type="motor-trade", data="")
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for DiallerLead
        data
          Value error, must be JSON text of an object or an array (never "") ...
    """

    email: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    first_name: str = Field(min_length=1, max_length=_MAX_TEXT)
    surname: str = Field(min_length=1, max_length=_MAX_TEXT)
    mobile: str = Field(pattern=MOBILE_PATTERN)
    type: str = Field(min_length=1, max_length=_MAX_TEXT)
    subtype: str | None = Field(default=None, min_length=1, max_length=_MAX_TEXT)
    other_phone: str | None = Field(default=None, min_length=1, max_length=_MAX_TEXT)
    data: str | None = None
    delays: int | None = Field(default=None, ge=0)
    test: bool | None = None

    @field_validator("first_name", "surname", "type")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("data")
    @classmethod
    def _json_text(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict | list):
            raise ValueError('must be JSON text of an object or an array (never "")')
        return value


class DiallerCancel(_Payload):
    """The ``POST /lead/cancel`` body (spec §3): the (type, mobile) a call was queued under.

    >>> DiallerCancel(type="motor-trade", mobile="07840258823").model_dump()
    {'type': 'motor-trade', 'mobile': '07840258823'}
    """

    type: str = Field(min_length=1, max_length=_MAX_TEXT)
    mobile: str = Field(pattern=MOBILE_PATTERN)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _phone_text(value: Any, field: str) -> str:
    if _blank(value):
        raise LeadRejected(f"{field} is missing; the dialler needs a UK mobile", field=field)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise LeadRejected(f"{field} {short_repr(value)} is not text", field=field)
    if len(value) > _MAX_PHONE_INPUT:
        raise LeadRejected(
            f"{field} {short_repr(value)} is too long for a phone number", field=field
        )
    return value


def _parse_gb(text: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        return None


def normalise_uk_mobile(value: Any, *, field: str = "mobile") -> str:
    """A phone number as a valid UK mobile in national form ``07…``, or a rejection.

    Accepts the usual ways of writing one (``+44 7840 258823``, ``0044…``, ``(0)``,
    spaces, dashes, full-width digits); rejects anything that is not a valid +44 mobile
    (landlines, other countries, unallocated ranges, extensions).

    Raises:
        LeadRejected: with the reason and the offending value.
    """
    text = _phone_text(value, field)
    shown = short_repr(value)
    number = _parse_gb(text)
    if number is None:
        raise LeadRejected(f"{field} {shown} cannot be read as a phone number", field=field)
    if number.country_code != 44:
        raise LeadRejected(
            f"{field} {shown} is not a UK number (country code +{number.country_code})",
            field=field,
        )
    if number.extension:
        raise LeadRejected(f"{field} {shown} has an extension; a mobile has none", field=field)
    kind = phonenumbers.number_type(number)  # MOBILE implies a valid number
    if kind != PhoneNumberType.MOBILE:
        if not phonenumbers.is_valid_number(number):
            raise LeadRejected(f"{field} {shown} is not a valid UK number", field=field)
        what = _TYPE_WORDS.get(kind, "not a UK mobile")
        raise LeadRejected(f"{field} {shown} is {what}, not a mobile", field=field)
    national = "0" + phonenumbers.national_significant_number(number)
    if not _MOBILE.match(national):  # pragma: no cover - every valid +44 mobile is 07 + 9
        raise LeadRejected(f"{field} {shown} is not a UK mobile in 07… form", field=field)
    return national


def normalise_uk_phone(value: Any) -> str | None:
    """Any valid UK number in national form (``0…``, no spaces), or None.

    >>> normalise_uk_phone("+44 20 7946 0958"), normalise_uk_phone("not a number")
    ('02079460958', None)
    """
    if _blank(value) or not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value)
    if len(text) > _MAX_PHONE_INPUT:
        return None
    number = _parse_gb(text)
    if number is None or number.country_code != 44 or number.extension:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return "0" + phonenumbers.national_significant_number(number)


def normalise_email(value: Any) -> str:
    """An e-mail address trimmed and lower-cased, if the dialler will accept it.

    >>> normalise_email("  John.Doe@Example.COM ")
    'john.doe@example.com'

    Raises:
        LeadRejected: missing, or not an address the dialler accepts.
    """
    if _blank(value):
        raise LeadRejected(
            "email is missing; the dialler requires an e-mail address", field="email"
        )
    if not isinstance(value, str):
        raise LeadRejected(f"email {short_repr(value)} is not text", field="email")
    text = value.strip().lower()
    if text.startswith("mailto:"):
        text = text[len("mailto:") :]
    local = text.rpartition("@")[0]
    if len(text) > 254 or len(local) > 64 or not _EMAIL.match(text):
        raise LeadRejected(
            f"email {short_repr(value)} is not a valid e-mail address", field="email"
        )
    return text


def split_name(full_name: str) -> tuple[str | None, str | None]:
    """Split a full name into (first name, surname).

    Leading titles are dropped, ``"Surname, First"`` is understood, and the surname keeps
    its particles (``van der Berg``). A single word is a first name without a surname.

    >>> split_name("Mary Ann Smith"), split_name("Smith, John"), split_name("Cher")
    (('Mary Ann', 'Smith'), ('John', 'Smith'), ('Cher', None))
    """
    if full_name.count(",") == 1:
        last, first = (part.strip() for part in full_name.split(","))
        if first and last:
            return " ".join(first.split()), " ".join(last.split())
    words = full_name.split()
    while len(words) > 1 and words[0].lower().rstrip(".") in _TITLES:
        words = words[1:]
    if not words:
        return None, None
    if len(words) == 1:
        return words[0], None
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])


def _plain(value: Any) -> Any:
    """A warehouse value as plain JSON (datetimes as ISO 8601)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def data_json(fields: Mapping[str, Any]) -> str | None:
    """The ``data`` field: the non-empty values as a JSON string, or None when none are left.

    >>> data_json({"postcode": "SW1A 1AA", "created_at": dt.datetime(2021, 3, 1,
    ...            tzinfo=dt.UTC), "message": "", "status": None})
    '{"postcode":"SW1A 1AA","created_at":"2021-03-01T00:00:00+00:00"}'
    >>> data_json({"status": None}) is None
    True
    """
    kept = {k: _plain(v) for k, v in fields.items() if not _blank(v)}
    if not kept:
        return None
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":"))


def _names(row: Mapping[str, Any]) -> tuple[str | None, str | None]:
    first = row.get("first_name")
    last = row.get("last_name")
    first = first.strip() if isinstance(first, str) and first.strip() else None
    last = last.strip() if isinstance(last, str) and last.strip() else None
    full = row.get("full_name")
    if (first is None or last is None) and isinstance(full, str) and full.strip():
        split_first, split_last = split_name(full)
        if first is not None and last is None and full.strip().startswith(first):
            rest = full.strip()[len(first) :].strip()
            split_last = rest or split_last
        first = first or split_first
        last = last or split_last
    return first, last


def _validation_reason(exc: ValidationError) -> tuple[str, str | None]:
    parts: list[str] = []
    fields: list[str] = []
    for err in exc.errors(include_url=False):
        name = ".".join(str(p) for p in err["loc"])
        fields.append(name)
        parts.append(f"{name} {short_repr(err.get('input'))}: {err['msg']}")
    return "; ".join(parts), fields[0] if fields else None


def build_payload(lead: Lead, settings: DiallerSettings) -> DiallerLead:
    """Map a warehouse lead to the ``/lead/add`` body (see the module's table).

    Raises:
        LeadRejected: every problem at once (missing or invalid e-mail, names or mobile).
    """
    row = lead.row
    problems: list[LeadRejected] = []
    email = mobile = None
    try:
        email = normalise_email(row.get("email"))
    except LeadRejected as exc:
        problems.append(exc)
    first, last = _names(row)
    if first is None:
        problems.append(LeadRejected("first_name is missing (no first_name or full_name)",
                                     field="first_name"))  # fmt: skip
    if last is None:
        shown = short_repr(row.get("full_name"))
        problems.append(LeadRejected(f"surname is missing (no last_name, and full_name {shown} "
                                     "has no surname)", field="surname"))  # fmt: skip
    try:
        mobile = normalise_uk_mobile(row.get(settings.mobile_field))
    except LeadRejected as exc:
        problems.append(exc)
    if problems:
        raise LeadRejected("; ".join(p.reason for p in problems), field=problems[0].field)
    assert email is not None
    assert mobile is not None
    assert first is not None
    assert last is not None

    used = {"email", "first_name", "last_name", "full_name", settings.mobile_field}
    other_phone = None
    if settings.other_phone_field is not None:
        other_phone = normalise_uk_phone(row.get(settings.other_phone_field))
        if other_phone is not None:
            used.add(settings.other_phone_field)
    if settings.data_fields is not None:
        extra = {k: row[k] for k in settings.data_fields if k in row}
    else:
        extra = {k: v for k, v in row.items() if k not in used and not k.startswith("_")}
    try:
        return DiallerLead(
            email=email,
            first_name=first,
            surname=last,
            mobile=mobile,
            type=settings.lead_type,
            subtype=settings.subtype,
            other_phone=other_phone,
            data=data_json(extra),
            delays=settings.delays_s,
        )
    except ValidationError as exc:
        reason, field = _validation_reason(exc)
        raise LeadRejected(reason, field=field) from None


def build_cancel(payload: Mapping[str, Any], settings: DiallerSettings) -> DiallerCancel:
    """The ``/lead/cancel`` body for a lead sent with ``payload`` (same type, same mobile).

    >>> build_cancel({"type": "motor-trade", "mobile": "07840258823"}, None)  # type: ignore
    DiallerCancel(type='motor-trade', mobile='07840258823')

    Raises:
        LeadRejected: the payload has no valid mobile.
    """
    lead_type = payload.get("type") or settings.lead_type
    mobile = normalise_uk_mobile(payload.get("mobile"))
    return DiallerCancel(type=lead_type, mobile=mobile)
