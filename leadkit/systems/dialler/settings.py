"""``[destinations.NAME] kind = "dialler"`` settings.

Example:
    >>> s = DiallerSettings(base_url="https://dialler.example/", api_key="k" * 16,
    ...                     lead_type="motor-trade", delays_s=600)
    >>> s.base_url, s.lead_type, s.delays_s, s.api_key
    ('https://dialler.example', 'motor-trade', 600, SecretStr('**********'))
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from leadkit.config import DestinationSettings

__all__ = ["DiallerSettings"]


class DiallerSettings(DestinationSettings):
    """One dialler account (host, key and lead type are issued at onboarding).

    Attributes:
        base_url: the account's host, e.g. ``https://dialler.example.com`` (no path, no
            query: ``/lead/add`` and ``/lead/cancel`` are appended).
        api_key: the account's key, sent as the ``key`` query parameter; write
            ``"${DIALLER_API_KEY}"`` (masked in every log, error and stored URL).
        lead_type: the lead ``type`` every lead is queued under (one of the account's
            types; an unknown one is answered "Unknown Type").
        subtype: the lead ``subtype``, if any.
        delays_s: postpone each call by this many seconds (``delays``); none by default.
        mobile_field: the column holding the lead's mobile (``phone`` in the ``leads``
            view). Normalised to UK national form ``07…``; a lead without a valid UK mobile
            is rejected.
        other_phone_field: a column to send as ``other_phone`` (normalised to ``0…`` when
            it is a valid UK number, else kept in ``data``); none by default.
        data_fields: the columns sent in ``data`` (a JSON string). ``None`` (default):
            every non-null column the other fields do not use, except ``_``-prefixed
            bookkeeping columns; ``[]``: no ``data``.
        concurrency: requests in flight (1..64; the push engine's bound).
        backoff_initial_s: first retry delay after a 429/5xx/timeout (doubles, with
            jitter, up to 30 s; a 429's ``Retry-After`` wins).
    """

    kind: Literal["dialler"] = "dialler"
    base_url: str
    api_key: SecretStr
    lead_type: str
    subtype: str | None = None
    delays_s: int | None = Field(default=None, ge=0, le=365 * 24 * 3600)
    mobile_field: str = "phone"
    other_phone_field: str | None = None
    data_fields: list[str] | None = None
    backoff_initial_s: float = Field(default=0.5, ge=0, le=60)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if "?" in value or "@" in value:
            raise ValueError("must be a plain URL without query or credentials")
        return value.rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("is empty; set it to the account's key (from the environment)")
        return value

    @field_validator("lead_type", "mobile_field")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("subtype", "other_phone_field")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None
