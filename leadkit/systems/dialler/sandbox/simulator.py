"""The dialler sandbox: a real HTTP server on 127.0.0.1 that behaves as the README documents.

It serves ``POST /lead/add`` and ``POST /lead/cancel`` with the ``key`` query parameter
(spec §2–§4): Yii2-style 400 bodies (``{"email": {"0": "Email cannot be blank."}}``), test
mode (``{"test": "ok"}``, nothing stored), "Unknown Type", "Existing Contact", "Another call
is already scheduled", and the cancel warnings (``not found``, ``already processed``,
``server error (call group)``, ``server error (save)``). A simulated dial clock turns a
queued call into a dialled one ``delays`` seconds after submission. Knobs add latency,
faults (500, 502, 503, 429 with ``Retry-After``, connection resets) and a concurrency limit.
It is written from the spec, independently of leadkit's dialler destination.

In tests::

    async with DiallerSandbox(DiallerSandboxConfig(clock_speed=0)) as sb:
        url = f"{sb.base_url}/lead/add?key={sb.api_key}"
        ...                     # POST a JSON body
        sb.advance(600)         # the simulated clock: queued calls become dialled
        sb.fail_next(2, "503")  # the next two requests fail
        sb.received, sb.queue   # what it got, and its calls

From a shell (benchmarks): ``python -m leadkit.systems.dialler.sandbox --port 0`` prints
``DIALLER_SANDBOX_URL=…``, the public demo key and the lead types, then serves until stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from leadkit.sandbox import AppSandbox, serve_app_forever
from leadkit.systems.dialler.sandbox.config import (
    DEMO_LEAD_TYPES,
    FAULT_KINDS,
    RUNTIME_KNOBS,
    DiallerSandboxConfig,
    FaultKind,
)
from leadkit.systems.dialler.sandbox.handlers import (
    ADD_PATH,
    CANCEL_PATH,
    STATE,
    ReceivedRequest,
    SandboxState,
    handle,
)
from leadkit.systems.dialler.sandbox.store import CallState, CallStore, DialClock

__all__ = ["DiallerSandbox", "SavedLead", "main", "make_app", "serve_forever"]


@dataclass(frozen=True)
class SavedLead:
    """A snapshot of one lead the sandbox saved.

    Attributes:
        id: sequence number (1, 2 …).
        type: lead type as sent.
        mobile: the mobile normalised to E.164 (what duplicates and cancels match on).
        body: the request body as received (without ``test``).
        state: ``queued``, ``dialled``, ``cancelled``, or ``unprocessed`` (saved with an
            ``error``: unknown type, existing contact, call already scheduled).
        error: that error.
        submitted_at: simulated seconds since start at submission.
        due_at: simulated time its call is (or was) dialled.
    """

    id: int
    type: str
    mobile: str
    body: dict[str, Any]
    state: CallState
    error: str | None
    submitted_at: float
    due_at: float


def make_app(config: DiallerSandboxConfig | None = None) -> web.Application:
    """Build the sandbox application.

    Args:
        config: behaviour; defaults to ``DiallerSandboxConfig()``.
    """
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[STATE] = SandboxState(config or DiallerSandboxConfig())
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


class DiallerSandbox(AppSandbox[DiallerSandboxConfig, SandboxState]):
    """The sandbox as an async context manager, listening on 127.0.0.1 (a free port).

    Args:
        config: behaviour; defaults to ``DiallerSandboxConfig()``.
        port: port to bind; 0 picks a free one.

    Example:
        >>> import asyncio
        >>> async def demo() -> tuple[str, int]:
        ...     async with DiallerSandbox() as sb:
        ...         return sb.lead_types[0], len(sb.queue)
        >>> asyncio.run(demo())
        ('motor-trade', 0)
    """

    config_type = DiallerSandboxConfig
    state_key = STATE

    def build(self, config: DiallerSandboxConfig) -> web.Application:
        return make_app(config)

    @property
    def api_key(self) -> str:
        """The first accepted ``key`` (the public demo key by default)."""
        return self.config.api_keys[0]

    @property
    def lead_types(self) -> tuple[str, ...]:
        """The account's lead type names."""
        return self.config.lead_types

    @property
    def subtypes(self) -> tuple[str, ...]:
        """The account's subtypes."""
        return self.config.subtypes

    @property
    def add_url(self) -> str:
        """Absolute URL of ``/lead/add`` (without the key)."""
        return self.base_url + ADD_PATH

    @property
    def cancel_url(self) -> str:
        """Absolute URL of ``/lead/cancel`` (without the key)."""
        return self.base_url + CANCEL_PATH

    # --- what tests look at -------------------------------------------------------------

    @property
    def received(self) -> list[ReceivedRequest]:
        """Every request received so far, oldest first (query without the key)."""
        return self._state.received

    @property
    def saved(self) -> list[SavedLead]:
        """Every lead saved (processed or not), oldest first, with its state now."""
        store: CallStore = self._state.store
        now = store.clock.now()
        return [
            SavedLead(
                lead.id,
                lead.type,
                lead.mobile_key,
                lead.body,
                lead.state(now),
                lead.error,
                lead.submitted_at,
                lead.due_at,
            )
            for lead in store.leads
        ]

    @property
    def queue(self) -> list[SavedLead]:
        """The call queue: processed leads (``queued``, ``dialled`` or ``cancelled``)."""
        return [lead for lead in self.saved if lead.state != "unprocessed"]

    @property
    def clock(self) -> DialClock:
        """The simulated dial clock."""
        return self._state.clock

    # --- changing things ----------------------------------------------------------------

    def configure(self, **changes: Any) -> DiallerSandboxConfig:
        """Change knobs while running, e.g. ``sb.configure(fault_rate=1.0)``.

        Raises:
            ValueError: an unknown name or an invalid value.
        """
        unknown = sorted(set(changes) - RUNTIME_KNOBS)
        if unknown:
            raise ValueError(f"unknown knobs {unknown}; allowed: {sorted(RUNTIME_KNOBS)}")
        state = self._state
        state.config = dataclasses.replace(state.config, **changes)
        if "clock_speed" in changes:
            state.clock.set_speed(state.config.clock_speed)
        if "seed" in changes:
            state.reseed()
        return state.config

    def advance(self, seconds: float) -> None:
        """Move the simulated dial clock forward: calls due by then become dialled."""
        self._state.clock.advance(seconds)

    def fail_next(self, n: int, kind: FaultKind = "503") -> None:
        """Make the next ``n`` requests to the endpoints fail with ``kind``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind={kind!r}; allowed: {', '.join(FAULT_KINDS)}")
        self._state.forced_faults.extend([kind] * n)

    def reset(self) -> None:
        """Forget every request and saved lead (the configuration stays)."""
        state = self._state
        state.received.clear()
        state.forced_faults.clear()
        state.store = CallStore(state.clock)


def serve_forever(
    config: DiallerSandboxConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the sandbox until interrupted (blocking).

    Args:
        config: behaviour.
        host: address to bind; keep the default (loopback only).
        port: port to bind; 0 picks a free one.
        on_ready: called with the root URL (``http://host:port``) once listening.
    """
    serve_app_forever(lambda: make_app(config), host=host, port=port, on_ready=on_ready)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: start a sandbox and print its URL, demo key and lead types."""
    parser = argparse.ArgumentParser(
        prog="python -m leadkit.systems.dialler.sandbox", description=main.__doc__
    )
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay per request")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of failed requests")
    parser.add_argument(
        "--fault-kinds", default=",".join(FAULT_KINDS), help="500,502,503,429,reset"
    )
    parser.add_argument("--max-in-flight", type=int, default=None, help="429 above this")
    parser.add_argument("--lead-type", action="append", help="accepted type (repeatable)")
    parser.add_argument("--api-key", action="append", help="accepted key (repeatable)")
    parser.add_argument("--clock-speed", type=float, default=1.0, help="simulated s per s")
    parser.add_argument("--default-delay-s", type=float, default=60.0, help="without delays")
    args = parser.parse_args(argv)
    defaults = DiallerSandboxConfig()
    config = DiallerSandboxConfig(
        api_keys=tuple(args.api_key or defaults.api_keys),
        lead_types=tuple(args.lead_type or DEMO_LEAD_TYPES),
        latency_s=args.latency_ms / 1000,
        fault_rate=args.fault_rate,
        fault_kinds=tuple(args.fault_kinds.split(",")),  # validated by the config
        max_in_flight=args.max_in_flight,
        clock_speed=args.clock_speed,
        default_delay_s=args.default_delay_s,
    )

    def ready(root: str) -> None:
        print(f"DIALLER_SANDBOX_URL={root}", flush=True)
        print(f"DIALLER_API_KEY={config.api_keys[0]}", flush=True)
        print(f"DIALLER_LEAD_TYPES={','.join(config.lead_types)}", flush=True)
        print("# the key is a public sandbox demo value", flush=True)

    serve_forever(config, port=args.port, on_ready=ready)
