"""What a lead system provides, and what a source hands to the extract engine.

A **source** knows its API (auth, paging, parsing) and nothing about DuckDB; the **engine**
(``leadkit.engine.extract``) knows DuckDB, concurrency between sources, commits, cursors,
run history and signals, and nothing about any API. They meet at :class:`Page`:

* a source's :meth:`Source.pages` yields pages in any order, each with a dense sequence
  number ``seq`` (0, 1, 2 …) and the cursor that becomes valid once every page up to and
  including ``seq`` is committed;
* the engine upserts each page's frame in its own transaction and advances the stored cursor
  only over the contiguous prefix of committed pages, so a run killed at any moment resumes
  from a cursor whose pages are all in the warehouse.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import polars as pl

from leadkit.config import DestinationSettings, SourceSettings
from leadkit.redact import Redactor

if TYPE_CHECKING:
    import aiohttp

    from leadkit.push.base import Destination

T = TypeVar("T")

__all__ = ["Page", "Reject", "RunContext", "Source", "System", "TableSpec"]


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table a system writes.

    Attributes:
        name: table name, e.g. ``kpro_leads``.
        key: primary-key columns used for upserts, e.g. ``("_source", "id")``.
        ddl: ``CREATE TABLE`` statement (applied by a migration).
    """

    name: str
    key: tuple[str, ...]
    ddl: str


@dataclass(frozen=True)
class Reject:
    """A record (or a whole response) that failed validation and goes to ``_rejects``.

    Attributes:
        reason: what was wrong, for a human.
        raw: the original text of the record or response (as received).
        record_id: the record's id when it could be read.
        context: where it came from, e.g. ``page 3`` or a time window.
    """

    reason: str
    raw: str
    record_id: str | None = None
    context: str = ""


@dataclass
class Page:
    """One unit of work for the engine: rows to upsert, rejects to record, and a cursor.

    Attributes:
        seq: dense sequence number in this run, starting at 0.
        frame: rows ready for ``table`` (exact warehouse schema), or ``None``.
        table: the target table name.
        rejects: records that failed validation.
        cursor: the source's cursor once pages ``0..seq`` are committed; ``None`` keeps the
            previous one.
        received: records received in this page (valid + rejected).
        warnings: data-quality warnings in ``frame`` (summed into ``_runs.warnings``).
    """

    seq: int
    frame: pl.DataFrame | None
    table: str
    rejects: list[Reject] = field(default_factory=list)
    cursor: str | None = None
    received: int = 0
    warnings: int = 0


@dataclass
class RunContext:
    """What the engine gives a source for one run.

    Attributes:
        run_id: this run's id (shared by all sources of one ``leadkit extract``).
        source: the configured source name.
        session: an aiohttp session for this source (one per source; connection reuse).
        cursor: the stored cursor, or ``None`` on a first run or ``--full-refresh``.
        redactor: masks this configuration's secrets in any text.
        stop: set when the user asked to stop (SIGTERM / Ctrl-C): start no new requests.
        extracted_at: the run's start time (UTC), stamped on every row.
        log: a logger named after the source.
        on_total: call with the number of records expected, once known (for progress).
        stats: request counters (``requests``, ``retries``) the HTTP client keeps up to date.
        cpu_slots: shared by all sources of a run; see :meth:`cpu`.
        scan_stable: a full-scan source sets this to False when the server's data moved
            during the scan (totals changed), so no lead is wrongly flagged as vanished.
    """

    run_id: str
    source: str
    session: aiohttp.ClientSession
    cursor: str | None
    redactor: Redactor
    stop: asyncio.Event
    extracted_at: datetime
    log: logging.Logger
    on_total: Callable[[int], None] = lambda _n: None
    stats: dict[str, int] = field(default_factory=lambda: {"requests": 0, "retries": 0})
    cpu_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    scan_stable: bool = True
    executor: Executor | None = None

    async def cpu(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run CPU-bound work (page parsing) off the event loop, at most ``cpu_slots`` at a
        time across all sources. With an ``executor`` (the engine's worker processes)
        ``fn`` must be a module-level function of picklable arguments."""
        async with self.cpu_slots:
            call = functools.partial(fn, *args, **kwargs)
            return await asyncio.get_running_loop().run_in_executor(self.executor, call)


class Source(ABC):
    """A configured source of leads.

    Subclasses set ``system`` and ``tables`` and implement :meth:`pages`.
    """

    system: ClassVar[str]
    tables: ClassVar[Sequence[TableSpec]]
    #: True for APIs that cannot be read incrementally: every run reads everything, and
    #: after a complete, stable scan the engine flags rows it did not see as vanished
    #: (their tables need a ``_vanished_at TIMESTAMPTZ`` column).
    full_scan: ClassVar[bool] = False

    def __init__(self, name: str, settings: SourceSettings) -> None:
        self.name = name
        self.settings = settings

    @abstractmethod
    def pages(self, ctx: RunContext) -> AsyncIterator[Page]:
        """Yield the pages of one extract (any order; ``seq`` dense from 0)."""

    def secrets(self) -> list[str]:
        """Secret values this source uses, for redaction (default: none)."""
        return []

    def describe(self) -> str:
        """A one-line description safe to print (no secrets)."""
        return f"{self.name} ({self.system})"


@dataclass(frozen=True)
class System:
    """A lead system as the registry knows it.

    Attributes:
        kind: the ``kind`` value in leadkit.toml.
        title: human name.
        settings: the pydantic settings model of a source of this kind (``None`` for
            push-only systems).
        source: the :class:`Source` subclass (``None`` for push-only systems).
        tables: warehouse tables the system writes.
        view_sql: ``SELECT`` over its tables giving the canonical ``leads`` columns.
        destination: the :class:`leadkit.push.base.Destination` subclass, for systems that
            receive leads (``None`` for pull-only systems).
        destination_settings: the settings model of a destination of this kind.
    """

    kind: str
    title: str
    settings: type[SourceSettings] | None
    source: type[Source] | None
    tables: tuple[TableSpec, ...] = ()
    view_sql: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    destination: type[Destination] | None = None
    destination_settings: type[DestinationSettings] | None = None
