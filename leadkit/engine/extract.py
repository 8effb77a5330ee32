"""The extract engine: every selected source concurrently, pages committed in order.

Flow of one run::

    source A ─ pages (any order) ─┐
    source B ─ pages (any order) ─┼─► bounded queue ─► PageWriter (one thread, one DuckDB
    source C ─ pages (any order) ─┘                     connection): per batch of pages
                                                        upsert; rejects; cursor; _runs —
                                                        COMMIT every row group's worth,
                                                        2 s, or when idle

* Sources run as tasks on one event loop, each with its own aiohttp session.
* The queue is bounded, so a slow warehouse slows fetching down instead of piling pages up
  in memory.
* A page is upserted in the same transaction as the source's cursor and run counters. The
  cursor only advances over the contiguous prefix of written pages, so a run killed at
  any instant resumes from a committed point whose pages are all stored.
* The writer holds the DuckDB file while it has work and yields it to waiting readers
  after ``hold_s`` (readers leave a marker; see :mod:`leadkit.storage.warehouse`).
* SIGTERM/SIGINT set ``stop``: no new requests start, pages already fetched are committed,
  sources end as ``interrupted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import duckdb
import polars as pl

from leadkit.config import LeadkitConfig
from leadkit.engine.http import make_session
from leadkit.engine.lock import RunLock
from leadkit.errors import LeadkitError, SourceError, WarehouseError
from leadkit.redact import Redactor
from leadkit.storage.types import quote_ident
from leadkit.storage.warehouse import (
    UpsertCounts,
    Warehouse,
    _migrate,
    record_rejects,
    upsert_frame,
)
from leadkit.systems import get_system
from leadkit.systems.base import Page, RunContext, Source, TableSpec

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_WAREHOUSE",
    "ExtractResult",
    "Progress",
    "SourceResult",
    "extract",
    "run_extract",
]

log = logging.getLogger("leadkit.extract")

#: Exit codes of ``leadkit extract`` (documented in docs/extract.md for cron users).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_WAREHOUSE = 4
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run is writing; try again later
EXIT_INTERRUPTED = 130

#: The writer commits the pages waiting in the queue together, up to about this many rows.
BATCH_ROWS = 10000

#: Young-generation threshold of Python's cyclic GC during a run (default 700). Decoding a
#: page of JSON makes tens of thousands of short-lived dicts and lists; with the default,
#: the collector ran about ten times per page, promoted them into older generations, and
#: its full collections traversed every object of the imported libraries: 0.9 s, about
#: 15 % of the CPU of fetching and parsing 100,000 leads (see docs/benchmarks.md).
GC_THRESHOLD0 = 100_000

#: DuckDB row-group size of the extract's writer (DuckDB's default is 122,880). Row groups of
#: this size fill while a run goes on, and a transaction holding at least a row group of new
#: rows writes it straight into the file, compressed, instead of into the WAL (DuckDB's
#: "optimistic writes"); so the checkpoint after each commit is small and closing the file
#: at the end of a run has almost nothing left to do. Before, the whole run's rows went
#: through the WAL and were compressed by one checkpoint when the file was closed, after
#: the last page (about 0.9 s of 100,000 KPro leads, added to the run's wall time).
WRITER_ROW_GROUP_ROWS = 32_768

#: The writer keeps one transaction open across batches and commits it once it holds this
#: many rows, ...
COMMIT_ROWS = WRITER_ROW_GROUP_ROWS

#: ... or once it has been open this long, or as soon as no page is waiting (so a slow
#: source still commits page by page), before the file is handed to a reader, and at the end.
COMMIT_MAX_AGE_S = 2.0

#: DuckDB's checkpoint threshold (WAL size) for a commit of ``COMMIT_ROWS`` rows or more: so
#: small that DuckDB checkpoints the commit at once and skips writing it to the WAL (its
#: full row groups are already in the file, so that is cheap) ...
CHECKPOINT_THRESHOLD_LARGE = "1MB"

#: ... and for smaller commits (a slow source's pages, one by one): they gather in the WAL up
#: to this size, so the row group they fill is not recompressed at every page. 100,000 KPro
#: leads committed page by page: 9.8 s of writer CPU with a 1 MB threshold, 6.3 s with
#: 16 MB, 4.0 s with 64 MB (and 4.4 s with 256 MB, which leaves 1.1 s for the close).
CHECKPOINT_THRESHOLD_SMALL = "64MB"

Status = Literal["running", "success", "failed", "interrupted"]
T = TypeVar("T")


@dataclass
class SourceResult:
    """What one source did in one run."""

    name: str
    system: str
    mode: str
    status: Status = "running"
    pages: int = 0
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: int = 0
    warnings: int = 0
    vanished: int = 0
    requests: int = 0
    retries: int = 0
    cursor_before: str | None = None
    cursor_after: str | None = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0
    # contiguous-commit tracking
    _done: set[int] = field(default_factory=set, repr=False)
    _next: int = field(default=0, repr=False)
    _cursors: dict[int, str | None] = field(default_factory=dict, repr=False)
    # full-scan sources: ids seen per table, to find the leads that vanished
    _seen: dict[str, list[pl.Series]] = field(default_factory=dict, repr=False)
    _scan_stable: bool = field(default=True, repr=False)

    @property
    def leads_per_s(self) -> float:
        """Leads received per second of wall time."""
        return self.records / self.seconds if self.seconds > 0 else 0.0


@dataclass
class ExtractResult:
    """The outcome of one ``leadkit extract``."""

    run_id: str
    sources: list[SourceResult]
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 all succeeded, 130 interrupted, 1 any source failed."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        if any(s.status != "success" for s in self.sources):
            return EXIT_FAILED
        return EXIT_OK

    @property
    def ok(self) -> bool:
        """Whether every source succeeded."""
        return self.exit_code == EXIT_OK


class Progress:
    """Receives progress events; the CLI subclasses it with a rich display."""

    def start(self, source: str) -> None:
        """A source started."""

    def total(self, source: str, total: int) -> None:
        """A source learned how many records to expect."""

    def advance(self, source: str, result: SourceResult) -> None:
        """A page of ``source`` was committed (``result`` holds the running counters)."""

    def finish(self, source: str, result: SourceResult) -> None:
        """A source ended."""


class PageWriter:
    """Commits pages to the warehouse from one dedicated thread.

    Holds the DuckDB file while pages keep coming; releases it when idle, or after
    ``hold_s`` when a reader is waiting, then lets the reader in before reopening.
    """

    def __init__(
        self, warehouse: Warehouse, *, hold_s: float, run_id: str, memory_mb: int = 256
    ) -> None:
        self.memory_mb = memory_mb
        self.warehouse = warehouse
        self.hold_s = hold_s
        self.run_id = run_id
        self._con: duckdb.DuckDBPyConnection | None = None
        self._opened = 0.0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leadkit-writer")
        self.opens = 0
        self._checkpoint_threshold = ""  # DuckDB's checkpoint_threshold as last set
        self._txn_started: float | None = None  # when the open transaction began
        self._txn_rows = 0  # rows written in the open transaction

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, *args)

    def _conn(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = self.warehouse._open(read_only=False, row_group_size=WRITER_ROW_GROUP_ROWS)
            self._checkpoint_threshold = ""
            self._threshold(CHECKPOINT_THRESHOLD_SMALL)
            # DuckDB would otherwise cache up to 80% of RAM while the writer holds the file.
            self._con.execute(f"SET memory_limit = '{int(self.memory_mb)}MB'")
            self._con.execute("SET threads = 1")
            _migrate(self._con)
            self._opened = time.monotonic()
            self.opens += 1
        return self._con

    def _begin(self) -> duckdb.DuckDBPyConnection:
        """The connection, inside the writer's open transaction (begun if there is none)."""
        con = self._conn()
        if self._txn_started is None:
            con.execute("BEGIN TRANSACTION")
            self._txn_started = time.monotonic()
            self._txn_rows = 0
        return con

    def _rollback(self) -> None:
        if self._con is not None and self._txn_started is not None:
            self._txn_started = None
            self._con.execute("ROLLBACK")

    def flush(self, *, last: bool = False) -> None:
        """Commit the open transaction, if any. A large one, or the ``last`` before the
        file is closed or the run ends, is checkpointed with it (and skips the WAL)."""
        if self._con is not None and self._txn_started is not None:
            self._txn_started = None
            self._threshold(
                CHECKPOINT_THRESHOLD_LARGE
                if last or self._txn_rows >= COMMIT_ROWS
                else CHECKPOINT_THRESHOLD_SMALL
            )
            self._con.execute("COMMIT")

    def _threshold(self, size: str) -> None:
        if self._con is not None and size != self._checkpoint_threshold:
            self._con.execute(f"SET checkpoint_threshold = '{size}'")
            self._checkpoint_threshold = size

    def idle(self) -> None:
        """No page is waiting: commit what the open transaction holds, then let a waiting
        reader in."""
        self.flush()
        self.yield_to_readers(idle=True)

    def release(self) -> None:
        """Commit, then close the connection (the file becomes available to readers)."""
        if self._con is not None:
            try:
                self.flush(last=True)
            finally:
                self._con.close()  # checkpoints what is left
                self._con = None

    def _others_waiting(self) -> bool:
        """Another process waits for the file: a reader, or a short writer (a push's
        ledger update)."""
        return self.warehouse.readers_waiting() or self.warehouse.writer_waiting()

    def yield_to_readers(self, idle: bool) -> None:
        """Release the file if another process waits for it (a reader, or a push writing its
        ledger) and we have held it long enough (or are idle)."""
        if self._con is None:
            return
        held = time.monotonic() - self._opened
        if (idle or held >= self.hold_s) and self._others_waiting():
            self.release()
            # Give them a moment to get in before we ask for the file again.
            deadline = time.monotonic() + min(0.5, self.hold_s)
            while self._others_waiting() and time.monotonic() < deadline:
                time.sleep(0.01)

    def commit_batch(
        self,
        items: Sequence[tuple[TableSpec, Page, SourceResult, str]],
        full_scan_sources: frozenset[str] = frozenset(),
    ) -> None:
        """Upsert pages with their rejects, cursors and run counters in one transaction.

        The writer batches whatever pages are waiting (see ``BATCH_ROWS``) and writes
        batches into one open transaction until it holds ``COMMIT_ROWS`` rows or is
        ``COMMIT_MAX_AGE_S`` old (or no page is waiting: :meth:`idle`). Each page is
        written in the same transaction as the cursor it makes valid, so the stored cursor
        never runs ahead of the stored rows.

        The in-memory counters of the run are updated per batch. If a batch fails, the
        whole open transaction is rolled back and the run fails: the warehouse keeps the
        rows, cursor and counters of the last commit, from which the next run resumes.
        """
        con = self._begin()
        pending: dict[str, _Tentative] = {}
        # Pages of one source and table are upserted as one frame: one statement per
        # table per batch instead of one per page (rows repeated across pages, e.g.
        # OviPro's one-lead page overlap, keep their last occurrence).
        frames: dict[tuple[str, str], tuple[TableSpec, list[pl.DataFrame]]] = {}
        try:
            for spec, page, result, system in items:
                full_scan = result.name in full_scan_sources
                t = pending.get(result.name) or _Tentative.of(result)
                pending[result.name] = t
                if page.frame is not None and page.frame.height:
                    frames.setdefault((result.name, spec.name), (spec, []))[1].append(page.frame)
                record_rejects(
                    con,
                    page.rejects,
                    source=result.name,
                    system=system,
                    table=spec.name,
                    run_id=self.run_id,
                )
                t.add(page, UpsertCounts())
                if full_scan:
                    t.see(spec, page)
            for (name, _table), (spec, parts) in frames.items():
                frame = parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical")
                if len(parts) > 1 and _has_duplicate_keys(frame, spec.key):
                    frame = frame.unique(subset=list(spec.key), keep="last", maintain_order=True)
                pending[name].count(upsert_frame(con, spec, frame))
            now = datetime.now(UTC)
            for name, t in pending.items():
                result = t.result
                if t.cursor != result.cursor_after:
                    con.execute(
                        "INSERT INTO _state VALUES (?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE "
                        "SET system = EXCLUDED.system, cursor = EXCLUDED.cursor, "
                        "run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at",
                        [name, result.system, t.cursor, self.run_id, now],
                    )
                con.execute(
                    "UPDATE _runs SET pages = pages + ?, records = records + ?, "
                    "leads_inserted = leads_inserted + ?, leads_updated = leads_updated + ?, "
                    "leads_unchanged = leads_unchanged + ?, rejects = rejects + ?, "
                    "warnings = warnings + ?, cursor_after = ? WHERE run_id = ? AND source = ?",
                    [
                        t.pages,
                        t.records,
                        t.inserted,
                        t.updated,
                        t.unchanged,
                        t.rejects,
                        t.warnings,
                        t.cursor,
                        self.run_id,
                        name,
                    ],
                )
        except BaseException:
            self._rollback()
            raise
        for t in pending.values():
            t.apply()
        self._txn_rows += sum(f.height for _, parts in frames.values() for f in parts)
        started = self._txn_started or time.monotonic()
        if self._txn_rows >= COMMIT_ROWS or time.monotonic() - started >= COMMIT_MAX_AGE_S:
            self.flush()

    def mark_vanished(self, source: Source, result: SourceResult) -> None:
        """After a complete, stable full scan: flag rows the scan did not see as vanished
        (``_vanished_at``), and clear the flag on rows that came back. Only tables the scan
        yielded at least one page for (even an empty one) are considered."""
        self.flush(last=True)
        con = self._conn()
        now = datetime.now(UTC)
        con.execute("BEGIN TRANSACTION")
        try:
            vanished = 0
            for spec in type(source).tables:
                if spec.name not in result._seen:
                    continue  # not scanned this run (e.g. switched off in the settings)
                id_col = quote_ident(spec.key[-1])
                table = quote_ident(spec.name)
                parts = result._seen[spec.name]
                seen = (
                    pl.concat(parts).unique().to_frame("id")
                    if parts
                    else pl.DataFrame({"id": []}, schema={"id": pl.String})
                )
                con.register("_seen", seen)
                try:
                    rows = con.execute(
                        f"UPDATE {table} SET _vanished_at = ? WHERE _source = ? "
                        f"AND _vanished_at IS NULL AND CAST({id_col} AS VARCHAR) NOT IN "
                        "(SELECT id FROM _seen)",
                        [now, result.name],
                    ).fetchall()
                    vanished += int(rows[0][0]) if rows else 0
                    con.execute(
                        f"UPDATE {table} SET _vanished_at = NULL WHERE _source = ? "
                        f"AND _vanished_at IS NOT NULL AND CAST({id_col} AS VARCHAR) IN "
                        "(SELECT id FROM _seen)",
                        [result.name],
                    ).fetchall()
                finally:
                    con.unregister("_seen")
            con.execute(
                "UPDATE _runs SET leads_vanished = ? WHERE run_id = ? AND source = ?",
                [vanished, self.run_id, result.name],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        result.vanished = vanished

    def close(self) -> None:
        """Commit, release the file and stop the thread (the connection is only ever used
        from the writer's own thread)."""
        try:
            self._pool.submit(self.release).result()
        finally:
            self._pool.shutdown(wait=True)


@dataclass
class _Tentative:
    """A source's counters and cursor as they will be once the open transaction commits."""

    result: SourceResult
    done: set[int]
    nxt: int
    cursor: str | None
    cursors: dict[int, str | None]
    pages: int = 0
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: int = 0
    warnings: int = 0
    seen: dict[str, list[pl.Series]] = field(default_factory=dict)

    @classmethod
    def of(cls, result: SourceResult) -> _Tentative:
        return cls(
            result, set(result._done), result._next, result.cursor_after, dict(result._cursors)
        )

    def add(self, page: Page, counts: UpsertCounts) -> None:
        self.done.add(page.seq)
        self.cursors[page.seq] = page.cursor
        # The cursor advances only over the contiguous prefix of committed pages.
        while self.nxt in self.done:
            if self.cursors.get(self.nxt):
                self.cursor = self.cursors[self.nxt]
            self.nxt += 1
        self.pages += 1
        self.records += page.received
        self.inserted += counts.inserted
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.rejects += len(page.rejects)
        self.warnings += page.warnings

    def count(self, counts: UpsertCounts) -> None:
        """Add one upsert's counts."""
        self.inserted += counts.inserted
        self.updated += counts.updated
        self.unchanged += counts.unchanged

    def see(self, spec: TableSpec, page: Page) -> None:
        """Remember the ids a full-scan page contained (valid rows and rejects)."""
        id_col = spec.key[-1]
        ids: list[pl.Series] = self.seen.setdefault(spec.name, [])
        if page.frame is not None and page.frame.height:
            ids.append(page.frame.get_column(id_col).cast(pl.String))
        rejected = [r.record_id for r in page.rejects if r.record_id]
        if rejected:
            ids.append(pl.Series(id_col, rejected, pl.String))

    def apply(self) -> None:
        r = self.result
        for table, ids in self.seen.items():
            r._seen.setdefault(table, []).extend(ids)
        r._done = {s for s in self.done if s >= self.nxt}
        r._cursors = {s: c for s, c in self.cursors.items() if s >= self.nxt}
        r._next = self.nxt
        r.cursor_after = self.cursor
        r.pages += self.pages
        r.records += self.records
        r.inserted += self.inserted
        r.updated += self.updated
        r.unchanged += self.unchanged
        r.rejects += self.rejects
        r.warnings += self.warnings


def _build_sources(config: LeadkitConfig, names: Sequence[str] | None) -> list[Source]:
    selected = list(names) if names else [n for n, s in config.sources.items() if s.enabled]
    unknown = [n for n in selected if n not in config.sources]
    if unknown:
        known = ", ".join(sorted(config.sources)) or "(none configured)"
        raise LeadkitError(f"unknown source {unknown[0]!r}; configured sources: {known}")
    out: list[Source] = []
    for name in selected:
        settings = config.sources[name]
        system = get_system(settings.kind)
        if system.source is None:
            raise LeadkitError(f"{name}: kind {settings.kind!r} cannot be extracted from")
        out.append(system.source(name, settings))
    return out


async def extract(
    config: LeadkitConfig,
    *,
    sources: Sequence[str] | None = None,
    full_refresh: bool = False,
    progress: Progress | None = None,
    stop: asyncio.Event | None = None,
    redactor: Redactor | None = None,
) -> ExtractResult:
    """Run one extract of the selected sources (all enabled ones by default).

    The caller must hold the run lock (see :func:`run_extract`). Never raises for a failing
    source: each source's outcome is in the result.
    """
    progress = progress or Progress()
    stop = stop or asyncio.Event()
    redactor = redactor or Redactor(config.secrets())
    selected = _build_sources(config, sources)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]
    extracted_at = datetime.now(UTC)
    started = time.monotonic()
    warehouse = Warehouse(config.warehouse.path, busy_timeout_s=config.warehouse.busy_timeout_s)
    writer = PageWriter(
        warehouse,
        hold_s=config.warehouse.hold_s,
        run_id=run_id,
        memory_mb=config.warehouse.writer_memory_mb,
    )
    mode = "full" if full_refresh else "incremental"
    results = {s.name: SourceResult(s.name, s.system, mode) for s in selected}
    # Sources start fetching while the writer opens (and on a new file creates) the
    # warehouse, unless they need the stored cursor: none is stored in a warehouse that does
    # not exist yet, and --full-refresh ignores it.
    cursor_free = full_refresh or not warehouse.path.exists()
    recording: asyncio.Future[dict[str, str | None]] = asyncio.ensure_future(
        writer.call(_start_run, writer, run_id, selected, mode, full_refresh)
    )
    try:

        async def run_started() -> None:
            """Wait until the run is recorded; the stored cursors are then known."""
            for name, cursor in (await asyncio.shield(recording)).items():
                results[name].cursor_before = cursor
                results[name].cursor_after = cursor

        max_conc = max((s.settings.concurrency for s in selected), default=1)
        queue: asyncio.Queue[tuple[Source, Page] | None] = asyncio.Queue(
            maxsize=max(4, max_conc // 2)
        )
        cpu_slots = asyncio.Semaphore(max(1, min(4, os.cpu_count() or 1)))

        async def produce(source: Source) -> None:
            res = results[source.name]
            if not cursor_free:
                await run_started()
            progress.start(source.name)
            s = source.settings
            async with make_session(s.concurrency, s.timeout_s) as session:
                ctx = RunContext(
                    run_id=run_id,
                    source=source.name,
                    session=session,
                    cursor=None if cursor_free else res.cursor_before,
                    redactor=redactor,
                    stop=stop,
                    extracted_at=extracted_at,
                    log=logging.getLogger(f"leadkit.source.{source.name}"),
                    on_total=lambda n: progress.total(source.name, n),
                    cpu_slots=cpu_slots,
                )
                try:
                    async for page in source.pages(ctx):
                        await queue.put((source, page))
                    res.status = "interrupted" if stop.is_set() else "success"
                    res._scan_stable = ctx.scan_stable
                    res.requests, res.retries = ctx.stats["requests"], ctx.stats["retries"]
                except SourceError as exc:
                    res.requests, res.retries = ctx.stats["requests"], ctx.stats["retries"]
                    res.status = "failed"
                    res.error = redactor.scrub(str(exc))
                except LeadkitError as exc:
                    res.status = "failed"
                    res.error = redactor.scrub(f"{source.name}: {exc}")
                except Exception as exc:  # a bug in a source must not sink the others
                    res.status = "failed"
                    res.error = redactor.scrub(f"{source.name}: {type(exc).__name__}: {exc}")
                    log.exception("%s: unexpected error", source.name)

        full_scan_names = frozenset(s.name for s in selected if type(s).full_scan)

        async def consume() -> None:
            specs = {s.name: {t.name: t for t in type(s).tables} for s in selected}
            await run_started()
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=0.05)
                except TimeoutError:
                    await writer.call(writer.idle)
                    continue
                items = [item]
                rows = _rows(item)
                while rows < BATCH_ROWS and not queue.empty():
                    nxt = queue.get_nowait()
                    items.append(nxt)
                    if nxt is None:
                        break
                    rows += _rows(nxt)
                done = items[-1] is None
                batch = [
                    (specs[src.name][page.table], page, results[src.name], src.system)
                    for src, page in (i for i in items if i is not None)
                ]
                if batch:
                    await writer.call(writer.commit_batch, batch, full_scan_names)
                    for name in {b[2].name for b in batch}:
                        progress.advance(name, results[name])
                if done:
                    return
                await writer.call(writer.yield_to_readers, False)

        consumer = asyncio.create_task(consume())
        producers = [asyncio.create_task(produce(s)) for s in selected]
        try:
            all_produced = asyncio.ensure_future(asyncio.gather(*producers))
            racing: set[asyncio.Future[Any]] = {consumer, all_produced}
            await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
            if consumer.done():
                consumer.result()  # the writer failed: raise its error
                raise WarehouseError("the warehouse writer stopped unexpectedly")
            await all_produced
            await queue.put(None)
            await consumer
            for res in results.values():
                if res.status == "failed":
                    log.error("%s", res.error)
        except BaseException:
            for t in [*producers, consumer]:
                t.cancel()
            recording.cancel()
            raise
        for source in selected:
            res = results[source.name]
            if type(source).full_scan and res.status == "success":
                if res._scan_stable:
                    await writer.call(writer.mark_vanished, source, res)
                else:
                    log.warning(
                        "%s: the server's totals changed during the scan; leads missing from "
                        "it are not marked vanished this run (the next run will decide)",
                        source.name,
                    )
        for res in results.values():
            res.seconds = time.monotonic() - res.started
        await writer.call(_finish_run, writer, run_id, list(results.values()))
        for res in results.values():
            progress.finish(res.name, res)
    finally:
        await asyncio.get_running_loop().run_in_executor(None, writer.close)
    return ExtractResult(run_id, list(results.values()), stop.is_set(), time.monotonic() - started)


def _has_duplicate_keys(frame: pl.DataFrame, key: Sequence[str]) -> bool:
    """Whether two rows of ``frame`` share a key (cheaper than ``unique``, which copies)."""
    return bool(frame.select(pl.struct(list(key)).is_duplicated().any()).item())


def _rows(item: tuple[Source, Page] | None) -> int:
    if item is None or item[1].frame is None:
        return 1
    return max(1, item[1].frame.height)


def _start_run(
    writer: PageWriter, run_id: str, sources: list[Source], mode: str, full_refresh: bool
) -> dict[str, str | None]:
    """Mark abandoned runs, insert this run's rows, read the stored cursors."""
    con = writer._conn()
    now = datetime.now(UTC)
    con.execute("BEGIN TRANSACTION")
    con.execute(
        "UPDATE _runs SET status = 'killed', ended_at = coalesce(ended_at, ?), "
        "error = coalesce(error, 'the process stopped without finishing this run') "
        "WHERE status = 'running'",
        [now],
    )
    cursors: dict[str, str | None] = {}
    for s in sources:
        rows = con.execute("SELECT cursor FROM _state WHERE source = ?", [s.name]).fetchall()
        row = rows[0] if rows else None
        cursor = row[0] if row else None
        cursors[s.name] = cursor
        con.execute(
            "INSERT INTO _runs (run_id, source, system, mode, status, started_at, "
            "cursor_before, cursor_after, pid) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)",
            [run_id, s.name, s.system, mode, now, cursor, cursor, os.getpid()],
        )
    con.execute("COMMIT")
    return cursors


def _finish_run(writer: PageWriter, run_id: str, results: list[SourceResult]) -> None:
    writer.flush(last=True)
    con = writer._conn()
    now = datetime.now(UTC)
    con.execute("BEGIN TRANSACTION")
    for r in results:
        con.execute(
            "UPDATE _runs SET status = ?, ended_at = ?, error = ?, requests = ?, retries = ? "
            "WHERE run_id = ? AND source = ?",
            [r.status, now, r.error, r.requests, r.retries, run_id, r.name],
        )
    con.execute("COMMIT")


@contextlib.contextmanager
def _gc_tuned() -> Iterator[None]:
    """For one run: freeze the objects alive now (modules, config) out of the GC's reach
    and collect the young generation less often; both are restored afterwards."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(before[0], GC_THRESHOLD0), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def run_extract(
    config: LeadkitConfig,
    *,
    sources: Sequence[str] | None = None,
    full_refresh: bool = False,
    progress: Progress | None = None,
    handle_signals: bool = True,
    redactor: Redactor | None = None,
) -> ExtractResult:
    """Synchronous entry point: take the run lock, install signal handlers, run, release.

    Pass the ``redactor`` your log handlers use, so secrets a source learns during the run
    (access tokens) are masked in your logs too.

    Raises:
        RunLockedError: another extract holds the lock (after ``lock_wait_s`` in wait mode).
        WarehouseError: the warehouse cannot be opened or written.
    """
    wait = config.warehouse.lock_wait_s if config.warehouse.on_locked == "wait" else 0.0
    lock = RunLock(config.warehouse.path, wait_s=wait, exit_code=config.warehouse.locked_exit_code)
    with lock:

        async def main() -> ExtractResult:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            installed: list[signal.Signals] = []
            if handle_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):

                    def on_signal(sig: signal.Signals = sig) -> None:
                        if stop.is_set():
                            log.warning("second %s: stopping now", sig.name)
                            for task in asyncio.all_tasks(loop):
                                task.cancel()
                            return
                        log.warning(
                            "%s received: finishing the pages in flight, then stopping "
                            "(send it again to stop at once)",
                            sig.name,
                        )
                        stop.set()

                    try:
                        loop.add_signal_handler(sig, on_signal)
                        installed.append(sig)
                    except (NotImplementedError, RuntimeError):
                        pass
            try:
                return await extract(
                    config,
                    sources=sources,
                    full_refresh=full_refresh,
                    progress=progress,
                    stop=stop,
                    redactor=redactor,
                )
            finally:
                for sig in installed:
                    loop.remove_signal_handler(sig)

        try:
            with _gc_tuned():
                return asyncio.run(main())
        except duckdb.Error as exc:
            raise WarehouseError(f"warehouse {config.warehouse.path}: {exc}") from exc
