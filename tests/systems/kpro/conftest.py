"""KPro sandbox fixtures: a running sandbox on 127.0.0.1 and an HTTP client session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from leadkit.systems.kpro.simulator import KProSandbox, KProSandboxConfig

MARCH = {"start": datetime(2021, 2, 25, tzinfo=UTC), "end": datetime(2021, 3, 15, tzinfo=UTC)}
"""A date range around the documentation's filter examples (1–11 March 2021)."""

SandboxFactory = Callable[..., AbstractAsyncContextManager[KProSandbox]]


@pytest.fixture
def make_sandbox() -> SandboxFactory:
    """``async with make_sandbox(**knobs) as sb:`` starts a sandbox with these knobs."""

    def make(**knobs: Any) -> AbstractAsyncContextManager[KProSandbox]:
        return KProSandbox(KProSandboxConfig(**knobs))

    return make


@pytest.fixture
async def sandbox() -> AsyncIterator[KProSandbox]:
    """A running sandbox: 600 leads (seed 3) created 25 February – 15 March 2021."""
    async with KProSandbox(KProSandboxConfig(leads=600, seed=3, **MARCH)) as sb:
        yield sb


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session (no retries, short timeouts)."""
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield session
