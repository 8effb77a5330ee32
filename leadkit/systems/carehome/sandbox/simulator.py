"""The carehome sandbox: a real HTTP server on 127.0.0.1 that behaves as the spec documents.

In tests::

    async with CarehomeSandbox(CarehomeSandboxConfig(leads=500, seed=3)) as sb:
        ...  # GET f"{sb.leads_url}?api_key={sb.api_key}&dateTimeFrom=…"
        sb.configure(fault_rate=0.3)

From a shell (demo, benchmarks): ``python -m leadkit.systems.carehome.sandbox --leads 5000``
prints ``CAREHOME_SANDBOX_URL=…`` and the public demo key, then serves until stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from leadkit.sandbox import AppSandbox, serve_app_forever
from leadkit.systems.carehome.sandbox.config import (
    DEMO_API_KEY,
    RUNTIME_KNOBS,
    CarehomeSandboxConfig,
)
from leadkit.systems.carehome.sandbox.dataset import (
    LeadFactory,
    LeadStore,
    StoredLead,
    build_store,
    render,
)
from leadkit.systems.carehome.sandbox.handlers import STATE, RequestRecord, SandboxState, handle

__all__ = ["CarehomeSandbox", "main", "make_app", "serve_forever"]


def make_app(config: CarehomeSandboxConfig | None = None) -> web.Application:
    """The sandbox as an aiohttp application (dataset built here)."""
    config = config or CarehomeSandboxConfig()
    store = build_store(config)
    rng = random.Random(config.seed + 1)
    factory = LeadFactory(config, random.Random(config.seed + 2))
    app = web.Application()
    app[STATE] = SandboxState(config, store, factory, rng)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


class CarehomeSandbox(AppSandbox[CarehomeSandboxConfig, SandboxState]):
    """The sandbox as an async context manager, listening on 127.0.0.1 (a free port).

    Args:
        config: behaviour; defaults to ``CarehomeSandboxConfig()``.
        port: port to bind; 0 picks a free one.

    Example:
        >>> import asyncio
        >>> async def demo() -> tuple[int, bool]:
        ...     async with CarehomeSandbox(CarehomeSandboxConfig(leads=10)) as sb:
        ...         return len(sb.leads()), sb.leads_url.endswith("/api/leads/")
        >>> asyncio.run(demo())
        (10, True)
    """

    config_type = CarehomeSandboxConfig
    state_key = STATE

    def build(self, config: CarehomeSandboxConfig) -> web.Application:
        return make_app(config)

    @property
    def api_key(self) -> str:
        """The first accepted ``api_key`` (the public demo key by default)."""
        return self.config.api_keys[0]

    @property
    def leads_url(self) -> str:
        """Absolute URL of ``/api/leads/``."""
        return self.base_url + "/api/leads/"

    # --- what tests look at -------------------------------------------------------------

    @property
    def dataset(self) -> list[StoredLead]:
        """Every stored lead, oldest first (with its quirk and exact JSON text)."""
        return list(self._state.store.leads)

    @property
    def store(self) -> LeadStore:
        """The lead store."""
        return self._state.store

    def leads(self, anonymised: bool | None = None) -> list[dict[str, Any]]:
        """Every lead as the API sends it, parsed, oldest first (``anonymised`` filters)."""
        return [
            orjson.loads(lead.json)
            for lead in self._state.store.leads
            if anonymised is None or lead.anonymised == anonymised
        ]

    def raw(self, lead_id: int) -> str:
        """The exact JSON text the API sends for a lead."""
        for lead in self._state.store.leads:
            if lead.id == lead_id:
                return lead.json.decode()
        raise KeyError(lead_id)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, oldest first (never the key)."""
        return self._state.requests

    # --- changing things ----------------------------------------------------------------

    def configure(self, **changes: Any) -> CarehomeSandboxConfig:
        """Change runtime knobs, e.g. ``sb.configure(fault_rate=1.0)``.

        Raises:
            ValueError: a dataset knob, an unknown name, or an invalid value.
        """
        fixed = sorted(set(changes) - RUNTIME_KNOBS)
        if fixed:
            raise ValueError(
                f"cannot change {fixed} while running; allowed: {sorted(RUNTIME_KNOBS)}"
            )
        state = self._state
        state.config = dataclasses.replace(state.config, **changes)
        return state.config

    def add_leads(
        self,
        n: int,
        *,
        at: datetime | None = None,
        category: int | None = None,
        quirk: str | None = None,
        anonymised: bool = False,
    ) -> list[int]:
        """Add ``n`` generated leads dated ``at`` (default now); return their ids."""
        state = self._state
        ms = int((at.timestamp() if at is not None else time.time()) * 1000)
        ids = []
        for _ in range(n):
            lead = state.factory.make(
                state.store.next_id(), ms, category=category, quirk=quirk, anonymised=anonymised
            )
            state.store.add(lead)
            ids.append(lead.id)
        return ids

    def add_record(self, record: dict[str, Any], *, anonymised: bool | None = None) -> None:
        """Serve an arbitrary record as it is (dated by its ``date``), e.g. one that reuses
        an id with another category (spec Q6). It is served to ``isAnonymised=true`` queries
        when ``anonymised`` says so, by default when the record's own ``isAnonymised`` is
        true (spec Q3)."""
        if anonymised is None:
            anonymised = record.get("isAnonymised") is True
        when = datetime.fromisoformat(str(record["date"]).replace("Z", "+00:00"))
        lead = StoredLead(
            int(record["id"]),
            int(when.timestamp() * 1000),
            int(record["category"]["id"]),
            int(record["service"]["id"]),
            bool(anonymised),
            None,
            record,
            render(record),
        )
        self._state.store.add(lead)


def serve_forever(
    config: CarehomeSandboxConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the sandbox until interrupted (blocking). ``on_ready`` gets the root URL."""
    serve_app_forever(lambda: make_app(config), host=host, port=port, on_ready=on_ready)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: start a sandbox and print its URL and the public demo key."""
    parser = argparse.ArgumentParser(
        prog="python -m leadkit.systems.carehome.sandbox", description=main.__doc__
    )
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    parser.add_argument("--leads", type=int, default=1000, help="leads to generate")
    parser.add_argument("--days", type=int, default=30, help="days the leads span")
    parser.add_argument("--start", default=None, help="first day (YYYY-MM-DD); default days ago")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quirk-rate", type=float, default=0.25)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay per request")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of failed requests")
    parser.add_argument("--malformed-rate", type=float, default=0.0, help="share of bad bodies")
    parser.add_argument("--envelope", action="store_true", help='answer {"data": [...]}')
    args = parser.parse_args(argv)
    config = CarehomeSandboxConfig(
        leads=args.leads,
        days=args.days,
        start=datetime.fromisoformat(args.start) if args.start else None,
        seed=args.seed,
        quirk_rate=args.quirk_rate,
        latency_s=args.latency_ms / 1000,
        fault_rate=args.fault_rate,
        malformed_rate=args.malformed_rate,
        envelope=args.envelope,
    )

    def ready(root: str) -> None:
        print(f"CAREHOME_SANDBOX_URL={root}", flush=True)
        print(f"CAREHOME_API_KEY={DEMO_API_KEY}", flush=True)
        print("# the API key is a public sandbox demo value", flush=True)

    serve_forever(config, port=args.port, on_ready=ready)
