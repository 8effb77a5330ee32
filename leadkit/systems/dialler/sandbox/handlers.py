"""HTTP handling of the dialler sandbox: the checks every request passes, then the endpoint.

:func:`handle` answers every request, in this order (spec §4): the route (anything but
``/lead/add`` and ``/lead/cancel`` → 404), the method (not ``POST`` → 405 with
``Allow: POST``), the in-flight limit (→ 429), injected faults, the ``key`` query parameter
(→ 401 ``{"error": "Invalid API key"}``), the JSON object body (→ 400 ``body``), field
validation (→ 400 per field), then test mode, type, "Existing Contact", "Another call is
already scheduled" and saving. Every request is recorded as a :class:`ReceivedRequest`
without the key.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from leadkit.sandbox import reset_connection
from leadkit.systems.dialler.sandbox.config import DiallerSandboxConfig, FaultKind
from leadkit.systems.dialler.sandbox.store import CallStore, DialClock
from leadkit.systems.dialler.sandbox.validation import errors_body, validate_add, validate_cancel

__all__ = [
    "ADD_PATH",
    "CANCEL_PATH",
    "STATE",
    "ReceivedRequest",
    "SandboxState",
    "handle",
]

ADD_PATH = "/lead/add"
CANCEL_PATH = "/lead/cancel"
_BODY_ERROR = {"body": {"0": "Request body must be a JSON object."}}


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the sandbox received.

    Attributes:
        method: ``POST``, ``GET``…
        path: the URL path, e.g. ``/lead/add``.
        query: the query parameters in order, **without** ``key``.
        body: the parsed JSON body, or the raw text when it was not JSON (None: empty).
        status: the status answered, or None when the connection was reset.
        response: the parsed answer body (None for a reset).
        outcome: a short word for what happened: ``saved``, ``test ok``, ``Unknown Type``,
            ``Existing Contact``, ``Another call is already scheduled``, ``invalid``,
            ``cancelled``, the cancel warning, ``unauthorized``, ``not found``,
            ``method not allowed``, ``too many requests`` or ``fault <kind>``.
        fault: the fault injected, if any.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: Any
    status: int | None
    response: Any
    outcome: str
    fault: FaultKind | None = None


@dataclass
class SandboxState:
    """What the handlers work on: the live configuration, the store and the logs."""

    config: DiallerSandboxConfig
    clock: DialClock = field(init=False)
    store: CallStore = field(init=False)
    received: list[ReceivedRequest] = field(default_factory=list)
    forced_faults: list[FaultKind] = field(default_factory=list)
    in_flight: int = 0

    def __post_init__(self) -> None:
        self.clock = DialClock(self.config.clock_speed)
        self.store = CallStore(self.clock)
        self.reseed()

    def reseed(self) -> None:
        """Restart the fault and error draws from the configured seed."""
        self.rng = random.Random(f"dialler-sandbox:{self.config.seed}")


STATE = web.AppKey("dialler_sandbox_state", SandboxState)
"""Where the application keeps its :class:`SandboxState`."""


@dataclass
class _Answer:
    status: int
    body: Any
    outcome: str
    headers: dict[str, str] | None = None


async def handle(request: web.Request) -> web.StreamResponse:
    """Answer one request (the only aiohttp handler of the sandbox)."""
    state = request.app[STATE]
    state.in_flight += 1
    body: Any = None
    fault: FaultKind | None = None
    try:
        crowded = (limit := state.config.max_in_flight) is not None and state.in_flight > limit
        if state.config.latency_s:
            await asyncio.sleep(state.config.latency_s)
        raw = await request.read()
        body = _parse(raw)
        answer, fault = _answer(state, request, body, crowded)
    finally:
        state.in_flight -= 1
    query = tuple((k, v) for k, v in request.rel_url.query.items() if k != "key")
    if answer is None:
        state.received.append(
            ReceivedRequest(
                request.method, request.path, query, body, None, None, f"fault {fault}", fault
            )
        )
        reset_connection(request)
        return web.Response(status=500)  # never sent: the connection is gone
    state.received.append(
        ReceivedRequest(
            request.method,
            request.path,
            query,
            body,
            answer.status,
            answer.body,
            answer.outcome,
            fault,
        )
    )
    return web.Response(
        status=answer.status,
        body=orjson.dumps(answer.body),
        content_type="application/json",
        headers=answer.headers,
    )


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


def _answer(
    state: SandboxState, request: web.Request, body: Any, crowded: bool
) -> tuple[_Answer | None, FaultKind | None]:
    config = state.config
    if request.path not in (ADD_PATH, CANCEL_PATH):
        return _Answer(404, {"error": "Not Found"}, "not found"), None
    if request.method != "POST":
        return _Answer(
            405, {"error": "Method Not Allowed"}, "method not allowed", {"Allow": "POST"}
        ), None
    if crowded:
        return _too_many(config, f"more than {config.max_in_flight} requests at once"), None
    fault = _draw_fault(state)
    if fault is not None:
        return _fault(config, fault), fault
    if request.rel_url.query.get("key") not in config.api_keys:
        return _Answer(401, {"error": "Invalid API key"}, "unauthorized"), None
    if request.content_type != "application/json" or not isinstance(body, dict):
        return _Answer(400, _BODY_ERROR, "invalid"), None
    if request.path == ADD_PATH:
        return _add(state, body), None
    return _cancel(state, body), None


def _draw_fault(state: SandboxState) -> FaultKind | None:
    if state.forced_faults:
        return state.forced_faults.pop(0)
    config = state.config
    if config.fault_rate and state.rng.random() < config.fault_rate:
        return state.rng.choice(config.fault_kinds)
    return None


def _fault(config: DiallerSandboxConfig, kind: FaultKind) -> _Answer | None:
    if kind == "reset":
        return None
    if kind == "429":
        return _too_many(config, "injected fault")
    texts = {"500": "Internal Server Error", "502": "Bad Gateway", "503": "Service Unavailable"}
    return _Answer(int(kind), {"error": texts[kind]}, f"fault {kind}")


def _too_many(config: DiallerSandboxConfig, why: str) -> _Answer:
    seconds = config.retry_after_s
    return _Answer(
        429,
        {"error": f"Too Many Requests ({why}); retry after {seconds} s"},
        "too many requests",
        {"Retry-After": str(seconds)},
    )


def _add(state: SandboxState, body: dict[str, Any]) -> _Answer:
    config = state.config
    subtypes = config.subtypes if config.validate_subtypes else None
    errors, req = validate_add(body, subtypes=subtypes)
    if req is None:
        return _Answer(400, errors_body(errors), "invalid")
    if req.test:
        return _Answer(200, {"test": "ok"}, "test ok")
    stored = {k: v for k, v in body.items() if k != "test"}
    store = state.store
    error: str | None = None
    if req.type not in config.lead_types:
        error = "Unknown Type"
    elif store.existing_contact(req.type, req.mobile_key, req.email):
        error = "Existing Contact"
    elif store.scheduled(req.mobile_key) is not None:
        error = "Another call is already scheduled"
    delay = float(req.delays) if req.delays is not None else config.default_delay_s
    store.save(
        type=req.type,
        mobile_key=req.mobile_key,
        email=req.email,
        body=stored,
        delay_s=delay,
        processed=error is None,
        error=error,
    )
    if error is None:
        return _Answer(200, {"saved": True, "processed": True}, "saved")
    return _Answer(200, {"saved": True, "processed": False, "error": error}, error)


def _cancel(state: SandboxState, body: dict[str, Any]) -> _Answer:
    errors, req = validate_cancel(body)
    if req is None:
        return _Answer(400, errors_body(errors), "invalid")
    warning: str | None = None
    if req.type not in state.config.lead_types:
        warning = "server error (call group)"
    else:
        now = state.clock.now()
        calls = state.store.find(req.type, req.mobile_key)
        queued = [c for c in calls if c.state(now) == "queued"]
        if queued:
            rate = state.config.cancel_save_error_rate
            if rate and state.rng.random() < rate:
                warning = "server error (save)"
            else:
                for call in queued:
                    call.cancelled_at = now
                return _Answer(200, {"cancelled": True}, "cancelled")
        elif any(c.state(now) == "dialled" for c in calls):
            warning = "already processed"
        else:
            warning = "not found"
    return _Answer(200, {"cancelled": False, "warning": warning}, warning)
