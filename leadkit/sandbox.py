"""Run sandbox simulators in a background thread, for ``leadkit demo`` and tests.

A simulator is any async context manager that, once entered, exposes ``base_url``. The
:class:`SandboxThread` runs it on its own event loop in a daemon thread, so synchronous code
(the CLI, ``run_extract``) can use it like a remote server. Servers bind 127.0.0.1 only.

Example:
    >>> from leadkit.systems.kpro.simulator import KProSandbox, KProSandboxConfig
    >>> with SandboxThread(lambda: KProSandbox(KProSandboxConfig(leads=10))) as sb:
    ...     sb.base_url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any

__all__ = ["SandboxThread"]


class SandboxThread:
    """Serve one simulator from a background thread for the duration of a ``with`` block.

    Args:
        factory: builds the simulator (an async context manager exposing ``base_url``).
        start_timeout_s: how long to wait for it to start.
    """

    def __init__(
        self,
        factory: Callable[[], AbstractAsyncContextManager[Any]],
        *,
        start_timeout_s: float = 30.0,
    ) -> None:
        self._factory = factory
        self._timeout = start_timeout_s
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="leadkit-sandbox", daemon=True)
        self.server: Any = None

    @property
    def base_url(self) -> str:
        """The simulator's URL, e.g. ``http://127.0.0.1:43121``."""
        return str(self.server.base_url)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                async with self._factory() as server:
                    self.server = server
                    self._ready.set()
                    await self._stop.wait()
            except BaseException as exc:
                self._error = exc
                self._ready.set()

        asyncio.run(main())

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the simulator's loop (to change knobs safely) and return its result."""
        assert self._loop is not None

        async def wrapped() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop).result(timeout=30)

    def __enter__(self) -> SandboxThread:
        self._thread.start()
        if not self._ready.wait(self._timeout):
            raise RuntimeError(f"sandbox did not start within {self._timeout:g}s")
        if self._error is not None:
            raise RuntimeError(f"sandbox failed to start: {self._error}") from self._error
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)
