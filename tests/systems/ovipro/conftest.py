"""OviPro sandbox fixtures: a running sandbox on 127.0.0.1 and a small raw HTTP helper.

The helper (:class:`Api`) speaks to the sandbox the way the documentation describes, with
nothing of leadkit's client in between: it fetches a token, sends a fresh ``Request-ID``
and the bearer token on every call unless told otherwise, and sends queries exactly as
written.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
import yarl

from leadkit.systems.ovipro.sandbox import OviProSandbox, OviProSandboxConfig

SandboxFactory = Callable[..., AbstractAsyncContextManager[OviProSandbox]]
Lead = dict[str, Any]

_UNSET: Any = object()


@dataclass
class Reply:
    """An answer: status, parsed JSON body (or text) and headers."""

    status: int
    body: Any
    headers: Mapping[str, str]


class Api:
    """Raw calls to one sandbox.

    Args:
        http: the client session.
        sb: the sandbox.
    """

    def __init__(self, http: aiohttp.ClientSession, sb: OviProSandbox):
        self.http = http
        self.sb = sb
        self._token: str | None = None

    async def token(self, username: str | None = None, password: str | None = None) -> str:
        """A fresh access token for an account (default: the sandbox's first)."""
        body = {"username": username or self.sb.username, "password": password or self.sb.password}
        reply = await self.call("POST", self.sb.token_url, json=body, auth=False)
        assert reply.status == 200, reply.body
        token: str = reply.body["access_token"]
        return token

    async def call(
        self,
        method: str,
        url: str,
        *,
        query: str | Sequence[tuple[str, str]] = "",
        json: object = _UNSET,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool | str = True,
        request_id: str | None = _UNSET,
    ) -> Reply:
        """Send one request.

        Args:
            method: HTTP method.
            url: absolute URL without query.
            query: raw query text (sent as written) or pairs (encoded).
            json: a body to send as ``application/json``.
            data: a raw body (give ``Content-Type`` in ``headers``).
            headers: extra headers.
            auth: send a bearer token: True (fetched once and reused), a token, or False.
            request_id: the ``Request-ID`` header; default a new uuid4, None leaves it out.
        """
        sent: dict[str, str] = {}
        if request_id is _UNSET:
            sent["Request-ID"] = str(uuid.uuid4())
        elif request_id is not None:
            sent["Request-ID"] = request_id
        if auth is True:
            if self._token is None:
                self._token = await self.token()
            sent["Authorization"] = f"Bearer {self._token}"
        elif isinstance(auth, str):
            sent["Authorization"] = f"Bearer {auth}"
        sent.update(headers or {})
        if isinstance(query, str):
            target = yarl.URL(f"{url}?{query}" if query else url, encoded=True)
        else:
            target = yarl.URL(url).with_query(list(query))
        body = data
        if json is not _UNSET:
            body = orjson.dumps(json)
            sent.setdefault("Content-Type", "application/json")
        async with self.http.request(method, target, data=body, headers=sent) as resp:
            raw = await resp.read()
            json_body = resp.content_type == "application/json"
            parsed: Any = orjson.loads(raw) if json_body else raw.decode()
            return Reply(resp.status, parsed, resp.headers)

    async def leads(self, query: str | Sequence[tuple[str, str]] = "", **kw: Any) -> Reply:
        """``GET /leads``."""
        return await self.call("GET", self.sb.leads_url, query=query, **kw)

    async def outgoing(self, query: str | Sequence[tuple[str, str]] = "", **kw: Any) -> Reply:
        """``GET /outgoingLeads``."""
        return await self.call("GET", self.sb.outgoing_url, query=query, **kw)

    async def scan(self, query: str = "", *, kind: str = "incoming") -> list[Lead]:
        """Every lead matching ``query``, page by page (size 100), in served order."""
        out: list[Lead] = []
        start = 0
        while True:
            sep = "&" if query else ""
            page = f"{query}{sep}size=100&startIndex={start}"
            reply = await (self.leads(page) if kind == "incoming" else self.outgoing(page))
            assert reply.status == 200, reply.body
            out += reply.body["leads"]
            start += 100
            if start >= reply.body["totalCount"]:
                return out


@pytest.fixture
def make_sandbox() -> SandboxFactory:
    """``async with make_sandbox(**knobs) as sb:`` starts a sandbox with these knobs."""

    def make(**knobs: Any) -> AbstractAsyncContextManager[OviProSandbox]:
        knobs.setdefault("leads", 40)
        knobs.setdefault("outgoing_leads", 10)
        return OviProSandbox(OviProSandboxConfig(**knobs))

    return make


@pytest.fixture
async def sandbox() -> AsyncIterator[OviProSandbox]:
    """A running sandbox: 300 incoming and 60 outgoing leads, seed 7."""
    async with OviProSandbox(OviProSandboxConfig(leads=300, outgoing_leads=60, seed=7)) as sb:
        yield sb


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session (no retries, short timeouts)."""
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield session


@pytest.fixture
def api(http: aiohttp.ClientSession, sandbox: OviProSandbox) -> Api:
    """Raw calls to :func:`sandbox`."""
    return Api(http, sandbox)
