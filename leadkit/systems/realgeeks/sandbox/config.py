"""Configuration of the Real Geeks sandbox: knobs, the demo credentials and site UUIDs.

The demo username, password and site UUIDs are public values that open only the sandbox.
The first granted site is the seed's example ``106994a2-…``; :data:`UNGRANTED_SITE_UUID`
is a well-formed site the demo credentials have no access to (a 401, spec Q10).

Example:
    >>> RealGeeksSandboxConfig().site_uuids[0]
    '106994a2-ad21-4ab7-ad89-1c4ccd9ae8a5'
    >>> RealGeeksSandboxConfig(fault_rate=2, latency_s=-1)
    Traceback (most recent call last):
    ...
    ValueError: invalid RealGeeksSandboxConfig: latency_s=-1 must be >= 0; ...
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_SITE_UUIDS",
    "DEMO_USERNAME",
    "DEMO_USERS",
    "FAULT_KINDS",
    "RUNTIME_KNOBS",
    "UNGRANTED_SITE_UUID",
    "FaultKind",
    "RealGeeksSandboxConfig",
]

DEMO_USERNAME = "leadkit-demo"
"""Public demo username of the sandbox. Not a secret: it opens only the sandbox."""

DEMO_PASSWORD = "realgeeks-sandbox-demo"  # noqa: S105 - a public demo value, not a secret
"""Public demo password of :data:`DEMO_USERNAME`. Not a secret."""

DEMO_SITE_UUIDS: tuple[str, ...] = (
    "106994a2-ad21-4ab7-ad89-1c4ccd9ae8a5",
    "5f2b1c0e-7d3a-4c8e-9a61-2b7e4d9c0f13",
)
"""Sites the demo credentials were granted (the first is the seed's example)."""

UNGRANTED_SITE_UUID = "0d8e5a4c-3b2f-4e1d-8c7b-6a5f4e3d2c1b"
"""A well-formed site UUID the demo credentials were *not* granted: every call → 401."""

DEMO_USERS: tuple[dict[str, Any], ...] = (
    {
        "id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "role": "Agent",
        "admin": True,
        "name": "Kai Akana",
        "email": "kai@example.com",
        "signature": "Kai Akana, Realtor",
        "phone_company": "808-555-0100",
        "phone_office": "808-555-0101",
        "phone_cell": "808-555-0102",
        "phone_home": "",
    },
    {
        "id": "0f9e8d7c6b5a49382716050403020100",
        "role": "Lender",
        "admin": False,
        "name": "Lani Kealoha",
        "email": "lani@example.com",
        "signature": "",
        "phone_company": "",
        "phone_office": "808-555-0200",
        "phone_cell": "",
        "phone_home": "",
    },
)
"""The CRM users ``GET /sites/{site}/users`` lists (spec §6)."""

FaultKind = Literal["500", "500-text", "503", "429", "reset"]
FAULT_KINDS: tuple[FaultKind, ...] = ("500", "500-text", "503", "429", "reset")
"""Injectable faults: 500 with a JSON ``error``, 500 with a plain-text body, 503 with an
HTML body (a load balancer's), 429 with ``Retry-After``, or a TCP reset without an answer."""

RUNTIME_KNOBS = frozenset(
    {"latency_s", "fault_rate", "fault_kinds", "retry_after_s", "strict_activities",
     "accept_unknown_leads", "site_uuids", "username", "password", "users"}
)  # fmt: skip
"""Knobs :meth:`RealGeeksSandbox.configure` may change while the sandbox runs (all)."""


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class RealGeeksSandboxConfig:
    """How the sandbox behaves.

    Attributes:
        username: the HTTP Basic username it accepts.
        password: the HTTP Basic password it accepts.
        site_uuids: sites these credentials were granted; any other site → 401.
        latency_s: delay before answering each request (keep < 2 s with leadrouter, whose
            timeout is fixed at 2 s).
        fault_rate: probability that a request fails with one of ``fault_kinds``.
        fault_kinds: faults to choose from (uniformly); see :data:`FAULT_KINDS`.
        retry_after_s: ``Retry-After`` seconds sent with every 429.
        seed: seed of the fault draws (same seed, same faults).
        strict_activities: an activity without ``source`` or ``description`` is a 422
            (default: accepted, ``source`` defaults to the lead's, ``description`` to ``""``).
        accept_unknown_leads: PATCH or activities for an unknown lead id are accepted and
            held as a new lead (default: 404 ``lead not found``).
        users: the CRM users listed by ``GET /sites/{site}/users``.
    """

    username: str = DEMO_USERNAME
    password: str = field(default=DEMO_PASSWORD, repr=False)
    site_uuids: tuple[str, ...] = DEMO_SITE_UUIDS
    latency_s: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[FaultKind, ...] = FAULT_KINDS
    retry_after_s: float = 1.0
    seed: int = 0
    strict_activities: bool = False
    accept_unknown_leads: bool = False
    users: tuple[dict[str, Any], ...] = DEMO_USERS

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.username or ":" in self.username:
            problems.append(f"username={self.username!r} must be non-empty without ':'")
        if not self.password:
            problems.append("password must be non-empty")
        if self.latency_s < 0:
            problems.append(f"latency_s={self.latency_s!r} must be >= 0")
        if not 0 <= self.fault_rate <= 1:
            problems.append(f"fault_rate={self.fault_rate!r} must be between 0 and 1")
        bad = [k for k in self.fault_kinds if k not in FAULT_KINDS]
        if bad or not self.fault_kinds:
            problems.append(f"fault_kinds={self.fault_kinds!r}; allowed: {', '.join(FAULT_KINDS)}")
        if self.retry_after_s < 0:
            problems.append(f"retry_after_s={self.retry_after_s!r} must be >= 0")
        bad_sites = [s for s in self.site_uuids if not _is_uuid(s)]
        if bad_sites:
            problems.append(f"site_uuids: {bad_sites!r} are not UUIDs")
        if problems:
            raise ValueError(f"invalid RealGeeksSandboxConfig: {'; '.join(problems)}")
