"""The KPro Marketing API sandbox: a real HTTP server on 127.0.0.1 that behaves as documented.

It serves one path, ``/api/bulk/open/leads`` (spec Q17): ``GET`` exports leads (spec §3,
§4: envelope, filters, sort, paging, 400 errors), ``POST`` imports them (spec §6:
validation, all-or-nothing 422, ``externalRef`` dedupe). Every request needs ``api_key`` in
the query string (401 otherwise). Knobs add latency, faults (500, 503, 429 with
``Retry-After``, connection resets), leads arriving while a client pages, malformed leads
and a batch-size limit. It is written from the spec, independently of leadkit's client.

In tests::

    async with KProSandbox(KProSandboxConfig(leads=500)) as sb:
        url = f"{sb.base_url}{LEADS_PATH}?api_key={sb.api_key}&sort=createdAt"
        ...
        sb.configure(fault_rate=1.0, fault_kinds=("429",))

From a shell (benchmarks): ``python -m leadkit.systems.kpro.simulator --port 0 --leads
100000`` prints ``KPRO_SANDBOX_URL=http://127.0.0.1:PORT`` and serves until stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from aiohttp import web

from leadkit.sandbox import AppSandbox, serve_app_forever
from leadkit.systems.kpro.dataset import DEFAULT_END, DEFAULT_START, DatasetOptions
from leadkit.systems.kpro.encoding import LeadEncoder
from leadkit.systems.kpro.handlers import (
    FAULT_KINDS,
    LEADS_PATH,
    STATE,
    FaultKind,
    ImportedLead,
    RequestRecord,
    SandboxState,
    handle,
)
from leadkit.systems.kpro.store import LeadStore

__all__ = [
    "DEMO_API_KEY",
    "FAULT_KINDS",
    "LEADS_PATH",
    "ImportedLead",
    "KProSandbox",
    "KProSandboxConfig",
    "RequestRecord",
    "make_app",
    "serve_forever",
]

DEMO_API_KEY = hashlib.sha256(b"leadkit kpro sandbox demo key").hexdigest()
"""The default API key: 64 hex characters, like the documentation's example key."""

_RUNTIME_KNOBS = frozenset(
    {"api_keys", "latency_s", "fault_rate", "fault_kinds", "retry_after_s", "grow_per_request",
     "max_batch", "local_authority_objects"}
)  # fmt: skip


@dataclass(frozen=True)
class KProSandboxConfig:
    """How the sandbox behaves.

    Attributes:
        leads: number of leads generated at start.
        seed: random seed of the dataset (same seed, same leads) and of fault injection.
        api_keys: keys accepted in ``api_key``.
        latency_s: delay added before answering each request.
        fault_rate: probability that a request fails with one of ``fault_kinds``.
        fault_kinds: faults to choose from (uniformly).
        retry_after_s: ``Retry-After`` seconds sent with a 429.
        grow_per_request: new leads (``createdAt`` = now) added before answering each GET,
            as if leads arrived while a client pages.
        local_authority_objects: write local authorities as objects (spec Q6).
        max_batch: largest import batch accepted (spec Q11); None = no limit.
        malformed_rate: share of generated leads that break the spec on purpose.
        start: earliest generated ``createdAt`` (UTC, inclusive).
        end: latest generated ``createdAt`` (UTC, exclusive).
        prerender: render every lead's JSON at start (slower start, cheaper pages).
    """

    leads: int = 1000
    seed: int = 0
    api_keys: tuple[str, ...] = (DEMO_API_KEY,)
    latency_s: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[FaultKind, ...] = FAULT_KINDS
    retry_after_s: int = 1
    grow_per_request: int = 0
    local_authority_objects: bool = False
    max_batch: int | None = None
    malformed_rate: float = 0.0
    start: datetime = DEFAULT_START
    end: datetime = DEFAULT_END
    prerender: bool = False

    def __post_init__(self) -> None:
        problems = []
        if self.leads < 0:
            problems.append(f"leads={self.leads!r} must be >= 0")
        if not self.api_keys:
            problems.append("api_keys must name at least one key")
        if self.latency_s < 0:
            problems.append(f"latency_s={self.latency_s!r} must be >= 0")
        for name in ("fault_rate", "malformed_rate"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"{name}={getattr(self, name)!r} must be between 0 and 1")
        unknown = [k for k in self.fault_kinds if k not in FAULT_KINDS]
        if unknown or not self.fault_kinds:
            problems.append(f"fault_kinds={self.fault_kinds!r}; allowed: {', '.join(FAULT_KINDS)}")
        if self.retry_after_s < 0 or self.grow_per_request < 0:
            problems.append("retry_after_s and grow_per_request must be >= 0")
        if self.max_batch is not None and self.max_batch < 1:
            problems.append(f"max_batch={self.max_batch!r} must be >= 1 or None")
        if self.start.tzinfo is None or self.end.tzinfo is None or self.end <= self.start:
            problems.append("start and end must be aware datetimes with start < end")
        if problems:
            raise ValueError("invalid KProSandboxConfig: " + "; ".join(problems))


def make_app(config: KProSandboxConfig | None = None) -> web.Application:
    """Build the sandbox application (generates the leads; may take seconds for millions).

    Args:
        config: behaviour; defaults to ``KProSandboxConfig()``.

    Returns:
        An aiohttp application; run it with ``aiohttp.web.AppRunner`` on 127.0.0.1.
    """
    config = config or KProSandboxConfig()
    options = DatasetOptions(
        seed=config.seed, start=config.start, end=config.end, malformed_rate=config.malformed_rate
    )
    store = LeadStore(config.leads, options, local_authority_objects=config.local_authority_objects)
    if config.prerender:
        store.prerender()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE] = SandboxState(config, store, random.Random(f"kpro-faults:{config.seed}"))
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


class KProSandbox(AppSandbox[KProSandboxConfig, SandboxState]):
    """The sandbox as an async context manager, listening on 127.0.0.1 (a free port).

    Args:
        config: behaviour; defaults to ``KProSandboxConfig()``.
        port: port to bind; 0 picks a free one.

    Example:
        >>> import asyncio
        >>> async def demo() -> int:
        ...     async with KProSandbox(KProSandboxConfig(leads=10)) as sb:
        ...         return len(sb.leads())
        >>> asyncio.run(demo())
        10
    """

    config_type = KProSandboxConfig
    state_key = STATE

    def build(self, config: KProSandboxConfig) -> web.Application:
        return make_app(config)

    @property
    def api_key(self) -> str:
        """The first accepted API key."""
        return self.config.api_keys[0]

    @property
    def leads_url(self) -> str:
        """Absolute URL of the leads endpoint (without the key)."""
        return self.base_url + LEADS_PATH

    @property
    def store(self) -> LeadStore:
        """The lead store (frame, ids, rendering)."""
        return self._state.store

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, oldest first (``api_key`` left out)."""
        return self._state.requests

    @property
    def imported(self) -> list[ImportedLead]:
        """Every lead of every accepted import batch, in order (rejected batches leave none)."""
        return self._state.imported

    def leads(self) -> list[dict[str, Any]]:
        """The whole current dataset as the API would send it, parsed, oldest first."""
        return self._state.store.leads()

    def frame(self) -> pl.DataFrame:
        """The whole current dataset as the store's frame (typed columns)."""
        return self._state.store.frame

    def add_leads(self, n: int) -> list[int]:
        """Add ``n`` generated leads created now; return their ids."""
        added = self._state.store.add_generated(n)
        return [int(i) for i in added["id"]]

    def configure(self, **changes: Any) -> KProSandboxConfig:
        """Change knobs while running, e.g. ``sb.configure(fault_rate=1.0)``.

        Runtime knobs: ``api_keys``, ``latency_s``, ``fault_rate``, ``fault_kinds``,
        ``retry_after_s``, ``grow_per_request``, ``max_batch``, ``local_authority_objects``.
        Dataset knobs (``leads``, ``seed``, ``malformed_rate``, ``start``, ``end``,
        ``prerender``) are fixed once started.

        Raises:
            ValueError: a dataset knob, an unknown name, or an invalid value.
        """
        fixed = sorted(set(changes) - _RUNTIME_KNOBS)
        if fixed:
            raise ValueError(
                f"cannot change {fixed} while running; allowed: {sorted(_RUNTIME_KNOBS)}"
            )
        state = self._state
        new = dataclasses.replace(state.config, **changes)
        if new.local_authority_objects != state.config.local_authority_objects:
            store = state.store
            store.encoder = LeadEncoder(
                store.catalog, local_authority_objects=new.local_authority_objects
            )
            store.clear_rendered()
        state.config = new
        return new


def serve_forever(
    config: KProSandboxConfig | None = None,
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
        on_ready: called with the base URL once listening.
    """

    serve_app_forever(lambda: make_app(config), host=host, port=port, on_ready=on_ready)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: start a sandbox and print ``KPRO_SANDBOX_URL=<base url>``."""
    parser = argparse.ArgumentParser(
        prog="python -m leadkit.systems.kpro.simulator", description=main.__doc__
    )
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    parser.add_argument("--leads", type=int, default=1000, help="leads to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay per request")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of failed requests")
    parser.add_argument("--fault-kinds", default=",".join(FAULT_KINDS), help="500,503,429,reset")
    parser.add_argument("--grow-per-request", type=int, default=0)
    parser.add_argument("--max-batch", type=int, default=None)
    parser.add_argument("--malformed-rate", type=float, default=0.0)
    parser.add_argument("--local-authority-objects", action="store_true")
    parser.add_argument("--prerender", action="store_true", help="render all JSON at start")
    parser.add_argument("--api-key", action="append", help="accepted key (repeatable)")
    args = parser.parse_args(argv)
    config = KProSandboxConfig(
        leads=args.leads,
        seed=args.seed,
        api_keys=tuple(args.api_key or (DEMO_API_KEY,)),
        latency_s=args.latency_ms / 1000,
        fault_rate=args.fault_rate,
        fault_kinds=tuple(args.fault_kinds.split(",")),  # validated by the config
        grow_per_request=args.grow_per_request,
        local_authority_objects=args.local_authority_objects,
        max_batch=args.max_batch,
        malformed_rate=args.malformed_rate,
        prerender=args.prerender,
    )

    def ready(url: str) -> None:
        print(f"KPRO_SANDBOX_URL={url}", flush=True)

    serve_forever(config, port=args.port, on_ready=ready)


if __name__ == "__main__":
    main()
