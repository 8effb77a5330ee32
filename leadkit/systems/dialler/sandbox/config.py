"""Configuration of the dialler sandbox: knobs, lead types and the public demo key.

:class:`DiallerSandboxConfig` says how the simulated dialler behaves. It validates itself
and reports every problem at once. The demo key is a public value for the sandbox only; it
opens nothing real.

Example:
    >>> DiallerSandboxConfig().lead_types
    ('motor-trade', 'home-insurance', 'van-insurance')
    >>> DiallerSandboxConfig(fault_rate=2, clock_speed=-1)
    Traceback (most recent call last):
    ...
    ValueError: invalid DiallerSandboxConfig: fault_rate=2 must be between 0 and 1; ...
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DEMO_API_KEY",
    "DEMO_LEAD_TYPES",
    "DEMO_SUBTYPES",
    "FAULT_KINDS",
    "RUNTIME_KNOBS",
    "DiallerSandboxConfig",
    "FaultKind",
]

DEMO_API_KEY = hashlib.sha256(b"leadkit dialler sandbox demo key").hexdigest()[:32]
"""The default accepted ``key``: a public demo value that opens only the sandbox."""

DEMO_LEAD_TYPES: tuple[str, ...] = ("motor-trade", "home-insurance", "van-insurance")
"""The sandbox account's lead types (the README's example type first)."""

DEMO_SUBTYPES: tuple[str, ...] = ("valeter", "mechanic", "body-shop", "landlord", "tenant")
"""The sandbox account's subtypes (the README's example ``valeter`` first)."""

FaultKind = Literal["500", "502", "503", "429", "reset"]
FAULT_KINDS: tuple[FaultKind, ...] = ("500", "502", "503", "429", "reset")
"""Injectable faults: 500 (the README's server error), 502, 503, 429 with ``Retry-After``,
or a TCP reset without an answer."""

RUNTIME_KNOBS = frozenset(
    {"api_keys", "lead_types", "subtypes", "validate_subtypes", "latency_s", "fault_rate",
     "fault_kinds", "retry_after_s", "max_in_flight", "clock_speed", "default_delay_s",
     "cancel_save_error_rate", "seed"}
)  # fmt: skip
"""Knobs :meth:`DiallerSandbox.configure` may change while the sandbox runs (all of them)."""


@dataclass(frozen=True)
class DiallerSandboxConfig:
    """How the simulated dialler behaves (spec ``specs/dialler.md`` §4).

    Attributes:
        api_keys: accepted values of the ``key`` query parameter.
        lead_types: the account's lead type names; any other ``type`` is "Unknown Type" on
            add and "server error (call group)" on cancel.
        subtypes: the account's subtypes (only checked with ``validate_subtypes``).
        validate_subtypes: answer 400 ``Subtype is invalid.`` for a subtype not in
            ``subtypes`` (the README documents no validation; off by default).
        latency_s: delay before answering each request.
        fault_rate: probability that a request fails with one of ``fault_kinds``.
        fault_kinds: faults to choose from (uniformly).
        retry_after_s: ``Retry-After`` seconds sent with every 429.
        max_in_flight: answer 429 when more requests than this are being served at once;
            None = no limit.
        clock_speed: simulated seconds per real second of the dial clock (0 freezes it:
            only :meth:`DiallerSandbox.advance` moves it).
        default_delay_s: when a submission has no ``delays``, its call is dialled this many
            simulated seconds after submission.
        cancel_save_error_rate: probability that a cancel of a queued call fails with the
            README's ``server error (save)`` warning (the call stays queued).
        seed: seed of the fault and error draws.
    """

    api_keys: tuple[str, ...] = (DEMO_API_KEY,)
    lead_types: tuple[str, ...] = DEMO_LEAD_TYPES
    subtypes: tuple[str, ...] = DEMO_SUBTYPES
    validate_subtypes: bool = False
    latency_s: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[FaultKind, ...] = FAULT_KINDS
    retry_after_s: int = 1
    max_in_flight: int | None = None
    clock_speed: float = 1.0
    default_delay_s: float = 60.0
    cancel_save_error_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.api_keys or not all(isinstance(k, str) and k for k in self.api_keys):
            problems.append("api_keys must be non-empty strings")
        if not self.lead_types or not all(isinstance(t, str) and t for t in self.lead_types):
            problems.append("lead_types must be non-empty strings")
        for name in ("fault_rate", "cancel_save_error_rate"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name}={getattr(self, name)!r} must be between 0 and 1")
        for name in ("latency_s", "clock_speed", "default_delay_s", "retry_after_s"):
            if getattr(self, name) < 0:
                problems.append(f"{name}={getattr(self, name)!r} must be >= 0")
        unknown = [k for k in self.fault_kinds if k not in FAULT_KINDS]
        if unknown or not self.fault_kinds:
            problems.append(f"fault_kinds={self.fault_kinds!r}; allowed: {', '.join(FAULT_KINDS)}")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            problems.append(f"max_in_flight={self.max_in_flight!r} must be >= 1 or None")
        if problems:
            raise ValueError("invalid DiallerSandboxConfig: " + "; ".join(problems))
