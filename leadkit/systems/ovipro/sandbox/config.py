"""Configuration of the OviPro sandbox: knobs, accounts and the public demo credentials.

:class:`OviProSandboxConfig` says how big the dataset is and how the server behaves; it
validates itself and reports every problem at once. Paths default to the spec's inferred
ones (§1, §2, §4, Q1) and can all be changed. The demo credentials are public values for
the sandbox only; they open nothing real.

Example:
    >>> OviProSandboxConfig(leads=10).leads_url_path
    '/lead/v1/leads'
    >>> OviProSandboxConfig(fault_rate=2, token_lifetime_s=0)
    Traceback (most recent call last):
    ...
    ValueError: invalid OviProSandboxConfig: token_lifetime_s=0 must be an int >= 1; ...
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from leadkit.systems.ovipro.sandbox import vocab

__all__ = [
    "ALL_FAULT_KINDS",
    "DATASET_KNOBS",
    "DEMO_API_KEY",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "FAULT_KINDS",
    "RUNTIME_KNOBS",
    "FaultKind",
    "OviProAccount",
    "OviProSandboxConfig",
]

DEMO_USERNAME = "demo.kiinteistoykkonen"
"""Public demo service account of the sandbox (shaped like the spec's
``migration.kiinteistoykkonen``). Not a secret: it opens only the sandbox."""

DEMO_PASSWORD = "ovipro-sandbox-demo"  # noqa: S105 - a public demo value, not a secret
"""Public demo password of :data:`DEMO_USERNAME`. Not a secret."""

DEMO_API_KEY = hashlib.sha256(b"leadkit ovipro sandbox demo key").hexdigest()[:40]
"""Public demo ``x-api-key`` value (only checked with ``require_api_key=True``)."""

FaultKind = Literal["500", "502", "503", "504", "429", "reset"]
FAULT_KINDS: tuple[FaultKind, ...] = ("500", "503", "429", "reset")
"""The default mix."""
ALL_FAULT_KINDS: tuple[FaultKind, ...] = ("500", "502", "503", "504", "429", "reset")
"""Injectable faults: 500 ``TECHNICAL_ERROR``, 503, 429 ``TOO_MANY_REQUESTS`` with
``Retry-After``, or a TCP reset without an answer."""


@dataclass(frozen=True)
class OviProAccount:
    """A service account the token endpoint knows.

    Attributes:
        username: the ``username`` to send.
        password: the ``password`` to send.
        offices: agency office ids its tokens may see (spec Q13); ``None`` = every office
            of the sandbox.
        marketplaces: marketplace codes it may create leads for (spec §6).
    """

    username: str
    password: str = field(repr=False)
    offices: tuple[str, ...] | None = None
    marketplaces: tuple[str, ...] = vocab.MARKETPLACE_CODES


RUNTIME_KNOBS = frozenset(
    {"token_lifetime_s", "latency_s", "fault_rate", "fault_kinds", "fault_on_tokens",
     "retry_after_s", "max_in_flight", "require_api_key", "api_keys", "accounts",
     "grow_per_request", "shrink_per_request", "strict_params"}
)  # fmt: skip
"""Knobs :meth:`OviProSandbox.configure` may change while the sandbox runs."""

DATASET_KNOBS = frozenset(
    {"leads", "outgoing_leads", "seed", "offices", "agents_per_office", "empty_string_rate",
     "realty_rate", "repeat_customer_rate", "stale_modification_rate", "lead_type_codes",
     "lead_source_type_codes", "action_codes", "document_type_codes", "start", "end",
     "auth_path", "token_path", "lead_path", "leads_path", "outgoing_path",
     "marketplace_path"}
)  # fmt: skip
"""Knobs fixed once the sandbox started (the data and the routes)."""


@dataclass(frozen=True)
class OviProSandboxConfig:
    """How the sandbox behaves.

    Attributes:
        leads: incoming leads generated at start.
        outgoing_leads: outgoing leads generated at start.
        seed: random seed of the dataset (same seed, same data) and of fault injection.
        offices: agency offices in the dataset (1..12).
        agents_per_office: agents (realtors) per office.
        token_lifetime_s: ``expires_in`` of issued tokens (spec: 900); whole seconds.
        latency_s: delay before answering each request.
        fault_rate: probability that a request fails with one of ``fault_kinds``.
        fault_kinds: faults to choose from (uniformly).
        fault_on_tokens: inject faults on the token endpoint too.
        retry_after_s: ``Retry-After`` seconds sent with every 429.
        max_in_flight: answer 429 when more requests than this are being served at once
            (a rate limit a client can trip with too much concurrency); None = no limit.
        require_api_key: check ``x-api-key`` (spec Q4); a missing or unknown key gets 404
            ``INVALID_API_KEY``.
        api_keys: accepted ``x-api-key`` values.
        accounts: service accounts of the token endpoint.
        grow_per_request: new incoming leads (created now) added before answering each
            ``GET /leads``, as if leads arrived while a client pages.
        shrink_per_request: existing incoming leads deleted before answering each
            ``GET /leads``.
        strict_params: answer 400 for unknown query parameters (the real API's behaviour
            is not documented; off by default, unknown parameters are ignored).
        empty_string_rate: share of ``message``, ``additionalNote`` and e-mail address
            values that are ``""`` (spec Q7).
        realty_rate: share of incoming leads that name a realty.
        repeat_customer_rate: share of leads from a customer (party) seen before.
        stale_modification_rate: share of decided leads whose ``modificationTime`` is
            earlier than their ``assignmentTime``/``decisionTime``, like the documentation's
            examples (spec Q9). 0 by default: times are consistent.
        lead_type_codes: LeadTypeCode values to generate (open enum, Q12).
        lead_source_type_codes: LeadSourceTypeCode values to generate.
        action_codes: leadActionCodes values to generate (invented; none captured).
        document_type_codes: documentTypeCode values of outgoing leads.
        start: earliest generated ``creationTime`` (UTC, inclusive).
        end: latest generated ``creationTime`` (UTC, exclusive).
        auth_path: Authentication API base path (inferred, Q1).
        token_path: token resource under ``auth_path``.
        lead_path: Lead API base path (inferred, Q1).
        leads_path: incoming leads resource under ``lead_path``.
        outgoing_path: outgoing leads resource under ``lead_path``.
        marketplace_path: marketplace create resource under ``lead_path``; must contain
            ``{marketplaceCode}``.
    """

    leads: int = 1000
    outgoing_leads: int = 200
    seed: int = 0
    offices: int = 6
    agents_per_office: int = 5
    token_lifetime_s: int = 900
    latency_s: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[FaultKind, ...] = FAULT_KINDS
    fault_on_tokens: bool = True
    retry_after_s: int = 1
    max_in_flight: int | None = None
    require_api_key: bool = False
    api_keys: tuple[str, ...] = (DEMO_API_KEY,)
    accounts: tuple[OviProAccount, ...] = (OviProAccount(DEMO_USERNAME, DEMO_PASSWORD),)
    grow_per_request: int = 0
    shrink_per_request: int = 0
    strict_params: bool = False
    empty_string_rate: float = 0.1
    realty_rate: float = 0.7
    repeat_customer_rate: float = 0.15
    stale_modification_rate: float = 0.0
    lead_type_codes: tuple[str, ...] = vocab.LEAD_TYPE_CODES
    lead_source_type_codes: tuple[str, ...] = vocab.LEAD_SOURCE_TYPE_CODES
    action_codes: tuple[str, ...] = vocab.ACTION_CODES
    document_type_codes: tuple[str, ...] = vocab.DOCUMENT_TYPE_CODES
    start: datetime = datetime(2023, 1, 1, tzinfo=UTC)
    end: datetime = datetime(2025, 7, 1, tzinfo=UTC)
    auth_path: str = "/authentication/v1"
    token_path: str = "/tokens"  # noqa: S105 - a path, not a password
    lead_path: str = "/lead/v1"
    leads_path: str = "/leads"
    outgoing_path: str = "/outgoingLeads"
    marketplace_path: str = "/marketplaces/{marketplaceCode}/leads"

    def __post_init__(self) -> None:
        problems = [*self._count_problems(), *self._rate_problems(), *self._other_problems()]
        if problems:
            raise ValueError("invalid OviProSandboxConfig: " + "; ".join(problems))

    def _count_problems(self) -> list[str]:
        problems = []
        for name in ("leads", "outgoing_leads", "grow_per_request", "shrink_per_request",
                     "retry_after_s"):  # fmt: skip
            if getattr(self, name) < 0:
                problems.append(f"{name}={getattr(self, name)!r} must be >= 0")
        if not 1 <= self.offices <= len(vocab.OFFICE_NAMES):
            problems.append(f"offices={self.offices!r} must be 1..{len(vocab.OFFICE_NAMES)}")
        if self.agents_per_office < 1:
            problems.append(f"agents_per_office={self.agents_per_office!r} must be >= 1")
        if not isinstance(self.token_lifetime_s, int) or self.token_lifetime_s < 1:
            problems.append(f"token_lifetime_s={self.token_lifetime_s!r} must be an int >= 1")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            problems.append(f"max_in_flight={self.max_in_flight!r} must be >= 1 or None")
        return problems

    def _rate_problems(self) -> list[str]:
        problems = []
        if self.latency_s < 0:
            problems.append(f"latency_s={self.latency_s!r} must be >= 0")
        for name in ("fault_rate", "empty_string_rate", "realty_rate", "repeat_customer_rate",
                     "stale_modification_rate"):  # fmt: skip
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name}={getattr(self, name)!r} must be between 0 and 1")
        return problems

    def _other_problems(self) -> list[str]:
        problems = []
        unknown = [k for k in self.fault_kinds if k not in ALL_FAULT_KINDS]
        if unknown or not self.fault_kinds:
            problems.append(
                f"fault_kinds={self.fault_kinds!r}; allowed: {', '.join(ALL_FAULT_KINDS)}"
            )
        for name in ("lead_type_codes", "lead_source_type_codes", "action_codes",
                     "document_type_codes", "accounts"):  # fmt: skip
            if not getattr(self, name):
                problems.append(f"{name} must not be empty")
        if self.start.tzinfo is None or self.end.tzinfo is None or self.end <= self.start:
            problems.append("start and end must be aware datetimes with start < end")
        for name in ("auth_path", "token_path", "lead_path", "leads_path", "outgoing_path",
                     "marketplace_path"):  # fmt: skip
            value = getattr(self, name)
            if not value.startswith("/") or value.endswith("/") or "//" in value:
                problems.append(f"{name}={value!r} must start with '/' and not end with '/'")
        if "{marketplaceCode}" not in self.marketplace_path:
            problems.append(f"marketplace_path={self.marketplace_path!r} needs {{marketplaceCode}}")
        return problems

    @property
    def token_url_path(self) -> str:
        """Path of the token endpoint, e.g. ``/authentication/v1/tokens``."""
        return self.auth_path + self.token_path

    @property
    def leads_url_path(self) -> str:
        """Path of the incoming leads endpoint, e.g. ``/lead/v1/leads``."""
        return self.lead_path + self.leads_path

    @property
    def outgoing_url_path(self) -> str:
        """Path of the outgoing leads endpoint, e.g. ``/lead/v1/outgoingLeads``."""
        return self.lead_path + self.outgoing_path

    @property
    def marketplace_url_path(self) -> str:
        """Path template of marketplace creates, e.g. ``/lead/v1/marketplaces/{marketplaceCode}/leads``."""  # noqa: E501
        return self.lead_path + self.marketplace_path
