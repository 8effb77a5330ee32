"""The OviPro Lead API sandbox: a real HTTP server on 127.0.0.1 that behaves as documented.

It serves the Authentication API's token endpoint and the Lead API (spec §2–§10): bearer
JWTs bound to agency offices, ``Request-ID`` on every call, offset paging with
``totalCount``, filters and ``sort``, incoming and outgoing leads, the three creates and
the status machine, and OviPro's error body. Knobs add latency, faults (500, 503, 429 with
``Retry-After``, connection resets), a concurrency limit, the ``x-api-key`` check, short
token lifetimes and leads that appear or vanish while a client pages. It is written from
the spec, independently of leadkit's OviPro client.

In tests::

    async with OviProSandbox(OviProSandboxConfig(leads=500)) as sb:
        token = ...  # POST f"{sb.auth_url}/tokens" {"username": sb.username, ...}
        ...          # GET f"{sb.base_url}/leads?size=100" with Request-ID and the token
        sb.configure(fault_rate=1.0, fault_kinds=("429",))

From a shell (benchmarks): ``python -m leadkit.systems.ovipro.sandbox --port 0 --leads
50000`` prints ``OVIPRO_SANDBOX_URL=…``, ``OVIPRO_AUTH_URL=…`` and the public demo
credentials, then serves until stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from aiohttp import web

from leadkit.sandbox import AppSandbox, serve_app_forever
from leadkit.systems.ovipro.sandbox.bodies import StatusError, apply_update
from leadkit.systems.ovipro.sandbox.config import (
    DEMO_API_KEY,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    FAULT_KINDS,
    RUNTIME_KNOBS,
    OviProSandboxConfig,
)
from leadkit.systems.ovipro.sandbox.dataset import DatasetOptions, LeadFactory, World
from leadkit.systems.ovipro.sandbox.handlers import (
    STATE,
    CreatedLead,
    RequestRecord,
    SandboxState,
    handle,
)
from leadkit.systems.ovipro.sandbox.params import ListQuery
from leadkit.systems.ovipro.sandbox.store import Kind, LeadStore, sort_records

__all__ = ["OviProSandbox", "main", "make_app", "serve_forever"]

Lead = dict[str, Any]


def make_app(config: OviProSandboxConfig | None = None) -> web.Application:
    """Build the sandbox application (generates the data; about a second per 50,000 leads).

    Args:
        config: behaviour; defaults to ``OviProSandboxConfig()``.

    Returns:
        An aiohttp application; run it with ``aiohttp.web.AppRunner`` on 127.0.0.1.
    """
    config = config or OviProSandboxConfig()
    world = World(DatasetOptions.from_config(config))
    store = LeadStore(world.office_ids)
    store.add_incoming(LeadFactory(world, "incoming").incoming(config.leads))
    store.add_outgoing(LeadFactory(world, "outgoing").outgoing(config.outgoing_leads))
    scope = frozenset(world.office_ids)
    for sort in ((), (("creationTime", False),)):  # the default order and extraction's
        store.select("incoming", ListQuery(sort=sort), scope)
    store.render()  # answers then only join ready JSON
    if config.leads + config.outgoing_leads >= 10_000:
        gc.collect()  # a big heap: collect now, rather than as a pause on an early request
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[STATE] = SandboxState(config, world, store)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


class OviProSandbox(AppSandbox[OviProSandboxConfig, SandboxState]):
    """The sandbox as an async context manager, listening on 127.0.0.1 (a free port).

    Args:
        config: behaviour; defaults to ``OviProSandboxConfig()``.
        port: port to bind; 0 picks a free one.

    Example:
        >>> import asyncio
        >>> async def demo() -> tuple[int, bool]:
        ...     async with OviProSandbox(OviProSandboxConfig(leads=10, outgoing_leads=2)) as sb:
        ...         return len(sb.leads()), sb.base_url.endswith("/lead/v1")
        >>> asyncio.run(demo())
        (10, True)
    """

    config_type = OviProSandboxConfig
    state_key = STATE

    def build(self, config: OviProSandboxConfig) -> web.Application:
        return make_app(config)

    def __init__(self, config: OviProSandboxConfig | None = None, *, port: int = 0):
        super().__init__(config, port=port)
        self.auth_url = ""

    def started(self, root_url: str) -> None:
        self.base_url = root_url + self._config.lead_path
        self.auth_url = root_url + self._config.auth_path

    @property
    def username(self) -> str:
        """Username of the first account (the public demo one by default)."""
        return self.config.accounts[0].username

    @property
    def password(self) -> str:
        """Password of the first account (the public demo one by default)."""
        return self.config.accounts[0].password

    @property
    def api_key(self) -> str:
        """The first accepted ``x-api-key`` value."""
        return self.config.api_keys[0]

    @property
    def token_url(self) -> str:
        """Absolute URL of the token endpoint."""
        return self.root_url + self.config.token_url_path

    @property
    def leads_url(self) -> str:
        """Absolute URL of ``/leads``."""
        return self.root_url + self.config.leads_url_path

    @property
    def outgoing_url(self) -> str:
        """Absolute URL of ``/outgoingLeads``."""
        return self.root_url + self.config.outgoing_url_path

    def marketplace_url(self, code: str) -> str:
        """Absolute URL of the marketplace create endpoint for ``code``."""
        return self.root_url + self.config.marketplace_url_path.format(marketplaceCode=code)

    # --- what tests look at -------------------------------------------------------------

    @property
    def world(self) -> World:
        """Offices (with agents), realties and customers of the dataset."""
        return self._state.world

    @property
    def office_ids(self) -> tuple[str, ...]:
        """Every agency office id."""
        return self._state.world.office_ids

    @property
    def store(self) -> LeadStore:
        """The lead store."""
        return self._state.store

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, oldest first (no bodies, tokens or keys)."""
        return self._state.requests

    @property
    def request_ids(self) -> list[str | None]:
        """Every ``Request-ID`` value received, in order, on every endpoint (None: missing)."""
        return self._state.request_ids

    @property
    def token_requests(self) -> int:
        """How many ``POST`` requests reached the token endpoint (whatever the outcome)."""
        return self._state.token_requests

    @property
    def tokens_issued(self) -> int:
        """How many tokens were issued."""
        return self._state.issuer.issued

    @property
    def created(self) -> list[CreatedLead]:
        """Every lead created through the API, in order (duplicates kept, Q15)."""
        return self._state.created

    def _items(self, kind: Kind) -> list[Lead]:
        keys = (("creationTime", False),)
        records = sort_records(self._state.store.records(kind).values(), keys)
        parsed: list[Lead] = orjson.loads(b"[" + b",".join(r.json for r in records) + b"]")
        return parsed

    def leads(self) -> list[Lead]:
        """Every incoming lead as the API sends it, parsed; oldest first, then ``leadId``."""
        return self._items("incoming")

    def outgoing_leads(self) -> list[Lead]:
        """Every outgoing lead as the API sends it, parsed; oldest first, then ``leadId``."""
        return self._items("outgoing")

    def lead(self, lead_id: str) -> Lead | None:
        """One incoming lead as the API sends it, or None."""
        record = self._state.store.incoming.get(lead_id)
        return None if record is None else dict(orjson.loads(record.json))

    # --- changing things ----------------------------------------------------------------

    def configure(self, **changes: Any) -> OviProSandboxConfig:
        """Change knobs while running, e.g. ``sb.configure(fault_rate=1.0)``.

        Runtime knobs: see :data:`~leadkit.systems.ovipro.sandbox.config.RUNTIME_KNOBS`.

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

    def add_leads(self, n: int) -> list[str]:
        """Add ``n`` generated incoming leads created now (status ``NEW``); return their ids."""
        return self._state.add_incoming(n)

    def add_outgoing_leads(self, n: int) -> list[str]:
        """Add ``n`` generated outgoing leads created now; return their ids."""
        return self._state.add_outgoing(n)

    def delete_leads(self, lead_ids: Sequence[str]) -> list[str]:
        """Delete incoming leads; return the ids that existed."""
        return self._state.store.delete("incoming", lead_ids)

    def delete_outgoing_leads(self, lead_ids: Sequence[str]) -> list[str]:
        """Delete outgoing leads; return the ids that existed."""
        return self._state.store.delete("outgoing", lead_ids)

    def set_status(self, lead_id: str, code: str, *, agent_id: str | None = None) -> Lead:
        """Change a lead's status as ``PUT /leads/{id}`` would; return the lead after.

        The times follow (spec §7): ``decisionTime`` on APPROVED/REJECTED, an agent (the
        office's first unless ``agent_id``) and ``assignmentTime`` on IN_PROGRESS, and
        ``modificationTime`` moves forward.

        Raises:
            KeyError: no such lead.
            ValueError: the change is not allowed (e.g. out of APPROVED).
        """
        state = self._state
        record = state.store.incoming[lead_id]
        lead = record.item["lead"]
        if agent_id is None and code == "IN_PROGRESS" and "agentId" not in lead:
            office = state.world.office(lead["agencyOfficeId"])
            agent_id = office.agents[0].agent_id if office else None
        update: Lead = {} if agent_id is None else {"agentId": agent_id}
        now = int(time.time())
        try:
            changed = apply_update(
                record.item, {"leadStatusCode": code, "lead": update}, state.world, None, now=now
            )
        except StatusError as exc:
            raise ValueError(str(exc)) from None
        if changed:
            record.refresh()
            state.store.changed()
        return dict(orjson.loads(record.json))

    def expire_tokens(self) -> None:
        """Make every token issued so far expire now."""
        self._state.issuer.expire_all()

    def issue_token(self, username: str | None = None) -> str:
        """A valid access token for an account (default: the first), without HTTP."""
        state = self._state
        name = username or self.username
        account = next(a for a in state.config.accounts if a.username == name)
        return state.issuer.issue(
            account.username,
            offices=account.offices if account.offices is not None else state.world.office_ids,
            marketplaces=account.marketplaces,
            lifetime_s=state.config.token_lifetime_s,
        )


def serve_forever(
    config: OviProSandboxConfig | None = None,
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
    """Command line: start a sandbox and print its URLs and the public demo credentials."""
    parser = argparse.ArgumentParser(
        prog="python -m leadkit.systems.ovipro.sandbox", description=main.__doc__
    )
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    parser.add_argument("--leads", type=int, default=1000, help="incoming leads to generate")
    parser.add_argument("--outgoing-leads", type=int, default=200, help="outgoing leads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay per request")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of failed requests")
    parser.add_argument("--fault-kinds", default=",".join(FAULT_KINDS), help="500,503,429,reset")
    parser.add_argument("--token-lifetime-s", type=int, default=900, help="expires_in")
    parser.add_argument("--max-in-flight", type=int, default=None, help="429 above this")
    parser.add_argument("--grow-per-request", type=int, default=0)
    parser.add_argument("--shrink-per-request", type=int, default=0)
    parser.add_argument("--require-api-key", action="store_true", help="check x-api-key")
    args = parser.parse_args(argv)
    config = OviProSandboxConfig(
        leads=args.leads,
        outgoing_leads=args.outgoing_leads,
        seed=args.seed,
        latency_s=args.latency_ms / 1000,
        fault_rate=args.fault_rate,
        fault_kinds=tuple(args.fault_kinds.split(",")),  # validated by the config
        token_lifetime_s=args.token_lifetime_s,
        max_in_flight=args.max_in_flight,
        grow_per_request=args.grow_per_request,
        shrink_per_request=args.shrink_per_request,
        require_api_key=args.require_api_key,
    )

    def ready(root: str) -> None:
        print(f"OVIPRO_SANDBOX_URL={root}{config.lead_path}", flush=True)
        print(f"OVIPRO_AUTH_URL={root}{config.auth_path}", flush=True)
        print(f"OVIPRO_USERNAME={DEMO_USERNAME}", flush=True)
        print(f"OVIPRO_PASSWORD={DEMO_PASSWORD}", flush=True)
        if config.require_api_key:
            print(f"OVIPRO_API_KEY={DEMO_API_KEY}", flush=True)
        print("# the username, password and API key are public sandbox demo values", flush=True)

    serve_forever(config, port=args.port, on_ready=ready)
