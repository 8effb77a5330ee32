"""Carehome sandbox fixtures: a running sandbox on 127.0.0.1 and raw HTTP calls to it,
with nothing of leadkit's carehome source in between."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest
import yarl

from leadkit.systems.carehome.sandbox import CarehomeSandbox, CarehomeSandboxConfig

START = datetime(2024, 3, 1, tzinfo=UTC)
SandboxFactory = Callable[..., AbstractAsyncContextManager[CarehomeSandbox]]


@dataclass
class Reply:
    """An answer: status, body bytes, parsed JSON (or None) and content type."""

    status: int
    raw: bytes
    body: Any
    content_type: str


class Api:
    """Raw ``GET /api/leads/`` calls; the query is sent exactly as written."""

    def __init__(self, http: aiohttp.ClientSession, sb: CarehomeSandbox) -> None:
        self.http = http
        self.sb = sb

    async def get(self, query: str = "", *, key: bool = True, path: str = "/api/leads/") -> Reply:
        parts = [f"api_key={self.sb.api_key}"] if key else []
        if query:
            parts.append(query)
        url = yarl.URL(f"{self.sb.base_url}{path}?{'&'.join(parts)}", encoded=True)
        async with self.http.get(url) as resp:
            raw = await resp.read()
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = None
            return Reply(resp.status, raw, body, resp.content_type)


@pytest.fixture
def make_sandbox() -> SandboxFactory:
    """``async with make_sandbox(**knobs) as sb:``; 300 leads over 10 days from START."""

    def make(**knobs: Any) -> AbstractAsyncContextManager[CarehomeSandbox]:
        knobs.setdefault("leads", 300)
        knobs.setdefault("start", START)
        knobs.setdefault("days", 10)
        return CarehomeSandbox(CarehomeSandboxConfig(**knobs))

    return make


@pytest.fixture
async def sandbox() -> AsyncIterator[CarehomeSandbox]:
    """A running sandbox: 600 leads over 10 days from START, seed 5."""
    config = CarehomeSandboxConfig(leads=600, seed=5, start=START, days=10)
    async with CarehomeSandbox(config) as sb:
        yield sb


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session (short timeouts)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session


@pytest.fixture
def api(http: aiohttp.ClientSession, sandbox: CarehomeSandbox) -> Api:
    """Raw calls to :func:`sandbox`."""
    return Api(http, sandbox)
