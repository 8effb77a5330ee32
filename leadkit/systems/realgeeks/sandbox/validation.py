"""The sandbox's checks of request bodies (spec §3, §4, §8), independent of leadkit's mapping.

:func:`check_lead` reads a lead body for one endpoint and returns the change it asks for
(fields to set, fields to clear, activities to append) or raises :class:`Invalid` with the
text of the 422 ``error``. Unknown fields are kept unchanged (the public field table was
not captured whole, spec §3).

Example:
    >>> change = check_lead({"source": "Web", "email": "Jack@Example.com"}, mode="create")
    >>> change.fields
    {'source': 'Web', 'email': 'Jack@Example.com'}
    >>> check_lead({"source": "Web"}, mode="create")
    Traceback (most recent call last):
    ...
    leadkit.systems.realgeeks.sandbox.validation.Invalid: a lead needs at least one of ...
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import phonenumbers

__all__ = [
    "CONTACT_FIELDS",
    "ROLES",
    "STRING_FIELDS",
    "Invalid",
    "LeadChange",
    "Mode",
    "canonical_uuid",
    "check_activities",
    "check_lead",
]

Mode = Literal["create", "patch-v1", "patch-v2", "potential-seller"]

STRING_FIELDS = (
    "source", "source_details", "email", "second_email", "first_name", "last_name", "phone",
    "phone2", "address", "street_address", "city", "state", "zip", "role", "region", "created",
)  # fmt: skip
"""Documented lead fields whose value is a string."""

CONTACT_FIELDS = (
    "email", "second_email", "first_name", "last_name", "phone", "phone2", "address",
    "street_address", "city", "state",
)  # fmt: skip
"""The starred fields of spec §3: a lead needs at least one (simulator rule)."""

ROLES = ("Buyer", "Seller", "Buyer and Seller", "Renter")
"""Accepted ``role`` values (``Potential Seller`` only via its own endpoint)."""

_NEVER_UNSET = ("source", "id", "created", "role")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PROPERTY_STRINGS = (
    "mls", "url", "street_address", "city", "state", "zip", "type", "listing_status",
    "list_date", "last_sold_date", "rent_price",
)  # fmt: skip
_PROPERTY_INTS = ("beds", "full_baths", "half_baths", "sqft", "listing_days_on_market")
_PROPERTY_NUMBERS = (
    "listing_price", "estimated_value", "last_sold_price", "latitude", "longitude",
)  # fmt: skip
_USER_STRINGS = (
    "id", "name", "email", "signature", "phone_company", "phone_office", "phone_cell",
    "phone_home",
)  # fmt: skip


class Invalid(Exception):
    """A body that fails validation: the message is the 422 ``error`` text."""


@dataclass
class LeadChange:
    """What a valid lead body asks for.

    Attributes:
        lead_id: the body's ``id`` (canonical form), if any.
        fields: fields to set (everything but ``id`` and ``activities``).
        unset: fields to clear (v2 PATCH with ``""``).
        activities: activities to append, defaults filled in.
    """

    lead_id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    unset: list[str] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)


def canonical_uuid(value: object) -> str | None:
    """A UUID in canonical form (lowercase, hyphenated), or None if ``value`` is not one.

    Hyphenated and 32-hex forms are accepted in any case (spec §8).

    Example:
        >>> canonical_uuid("106994A2AD214AB7AD891C4CCD9AE8A5")
        '106994a2-ad21-4ab7-ad89-1c4ccd9ae8a5'
        >>> canonical_uuid("{106994a2-ad21-4ab7-ad89-1c4ccd9ae8a5}") is None
        True
    """
    if not isinstance(value, str) or not re.fullmatch(
        r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", value
    ):
        return None
    return str(uuid.UUID(value))


def _is_datetime(value: str, *, need_offset: bool = True) -> bool:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.tzinfo is not None or not need_offset


def _check_phone(name: str, value: str) -> None:
    try:
        number = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise Invalid(f"{name} {value!r} is not a valid phone number")


def _check_string_field(name: str, value: str) -> None:
    if name in ("email", "second_email") and not _EMAIL.match(value):
        raise Invalid(f"{name} {value!r} is not a valid e-mail address")
    if name in ("phone", "phone2"):
        _check_phone(name, value)
    if name == "role" and value not in ROLES:
        raise Invalid(f"role {value!r} is not one of: {', '.join(ROLES)}")
    if name == "created" and not _is_datetime(value):
        raise Invalid(f"created {value!r} is not an ISO 8601 date-time with offset")


def check_lead(
    body: Any,
    *,
    mode: Mode,
    strict_activities: bool = False,
    default_source: str = "",
    now: str = "",
) -> LeadChange:
    """Validate a lead body for one endpoint.

    Args:
        body: the parsed JSON body.
        mode: ``create`` (POST leads), ``patch-v1``/``patch-v2`` (PATCH) or
            ``potential-seller``.
        strict_activities: activities need ``source`` and ``description``.
        default_source: an activity's ``source`` when it has none (the lead's source).
        now: receipt time (ISO 8601), the default ``created`` of activities.

    Raises:
        Invalid: the 422 message.
    """
    if not isinstance(body, dict):
        raise Invalid("lead must be a JSON object")
    change = LeadChange()
    for name, value in body.items():
        if name == "id":
            lead_id = canonical_uuid(value)
            if lead_id is None:
                raise Invalid(f"id {value!r} is not a valid UUID")
            change.lead_id = lead_id
        elif name == "activities":
            continue  # below, once the lead's source is known
        elif value is None:
            continue  # null: as if absent
        elif name in STRING_FIELDS:
            if not isinstance(value, str):
                raise Invalid(f"{name} must be a string, got {value!r}")
            if value == "":
                if mode == "patch-v2":
                    if name in _NEVER_UNSET:
                        raise Invalid(f"{name} cannot be unset")
                    change.unset.append(name)
                elif name == "source" and mode == "create":
                    raise Invalid("source is required")
                continue  # v1 and creates: an empty string changes nothing
            _check_string_field(name, value)
            change.fields[name] = value
        else:
            change.fields[name] = value  # undocumented field: kept unchanged
    if mode == "create" and not change.fields.get("source"):
        raise Invalid("source is required")
    if mode == "create" and not any(change.fields.get(f) for f in CONTACT_FIELDS):
        raise Invalid(f"a lead needs at least one of {', '.join(CONTACT_FIELDS)}")
    if mode == "potential-seller":
        present = [f for f in (*CONTACT_FIELDS, "role") if change.fields.get(f)]
        if present:
            raise Invalid(
                f"a potential seller lead has no contact fields; remove {', '.join(present)}"
            )
    source = str(change.fields.get("source") or default_source)
    if "activities" in body:
        change.activities = check_activities(
            body["activities"], strict=strict_activities, default_source=source, now=now
        )
    if mode == "potential-seller" and not any(
        a["type"] == "property_viewed"
        and isinstance(a.get("property"), dict)
        and any(v is not None for v in a["property"].values())  # {} describes no property
        for a in change.activities
    ):
        raise Invalid(
            "a potential seller lead needs at least one property_viewed activity with a property"
        )
    return change


def check_activities(
    body: Any, *, strict: bool = False, default_source: str = "", now: str = ""
) -> list[dict[str, Any]]:
    """Validate a list of activities and fill in the defaults.

    Raises:
        Invalid: the 422 message (``activities must be a list`` for anything else).

    Example:
        >>> check_activities([{"type": "note", "description": "hi"}], default_source="Web")
        [{'type': 'note', 'description': 'hi', 'source': 'Web', 'created': ''}]
    """
    if not isinstance(body, list):
        raise Invalid("activities must be a list")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(body):
        where = f"activities[{i}]"
        if not isinstance(item, dict):
            raise Invalid(f"{where} must be an object")
        act = dict(item)
        kind = act.get("type")
        if not isinstance(kind, str) or not kind:
            raise Invalid(f"{where}.type is required")
        for name in ("source", "description"):
            value = act.get(name)
            if value is None:
                if strict:
                    raise Invalid(f"{where}.{name} is required")
                act[name] = default_source if name == "source" else ""
            elif not isinstance(value, str):
                raise Invalid(f"{where}.{name} must be a string, got {value!r}")
        created = act.get("created")
        if created is None:
            act["created"] = now
        elif not isinstance(created, str) or not _is_datetime(created, need_offset=False):
            # spec §4: an activity's created is an "ISO 8601 date-time" (only the lead's
            # own created, §3, is documented "with offset")
            raise Invalid(f"{where}.created {created!r} is not an ISO 8601 date-time")
        if "notify_users" in act and not isinstance(act["notify_users"], bool):
            raise Invalid(f"{where}.notify_users must be true or false")
        if act.get("property") is not None:
            _check_property(act["property"], f"{where}.property")
        if act.get("user") is not None:
            _check_user(act["user"], f"{where}.user")
        out.append(act)
    return out


def _is_number(value: Any, *, integer: bool) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return not integer
    if isinstance(value, str):
        pattern = r"-?\d+" if integer else r"-?\d+(\.\d+)?"
        return re.fullmatch(pattern, value.strip()) is not None
    return False


def _check_property(prop: Any, where: str) -> None:
    if not isinstance(prop, dict):
        raise Invalid(f"{where} must be an object")
    for name, value in prop.items():
        if value is None:
            continue
        if name in _PROPERTY_STRINGS and not isinstance(value, str):
            raise Invalid(f"{where}.{name} must be a string, got {value!r}")
        if name in _PROPERTY_INTS and not _is_number(value, integer=True):
            raise Invalid(f"{where}.{name} must be a whole number, got {value!r}")
        if name in _PROPERTY_NUMBERS and not _is_number(value, integer=False):
            raise Invalid(f"{where}.{name} must be a number, got {value!r}")
        if name == "list_date" and not _is_datetime(value, need_offset=False):
            raise Invalid(f"{where}.list_date {value!r} is not an ISO 8601 date-time")
        if name == "tags" and not (
            isinstance(value, list) and all(isinstance(t, str) for t in value)
        ):
            raise Invalid(f"{where}.tags must be a list of strings")


def _check_user(user: Any, where: str) -> None:
    if not isinstance(user, dict):
        raise Invalid(f"{where} must be an object")
    for name, value in user.items():
        if value is None:
            continue
        if name in _USER_STRINGS and not isinstance(value, str):
            raise Invalid(f"{where}.{name} must be a string, got {value!r}")
        if name == "role" and value not in ("Agent", "Lender"):
            raise Invalid(f"{where}.role {value!r} is not one of: Agent, Lender")
        if name == "admin" and not isinstance(value, bool):
            raise Invalid(f"{where}.admin must be true or false")
