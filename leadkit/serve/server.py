"""Start and stop the query server: :class:`QueryServer` for tests and code, and
:func:`serve_forever` for ``leadkit serve``; :func:`serve_settings` reads ``[serve]``."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import tomllib
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from leadkit.config import ServeSettings, WarehouseSettings, find_config_path, parse_config
from leadkit.errors import ConfigError, ConfigProblem
from leadkit.query.parse import MAX_QUERY_LENGTH
from leadkit.redact import Redactor
from leadkit.serve.access import ACCESS_LOGGER, access_logger_class
from leadkit.serve.app import DEFAULT_THREADS, READER, create_app
from leadkit.serve.reader import SharedReader
from leadkit.storage.warehouse import Warehouse

__all__ = [
    "MAX_REQUEST_LINE",
    "MIN_KEY_LENGTH",
    "QueryServer",
    "ServeConfig",
    "serve_forever",
    "serve_settings",
]

MAX_REQUEST_LINE = MAX_QUERY_LENGTH + 65_536
"""The longest request line read (``GET /api/...?query HTTP/1.1``): a query string up to
:data:`~leadkit.query.parse.MAX_QUERY_LENGTH` characters as sent (and somewhat over, to say
so in JSON); longer lines get aiohttp's plain 400 without being read further."""

MIN_KEY_LENGTH = 16
"""Shortest ``[serve] api_key`` accepted (short keys are guessable and hard to mask)."""

_KEY_HINT = (
    'add api_key = "${LEADKIT_SERVE_KEY}" under [serve] in leadkit.toml and export '
    "LEADKIT_SERVE_KEY (e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
)


@dataclass(frozen=True)
class ServeConfig:
    """What ``leadkit serve`` needs from leadkit.toml: ``[serve]`` and ``[warehouse]``."""

    serve: ServeSettings
    warehouse: WarehouseSettings
    path: str | None


def serve_settings(path: str | os.PathLike[str] | None = None) -> ServeConfig:
    """Read ``[serve]`` and ``[warehouse]`` only, so no source keys need to be exported.

    With no file at all (and none named), the defaults apply: no key, so the server
    refuses to start unless told ``--no-auth``.

    Raises:
        ConfigError: the file named does not exist, is not TOML, or a setting is invalid.
    """
    cfg_path = find_config_path(path)
    if not cfg_path.exists():
        if path is not None or os.environ.get("LEADKIT_CONFIG"):
            raise ConfigError(
                str(cfg_path),
                [ConfigProblem("(file)", "file not found")],
                hint="Create one with `leadkit init`, or pass --config / set LEADKIT_CONFIG.",
            )
        return ServeConfig(ServeSettings(), WarehouseSettings(), None)
    try:
        data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(cfg_path), [ConfigProblem("(file)", f"cannot read: {exc}")]) from exc
    wanted: dict[str, object] = {k: data[k] for k in ("serve", "warehouse") if k in data}
    cfg = parse_config(wanted, path=cfg_path)
    return ServeConfig(cfg.serve, cfg.warehouse, str(cfg_path))


def checked_key(config: ServeConfig, *, no_auth: bool, host: str) -> str | None:
    """The key the server will require, or None with ``no_auth`` on a loopback host.

    Raises:
        ConfigError: no key and no ``no_auth``; a key that is too short; ``no_auth`` on a
            host other than loopback; or both a key and ``no_auth``.
    """
    key = config.serve.api_key.get_secret_value() if config.serve.api_key else ""
    if no_auth:
        if key:
            message = "is set, so --no-auth is not allowed; drop --no-auth (clients send the key)"
            raise ConfigError(config.path, [ConfigProblem("serve.api_key", message)])
        if not _is_loopback(host):
            message = (
                f"--no-auth serves only loopback addresses, not {host!r}; "
                f"use --host 127.0.0.1 or set a key: {_KEY_HINT}"
            )
            raise ConfigError(config.path, [ConfigProblem("serve.host", message)])
        return None
    if not key:
        message = (
            f"is not set; leadkit serve needs a key of its own: {_KEY_HINT}. "
            "For local use only, --no-auth serves 127.0.0.1 without a key"
        )
        raise ConfigError(config.path, [ConfigProblem("serve.api_key", message)])
    if len(key) < MIN_KEY_LENGTH:
        message = f"is shorter than {MIN_KEY_LENGTH} characters; use a long random value"
        raise ConfigError(config.path, [ConfigProblem("serve.api_key", message)])
    return key


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class QueryServer:
    """Serve a warehouse over HTTP for the duration of an ``async with`` block.

    Args:
        warehouse: the warehouse to read.
        api_key: the key clients must send as ``api_key`` (None only with ``no_auth``).
        no_auth: serve without a key.
        host: the address to bind (default 127.0.0.1).
        port: the port (0 = any free port; see :attr:`base_url` once started).
        access_log: where to write one line per request (None: no access log).
        threads: worker threads running the queries.
        row_cache_mb: rows kept in memory between requests (``[serve] row_cache_mb``).
        order_cache_mb: sort orders kept for clients paging (``[serve] order_cache_mb``).

    Attributes:
        reader: the warehouse connection shared by the requests (``opens``, ``yields``).
    """

    def __init__(
        self,
        warehouse: Warehouse,
        *,
        api_key: str | None,
        no_auth: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        access_log: logging.Logger | None = ACCESS_LOGGER,
        threads: int = DEFAULT_THREADS,
        row_cache_mb: int = 256,
        order_cache_mb: int = 64,
    ) -> None:
        self.app = create_app(
            warehouse,
            api_key=api_key,
            no_auth=no_auth,
            threads=threads,
            row_cache_mb=row_cache_mb,
            order_cache_mb=order_cache_mb,
        )
        self.reader: SharedReader = self.app[READER]
        self.host = host
        self.port = port
        self.base_url = ""
        self._runner = web.AppRunner(
            self.app,
            access_log=access_log,
            access_log_class=access_logger_class(Redactor([api_key or ""])),
            handle_signals=False,
            # A query may be up to MAX_QUERY_LENGTH characters (aiohttp's default is 8 KiB),
            # so an over-long query gets the query layer's JSON error, not a bare 400.
            max_line_size=MAX_REQUEST_LINE,
        )

    async def __aenter__(self) -> QueryServer:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._runner.cleanup()


def serve_forever(
    warehouse: Warehouse,
    *,
    api_key: str | None,
    host: str,
    port: int,
    on_ready: Callable[[str], None] | None = None,
    row_cache_mb: int = 256,
    order_cache_mb: int = 64,
) -> None:
    """Run :class:`QueryServer` until SIGINT/SIGTERM; ``on_ready(base_url)`` once listening."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        server = QueryServer(
            warehouse,
            api_key=api_key,
            no_auth=api_key is None,
            host=host,
            port=port,
            row_cache_mb=row_cache_mb,
            order_cache_mb=order_cache_mb,
        )
        async with server:
            if on_ready is not None:
                on_ready(server.base_url)
            await stop.wait()

    asyncio.run(main())
