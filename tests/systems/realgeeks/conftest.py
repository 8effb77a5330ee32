"""Real Geeks fixtures: a running sandbox on 127.0.0.1 and a raw HTTP helper.

:class:`Api` speaks to the sandbox as the documentation describes, with nothing of
leadkit's destination in between: HTTP Basic auth, JSON bodies, paths under ``/rest``.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest

from leadkit.engine.http import HttpClient, make_session
from leadkit.push.base import PushContext
from leadkit.redact import Redactor
from leadkit.systems.realgeeks import RealGeeksDestination, RealGeeksSettings
from leadkit.systems.realgeeks.sandbox import RealGeeksSandbox, RealGeeksSandboxConfig

#: ``make(**settings)`` (the fixture): a destination for the sandbox's first site.
Make = Callable[..., RealGeeksDestination]

_UNSET: Any = object()


@dataclass
class Reply:
    """An answer: status, parsed JSON body (or text) and headers."""

    status: int
    body: Any
    headers: Mapping[str, str]


class Api:
    """Raw calls to one sandbox."""

    def __init__(self, http: aiohttp.ClientSession, sb: RealGeeksSandbox):
        self.http = http
        self.sb = sb

    @property
    def site(self) -> str:
        """The first granted site."""
        return self.sb.site_uuids[0]

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: object = _UNSET,
        data: bytes | None = None,
        auth: tuple[str, str] | bool | None = True,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request to ``base_url + path``."""
        sent = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        if auth is True:
            auth = (self.sb.username, self.sb.password)
        if isinstance(auth, tuple):
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            sent["Authorization"] = f"Basic {token}"
        body = orjson.dumps(json) if json is not _UNSET else data
        url = self.sb.base_url + path
        async with self.http.request(method, url, data=body, headers=sent) as resp:
            raw = await resp.read()
            parsed: Any = (
                orjson.loads(raw) if resp.content_type == "application/json" else raw.decode()
            )
            return Reply(resp.status, parsed, resp.headers)

    async def create(self, lead: object, site: str | None = None) -> Reply:
        """``POST /rest/sites/{site}/leads``."""
        return await self.call("POST", f"/rest/sites/{site or self.site}/leads", json=lead)

    async def patch(self, lead_id: str, body: object, *, v2: bool = False) -> Reply:
        """``PATCH /rest/sites/{site}/leads/{id}`` (or ``/v2/rest/...``)."""
        prefix = "/v2/rest" if v2 else "/rest"
        return await self.call("PATCH", f"{prefix}/sites/{self.site}/leads/{lead_id}", json=body)

    async def activities(self, lead_id: str, body: object) -> Reply:
        """``POST /rest/sites/{site}/leads/{id}/activities``."""
        path = f"/rest/sites/{self.site}/leads/{lead_id}/activities"
        return await self.call("POST", path, json=body)

    async def potential_seller(self, body: object) -> Reply:
        """``POST /rest/sites/{site}/potential-seller-leads``."""
        return await self.call("POST", f"/rest/sites/{self.site}/potential-seller-leads", json=body)


@pytest.fixture
async def sandbox() -> AsyncIterator[RealGeeksSandbox]:
    """A running sandbox with fast 429s."""
    async with RealGeeksSandbox(RealGeeksSandboxConfig(retry_after_s=0)) as sb:
        yield sb


@pytest.fixture
def make(sandbox: RealGeeksSandbox) -> Make:
    """``make(**settings)``: a destination for the sandbox's first site."""

    def build(**changes: Any) -> RealGeeksDestination:
        values: dict[str, Any] = {
            "base_url": sandbox.base_url,
            "username": sandbox.username,
            "password": sandbox.password,
            "site_uuid": sandbox.site_uuids[0],
            "lead_source": "Acme Leads",
            "max_retries": 3,
            **changes,
        }
        return RealGeeksDestination("rg", RealGeeksSettings(**values))

    return build


@pytest.fixture
def dest(make: Make) -> RealGeeksDestination:
    """The default (contact-lead) destination."""
    return make()


@pytest.fixture
async def ctx(dest: RealGeeksDestination) -> AsyncIterator[PushContext]:
    """A push context with a real HTTP client (fast backoff)."""
    log = logging.getLogger("leadkit.push.rg")
    redactor = Redactor(dest.secrets())
    async with make_session(4, 5.0) as session:
        client = HttpClient(
            session, source="rg", redactor=redactor, max_retries=3, log=log,
            backoff_initial_s=0.01,
        )  # fmt: skip
        yield PushContext("run-1", "rg", client, redactor, log)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session (no retries, short timeouts)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


@pytest.fixture
def api(http: aiohttp.ClientSession, sandbox: RealGeeksSandbox) -> Api:
    """Raw calls to :func:`sandbox`."""
    return Api(http, sandbox)
