"""Validation and storage of imported leads (``POST /api/bulk/open/leads``, spec §6).

Validation copies Laravel's behaviour where the documentation is silent (spec Q18): strings
are trimmed and empty strings count as missing (Laravel's ``TrimStrings`` and
``ConvertEmptyStringsToNull`` middleware), error keys are the field names as sent and the
messages are Laravel's default ones with the field name in words ("date of birth").

Example:
    >>> clean, errors = validate_lead({"email": "john.smith1990@gmail.com", "dependants": -1})
    >>> errors
    {'dependants': ['The dependants must be at least 0.']}
    >>> validate_lead({"email": " "})[1]
    {'email': ['The email field is required.']}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from leadkit.systems.kpro import reference, vocab
from leadkit.systems.kpro.catalog import Catalog

__all__ = [
    "ACCOUNT_PROVIDER_ROW",
    "IMPORT_FIELDS",
    "INVALID_MESSAGE",
    "POSTCODE",
    "attribute_name",
    "lead_row",
    "local_authority_row",
    "validate_lead",
]

INVALID_MESSAGE = "The given data was invalid."
"""``message`` of a 422 answer (Laravel's wording)."""

ACCOUNT_PROVIDER_ROW = 0
"""The sandbox account's housing provider (row of ``vocab.HOUSING_PROVIDERS``): imported
leads that name no listing or development belong to it."""

POSTCODE = re.compile(
    r"(GIR ?0AA|(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?"
    r"|[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
    r" ?[0-9][ABD-HJLNP-UW-Z]{2})",
    re.IGNORECASE,
)
"""A valid UK postcode (the usual government pattern; the space is optional)."""

# The WHATWG "valid e-mail address" pattern.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HUMP = re.compile(r"([a-z0-9])([A-Z])")

_STRINGS = ("title", "firstName", "lastName", "phone", "homeAddress", "workAddress",
            "occupation", "employerName", "additionalInfo", "hearAboutUs",
            "listingExternalRef", "propertyExternalRef")  # fmt: skip
_BOOLEANS = ("sendEmailConfirmation", "armedForcesMember", "keyworker", "hasDisability",
             "housingWaitingList", "firstTimeBuyer", "eligibleCitizen")  # fmt: skip
_CHOICES: Mapping[str, frozenset[int]] = {
    "siteId": frozenset(s.id for s in reference.SITES),
    "livingCircumstance": frozenset(c.id for c in reference.LIVING_CIRCUMSTANCES),
    "workingCircumstance": frozenset(c.id for c in reference.WORKING_CIRCUMSTANCES),
    "homeOwnershipStatus": frozenset(s.id for s in reference.HOME_OWNERSHIP_STATUSES),
}
_IDS = ("listingId", "propertyId", "developmentId")
_NUMBERS = ("annualHouseholdIncome", "deposit")

IMPORT_FIELDS: tuple[str, ...] = (
    "externalRef", "email", *_BOOLEANS, "siteId", *_STRINGS, "dateOfBirth", *_NUMBERS,
    "livingCircumstance", "workingCircumstance", "homeOwnershipStatus", "homePostcode",
    "workPostcode", "dependants", *_IDS, "bedrooms", "enquiryType",
)  # fmt: skip
"""Every field an imported lead may carry (others are ignored)."""


def attribute_name(field: str) -> str:
    """A field name in words, as Laravel shows it in messages.

    Example:
        >>> attribute_name("dateOfBirth")
        'date of birth'
    """
    return _HUMP.sub(r"\1 \2", field).lower()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_int(field: str, value: object, allowed: frozenset[int] | None, low: int | None) -> str:
    name = attribute_name(field)
    if not _is_int(value):
        return f"The {name} must be an integer."
    assert isinstance(value, int)
    if allowed is not None and value not in allowed:
        return f"The selected {name} is invalid."
    if low is not None and value < low:
        return f"The {name} must be at least {low}."
    return ""


def _check_date_of_birth(value: object) -> str:
    name = attribute_name("dateOfBirth")
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return f"The {name} does not match the format Y-m-d."
    try:
        born = date.fromisoformat(value)
    except ValueError:
        return f"The {name} does not match the format Y-m-d."
    if born >= datetime.now(UTC).date():
        return f"The {name} must be a date before today."
    return ""


def _check_bedrooms(value: object) -> dict[str, str]:
    if not isinstance(value, list):
        return {"bedrooms": "The bedrooms must be an array."}
    problems = {}
    for i, item in enumerate(value):
        message = _check_int(f"bedrooms.{i}", item, None, 0)
        if message:
            problems[f"bedrooms.{i}"] = message
    return problems


def _check(field: str, value: object) -> dict[str, str]:
    """Problems with one present, non-null optional field (field → message)."""
    name = attribute_name(field)
    message = ""
    if field == "externalRef":
        if not (_is_int(value) or isinstance(value, str)):
            message = f"The {name} must be a string or an integer."
        elif len(str(value)) > 255:
            message = f"The {name} must not be greater than 255 characters."
    elif field in _STRINGS:
        message = "" if isinstance(value, str) else f"The {name} must be a string."
    elif field in _BOOLEANS:
        message = "" if isinstance(value, bool) else f"The {name} field must be true or false."
    elif field in _CHOICES:
        message = _check_int(field, value, _CHOICES[field], None)
    elif field in _IDS:
        message = _check_int(field, value, None, None)
    elif field == "dependants":
        message = _check_int(field, value, None, 0)
    elif field in _NUMBERS:
        if not _is_number(value):
            message = f"The {name} must be a number."
        elif value < 0:  # type: ignore[operator]
            message = f"The {name} must be at least 0."
    elif field in ("homePostcode", "workPostcode"):
        if not isinstance(value, str):
            message = f"The {name} must be a string."
        elif not POSTCODE.fullmatch(value):
            message = f"The {name} format is invalid."
    elif field == "dateOfBirth":
        message = _check_date_of_birth(value)
    elif field == "enquiryType":
        codes = {e.code for e in reference.ENQUIRY_TYPES}
        message = "" if value in codes else f"The selected {name} is invalid."
    elif field == "bedrooms":
        return _check_bedrooms(value)
    return {field: message} if message else {}


def validate_lead(lead: object) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Validate one imported lead.

    Args:
        lead: one element of the request's ``data`` array.

    Returns:
        ``(clean, errors)``: the known fields, trimmed, empty strings as None; and the
        problems by field (empty when the lead is valid).
    """
    if not isinstance(lead, dict):
        return {}, {"lead": ["The lead must be an object."]}
    clean: dict[str, Any] = {}
    for field in IMPORT_FIELDS:
        value = lead.get(field)
        if isinstance(value, str):
            value = value.strip() or None
        clean[field] = value
    errors: dict[str, list[str]] = {}
    email = clean["email"]
    if email is None:
        errors["email"] = ["The email field is required."]
    elif not isinstance(email, str) or not _EMAIL.fullmatch(email):
        errors["email"] = ["The email must be a valid email address."]
    for field in IMPORT_FIELDS:
        if field != "email" and clean[field] is not None:
            for key, message in _check(field, clean[field]).items():
                errors.setdefault(key, []).append(message)
    return clean, errors


_DISTRICT_LA = {d: i for i, a in enumerate(vocab.LOCAL_AUTHORITIES) for d in a.districts}


def local_authority_row(postcode: str | None) -> int | None:
    """The row in ``vocab.LOCAL_AUTHORITIES`` whose districts hold ``postcode``, if any.

    Example:
        >>> vocab.LOCAL_AUTHORITIES[local_authority_row("nw11 7hb")].name
        'Barnet'
    """
    if not postcode:
        return None
    compact = postcode.replace(" ", "").upper()
    return _DISTRICT_LA.get(compact[:-3])


def _row_of(table: tuple[Any, ...], wanted: object) -> int | None:
    for i, item in enumerate(table):
        if item.id == wanted:
            return i
    return None


def _resolve(clean: Mapping[str, Any], catalog: Catalog) -> dict[str, int | None]:
    """Catalog rows for the lead's listing, property, development and housing provider."""
    listing = catalog.listing_rows.get(clean["listingId"]) if clean["listingId"] else None
    if listing is None and clean["listingExternalRef"]:
        listing = catalog.listing_refs.get(clean["listingExternalRef"])
    prop = catalog.property_rows.get(clean["propertyId"]) if clean["propertyId"] else None
    if prop is None and clean["propertyExternalRef"]:
        prop = catalog.property_refs.get(clean["propertyExternalRef"])
    if listing is None and prop is not None:
        listing = int(catalog.properties["listing_row"][prop])
    dev: int | None = None
    if listing is not None:
        found = catalog.listings["dev_row"][listing]
        dev = None if found is None else int(found)
    elif clean["developmentId"]:
        dev = catalog.development_rows.get(clean["developmentId"])
    provider = ACCOUNT_PROVIDER_ROW
    if listing is not None:
        provider = int(catalog.listings["provider"][listing])
    elif dev is not None:
        provider = int(catalog.developments["provider"][dev])
    return {"listing_row": listing, "prop_row": prop, "dev_row": dev, "provider_row": provider}


def lead_row(
    clean: Mapping[str, Any],
    *,
    lead_id: int,
    customer_id: int,
    created_at: datetime,
    catalog: Catalog,
) -> dict[str, Any]:
    """The lead-frame row (see ``dataset.FRAME_SCHEMA``) for a valid imported lead."""
    site_row = _row_of(reference.SITES, clean["siteId"] if clean["siteId"] else 6)
    assert site_row is not None
    site = reference.SITES[site_row]
    names = [clean["firstName"], clean["lastName"]]
    home_la = local_authority_row(clean["homePostcode"])
    work_la = local_authority_row(clean["workPostcode"])
    row_of: Callable[[tuple[Any, ...], object], int | None] = _row_of
    external_ref = clean["externalRef"]
    return {
        "id": lead_id,
        "createdAt": created_at,
        "updatedAt": created_at,
        "customerId": customer_id,
        "eligibilityStatus": "not-checked",
        "externalRef": None if external_ref is None else str(external_ref),
        "site_id": site.id,
        "site_code": site.code,
        "site_name": site.name,
        "site_row": site_row,
        "source_row": None,
        "period_row": None,
        **_resolve(clean, catalog),
        "email": clean["email"],
        **{field: clean[field] for field in ("title", "firstName", "lastName", "phone",
                                              "dateOfBirth", "homeAddress", "homePostcode",
                                              "workAddress", "workPostcode", "occupation",
                                              "employerName", "annualHouseholdIncome",
                                              "deposit", "dependants", "homeOwnershipStatus",
                                              "additionalInfo", "hearAboutUs", "enquiryType")},
        **{field: clean[field] for field in _BOOLEANS if field != "sendEmailConfirmation"},
        "fullName": " ".join(n for n in names if n) or None,
        "living_row": row_of(reference.LIVING_CIRCUMSTANCES, clean["livingCircumstance"]),
        "working_row": row_of(reference.WORKING_CIRCUMSTANCES, clean["workingCircumstance"]),
        "home_la_row": home_la,
        "work_la_row": work_la,
        "homeLocalAuthority": None if home_la is None else vocab.LOCAL_AUTHORITIES[home_la].name,
        "workLocalAuthority": None if work_la is None else vocab.LOCAL_AUTHORITIES[work_la].name,
        "malformed": None,
        "imported": True,
    }  # fmt: skip
