"""What the simulated dialler keeps: saved leads, their calls, and the dial clock.

A lead that passes validation is **saved** (spec §2: every non-test answer says
``saved: true``). It is **processed** — its call queued — unless its type is unknown, the
contact exists, or another call for the mobile is scheduled. A queued call becomes
**dialled** when the simulated clock reaches its due time (``delays`` seconds after
submission, spec §4), or **cancelled** by ``/lead/cancel`` before that.

Example:
    >>> clock = DialClock(speed=0)
    >>> store = CallStore(clock)
    >>> lead = store.save(type="motor-trade", mobile_key="+447840258823", email="a@b.co",
    ...                   body={}, delay_s=600, processed=True)
    >>> lead.state(clock.now())
    'queued'
    >>> clock.advance(600)
    >>> lead.state(clock.now())
    'dialled'
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["CallState", "CallStore", "DialClock", "StoredLead"]

CallState = Literal["queued", "dialled", "cancelled", "unprocessed"]


class DialClock:
    """A simulated clock: ``speed`` simulated seconds per real second, plus manual steps.

    Args:
        speed: simulated seconds per real second (0 = frozen).
    """

    def __init__(self, speed: float = 1.0) -> None:
        self._speed = speed
        self._anchor_real = time.monotonic()
        self._anchor_sim = 0.0

    def now(self) -> float:
        """Simulated seconds since the sandbox started."""
        return self._anchor_sim + (time.monotonic() - self._anchor_real) * self._speed

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on (the simulated time so far is kept)."""
        self._anchor_sim = self.now()
        self._anchor_real = time.monotonic()
        self._speed = speed

    def advance(self, seconds: float) -> None:
        """Move the simulated time forward by ``seconds``."""
        self._anchor_sim += max(0.0, seconds)


@dataclass
class StoredLead:
    """A saved lead.

    Attributes:
        id: sequence number (1, 2 …).
        type: lead type as sent.
        mobile_key: the mobile normalised to E.164.
        email: the e-mail, lower-cased.
        body: the request body as received (parsed JSON, without ``test``).
        processed: True when its call was queued.
        error: the ``error`` answered when not processed.
        submitted_at: simulated time of submission.
        due_at: simulated time its call is dialled (processed leads).
        cancelled_at: simulated time it was cancelled, if it was.
    """

    id: int
    type: str
    mobile_key: str
    email: str
    body: dict[str, Any]
    processed: bool
    error: str | None
    submitted_at: float
    due_at: float
    cancelled_at: float | None = None

    def state(self, now: float) -> CallState:
        """``queued``, ``dialled``, ``cancelled`` or (not processed) ``unprocessed``."""
        if not self.processed:
            return "unprocessed"
        if self.cancelled_at is not None:
            return "cancelled"
        return "dialled" if now >= self.due_at else "queued"


@dataclass
class CallStore:
    """Every saved lead, indexed by mobile for the duplicate and cancel rules."""

    clock: DialClock
    leads: list[StoredLead] = field(default_factory=list)
    by_mobile: dict[str, list[StoredLead]] = field(default_factory=dict)
    by_email: dict[str, list[StoredLead]] = field(default_factory=dict)

    def save(
        self,
        *,
        type: str,
        mobile_key: str,
        email: str,
        body: dict[str, Any],
        delay_s: float,
        processed: bool,
        error: str | None = None,
    ) -> StoredLead:
        """Store a lead (and queue its call when ``processed``)."""
        now = self.clock.now()
        lead = StoredLead(
            len(self.leads) + 1,
            type,
            mobile_key,
            email.lower(),
            body,
            processed,
            error,
            now,
            now + delay_s,
        )
        self.leads.append(lead)
        self.by_mobile.setdefault(mobile_key, []).append(lead)
        self.by_email.setdefault(lead.email, []).append(lead)
        return lead

    def existing_contact(self, type: str, mobile_key: str, email: str) -> bool:
        """Spec §4: a dialled call of the same type for the same mobile or e-mail exists."""
        now = self.clock.now()
        candidates = [*self.by_mobile.get(mobile_key, ()), *self.by_email.get(email.lower(), ())]
        return any(lead.type == type and lead.state(now) == "dialled" for lead in candidates)

    def scheduled(self, mobile_key: str) -> StoredLead | None:
        """Spec §4: a queued, not yet dialled call for this mobile (any type)."""
        now = self.clock.now()
        for lead in self.by_mobile.get(mobile_key, ()):
            if lead.state(now) == "queued":
                return lead
        return None

    def find(self, type: str, mobile_key: str) -> list[StoredLead]:
        """Processed leads of this (type, mobile), oldest first."""
        return [
            lead
            for lead in self.by_mobile.get(mobile_key, ())
            if lead.type == type and lead.processed
        ]
