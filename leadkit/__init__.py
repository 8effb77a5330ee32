"""leadkit: lead APIs → DuckDB warehouse → one filter language → dashboard and push.

For notebooks and scripts::

    import leadkit
    wh = leadkit.connect()                       # the warehouse of ./leadkit.toml
    wh.sql("SELECT source, count(*) FROM leads GROUP BY 1")   # → polars DataFrame
    wh.query("createdAt.gte=2021-03-01&site.id.in=1,2", table="kpro_leads")  # → QueryResult

Errors leadkit raises on purpose derive from :class:`LeadkitError` (see ``leadkit.errors``).
"""

from __future__ import annotations

import os

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

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "LeadkitError",
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
