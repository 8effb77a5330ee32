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
import contextlib
import gc
import socket
import struct
import threading
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

from aiohttp import web

__all__ = ["AppSandbox", "SandboxThread", "reset_connection", "serve_app_forever"]


C = TypeVar("C")
S = TypeVar("S")


class AppSandbox(Generic[C, S]):
    """A simulator's HTTP server as an async context manager, listening on 127.0.0.1.

    Every system's sandbox (``KProSandbox``, ``OviProSandbox`` …) is one of these: it builds
    its aiohttp application from a config (off the event loop: datasets take seconds),
    serves it on ``port`` (0: a free one) and keeps its state under ``state_key`` in the
    application, where the state's ``config`` is the behaviour in force.

    Subclasses set ``config_type`` and ``state_key`` and implement :meth:`build`; they may
    override :meth:`started` to derive URLs from the root (OviPro's API lives under a path).

    Attributes:
        root_url: ``http://127.0.0.1:PORT`` once started.
        base_url: where the API is (the root unless :meth:`started` says otherwise).
    """

    config_type: ClassVar[type[Any]]
    state_key: ClassVar[web.AppKey[Any]]

    def __init__(self, config: C | None = None, *, port: int = 0) -> None:
        self._config: C = config if config is not None else self.config_type()
        self._port = port
        self._app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self.root_url = ""
        self.base_url = ""

    def build(self, config: C) -> web.Application:
        """The aiohttp application for ``config``."""
        raise NotImplementedError

    def started(self, root_url: str) -> None:
        """Called once listening, with ``http://127.0.0.1:PORT``."""
        self.base_url = root_url

    async def __aenter__(self) -> Self:
        self._app = await asyncio.to_thread(self.build, self._config)
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._port).start()
        self.root_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self.started(self.root_url)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def _state(self) -> S:
        if self._app is None:
            raise RuntimeError(
                f"the sandbox is not running; use 'async with {type(self).__name__}(...)'"
            )
        state: S = self._app[self.state_key]
        return state

    @property
    def config(self) -> C:
        """The behaviour in force now (see the sandbox's ``configure``)."""
        if self._app is None:
            return self._config
        return cast(C, self._app[self.state_key].config)


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


def serve_app_forever(
    make_app: Callable[[], web.Application],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the app ``make_app()`` builds until interrupted (blocking; the simulators' CLIs).

    The app is built off the event loop (datasets take seconds), then its objects are frozen
    out of garbage collection: they live as long as the process. ``on_ready`` gets the root
    URL (``http://host:port``) once listening.
    """

    async def run() -> None:
        app = await asyncio.to_thread(make_app)
        gc.freeze()
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        if on_ready is not None:
            on_ready(f"http://{host}:{runner.addresses[0][1]}")
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


def reset_connection(request: web.Request) -> None:
    """Drop a request's connection with a TCP reset, without answering (fault injection)."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
