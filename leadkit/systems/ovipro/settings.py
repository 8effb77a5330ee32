"""``[sources.NAME] kind = "ovipro"`` settings.

Things the OviPro documentation does not show (spec §1, Q1, Q4) are settings with the
spec's inferred defaults, marked *(inferred)* below and in ``docs/configuration.md``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from leadkit.config import SourceSettings

__all__ = ["OviProSettings"]


class OviProSettings(SourceSettings):
    """One OviPro integration account (a service user that sees some agency offices).

    Attributes:
        base_url: the Lead API, e.g. ``https://api.ovipro.fi/lead/v1`` (inferred; preprod:
            ``https://api.preprod-ovipro.net/lead/v1``). Required, so a test config can never
            send real credentials to a guessed host.
        auth_url: the Authentication API, e.g. ``https://api.ovipro.fi/authentication/v1``
            (inferred). Required, for the same reason.
        username: the integration's user name; write ``"${OVIPRO_USERNAME}"``.
        password: its password; write ``"${OVIPRO_PASSWORD}"`` (never stored or logged).
        api_key: optional gateway key, sent as the ``x-api-key`` header when set (Q4).
        auth_path: the token endpoint under ``auth_url`` (inferred: ``/tokens``).
        leads_path: incoming leads under ``base_url`` (inferred: ``/leads``).
        outgoing_leads_path: outgoing leads under ``base_url`` (inferred: ``/outgoingLeads``).
        include_outgoing: also extract outgoing leads (``ovipro_outgoing_leads``).
        page_size: leads per request, 2..100 (the API's maximum is 100; consecutive pages
            overlap by one lead to detect offset drift, so 1 is not allowed).
        concurrency: requests in flight once ``totalCount`` is known.
        renew_fraction: renew the bearer token after this share of its ``expires_in``
            (default 0.8: a 900 s token is renewed after 720 s).
        backoff_initial_s: first retry delay (doubles, with jitter, up to 30 s).
    """

    kind: Literal["ovipro"] = "ovipro"
    base_url: str
    auth_url: str
    username: str
    password: SecretStr
    api_key: SecretStr | None = None
    auth_path: str = "/tokens"
    leads_path: str = "/leads"
    outgoing_leads_path: str = "/outgoingLeads"
    include_outgoing: bool = True
    page_size: int = Field(default=100, ge=2, le=100)
    concurrency: int = Field(default=8, ge=1, le=64)
    renew_fraction: float = Field(default=0.8, gt=0, le=1)
    backoff_initial_s: float = Field(default=0.5, ge=0, le=60)

    @field_validator("base_url", "auth_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if "?" in value or "@" in value:
            raise ValueError("must be a plain URL without query or credentials")
        return value.rstrip("/")

    @field_validator("auth_path", "leads_path", "outgoing_leads_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.strip() or "?" in value or "://" in value:
            raise ValueError("must be a path such as '/leads' (no host, no query)")
        return "/" + value.strip().lstrip("/")

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty; set it to the integration's user name")
        return value

    @field_validator("password")
    @classmethod
    def _password(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError(
                "is empty; set it to the integration's password (from the environment)"
            )
        return value

    @field_validator("api_key")
    @classmethod
    def _api_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None  # "${OVIPRO_API_KEY:-}" left empty: no key
        return value

    def url(self, which: Literal["token", "leads", "outgoing"]) -> str:
        """The full URL of one endpoint."""
        if which == "token":
            return self.auth_url + self.auth_path
        return self.base_url + (self.leads_path if which == "leads" else self.outgoing_leads_path)
