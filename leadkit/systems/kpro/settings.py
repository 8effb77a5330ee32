"""``[sources.NAME] kind = "kpro"`` settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from leadkit.config import SourceSettings

__all__ = ["KProSettings"]


class KProSettings(SourceSettings):
    """One KPro Marketing account.

    Attributes:
        base_url: the API host, e.g. ``https://app.kpro.co`` (not documented by KPro; ask them).
        api_key: the account's API key; write ``"${KPRO_API_KEY}"`` and export the variable.
        path: the leads endpoint (default ``/api/bulk/open/leads``, spec Q17).
        page_size: leads per page, 1..1000 (the API's maximum; default 1000).
        concurrency: pages in flight once the total is known.
        overlap_s: an incremental run re-reads this many seconds before the stored cursor,
            so late-committed leads with an earlier ``createdAt`` are not missed.
        sort: the ascending order to page in; ``createdAt`` (default) or ``createdAt,id`` if
            your KPro instance accepts ``id`` as a sort key (spec Q5).
        backoff_initial_s: first retry delay (doubles, with jitter, up to 30 s).
    """

    kind: Literal["kpro"] = "kpro"
    base_url: str
    api_key: SecretStr
    path: str = "/api/bulk/open/leads"
    page_size: int = Field(default=1000, ge=1, le=1000)
    concurrency: int = Field(default=8, ge=1, le=64)
    overlap_s: int = Field(default=3600, ge=0, le=30 * 86400)
    sort: Literal["createdAt", "createdAt,id"] = "createdAt"
    backoff_initial_s: float = Field(default=0.5, ge=0, le=60)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if "api_key=" in value:
            raise ValueError("must not contain the API key; set api_key instead")
        return value

    @field_validator("api_key")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("is empty; set it to the account's key (from the environment)")
        return value
