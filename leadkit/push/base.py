"""What a destination provides, and what the push engine does with it.

A **destination** knows one receiving API and nothing about DuckDB: how a warehouse lead
maps to its payload (a pydantic model, validated before anything is sent), how to send a
batch of payloads, and how to read the API's answer into an :class:`Outcome`. The **push
engine** (``leadkit.push.engine``) knows the warehouse, the delivery ledger
``_deliveries``, bounded concurrency, dry runs, signals and the exactly-once bookkeeping,
and nothing about any API. They meet here:

* the engine selects rows with the query language and hands each one to
  :meth:`Destination.prepare` as a :class:`Lead`; ``prepare`` returns the JSON payload or
  raises :class:`LeadRejected` (recorded as ``rejected``, never sent);
* the engine compares the payload's hash with the ledger: an identical payload already
  delivered is ``skipped-duplicate``; a changed one is sent with ``update=True`` when the
  destination ``supports_update``;
* the engine calls :meth:`Destination.send` with batches of up to ``batch_size``
  :class:`Prepared` items and records one :class:`Outcome` per item.

HTTP goes through :class:`leadkit.engine.http.HttpClient` (``PushContext.http``): it retries
429/5xx/timeouts with backoff and ``Retry-After``; pass ``accept=`` the 4xx statuses whose
body the destination wants to read (e.g. 400/422 validation errors) instead of an exception.

**Exactly once across a killed push.** The engine commits a ``pending`` ledger row before
the request that delivers a lead. A later push that finds ``pending`` rows does not know
whether the request reached the destination, and asks the destination:

* :meth:`Destination.reconcile` may look the leads up at the destination (OviPro does, by
  the ``supplierAssignedIdentifiers`` leadkit sends) and answer an :class:`Outcome` for the
  ones it finds; the default answers ``None`` (not known);
* leads still not known are sent again with :attr:`Prepared.resend` set: destinations where
  a repeat is harmless (KPro's ``externalRef`` dedupe, Real Geeks' upsert by id) need do
  nothing; others read an "already there" answer as delivered (the dialler's
  ``Existing Contact`` / ``Another call is already scheduled``, spec Q6).
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ValidationError

from leadkit.config import DestinationSettings
from leadkit.engine.http import HttpClient
from leadkit.redact import Redactor

__all__ = [
    "STATUSES",
    "Destination",
    "DestinationSettings",
    "Lead",
    "LeadRejected",
    "Outcome",
    "Prepared",
    "PushContext",
    "Status",
    "json_ready",
]

#: Outcome statuses. ``sent``/``updated``: the destination accepted the lead (or an update;
#: the ledger stores both as ``sent``);
#: ``rejected``: invalid (by leadkit's own validation or the destination's) — sending again
#: cannot help until the lead's data changes; ``failed``: transient trouble that outlived the
#: retries — the next push tries again; ``skipped-duplicate``: the destination already has it
#: (same payload in the ledger, or the destination said so); ``cancelled``: a queued delivery
#: was withdrawn (the dialler's cancel); ``pending``: being sent right now (a push killed
#: mid-request leaves this; the next push resolves it); ``would-send``: a dry run's verdict
#: (never stored).
Status = Literal[
    "sent",
    "updated",
    "rejected",
    "failed",
    "skipped-duplicate",
    "cancelled",
    "pending",
    "would-send",
]
STATUSES: tuple[Status, ...] = (
    "sent",
    "updated",
    "rejected",
    "failed",
    "skipped-duplicate",
    "cancelled",
    "pending",
    "would-send",
)


@dataclass(frozen=True)
class Lead:
    """One warehouse row selected for delivery.

    Attributes:
        system: the system the lead came from (``kpro``, ``ovipro``, ``carehome``).
        source: the configured source name it was extracted by.
        lead_id: its id in that system (as text).
        row: every selected column → Python value (``datetime`` for timestamps, ``dict``
            for STRUCTs, ``list`` for LISTs, ``None`` for NULL). From the ``leads`` view
            these are the canonical columns; from a system table, that table's columns.
    """

    system: str
    source: str
    lead_id: str
    row: Mapping[str, Any]

    @property
    def key(self) -> str:
        """The lead's identity in the ledger: ``system:source:lead_id``.

        >>> Lead("kpro", "kpro_main", "42", {}).key
        'kpro:kpro_main:42'
        """
        return f"{self.system}:{self.source}:{self.lead_id}"


class LeadRejected(Exception):
    """Raised by :meth:`Destination.prepare`: the lead cannot be sent as it is.

    Args:
        reason: what is wrong and, where it helps, the offending value (never a secret),
            e.g. ``"mobile '12345' is not a valid UK number"``.
        field: the destination field at fault, when there is one.
    """

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field

    @classmethod
    def invalid(cls, what: str, exc: ValidationError) -> LeadRejected:
        """A payload that failed its destination model: every problem, by field.

        ``what`` names the payload, e.g. ``"KPro import lead"``.
        """
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        return cls(f"not a valid {what}: {problems}")


@dataclass(frozen=True)
class Prepared:
    """A lead ready to send.

    Attributes:
        lead: the warehouse lead.
        payload: the JSON-ready body for this lead (validated by the destination's model).
        payload_hash: hash of ``payload`` (the engine computes it; the ledger stores it).
        update: True when the ledger shows an earlier delivery of a different payload.
        remote_id: the lead's id at the destination from an earlier delivery, if any.
        resend: True when an earlier push was killed while delivering this lead, so the
            destination may already have it: an "already exists" answer means delivered.
    """

    lead: Lead
    payload: dict[str, Any]
    payload_hash: str
    update: bool = False
    remote_id: str | None = None
    resend: bool = False


@dataclass(frozen=True)
class Outcome:
    """What happened to one lead.

    Attributes:
        status: one of :data:`STATUSES`.
        http_status: the HTTP status of the deciding response, if any.
        response: the destination's answer as text (the engine redacts and truncates it).
        detail: a short human explanation, e.g. ``"Existing Contact"`` or the validation
            messages.
        remote_id: the lead's id at the destination, when known.
    """

    status: Status
    http_status: int | None = None
    response: str | None = None
    detail: str | None = None
    remote_id: str | None = None


@dataclass
class PushContext:
    """What the engine gives a destination for one push.

    Attributes:
        run_id: this push's id.
        destination: the configured destination name.
        http: the destination's HTTP client (retries, redaction, error translation).
        redactor: masks this configuration's secrets in any text.
        log: a logger named after the destination.
        stop: set when the user asked to stop: start no new requests.
        dry_run: True for ``--dry-run``: never change anything at the destination.
    """

    run_id: str
    destination: str
    http: HttpClient
    redactor: Redactor
    log: logging.Logger
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    dry_run: bool = False


class Destination(ABC):
    """A configured destination for leads.

    Subclasses set ``kind`` and implement :meth:`prepare` and :meth:`send`; they may
    override :meth:`check` (dry run) and :meth:`cancel`.
    """

    kind: ClassVar[str]
    #: True when a changed lead can be sent again as an update (PATCH, upsert…).
    supports_update: ClassVar[bool] = False
    #: True when queued deliveries can be withdrawn (``leadkit push --cancel``).
    supports_cancel: ClassVar[bool] = False

    def __init__(self, name: str, settings: DestinationSettings) -> None:
        self.name = name
        self.settings = settings

    @property
    def batch_size(self) -> int:
        """Leads per :meth:`send` call (1 unless the API takes batches)."""
        return 1

    @abstractmethod
    def prepare(self, lead: Lead) -> dict[str, Any]:
        """Map a warehouse lead to this destination's JSON payload and validate it.

        Pure and cheap (no I/O). Fields the destination has no place for go into its
        free-form field rather than being lost.

        Raises:
            LeadRejected: the lead cannot be sent (missing or unfixable data).
        """

    @abstractmethod
    async def send(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        """Deliver a batch; return one outcome per item, in order.

        Transient trouble that outlives the HTTP client's retries is a ``failed`` outcome,
        not an exception; only a problem that stops the whole destination (bad
        credentials) raises (:class:`leadkit.errors.SourceAuthError`).
        """

    async def check(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        """Dry run: validate without changing anything (default: no request at all).

        Destinations with a validate-only mode (the dialler's ``test``) override this.
        """
        return [Outcome("would-send", detail="validated locally") for _ in batch]

    async def start(self, ctx: PushContext) -> None:  # noqa: B027 - an optional hook
        """Called once per push before the first :meth:`send`/:meth:`check`/:meth:`cancel`
        (e.g. to set up token auth on ``ctx.http.session``). Default: nothing."""

    async def reconcile(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome | None]:
        """Find out what became of deliveries a killed push left ``pending``.

        Return one item per lead: an :class:`Outcome` when the destination is known to have
        the lead (``sent``) or to refuse it, or ``None`` when unknown — the engine then sends
        it again with :attr:`Prepared.resend` set. Default: all unknown (right for
        destinations where a repeated delivery is harmless).
        """
        return [None for _ in batch]

    async def cancel(self, batch: Sequence[Prepared], ctx: PushContext) -> list[Outcome]:
        """Withdraw earlier deliveries (only when ``supports_cancel``)."""
        raise NotImplementedError(f"{self.kind} destinations cannot cancel deliveries")

    def secrets(self) -> list[str]:
        """Secret values this destination uses, for redaction (default: none)."""
        return []

    def describe(self) -> str:
        """A one-line description safe to print (no secrets)."""
        return f"{self.name} ({self.kind})"


def json_ready(payload: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """A payload as a plain JSON-ready dict, leaving out unset (``None``) fields.

    >>> json_ready({"a": 1, "b": None})
    {'a': 1}
    """
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json", exclude_none=True, by_alias=True)
    return {k: v for k, v in payload.items() if v is not None}
