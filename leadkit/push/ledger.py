"""The delivery ledger ``_deliveries`` and the push history ``_pushes``.

``_deliveries`` has one row per (destination, lead): the payload last sent (no secrets) and
its hash, the status, the attempts, the destination's answer (redacted, truncated) and the
hash of the last payload the destination *accepted* (``delivered_hash``), which is what
decides whether a lead is sent again:

==================  ==========================================================================
status              meaning
==================  ==========================================================================
sent                the destination accepted the lead (or a changed lead, as an update)
skipped-duplicate   the destination already had it (KPro ``duplicate``) — delivered
rejected            invalid (leadkit's checks or the destination's answer); not resent until
                    the lead's data changes
failed              transient trouble outlived the retries; the next push tries again
cancelled           a queued delivery was withdrawn (``leadkit push --cancel``)
pending             being delivered right now — or a push died mid-request (resolved by the
                    next push, see ``docs/push.md``)
==================  ==========================================================================

``_pushes`` has one row per ``leadkit push`` (run id, destination, selection, counts).

Example:
    >>> import os, tempfile
    >>> from leadkit.storage.warehouse import Warehouse
    >>> wh = Warehouse(os.path.join(tempfile.mkdtemp(), "w.duckdb"))
    >>> _ = wh.migrate()
    >>> deliveries(wh).columns[:4]
    ['destination', 'kind', 'lead_key', 'status']
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from leadkit.storage.warehouse import Warehouse

__all__ = [
    "DELIVERED",
    "LEDGER_COLUMNS",
    "LEDGER_DDL",
    "PUSH_COUNTERS",
    "LedgerRow",
    "deliveries",
    "lookup",
    "pushes",
    "remove",
    "upsert",
    "writing",
]

#: Statuses meaning the destination has the lead (``updated``: rows of older versions).
DELIVERED = frozenset({"sent", "updated", "skipped-duplicate"})

#: ``_deliveries`` columns and types, in order.
LEDGER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("destination", "VARCHAR"),
    ("kind", "VARCHAR"),
    ("lead_key", "VARCHAR"),
    ("system", "VARCHAR"),
    ("source", "VARCHAR"),
    ("lead_id", "VARCHAR"),
    ("payload_hash", "VARCHAR"),
    ("payload", "VARCHAR"),
    ("status", "VARCHAR"),
    ("attempts", "INTEGER"),
    ("first_attempt_at", "TIMESTAMPTZ"),
    ("last_attempt_at", "TIMESTAMPTZ"),
    ("http_status", "INTEGER"),
    ("response", "VARCHAR"),
    ("error", "VARCHAR"),
    ("remote_id", "VARCHAR"),
    ("run_id", "VARCHAR"),
    ("delivered_hash", "VARCHAR"),
    ("delivered_at", "TIMESTAMPTZ"),
)

#: Outcome counters of ``_pushes`` (a column each, ``-`` as ``_``).
PUSH_COUNTERS: tuple[str, ...] = (
    "selected",
    "sent",
    "updated",
    "rejected",
    "failed",
    "skipped_duplicate",
    "cancelled",
    "would_send",
    "not_updatable",
    "not_delivered",
    "requests",
    "retries",
)

LEDGER_DDL: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS _deliveries ("
    + ", ".join(f"{name} {kind}" for name, kind in LEDGER_COLUMNS)
    + ", PRIMARY KEY (destination, lead_key))",
    "CREATE TABLE IF NOT EXISTS _pushes ("
    "run_id VARCHAR PRIMARY KEY, destination VARCHAR NOT NULL, kind VARCHAR NOT NULL, "
    "action VARCHAR NOT NULL, dry_run BOOLEAN NOT NULL, where_query VARCHAR, "
    "table_name VARCHAR, lead_limit BIGINT, status VARCHAR NOT NULL, "
    "started_at TIMESTAMPTZ NOT NULL, ended_at TIMESTAMPTZ, "
    + ", ".join(f"{c} BIGINT DEFAULT 0" for c in PUSH_COUNTERS)
    + ", error VARCHAR, pid INTEGER)",
)

_SCHEMA: dict[str, Any] = {
    name: {
        "VARCHAR": pl.String,
        "INTEGER": pl.Int32,
        "TIMESTAMPTZ": pl.Datetime("us", "UTC"),
    }[kind]
    for name, kind in LEDGER_COLUMNS
}


@dataclass(frozen=True)
class LedgerRow:
    """One ``_deliveries`` row as the engine reads it."""

    lead_key: str
    status: str
    payload_hash: str | None
    delivered_hash: str | None
    attempts: int
    first_attempt_at: datetime | None
    remote_id: str | None
    error: str | None
    values: Mapping[str, Any]


@contextlib.contextmanager
def writing(warehouse: Warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short read-write connection. A running extract yields the file to it within about
    ``hold_s``: while it waits, :meth:`Warehouse._open` leaves a writer-waiting marker, which
    the extract's writer honours like a reader's."""
    with warehouse.writing() as con:
        con.execute("SET TimeZone = 'UTC'")
        yield con


def lookup(
    con: duckdb.DuckDBPyConnection, destination: str, keys: Sequence[str]
) -> dict[str, LedgerRow]:
    """The ledger rows of ``keys`` for ``destination``."""
    if not keys:
        return {}
    frame = con.sql(
        "SELECT * FROM _deliveries WHERE destination = ? AND lead_key IN (SELECT unnest(?))",
        params=[destination, list(keys)],
    ).pl()
    out = {}
    for row in frame.iter_rows(named=True):
        out[row["lead_key"]] = LedgerRow(
            lead_key=row["lead_key"],
            status=row["status"],
            payload_hash=row["payload_hash"],
            delivered_hash=row["delivered_hash"],
            attempts=int(row["attempts"] or 0),
            first_attempt_at=row["first_attempt_at"],
            remote_id=row["remote_id"],
            error=row["error"],
            values=row,
        )
    return out


def upsert(con: duckdb.DuckDBPyConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or replace whole ledger rows (every column of :data:`LEDGER_COLUMNS`).

    Call inside a transaction; keys must be unique within ``rows``.
    """
    if not rows:
        return
    frame = pl.DataFrame(
        {name: [r.get(name) for r in rows] for name in _SCHEMA}, schema=_SCHEMA, strict=False
    )
    names = [n for n, _ in LEDGER_COLUMNS]
    sets = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n not in ("destination", "lead_key"))
    con.register("_ledger_rows", frame)
    try:
        con.execute(
            f"INSERT INTO _deliveries ({', '.join(names)}) SELECT {', '.join(names)} "
            f"FROM _ledger_rows ON CONFLICT (destination, lead_key) DO UPDATE SET {sets}"
        )
    finally:
        con.unregister("_ledger_rows")


def remove(con: duckdb.DuckDBPyConnection, destination: str, keys: Sequence[str]) -> None:
    """Delete ledger rows (a ``pending`` row of a lead whose request never started)."""
    if keys:
        con.execute(
            "DELETE FROM _deliveries WHERE destination = ? AND lead_key IN (SELECT unnest(?))",
            [destination, list(keys)],
        )


def deliveries(
    warehouse: Warehouse,
    *,
    destination: str | None = None,
    status: str | None = None,
    limit: int | None = 1000,
) -> pl.DataFrame:
    """The delivery ledger, most recent attempt first.

    Args:
        warehouse: the warehouse.
        destination: only this destination.
        status: only this status (``sent``, ``rejected``, ``pending``…).
        limit: at most this many rows (None: all).
    """
    where, params = _filters(destination, status)
    columns = (
        "destination, kind, lead_key, status, attempts, http_status, error, remote_id, "
        "first_attempt_at, last_attempt_at, delivered_at, run_id, system, source, lead_id, "
        "payload_hash, delivered_hash, response, payload"
    )
    sql = f"SELECT {columns} FROM _deliveries{where} ORDER BY last_attempt_at DESC NULLS LAST, "
    sql += "destination, lead_key"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return warehouse.sql(sql, params)


def pushes(warehouse: Warehouse, *, limit: int = 20) -> pl.DataFrame:
    """The most recent ``_pushes`` rows, newest first."""
    return warehouse.sql(
        "SELECT * FROM _pushes ORDER BY started_at DESC LIMIT ?",
        [limit],
    )


def _filters(destination: str | None, status: str | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if destination is not None:
        clauses.append("destination = ?")
        params.append(destination)
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params
