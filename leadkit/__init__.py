"""leadkit: lead APIs → DuckDB warehouse → one filter language → dashboard and push.

For notebooks and scripts::

    import leadkit
    wh = leadkit.connect()                       # the warehouse of ./leadkit.toml
    wh.sql("SELECT source, count(*) FROM leads GROUP BY 1")   # → polars DataFrame
    wh.query("createdAt.gte=2021-03-01&site.id.in=1,2", table="kpro_leads")  # → QueryResult
    leadkit.push_leads("dialler_main", where="status=passed", dry_run=True)  # → PushResult
    leadkit.deliveries(destination="dialler_main", status="rejected")       # → DataFrame

Errors leadkit raises on purpose derive from :class:`LeadkitError` (see ``leadkit.errors``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from leadkit.errors import (
    ConfigError,
    LeadkitError,
    QueryError,
    RunLockedError,
    SourceAuthError,
    SourceError,
    WarehouseBusyError,
    WarehouseError,
)
from leadkit.storage.queries import QueryResult
from leadkit.storage.warehouse import Warehouse

if TYPE_CHECKING:
    import polars as pl

    from leadkit.push.engine import PushResult

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "LeadkitError",
    "PushResult",
    "QueryError",
    "QueryResult",
    "RunLockedError",
    "SourceAuthError",
    "SourceError",
    "Warehouse",
    "WarehouseBusyError",
    "WarehouseError",
    "__version__",
    "connect",
    "deliveries",
    "push_leads",
]


def connect(
    path: str | os.PathLike[str] | None = None,
    *,
    config: str | os.PathLike[str] | None = None,
) -> Warehouse:
    """Open the warehouse for reading (safe while an extract is writing it).

    Args:
        path: a DuckDB file. Default: the ``[warehouse] path`` of ``config``.
        config: a leadkit.toml (default ``$LEADKIT_CONFIG``, else ``./leadkit.toml``; with no
            file at all, ``data/leadkit.duckdb``). Only its ``[warehouse]`` section is read,
            so no API keys are needed.

    Example:
        >>> import tempfile, os
        >>> wh = connect(os.path.join(tempfile.mkdtemp(), "demo.duckdb"))
        >>> wh.migrate() > 0 and wh.sql("SELECT count(*) AS n FROM leads")["n"][0]
        0
    """
    from leadkit.config import load_warehouse_settings

    if path is not None:
        return Warehouse(path)
    settings = load_warehouse_settings(config)
    return Warehouse(settings.path, busy_timeout_s=settings.busy_timeout_s)


def push_leads(
    destination: str,
    where: str = "",
    *,
    table: str = "leads",
    dry_run: bool = False,
    limit: int | None = None,
    cancel: bool = False,
    config: str | os.PathLike[str] | None = None,
) -> PushResult:
    """Push warehouse leads to a configured destination, exactly once (``leadkit push``).

    Reads ``[destinations.NAME]`` (and the secrets it names from the environment) from
    ``config``; selects the leads of ``table`` matching ``where``; maps, validates and
    sends them; records every outcome in ``_deliveries``. A lead already delivered with the
    same data is not sent again. See docs/push.md.

    Args:
        destination: a ``[destinations.NAME]`` name.
        where: filters in KPro's language, e.g. ``"createdAt.gte=2024-01-01&status=passed"``.
        table: ``leads`` (default) or a system table such as ``kpro_leads``.
        dry_run: validate and report what would be sent; send nothing, record nothing.
        limit: at most this many leads (the first in key order).
        cancel: withdraw earlier deliveries of the selected leads (dialler only).
        config: a leadkit.toml (default ``$LEADKIT_CONFIG``, else ``./leadkit.toml``).

    Returns:
        A :class:`PushResult`: ``counts`` per outcome, ``items`` (per lead, with payloads on
        a dry run), ``exit_code``.

    Raises:
        ConfigError: bad configuration. RunLockedError: another push to this destination
        runs. LeadkitError: unknown destination, bad ``where``. WarehouseError.

    Example:
        >>> result = push_leads("kpro_import", "status=passed", dry_run=True)  # doctest: +SKIP
        >>> result.counts  # doctest: +SKIP
        {'would-send': 412, 'rejected': 3}
    """
    from leadkit.config import load_config
    from leadkit.push.engine import run_push

    return run_push(
        load_config(config, needs=("warehouse", f"destinations.{destination}")),
        destination,
        where=where,
        table=table,
        dry_run=dry_run,
        limit=limit,
        cancel=cancel,
        handle_signals=False,
    )


def deliveries(
    destination: str | None = None,
    status: str | None = None,
    *,
    limit: int | None = 1000,
    config: str | os.PathLike[str] | None = None,
) -> pl.DataFrame:
    """The delivery ledger ``_deliveries`` as a polars DataFrame, most recent first.

    Args:
        destination: only this destination.
        status: only this status (``sent``, ``updated``, ``rejected``, ``failed``,
            ``skipped-duplicate``, ``cancelled``, ``pending``).
        limit: at most this many rows (None: all).
        config: a leadkit.toml (only ``[warehouse]`` is read).

    Example:
        >>> import tempfile, os
        >>> cfg = os.path.join(tempfile.mkdtemp(), "leadkit.toml")
        >>> _ = open(cfg, "w").write('[warehouse]\\npath = "w.duckdb"\\n')
        >>> _ = connect(config=cfg).migrate()
        >>> deliveries(config=cfg).height
        0
    """
    from leadkit.push.ledger import deliveries as read

    return read(connect(config=config), destination=destination, status=status, limit=limit)


def __getattr__(name: str) -> object:
    """``leadkit.PushResult`` on first use: the push engine (aiohttp, the destinations) is
    not loaded by ``import leadkit`` in a notebook that only queries."""
    if name == "PushResult":
        from leadkit.push.engine import PushResult

        return PushResult
    raise AttributeError(f"module 'leadkit' has no attribute {name!r}")
