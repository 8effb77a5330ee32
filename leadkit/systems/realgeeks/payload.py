"""Warehouse lead → Real Geeks payload: the models (spec §3, §4, §6) and the mapping.

:func:`build_payload` maps one row of the ``leads`` view (or of a system table) to a
:class:`RealGeeksLead`:

* ``id`` is ``uuid5(id_namespace, "system:source:lead_id")`` (spec Q1), so a repeated create
  is an upsert of the same lead, never a duplicate;
* the e-mail is checked and lower-cased; the phone is parsed with ``phonenumbers``
  (``phone_region`` for numbers without ``+``) and written as Real Geeks shows them
  (spec Q8): ``808-123-1234`` for North American numbers, ``+<cc> <national>`` for the
  rest; a value that cannot be fixed rejects the lead (:class:`LeadRejected`);
* a lead with no contact field at all is rejected (Real Geeks would answer 422);
* everything Real Geeks has no field for (message, status, category, channel, any other
  column of a system table) goes into one ``note`` activity, so nothing is lost.

:func:`build_potential_seller` (``lead_kind = "potential_seller"``) maps a row to an
anonymous :class:`PotentialSellerLead` instead: ``id`` (``uuid5`` of
``"potential-seller:" + key``), ``created`` and one ``property_viewed`` activity whose
``property`` is read from the columns ``property_fields`` names. No name, e-mail, phone or
other column of the row is sent (not even in the activity's text): the lead is anonymous
by definition. A row whose property has no street address, MLS number, URL or
latitude + longitude is rejected.

Example:
    >>> from leadkit.systems.realgeeks.settings import RealGeeksSettings
    >>> settings = RealGeeksSettings(username="u", password="p", lead_source="Acme",
    ...     site_uuid="106994a2-ad21-4ab7-ad89-1c4ccd9ae8a5")
    >>> lead = Lead("kpro", "kpro_main", "42", {"email": " Jack@Example.COM ",
    ...     "phone": "(808) 123 1234", "full_name": "Jack Johnson", "message": "Hi"})
    >>> p = build_payload(lead, settings)
    >>> p.email, p.phone, p.first_name, p.last_name
    ('jack@example.com', '808-123-1234', 'Jack', 'Johnson')
    >>> print(p.activities[0].description)
    kpro lead 42 (source kpro_main)
    Message: Hi
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import orjson
import phonenumbers
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from leadkit.errors import short_repr
from leadkit.push.base import Lead, LeadRejected

if TYPE_CHECKING:
    from leadkit.systems.realgeeks.settings import RealGeeksSettings

__all__ = [
    "CONTACT_FIELDS",
    "PROPERTY_IDENTIFIERS",
    "Activity",
    "PotentialSellerLead",
    "Property",
    "RealGeeksLead",
    "RealGeeksUser",
    "build_payload",
    "build_potential_seller",
    "build_property",
    "format_phone",
    "lead_uuid",
    "normalise_email",
    "note_text",
    "potential_seller_uuid",
    "read_column",
]

CONTACT_FIELDS = (
    "email", "second_email", "first_name", "last_name", "phone", "phone2", "address",
    "street_address", "city", "state",
)  # fmt: skip
"""Real Geeks' contact fields: a lead needs at least one."""

PROPERTY_IDENTIFIERS = ("street_address", "mls", "url")
"""A potential seller's property needs one of these (or latitude and longitude): an agent
cannot act on a property known only by its town or zip."""

#: Canonical columns the mapping consumes (the rest go into the note).
_MAPPED = frozenset(
    {"system", "source", "lead_id", "created_at", "email", "first_name", "last_name",
     "full_name", "phone", "postcode", "updated_at"}
)  # fmt: skip
#: Columns shown first in the note, with their labels.
_NOTE_LABELS = {
    "message": "Message",
    "status": "Status",
    "category": "Category",
    "channel": "Channel",
}
_EMAIL = re.compile(
    r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z]{2,63}$"
)
_US_PHONE = re.compile(r"^\d{3}-\d{3}-\d{4}$")


def _aware_iso(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return value


def _canonical_uuid(value: str) -> str:
    return str(uuid.UUID(value))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RealGeeksUser(_Model):
    """A CRM user (agent or lender) an activity is about (spec §6)."""

    id: str | None = None
    role: Literal["Agent", "Lender"] | None = None
    admin: bool | None = None
    name: str | None = None
    email: str | None = None
    signature: str | None = None
    phone_company: str | None = None
    phone_office: str | None = None
    phone_cell: str | None = None
    phone_home: str | None = None


class Property(_Model):
    """The property an activity is about (spec §4; numbers as the docs' examples send them)."""

    mls: str | None = None
    url: str | None = None
    street_address: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    beds: int | None = None
    full_baths: int | None = None
    half_baths: int | str | None = None
    type: str | None = None
    sqft: int | str | None = None
    listing_price: str | None = None
    listing_status: str | None = None
    listing_days_on_market: int | None = None
    list_date: str | None = None
    estimated_value: str | None = None
    last_sold_date: str | None = None
    last_sold_price: str | None = None
    rent_price: str | None = None
    tags: list[str] | None = None
    latitude: float | None = None
    longitude: float | None = None


class Activity(_Model):
    """Something the lead did, or a note about it (spec §4). leadkit always sends
    ``source`` and ``description`` (Q3)."""

    type: str = Field(min_length=1)
    source: str = Field(min_length=1)
    description: str
    property: Property | None = None
    user: RealGeeksUser | None = None
    created: str | None = None
    notify_users: bool | None = None

    _created = field_validator("created")(_aware_iso)


class RealGeeksLead(_Model):
    """The body of ``POST /sites/{site}/leads`` (spec §3)."""

    id: str
    source: str = Field(min_length=1)
    source_details: str | None = None
    email: str | None = None
    second_email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    phone2: str | None = None
    address: str | None = None
    street_address: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    role: Literal["Buyer", "Seller", "Buyer and Seller", "Renter"] | None = None
    activities: list[Activity] | None = None
    region: str | None = None
    created: str | None = None

    _created = field_validator("created")(_aware_iso)

    _id = field_validator("id")(_canonical_uuid)

    @field_validator("email", "second_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError(f"{value!r} is not a valid e-mail address")
        return value

    @field_validator("phone", "phone2")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not (_US_PHONE.match(value) or value.startswith("+")):
            raise ValueError(f"{value!r} is not formatted as 808-123-1234 or +<cc> <number>")
        return value

    @model_validator(mode="after")
    def _contact(self) -> RealGeeksLead:
        if not any(getattr(self, name) for name in CONTACT_FIELDS):
            raise ValueError(f"a lead needs at least one of {', '.join(CONTACT_FIELDS)}")
        return self


def _has_property(activity: Activity) -> bool:
    prop = activity.property
    return prop is not None and bool(prop.model_dump(exclude_none=True))


class PotentialSellerLead(_Model):
    """The body of ``POST /sites/{site}/potential-seller-leads`` (spec §2; the seed: "the
    supported fields is a small subset of the Leads fields: id, activities, created").
    Anonymous: no name, e-mail or phone; at least one ``property_viewed`` activity with a
    ``property``."""

    id: str
    activities: list[Activity] = Field(min_length=1)
    created: str | None = None

    _created = field_validator("created")(_aware_iso)

    _id = field_validator("id")(_canonical_uuid)

    @model_validator(mode="after")
    def _viewed(self) -> PotentialSellerLead:
        if not any(a.type == "property_viewed" and _has_property(a) for a in self.activities):
            raise ValueError("needs a property_viewed activity with a property")
        return self


def lead_uuid(lead: Lead, namespace: uuid.UUID) -> str:
    """The lead's Real Geeks id: ``uuid5(namespace, "system:source:lead_id")``.

    Example:
        >>> lead_uuid(Lead("kpro", "kpro_main", "42", {}), uuid.NAMESPACE_URL)
        '0f61b5ce-89f9-532c-8826-62fb1616ac48'
    """
    return str(uuid.uuid5(namespace, lead.key))


def potential_seller_uuid(lead: Lead, namespace: uuid.UUID) -> str:
    """A potential seller's Real Geeks id: ``uuid5(namespace, "potential-seller:" + key)``.

    Not the id :func:`lead_uuid` gives the same lead, so a contact lead and a potential
    seller made from one warehouse row never merge into one CRM lead.

    Example:
        >>> lead = Lead("kpro", "kpro_main", "42", {})
        >>> potential_seller_uuid(lead, uuid.NAMESPACE_URL) != lead_uuid(lead, uuid.NAMESPACE_URL)
        True
    """
    return str(uuid.uuid5(namespace, f"potential-seller:{lead.key}"))


def normalise_email(raw: object) -> str | None:
    """A usable e-mail address (trimmed, lower-case), or None when ``raw`` is not one.

    Example:
        >>> normalise_email(" Jack@Gmail.COM "), normalise_email("jack@gmail"), normalise_email("")
        ('jack@gmail.com', None, None)
    """
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower().removeprefix("mailto:")
    return text if _EMAIL.match(text) else None


def format_phone(raw: object, region: str = "US") -> str | None:
    """A phone number as Real Geeks shows it, or None when it cannot be read as one.

    North American numbers (country code 1) become ``808-123-1234``, any other
    ``+<country code> <national number>``; ``region`` applies to numbers written without
    a ``+``. An extension is dropped (the note keeps the original). Never raises.

    Example:
        >>> format_phone("(808) 123-1234"), format_phone("+358 40 123 4567")
        ('808-123-1234', '+358 40 1234567')
        >>> format_phone("0401234567", "FI"), format_phone("12"), format_phone(None)
        ('+358 40 1234567', None, None)
    """
    if raw is None or isinstance(raw, bool):
        return None
    text = str(raw).strip()
    if not text or len(text) > 64:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    number.extension = None
    if not phonenumbers.is_possible_number(number):
        return None
    if number.country_code == 1:
        digits = phonenumbers.national_significant_number(number)
        if len(digits) != 10:
            return None
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    formatted: str = phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return formatted


def _iso(value: object) -> str | None:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).isoformat()
    if isinstance(value, str) and value.strip():
        try:
            return _iso(datetime.fromisoformat(value.strip()))
        except ValueError:
            return None
    return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (dict, list, tuple)):
        return orjson.dumps(value, default=str).decode()
    return str(value)


def _names(row: Mapping[str, Any]) -> tuple[str | None, str | None]:
    first, last = _text(row.get("first_name")), _text(row.get("last_name"))
    full = _text(row.get("full_name"))
    if first or last or not full:
        return first, last
    parts = full.split()
    if len(parts) == 1:
        return parts[0], None
    return " ".join(parts[:-1]), parts[-1]


def _note(lead: Lead, row: Mapping[str, Any], first: str | None, last: str | None) -> str:
    lines = [f"{lead.system} lead {lead.lead_id} (source {lead.source})"]
    for column, label in _NOTE_LABELS.items():
        value = _text(row.get(column))
        if value:
            lines.append(f"{label}: {value}")
    full = _text(row.get("full_name"))
    if full and full != " ".join(p for p in (first, last) if p):
        lines.append(f"Full name: {full}")
    for column, value in row.items():
        if column in _MAPPED or column in _NOTE_LABELS or column.startswith("_"):
            continue
        text = _text(value)
        if text:
            lines.append(f"{column}: {text}")
    return "\n".join(lines)


def build_payload(lead: Lead, settings: RealGeeksSettings) -> RealGeeksLead:
    """Map one warehouse lead to a validated Real Geeks lead.

    Raises:
        LeadRejected: an e-mail or phone that cannot be fixed, or no contact field at all.
    """
    row = lead.row
    email_raw = _text(row.get("email"))
    email = normalise_email(email_raw) if email_raw else None
    if email_raw and email is None:
        raise LeadRejected(f"email {email_raw!r} is not a valid e-mail address", field="email")
    phone_raw = _text(row.get("phone"))
    phone = format_phone(phone_raw, settings.phone_region) if phone_raw else None
    if phone_raw and phone is None:
        raise LeadRejected(
            f"phone {phone_raw!r} is not a valid phone number "
            f"(numbers without + are read as {settings.phone_region})",
            field="phone",
        )
    first, last = _names(row)
    if not (email or phone or first or last):
        raise LeadRejected(
            "no e-mail, phone or name: Real Geeks needs at least one contact field",
            field="email",
        )
    description = _note(lead, row, first, last)
    if phone_raw and phone and re.search(r"(?i)(ext|x|#)\.?\s*\d+\s*$", phone_raw):
        description += f"\nPhone as received: {phone_raw}"
    try:
        note = Activity(
            type="note",
            source=settings.lead_source,
            description=description,
            created=_iso(row.get("updated_at")) or _iso(row.get("created_at")),
            notify_users=True if settings.notify_users else None,
        )
        return RealGeeksLead(
            id=lead_uuid(lead, settings.id_namespace),
            source=settings.lead_source,
            source_details=f"leadkit: {lead.system} lead {lead.lead_id} via {lead.source}",
            email=email,
            first_name=first,
            last_name=last,
            phone=phone,
            zip=_text(row.get("postcode")),
            role=settings.role,
            activities=[note],
            created=_iso(row.get("created_at")),
        )
    except ValidationError as exc:
        raise _first_problem(exc) from None


def _first_problem(exc: ValidationError) -> LeadRejected:
    """The first problem of a payload Real Geeks' model refused, naming its field."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "lead"
    return LeadRejected(f"{where}: {err['msg']}", field=where)


def note_text(payload: Mapping[str, Any]) -> str | None:
    """The ``description`` of a payload's ``note`` activity, or None when it has none.

    Example:
        >>> note_text({"activities": [{"type": "note", "description": "Hi"}]})
        'Hi'
        >>> note_text({"id": "x"}) is None
        True
    """
    for activity in payload.get("activities") or []:
        if isinstance(activity, Mapping) and activity.get("type") == "note":
            text = activity.get("description")
            return text if isinstance(text, str) else None
    return None


# --- potential sellers --------------------------------------------------------------------

_PROPERTY_TEXT = frozenset(
    {"mls", "url", "street_address", "city", "state", "zip", "type", "listing_status",
     "last_sold_date", "rent_price"}
)  # fmt: skip
#: Sent as JSON integers (the docs' example: ``"beds": 2``).
_PROPERTY_INTS = frozenset({"beds", "full_baths", "listing_days_on_market"})
#: Whole numbers sent as numeric strings (the docs' example: ``"half_baths": "1"``).
_PROPERTY_INT_TEXT = frozenset({"half_baths", "sqft"})
#: Numeric strings, decimals allowed (``"listing_price": "100500"``).
_PROPERTY_DECIMAL_TEXT = frozenset({"listing_price", "estimated_value", "last_sold_price"})
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def read_column(row: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (``column`` or ``column.field.field`` into STRUCTs), or None.

    Example:
        >>> read_column({"development": {"street": "1 Main St"}}, "development.street")
        '1 Main St'
        >>> read_column({"development": None}, "development.street") is None
        True
    """
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _whole(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.0+)?", value.strip()):
        return int(value.strip().split(".")[0])
    raise ValueError


def _decimal_text(value: object) -> str:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value).strip()  # Decimal or a numeric string
    if not _NUMBER.match(text):
        raise ValueError
    return text


def _coordinate(value: object, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError
    number = float(str(value).strip())
    if not -limit <= number <= limit:  # also refuses NaN
        raise ValueError
    return number


def _property_value(name: str, value: Any) -> Any:
    """One Property field from a warehouse value (raises ValueError when it cannot be)."""
    if name in _PROPERTY_TEXT:
        if isinstance(value, (dict, list, tuple)):
            raise ValueError
        return _text(value)
    if name in _PROPERTY_INTS:
        return _whole(value)
    if name in _PROPERTY_INT_TEXT:
        return str(_whole(value))
    if name in _PROPERTY_DECIMAL_TEXT:
        return _decimal_text(value)
    if name == "list_date":
        iso = _iso(value)
        if iso is None:
            raise ValueError
        return iso
    if name == "tags":
        items = value if isinstance(value, (list, tuple)) else [value]
        tags = [t for t in (_text(i) for i in items) if t]
        return tags or None
    if name in ("latitude", "longitude"):
        return _coordinate(value, 90.0 if name == "latitude" else 180.0)
    raise ValueError  # pragma: no cover - the settings only allow Property fields


_EXPECTED = {
    **{n: "text" for n in _PROPERTY_TEXT},
    **{n: "a whole number" for n in _PROPERTY_INTS | _PROPERTY_INT_TEXT},
    **{n: "a number" for n in _PROPERTY_DECIMAL_TEXT},
    "list_date": "an ISO 8601 date or date-time",
    "tags": "text or a list of texts",
    "latitude": "a number from -90 to 90",
    "longitude": "a number from -180 to 180",
}


def build_property(row: Mapping[str, Any], fields: Mapping[str, Sequence[str]]) -> Property:
    """The Property of a row: each field from the first of its columns with a value.

    Raises:
        LeadRejected: a value of the wrong kind (e.g. ``beds`` = ``"two"``), or not enough
            to find the property (no street address, MLS number, URL or coordinates).

    Example:
        >>> row = {"development": {"street": "12 Mill Lane", "town": "Leeds"},
        ...        "property": {"bedrooms": 2}}
        >>> build_property(row, {"street_address": ["development.street"],
        ...     "city": ["development.town"], "beds": ["property.bedrooms"]}).model_dump(
        ...     exclude_none=True)
        {'street_address': '12 Mill Lane', 'city': 'Leeds', 'beds': 2}
    """
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name, columns in fields.items():
        for column in columns:
            raw = read_column(row, column)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                value = _property_value(name, raw)
            except (ValueError, TypeError):
                raise LeadRejected(
                    f"property {name} (column {column}): {short_repr(raw)} is not "
                    f"{_EXPECTED[name]}",
                    field=f"property.{name}",
                ) from None
            if value is not None:
                values[name] = value
                origin[name] = column
                break
    located = any(values.get(n) for n in PROPERTY_IDENTIFIERS) or (
        "latitude" in values and "longitude" in values
    )
    if not located:
        found = ", ".join(f"{n} (from {origin[n]})" for n in values) or "nothing"
        mapped = ", ".join(f"{n} = {' or '.join(c)}" for n, c in fields.items())
        raise LeadRejected(
            "not enough property data for a potential seller: needs a street_address, mls, "
            f"url, or latitude and longitude; this row gave {found} (property_fields: "
            f"{mapped})",
            field="property",
        )
    return Property(**values)


def _property_summary(prop: Property) -> str:
    place = ", ".join(p for p in (prop.street_address, prop.city, prop.state, prop.zip) if p)
    lines = [f"Property: {place}"] if place else []
    if prop.mls:
        lines.append(f"MLS: {prop.mls}")
    if prop.url:
        lines.append(f"URL: {prop.url}")
    if not lines:
        lines.append(f"Property at {prop.latitude}, {prop.longitude}")
    return "\n".join(lines)


def build_potential_seller(lead: Lead, settings: RealGeeksSettings) -> PotentialSellerLead:
    """Map one warehouse lead to an anonymous potential-seller lead.

    Only the property (``property_fields``), the creation time and the lead's origin
    (system, source, id) are sent: never a name, e-mail, phone or any other column.

    Raises:
        LeadRejected: a property value of the wrong kind, or not enough property data.

    Example:
        >>> from leadkit.systems.realgeeks.settings import RealGeeksSettings
        >>> settings = RealGeeksSettings(username="u", password="p", lead_source="Acme",
        ...     site_uuid="106994a2-ad21-4ab7-ad89-1c4ccd9ae8a5", lead_kind="potential_seller",
        ...     property_fields={"street_address": "street", "zip": "postcode"})
        >>> lead = Lead("kpro", "kpro_main", "42", {"street": "12 Mill Lane",
        ...     "postcode": "LS1 4AB", "email": "jack@example.com"})
        >>> p = build_potential_seller(lead, settings)
        >>> sorted(p.model_dump(exclude_none=True))
        ['activities', 'id']
        >>> print(p.activities[0].description)
        kpro lead 42 (source kpro_main)
        Property: 12 Mill Lane, LS1 4AB
    """
    row = lead.row
    prop = build_property(row, settings.property_fields)
    created = _iso(row.get("created_at"))
    try:
        viewed = Activity(
            type="property_viewed",
            source=settings.lead_source,
            description=(
                f"{lead.system} lead {lead.lead_id} (source {lead.source})\n"
                + _property_summary(prop)
            ),
            property=prop,
            created=created,
            notify_users=True if settings.notify_users else None,
        )
        return PotentialSellerLead(
            id=potential_seller_uuid(lead, settings.id_namespace),
            activities=[viewed],
            created=created,
        )
    except ValidationError as exc:
        raise _first_problem(exc) from None
