"""Dialler fixtures: a running sandbox on 127.0.0.1 (frozen dial clock) and raw HTTP calls.

:class:`Api` speaks to the sandbox the way the README describes, with nothing of leadkit's
destination in between: ``POST`` a JSON body to ``/lead/add?key=…`` or ``/lead/cancel``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest

from leadkit.systems.dialler.sandbox import DiallerSandbox, DiallerSandboxConfig

JOHN: dict[str, Any] = {
    "first_name": "John",
    "surname": "Doe",
    "mobile": "07840258823",
    "email": "john.doe@example.com",
    "type": "motor-trade",
    "subtype": "valeter",
    "delays": 600,
    "data": '{"vehicle_make":"Ford","addresss":"123 Greenacre Road"}',
}
"""The README's example submission (with valid JSON in ``data``, spec Q3)."""

_UNSET: Any = object()


@dataclass
class Reply:
    """An answer: status, parsed JSON body (or text) and headers."""

    status: int
    body: Any
    headers: Mapping[str, str]


class Api:
    """Raw calls to one sandbox."""

    def __init__(self, http: aiohttp.ClientSession, sb: DiallerSandbox):
        self.http = http
        self.sb = sb

    async def call(
        self,
        path: str,
        body: Any = _UNSET,
        *,
        method: str = "POST",
        key: str | None = _UNSET,
        data: bytes | None = None,
        content_type: str = "application/json",
    ) -> Reply:
        """Send one request; ``key`` defaults to the sandbox's, None leaves it out."""
        params = {} if key is None else {"key": self.sb.api_key if key is _UNSET else key}
        raw = data if body is _UNSET else orjson.dumps(body)
        headers = {"Content-Type": content_type, "Cache-Control": "no-cache"}
        url = self.sb.base_url + path
        async with self.http.request(method, url, params=params, data=raw, headers=headers) as resp:
            text = await resp.read()
            try:
                parsed: Any = orjson.loads(text)
            except orjson.JSONDecodeError:
                parsed = text.decode()
            return Reply(resp.status, parsed, resp.headers)

    async def add(self, body: Any = _UNSET, **kw: Any) -> Reply:
        """``POST /lead/add``."""
        return await self.call("/lead/add", body, **kw)

    async def cancel(self, body: Any = _UNSET, **kw: Any) -> Reply:
        """``POST /lead/cancel``."""
        return await self.call("/lead/cancel", body, **kw)


@pytest.fixture
async def sandbox() -> AsyncIterator[DiallerSandbox]:
    """A running sandbox whose dial clock only moves with ``sb.advance``."""
    async with DiallerSandbox(DiallerSandboxConfig(clock_speed=0, retry_after_s=0)) as sb:
        yield sb


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain client session (no retries)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session


@pytest.fixture
def api(http: aiohttp.ClientSession, sandbox: DiallerSandbox) -> Api:
    """Raw calls to :func:`sandbox`."""
    return Api(http, sandbox)
