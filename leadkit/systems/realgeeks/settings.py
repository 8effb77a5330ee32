"""``[destinations.NAME] kind = "realgeeks"`` settings.

Example:
    >>> s = RealGeeksSettings(username="mywebsite", password="s3cret",
    ...     site_uuid="106994A2AD214AB7AD891C4CCD9AE8A5",
    ...     base_url="https://receivers.leadrouter.realgeeks.com/rest/")
    >>> s.site_uuid, s.password
    ('106994a2-ad21-4ab7-ad89-1c4ccd9ae8a5', SecretStr('**********'))
    >>> s.base_url
    'https://receivers.leadrouter.realgeeks.com'
"""

from __future__ import annotations

import re
import uuid
from typing import Literal

import phonenumbers
from pydantic import Field, SecretStr, field_validator, model_validator

from leadkit.config import DestinationSettings

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_ID_NAMESPACE",
    "LEAD_KINDS",
    "PROPERTY_FIELDS",
    "ROLES",
    "LeadKind",
    "RealGeeksSettings",
]

DEFAULT_BASE_URL = "https://receivers.leadrouter.realgeeks.com"
"""The production host (spec §1, Q6: https); paths ``/rest/...`` are appended to it."""

DEFAULT_ID_NAMESPACE = uuid.UUID("b45819e3-1fdd-5aec-bf52-c14f747a0b07")
"""Default namespace of the lead ids: ``uuid5(NAMESPACE_URL, "leadkit:realgeeks:lead-id")``."""

Role = Literal["Buyer", "Seller", "Buyer and Seller", "Renter"]
ROLES: tuple[Role, ...] = ("Buyer", "Seller", "Buyer and Seller", "Renter")

LeadKind = Literal["lead", "potential_seller"]
LEAD_KINDS: tuple[LeadKind, ...] = ("lead", "potential_seller")

PROPERTY_FIELDS = (
    "mls", "url", "street_address", "city", "state", "zip", "beds", "full_baths",
    "half_baths", "type", "sqft", "listing_price", "listing_status", "listing_days_on_market",
    "list_date", "estimated_value", "last_sold_date", "last_sold_price", "rent_price", "tags",
    "latitude", "longitude",
)  # fmt: skip
"""The Property fields of spec §4: the keys ``property_fields`` may map."""

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_PROPERTY_EXAMPLE = (
    'e.g. property_fields = { street_address = "development.street", '
    'city = "development.town", zip = "development.postcode" } for kpro_leads'
)


class RealGeeksSettings(DestinationSettings):
    """One Real Geeks client site, reached with one product's credentials.

    Attributes:
        base_url: the API host; ``/rest/...`` (and ``/v2/rest/...``) are appended. A URL
            ending in the documented ``/rest`` is accepted and trimmed.
        username: the product's HTTP Basic username (from Real Geeks).
        password: its password (leadrouter calls it ``token``): ``"${REALGEEKS_PASSWORD}"``.
        site_uuid: the client site that granted access (spec Q10); any UUID form.
        lead_source: the ``source`` name agents see on every lead and activity.
        role: the ``role`` sent with every lead.
        id_namespace: namespace UUID of the deterministic lead ids
            ``uuid5(id_namespace, "system:source:lead_id")``; change it only for a new
            integration, or every lead is created again.
        phone_region: region (ISO 3166 code) for warehouse phone numbers written without a
            ``+`` country code.
        update_api: ``v1`` (PATCH ``/rest/...``: fields that became empty stay as they were)
            or ``v2`` (PATCH ``/v2/rest/...``: they are cleared with ``""``).
        notify_users: ask Real Geeks to notify the lead's agent of each note activity (and of
            each ``property_viewed`` activity of a potential seller).
        lead_kind: ``lead`` (``POST /leads``: a contact with a note) or ``potential_seller``
            (``POST /potential-seller-leads``: anonymous, one ``property_viewed`` activity
            carrying the property; no name, e-mail or phone is ever sent).
        property_fields: for ``potential_seller``: Real Geeks Property field → the warehouse
            column holding it, dotted into STRUCTs (``development.street``,
            ``lead.realty.address.street_address``); a list names candidate columns, the
            first non-empty one wins (one destination fed from several tables). Required
            with ``potential_seller``; not allowed with ``lead``.
        backoff_initial_s: first retry delay (doubles, with jitter, up to 30 s).
    """

    kind: Literal["realgeeks"] = "realgeeks"
    base_url: str = DEFAULT_BASE_URL
    username: str = Field(min_length=1)
    password: SecretStr
    site_uuid: str
    lead_source: str = Field(default="leadkit", min_length=1, max_length=200)
    role: Role = "Buyer"
    id_namespace: uuid.UUID = DEFAULT_ID_NAMESPACE
    phone_region: str = "US"
    update_api: Literal["v1", "v2"] = "v1"
    notify_users: bool = False
    lead_kind: LeadKind = "lead"
    property_fields: dict[str, list[str]] = Field(default_factory=dict)
    backoff_initial_s: float = Field(default=0.5, ge=0, le=60)

    @field_validator("base_url")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// for a sandbox)")
        if "@" in value.split("//", 1)[1].split("/", 1)[0]:
            raise ValueError("must not contain credentials; set username and password instead")
        value = value.rstrip("/")
        return value.removesuffix("/rest").rstrip("/")

    @field_validator("password")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("is empty; set it from the environment, e.g. ${REALGEEKS_PASSWORD}")
        return value

    @field_validator("site_uuid")
    @classmethod
    def _site(cls, value: str) -> str:
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            raise ValueError("must be the site UUID Real Geeks e-mailed, e.g. 106994a2-…") from None

    @field_validator("property_fields", mode="before")
    @classmethod
    def _property_fields(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        out: dict[object, object] = {}
        for name, columns in value.items():
            if name not in PROPERTY_FIELDS:
                raise ValueError(
                    f"{name!r} is not a Real Geeks property field; allowed: "
                    + ", ".join(PROPERTY_FIELDS)
                )
            paths = [columns] if isinstance(columns, str) else columns
            if not isinstance(paths, list) or not paths:
                raise ValueError(f"{name}: give a column name or a non-empty list of them")
            for path in paths:
                if not isinstance(path, str) or not _PATH.match(path):
                    raise ValueError(
                        f"{name}: {path!r} is not a column path (a column, or column.field "
                        "to read a STRUCT field, e.g. development.street)"
                    )
            out[name] = paths
        return out

    @model_validator(mode="after")
    def _kind_needs_property(self) -> RealGeeksSettings:
        if self.lead_kind == "potential_seller" and not self.property_fields:
            raise ValueError(
                'lead_kind = "potential_seller" needs property_fields: the warehouse columns '
                f"of the property, {_PROPERTY_EXAMPLE}"
            )
        if self.lead_kind == "lead" and self.property_fields:
            raise ValueError(
                'property_fields applies only to lead_kind = "potential_seller" (a lead\'s '
                "other columns already go into its note)"
            )
        return self

    @field_validator("phone_region")
    @classmethod
    def _region(cls, value: str) -> str:
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("must be a two-letter region code such as US, GB or FI")
        return region
