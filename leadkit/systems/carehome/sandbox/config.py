"""Configuration of the carehome sandbox: dataset size, quirks, faults and the demo key.

:class:`CarehomeSandboxConfig` validates itself and reports every problem at once. The demo
key is a public value for the sandbox only; it opens nothing real.

Example:
    >>> CarehomeSandboxConfig(leads=10, days=7).days
    7
    >>> len(DEMO_API_KEY)
    40
    >>> CarehomeSandboxConfig(quirk_rate=2, quirks=("nope",))
    Traceback (most recent call last):
    ...
    ValueError: invalid CarehomeSandboxConfig: quirk_rate=2 must be between 0 and 1; ...
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

__all__ = [
    "DATASET_KNOBS",
    "DEMO_API_KEY",
    "FAULT_KINDS",
    "QUIRKS",
    "RUNTIME_KNOBS",
    "CarehomeSandboxConfig",
    "FaultKind",
]

DEMO_API_KEY = hashlib.sha256(b"leadkit carehome sandbox demo key").hexdigest()[:40]
"""Public demo Service API Key of the sandbox (40 characters like the real ones, spec §1).
Not a secret: it opens only the sandbox."""

FaultKind = Literal["500", "502", "503"]
FAULT_KINDS: tuple[FaultKind, ...] = ("500", "502", "503")
"""Injectable faults: 500 ``{"message": "Internal error"}``, or a proxy's 502/503 page."""

QUIRKS: tuple[str, ...] = (
    "padding",
    "email_case",
    "comma_value",
    "apostrophe_value",
    "multi_value",
    "broken_list",
    "camel_budget",
    "empty_names",
    "null_names",
    "phone_format",
    "phone_unparseable",
    "phone_empty",
    "visit_time_text",
    "invalid_visit_date",
)
"""The data quirks (spec §6) a share of records carries, one per record, in turn:

* ``padding`` — leading/trailing spaces in the service name, postcode, ``from`` and names (Q2);
* ``email_case`` — a mixed-case ``from`` address;
* ``comma_value`` — ``funding`` ``"['Part Buy, Part Rent']"`` (a value with a comma, Q4);
* ``apostrophe_value`` — ``onBehalfOf`` with ``"Friend's parent"`` (repr switches quotes, Q4);
* ``multi_value`` — list-strings with two values;
* ``broken_list`` — a ``funding`` list-string cut short (unparseable);
* ``camel_budget`` — ``budgetType``/``budgetMin``/``budgetMax`` instead of snake_case (Q7);
* ``empty_names`` / ``null_names`` — ``""`` or ``null`` enquirer and resident names;
* ``phone_format`` — an unusual but valid format (``+44 (0)…``, ``0044 …``, dashes);
* ``phone_unparseable`` — free text in ``telephone`` (Q15); ``phone_empty`` — ``""``;
* ``visit_time_text`` — ``visitTime`` ``"We don't get this"`` (Q9);
* ``invalid_visit_date`` — a ``visitDate`` that is not a date (Q9).
"""

RUNTIME_KNOBS = frozenset(
    {"latency_s", "fault_rate", "fault_kinds", "malformed_rate", "slow_over", "slow_s",
     "max_results", "envelope", "multi_category", "api_keys"}
)  # fmt: skip
"""Knobs :meth:`CarehomeSandbox.configure` may change while the sandbox runs."""

DATASET_KNOBS = frozenset(
    {"leads", "seed", "start", "days", "services", "quirk_rate", "quirks", "anonymised_rate"}
)
"""Knobs fixed once the sandbox started."""


def _midnight(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


@dataclass(frozen=True)
class CarehomeSandboxConfig:
    """How the sandbox behaves.

    Attributes:
        leads: leads generated at start (unique ids, spread over ``days`` from ``start``).
        seed: random seed of the dataset (same seed, same data) and of fault injection.
        start: first day of the dataset (UTC); ``None`` = ``days`` before today's midnight.
        days: how many days the dataset spans.
        services: care homes (and retirement properties) of the account.
        quirk_rate: share of leads carrying one of ``quirks`` (in turn, so every quirk
            appears once ``leads × quirk_rate >= len(quirks)``).
        quirks: the quirks to use (see :data:`QUIRKS`).
        anonymised_rate: share of (quirk-free) leads that are anonymised.
        api_keys: accepted ``api_key`` values.
        latency_s: delay before answering each request.
        fault_rate: probability that a request fails with one of ``fault_kinds``.
        fault_kinds: faults to choose from (uniformly).
        malformed_rate: probability that a 200 body is malformed like the documentation's
            curly-quote examples (``"onBehalfOf": “['Family member']”``, spec Q5).
        slow_over: answer windows with more leads than this ``slow_s`` later; ``None`` = never.
        slow_s: the extra delay of a large window.
        max_results: answer 500 "Too many leads…" for more leads than this; ``None`` = never.
        envelope: answer ``{"data": [...], "error": []}`` instead of a bare array.
        multi_category: accept comma lists in ``categoryId`` (spec Q11).
    """

    leads: int = 1000
    seed: int = 0
    start: datetime | date | None = None
    days: int = 30
    services: int = 12
    quirk_rate: float = 0.25
    quirks: tuple[str, ...] = QUIRKS
    anonymised_rate: float = 0.05
    api_keys: tuple[str, ...] = (DEMO_API_KEY,)
    latency_s: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[FaultKind, ...] = FAULT_KINDS
    malformed_rate: float = 0.0
    slow_over: int | None = None
    slow_s: float = 5.0
    max_results: int | None = None
    envelope: bool = False
    multi_category: bool = False

    def __post_init__(self) -> None:
        problems = []
        for name in ("leads", "days", "services"):
            if getattr(self, name) < (0 if name == "leads" else 1):
                problems.append(f"{name}={getattr(self, name)!r} is too small")
        for name in ("quirk_rate", "anonymised_rate", "fault_rate", "malformed_rate"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name}={getattr(self, name)!r} must be between 0 and 1")
        unknown = [q for q in self.quirks if q not in QUIRKS]
        if unknown:
            problems.append(f"quirks={tuple(unknown)!r} unknown; allowed: {', '.join(QUIRKS)}")
        bad = [k for k in self.fault_kinds if k not in FAULT_KINDS]
        if bad or not self.fault_kinds:
            problems.append(f"fault_kinds={self.fault_kinds!r}; allowed: {', '.join(FAULT_KINDS)}")
        if self.latency_s < 0 or self.slow_s < 0:
            problems.append("latency_s and slow_s must be >= 0")
        if not self.api_keys:
            problems.append("api_keys must not be empty")
        if problems:
            raise ValueError("invalid CarehomeSandboxConfig: " + "; ".join(problems))

    @property
    def first_day(self) -> datetime:
        """The dataset's first instant (UTC midnight)."""
        if self.start is not None:
            return _midnight(self.start)
        today = datetime.now(UTC).date()
        return _midnight(today) - timedelta(days=self.days)

    @property
    def end(self) -> datetime:
        """The dataset's end (exclusive)."""
        return self.first_day + timedelta(days=self.days)
