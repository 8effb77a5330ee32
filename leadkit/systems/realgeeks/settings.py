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

import uuid
from typing import Literal

import phonenumbers
from pydantic import Field, SecretStr, field_validator

from leadkit.config import DestinationSettings

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_ID_NAMESPACE", "ROLES", "RealGeeksSettings"]

DEFAULT_BASE_URL = "https://receivers.leadrouter.realgeeks.com"
"""The production host (spec §1, Q6: https); paths ``/rest/...`` are appended to it."""

DEFAULT_ID_NAMESPACE = uuid.UUID("b45819e3-1fdd-5aec-bf52-c14f747a0b07")
"""Default namespace of the lead ids: ``uuid5(NAMESPACE_URL, "leadkit:realgeeks:lead-id")``."""

Role = Literal["Buyer", "Seller", "Buyer and Seller", "Renter"]
ROLES: tuple[Role, ...] = ("Buyer", "Seller", "Buyer and Seller", "Renter")


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
        notify_users: ask Real Geeks to notify the lead's agent of each note activity.
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

    @field_validator("phone_region")
    @classmethod
    def _region(cls, value: str) -> str:
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("must be a two-letter region code such as US, GB or FI")
        return region
