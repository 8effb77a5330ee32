"""``leadkit serve``: read ``[serve]``, check the key, log without secrets, serve until stopped."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from rich.console import Console
from rich.text import Text

from leadkit.logs import LogFormat, RedactingFilter, configure_logging
from leadkit.redact import Redactor
from leadkit.serve.app import KPRO_PATH
from leadkit.serve.server import checked_key, serve_forever, serve_settings
from leadkit.storage.warehouse import Warehouse

__all__ = ["run_serve_command"]


def run_serve_command(
    *,
    host: str | None,
    port: int | None,
    no_auth: bool,
    config: Path | None,
    log_format: LogFormat,
    out: Console,
) -> None:
    """Serve until SIGINT/SIGTERM.

    Raises:
        ConfigError: no ``[serve] api_key`` (and no ``--no-auth``), or other bad settings.
        WarehouseError: the warehouse does not exist or cannot be read.
    """
    cfg = serve_settings(config)
    host = host or cfg.serve.host
    port = cfg.serve.port if port is None else port
    key = checked_key(cfg, no_auth=no_auth, host=host)
    redactor = Redactor([key] if key else [])
    configure_logging(redactor=redactor, fmt=log_format)
    _guard_aiohttp_logs(redactor)
    warehouse = Warehouse(cfg.warehouse.path, busy_timeout_s=cfg.warehouse.busy_timeout_s)
    tables = warehouse.tables()  # fails now, clearly, if there is no warehouse

    def ready(base_url: str) -> None:
        auth = "api_key=<[serve] api_key> on every request" if key else "no key (--no-auth)"
        lines = [
            f"leadkit serve: {base_url}/api/{{table}}  (read-only, pid {os.getpid()})",
            f"  tables: {', '.join(t for t in tables if not t.startswith('_'))} "
            f"· list: {base_url}/api/tables · KPro alias: {base_url}{KPRO_PATH}",
            f"  auth: {auth} · warehouse: {warehouse.path} · Ctrl-C to stop",
        ]
        out.print(Text("\n".join(lines)), highlight=False, soft_wrap=True)
        out.file.flush()

    serve_forever(
        warehouse,
        api_key=key,
        host=host,
        port=port,
        on_ready=ready,
        row_cache_mb=cfg.serve.row_cache_mb,
        order_cache_mb=cfg.serve.order_cache_mb,
    )


def _guard_aiohttp_logs(redactor: Redactor) -> None:
    """aiohttp's own warnings go through the same secret filter as leadkit's logs."""
    logger = logging.getLogger("aiohttp")
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter(redactor))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
    logger.handlers = [handler]
    logger.setLevel(logging.WARNING)
    logger.propagate = False
