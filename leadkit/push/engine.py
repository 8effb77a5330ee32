"""The push engine: select leads, map, check the ledger, deliver with bounded concurrency.

Flow of one ``leadkit push NAME --where Q``::

    warehouse ─ keyset pages of the selection (+ their ledger rows), one short read each
      │
      ├─ prepare()  → LeadRejected: ledger 'rejected', never sent
      ├─ hash the payload (canonical JSON) and compare with the ledger:
      │     delivered with this hash → skipped-duplicate (nothing sent)
      │     delivered with another hash → update=True (or not-updatable, see below)
      │     pending (a push died mid-request) → Destination.reconcile, else resend=True
      ├─ write 'pending' for the chunk and COMMIT  ← before any request of the chunk
      │
      └─ bounded queue of batches ─► `concurrency` workers: send() → outcomes
                                       └─ outcomes buffered, committed every 0.5 s

* All warehouse access runs on one thread, in short transactions (:func:`ledger.writing`),
  so readers (dashboards, notebooks) and a running extract keep working.
* One push per destination at a time: an advisory lock ``<warehouse>.push-NAME.lock``
  (released by the kernel if the process dies). Pushes to different destinations and
  extracts run side by side; a dry run takes no lock.
* SIGTERM/SIGINT: no new request starts; requests in flight finish and are recorded; leads
  marked ``pending`` whose request never started are put back as they were. Exit 130.
* A changed lead whose destination cannot update (``supports_update`` False) is not sent
  again: it is counted ``not-updatable`` and its ledger row keeps the delivered version.

Example:
    >>> PushResult("r", "d", "kpro", counts={"sent": 2, "failed": 1}).exit_code
    1
    >>> PushResult("r", "d", "kpro", counts={"sent": 2, "rejected": 1}).exit_code
    3
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import orjson

from leadkit.config import LeadkitConfig
from leadkit.engine.http import HttpClient, make_session
from leadkit.engine.lock import RunLock
from leadkit.errors import LeadkitError, RunLockedError, SourceAuthError, WarehouseError
from leadkit.push import ledger
from leadkit.push.base import Destination, Lead, LeadRejected, Outcome, Prepared, PushContext
from leadkit.push.select import Selection
from leadkit.redact import Redactor
from leadkit.storage.warehouse import Warehouse
from leadkit.systems import get_system

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_WAREHOUSE",
    "PushItem",
    "PushProgress",
    "PushResult",
    "build_destination",
    "payload_hash",
    "push",
    "run_push",
]

log = logging.getLogger("leadkit.push")

#: Exit codes of ``leadkit push`` (docs/push.md).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_REJECTED = 3
EXIT_WAREHOUSE = 4
EXIT_LOCKED = 75
EXIT_INTERRUPTED = 130

#: Buffered outcomes are committed at least this often.
FLUSH_S = 0.5
#: Longest text kept from a destination's answer.
RESPONSE_LIMIT = 2000
#: Outcome counters in display order.
COUNTER_ORDER = (
    "sent",
    "updated",
    "would-send",
    "would-update",
    "skipped-duplicate",
    "not-updatable",
    "cancelled",
    "not-cancelled",
    "not-delivered",
    "rejected",
    "skipped-rejected",
    "failed",
)

T = TypeVar("T")


def payload_hash(payload: dict[str, Any]) -> str:
    """The hash of a payload's canonical JSON (sorted keys), as stored in the ledger.

    >>> payload_hash({"b": 1, "a": 2}) == payload_hash({"a": 2, "b": 1})
    True
    """
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


@dataclass
class PushItem:
    """What happened to one lead (kept for the first ``keep_items`` leads of a push)."""

    lead_key: str
    status: str
    detail: str | None = None
    http_status: int | None = None
    payload: dict[str, Any] | None = None


@dataclass
class PushResult:
    """The outcome of one push.

    Attributes:
        run_id: the push's id (``_pushes.run_id``, ``_deliveries.run_id``).
        destination: the configured destination name.
        kind: its kind.
        action: ``push`` or ``cancel``.
        dry_run: whether nothing was sent.
        selection: the selection in plain English.
        selected: leads selected.
        counts: leads per outcome (see :data:`COUNTER_ORDER`).
        items: the first leads' outcomes (skips left out), with payloads on a dry run.
        requests: HTTP requests made; ``retries``: of which retries.
        seconds: wall time.
        interrupted: stopped by SIGTERM/SIGINT.
        error: what stopped the push early (e.g. rejected credentials), if anything.
    """

    run_id: str
    destination: str
    kind: str
    action: str = "push"
    dry_run: bool = False
    selection: str = ""
    selected: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    items: list[PushItem] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    error: str | None = None

    @property
    def exit_code(self) -> int:
        """130 interrupted; 1 failures (retry later) or an error; 3 new rejections; else 0."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.error or self.counts.get("failed"):
            return EXIT_FAILED
        if self.counts.get("rejected"):
            return EXIT_REJECTED
        return EXIT_OK

    @property
    def ok(self) -> bool:
        """Whether nothing failed or was rejected."""
        return self.exit_code == EXIT_OK

    @property
    def leads_per_s(self) -> float:
        """Leads decided per second of wall time."""
        return self.selected / self.seconds if self.seconds > 0 else 0.0


class PushProgress:
    """Receives progress events; the CLI subclasses it with a rich display."""

    def start(self, destination: str, total: int) -> None:
        """The push starts; ``total`` leads match the selection (before ``limit``)."""

    def advance(self, done: int, counts: dict[str, int]) -> None:
        """``done`` leads are decided so far; ``counts`` per outcome."""

    def finish(self, result: PushResult) -> None:
        """The push ended."""


def build_destination(config: LeadkitConfig, name: str) -> Destination:
    """The configured destination ``name``.

    Raises:
        LeadkitError: no such destination (listing the configured ones), or disabled.
    """
    settings = config.destinations.get(name)
    if settings is None:
        known = ", ".join(sorted(config.destinations)) or "(none configured)"
        raise LeadkitError(
            f"unknown destination {name!r}; configured destinations: {known}. "
            "Add a [destinations.NAME] table to leadkit.toml (see docs/push.md)"
        )
    if not settings.enabled:
        raise LeadkitError(f"destination {name!r} is disabled (enabled = false in leadkit.toml)")
    system = get_system(settings.kind, role="destination")
    if system.destination is None:
        raise LeadkitError(f"{name}: kind {settings.kind!r} cannot receive leads yet")
    return system.destination(name, settings)


def _now() -> datetime:
    return datetime.now(UTC)


class _Push:
    """One push (see the module docstring)."""

    def __init__(
        self,
        config: LeadkitConfig,
        destination: Destination,
        *,
        where: str,
        table: str,
        dry_run: bool,
        limit: int | None,
        cancel: bool,
        progress: PushProgress,
        stop: asyncio.Event,
        redactor: Redactor,
        keep_items: int,
        chunk: int | None = None,
    ) -> None:
        self.config = config
        self.dest = destination
        self.name = destination.name
        self.where = where
        self.table = table
        self.dry_run = dry_run
        self.limit = limit
        self.cancel = cancel
        self.progress = progress
        self.stop = stop
        self.redactor = redactor
        self.keep_items = keep_items
        self.run_id = _now().strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]
        self.warehouse = Warehouse(
            config.warehouse.path, busy_timeout_s=config.warehouse.busy_timeout_s
        )
        conc = destination.settings.concurrency
        self.chunk = chunk or max(250, min(1000, destination.batch_size * conc * 4))
        self.counts: Counter[str] = Counter()
        self.items: list[PushItem] = []
        self.done = 0
        self.fatal: str | None = None
        self.buffer: list[dict[str, Any]] = []
        self.prev: dict[str, dict[str, Any] | None] = {}
        self.unstarted: set[str] = set()
        self.stats: dict[str, int] = {"requests": 0, "retries": 0}
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leadkit-push-db")

    # -- plumbing --------------------------------------------------------------------------

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the push's one warehouse thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, fn, *args)

    def halted(self) -> bool:
        return self.stop.is_set() or self.fatal is not None

    def count(self, status: str, key: str, detail: str | None = None, **extra: Any) -> None:
        self.counts[status] += 1
        self.done += 1
        quiet = status in ("skipped-duplicate", "skipped-rejected", "not-delivered")
        if not quiet and len(self.items) < self.keep_items:
            self.items.append(PushItem(key, status, detail, **extra))

    def scrub(self, text: str | None, limit: int = RESPONSE_LIMIT) -> str | None:
        if text is None:
            return None
        clean = self.redactor.scrub(text)
        return clean if len(clean) <= limit else clean[: limit - 1] + "…"

    # -- warehouse work (on the db thread) ----------------------------------------------------

    def _begin(self) -> tuple[Selection, int]:
        if not self.warehouse.path.exists():
            raise WarehouseError(
                f"no warehouse at {self.warehouse.path}: run `leadkit extract` first"
            )
        with self.warehouse.reading() as con:
            selection = Selection.build(con, self.where, self.table)
            total = selection.count(con)
        with ledger.writing(self.warehouse) as con:
            con.execute("BEGIN TRANSACTION")
            running = con.execute(
                "SELECT run_id, pid FROM _pushes WHERE destination = ? AND status = 'running'",
                [self.name],
            ).fetchall()
            dead = [r for r, pid in running if not _alive(pid)]
            if dead:
                con.execute(
                    "UPDATE _pushes SET status = 'killed', ended_at = ?, error = coalesce(error, "
                    "'the process stopped without finishing this push') "
                    "WHERE run_id IN (SELECT unnest(?))",
                    [_now(), dead],
                )
            con.execute(
                "INSERT INTO _pushes (run_id, destination, kind, action, dry_run, where_query, "
                "table_name, lead_limit, status, started_at, pid) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                [
                    self.run_id,
                    self.name,
                    self.dest.kind,
                    "cancel" if self.cancel else "push",
                    self.dry_run,
                    self.where,
                    selection.table,
                    self.limit,
                    _now(),
                    os.getpid(),
                ],
            )
            con.execute("COMMIT")
        return selection, total

    def _read(
        self, selection: Selection, after: tuple[Any, ...] | None, size: int
    ) -> tuple[list[Lead], tuple[Any, ...] | None, dict[str, ledger.LedgerRow]]:
        with self.warehouse.reading() as con:
            leads, last = selection.page(con, after, size)
            rows = ledger.lookup(con, self.name, [lead.key for lead in leads])
        return leads, last, rows

    def _write(self, rows: list[dict[str, Any]], removed: Sequence[str] = ()) -> None:
        if not rows and not removed:
            return
        with ledger.writing(self.warehouse) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                ledger.upsert(con, rows)
                ledger.remove(con, self.name, removed)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    async def commit(self, rows: Sequence[dict[str, Any]] = ()) -> None:
        """Commit the buffered outcomes together with ``rows`` (one transaction)."""
        taken, self.buffer = self.buffer, []
        try:
            await self.db(self._write, taken + list(rows))
        except BaseException:
            self.buffer = taken + self.buffer
            raise

    def _finish(self, result: PushResult, status: str, rows: list[dict[str, Any]]) -> None:
        restore = [dict(v) for k in self.unstarted if (v := self.prev.get(k)) is not None]
        removed = [k for k in self.unstarted if self.prev.get(k) is None]
        self._write(rows + restore, removed)
        self.unstarted.clear()
        counters = {c: 0 for c in ledger.PUSH_COUNTERS}
        for name, n in result.counts.items():
            column = name.replace("-", "_")
            if column in counters:
                counters[column] = n
        counters["selected"] = result.selected
        counters["requests"] = result.requests
        counters["retries"] = result.retries
        sets = ", ".join(f"{c} = ?" for c in counters)
        with ledger.writing(self.warehouse) as con:
            con.execute(
                f"UPDATE _pushes SET status = ?, ended_at = ?, error = ?, {sets} WHERE run_id = ?",
                [status, _now(), result.error, *counters.values(), self.run_id],
            )

    # -- rows --------------------------------------------------------------------------------

    def _row(self, lead: Lead, prev: ledger.LedgerRow | None, **values: Any) -> dict[str, Any]:
        base = dict(prev.values) if prev is not None else {}
        base.update(
            destination=self.name,
            kind=self.dest.kind,
            lead_key=lead.key,
            system=lead.system,
            source=lead.source,
            lead_id=lead.lead_id,
            run_id=self.run_id,
        )
        base.setdefault("attempts", 0)
        for name in ("http_status", "response", "error"):
            base[name] = None
        base.update(values)
        return base

    def _pending_row(self, p: Prepared, prev: ledger.LedgerRow | None) -> dict[str, Any]:
        now = _now()
        text = self.scrub(orjson.dumps(p.payload).decode(), limit=1_000_000)
        return self._row(
            p.lead,
            prev,
            payload_hash=p.payload_hash,
            payload=text,
            status="pending",
            attempts=(prev.attempts if prev else 0) + 1,
            first_attempt_at=(prev.first_attempt_at if prev else None) or now,
            last_attempt_at=now,
        )

    def _record(self, p: Prepared, out: Outcome) -> None:
        """Count an outcome and buffer its ledger row."""
        key = p.lead.key
        detail = self.scrub(out.detail, 1000)
        extra: dict[str, Any] = {"http_status": out.http_status}
        if self.dry_run:
            status = "would-update" if out.status == "would-send" and p.update else out.status
            extra["payload"] = p.payload
            self.count(status, key, detail, **extra)
            return
        prev = self.prev.get(key)
        row = dict(prev) if prev is not None else {}
        current = self.pending_rows.pop(key, None)
        if current is not None:
            row = current
        if self.cancel:
            row.update(run_id=self.run_id, last_attempt_at=_now(), http_status=out.http_status)
            row["response"] = self.scrub(out.response)
            if out.status == "cancelled":
                row.update(status="cancelled", error=None)
                self.count("cancelled", key, detail, **extra)
            else:
                row["error"] = f"cancel: {detail or out.status}"
                self.count("not-cancelled", key, detail or out.status, **extra)
            self.buffer.append(row)
            return
        row.update(
            # The ledger keeps issue 7's statuses: an update the destination accepted is
            # ``sent`` (the summary still counts it as ``updated``).
            status="sent" if out.status == "updated" else out.status,
            http_status=out.http_status,
            response=self.scrub(out.response),
            error=detail,
            last_attempt_at=_now(),
        )
        if out.remote_id:
            row["remote_id"] = out.remote_id
        if out.status in ledger.DELIVERED:
            row.update(delivered_hash=p.payload_hash, delivered_at=_now())
        self.buffer.append(row)
        self.count(out.status, key, detail, **extra)

    # -- the run -------------------------------------------------------------------------------

    async def run(self) -> PushResult:
        started = time.monotonic()
        result = PushResult(
            self.run_id,
            self.name,
            self.dest.kind,
            action="cancel" if self.cancel else "push",
            dry_run=self.dry_run,
        )
        self.pending_rows: dict[str, dict[str, Any]] = {}
        try:
            selection, total = await self.db(self._begin)
            result.selection = selection.describe()
            if self.limit is not None:
                total = min(total, self.limit)
            self.progress.start(self.name, total)
            status = "success"
            try:
                await self._deliver(selection, result)
            except BaseException:
                status = "failed"
                raise
            finally:
                result.counts = {k: self.counts[k] for k in COUNTER_ORDER if self.counts[k]}
                result.requests = self.stats.get("requests", 0)
                result.retries = self.stats.get("retries", 0)
                result.error = self.fatal
                result.interrupted = self.stop.is_set()
                result.items = self.items
                if status == "success":
                    if result.interrupted:
                        status = "interrupted"
                    elif result.exit_code == EXIT_FAILED:
                        status = "failed"
                result.seconds = time.monotonic() - started
                taken, self.buffer = self.buffer, []
                try:
                    await self.db(self._finish, result, status, taken)
                except LeadkitError as exc:
                    log.error("%s: could not record the end of the push: %s", self.name, exc)
        finally:
            self._db.shutdown(wait=True)
        self.progress.finish(result)
        return result

    async def _deliver(self, selection: Selection, result: PushResult) -> None:
        settings = self.dest.settings
        backoff = float(getattr(settings, "backoff_initial_s", 0.5))
        async with make_session(settings.concurrency, settings.timeout_s) as session:
            http = HttpClient(
                session,
                source=self.name,
                redactor=self.redactor,
                max_retries=settings.max_retries,
                log=logging.getLogger(f"leadkit.destination.{self.name}"),
                backoff_initial_s=backoff,
                stats=self.stats,
            )
            ctx = PushContext(
                run_id=self.run_id,
                destination=self.name,
                http=http,
                redactor=self.redactor,
                log=logging.getLogger(f"leadkit.destination.{self.name}"),
                stop=self.stop,
                dry_run=self.dry_run,
            )
            await self.dest.start(ctx)
            # Room for a whole chunk, so the workers never wait while the next one is read.
            room = -(-self.chunk // max(1, self.dest.batch_size))
            queue: asyncio.Queue[list[Prepared] | None] = asyncio.Queue(
                maxsize=max(2 * settings.concurrency, room)
            )
            workers = [
                asyncio.create_task(self._worker(queue, ctx)) for _ in range(settings.concurrency)
            ]
            flusher = asyncio.create_task(self._flusher())
            try:
                await self._produce(selection, queue, ctx, result)
            finally:
                for _ in workers:
                    await queue.put(None)
                await asyncio.gather(*workers, return_exceptions=True)
                flusher.cancel()
                await asyncio.gather(flusher, return_exceptions=True)
                if not self.dry_run:
                    await self.commit()

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_S)
            if self.buffer:
                await self.commit()
                self.progress.advance(self.done, dict(self.counts))

    async def _produce(
        self,
        selection: Selection,
        queue: asyncio.Queue[list[Prepared] | None],
        ctx: PushContext,
        result: PushResult,
    ) -> None:
        after: tuple[Any, ...] | None = None
        while not self.halted():
            size = self.chunk
            if self.limit is not None:
                size = min(size, self.limit - result.selected)
                if size <= 0:
                    break
            leads, after_next, rows = await self.db(self._read, selection, after, size)
            if not leads:
                break
            after = after_next
            result.selected += len(leads)
            batches = await self._decide(leads, rows, ctx)
            for batch in batches:
                await queue.put(batch)
            self.progress.advance(self.done, dict(self.counts))

    async def _decide(
        self, leads: list[Lead], rows: dict[str, ledger.LedgerRow], ctx: PushContext
    ) -> list[list[Prepared]]:
        """Classify a chunk; commit its rejects and ``pending`` rows; return send batches."""
        if self.cancel:
            return self._decide_cancel(leads, rows)
        write: list[dict[str, Any]] = []
        to_send: list[Prepared] = []
        unknown: list[Prepared] = []
        for lead in leads:
            prev = rows.get(lead.key)
            try:
                payload = self.dest.prepare(lead)
            except LeadRejected as exc:
                reason = self.scrub(exc.reason, 1000) or "rejected"
                if prev is not None and prev.status == "rejected" and prev.error == reason:
                    self.count("skipped-rejected", lead.key, reason)
                    continue
                self.count("rejected", lead.key, reason)
                if not self.dry_run:
                    write.append(
                        self._row(
                            lead,
                            prev,
                            status="rejected",
                            payload_hash=None,
                            payload=None,
                            error=reason,
                            last_attempt_at=_now(),
                        )
                    )
                continue
            except Exception as exc:  # a mapping bug must not sink the whole push
                log.exception("%s: mapping %s failed", self.name, lead.key)
                reason = f"cannot map the lead: {type(exc).__name__}: {exc}"
                self.count("rejected", lead.key, self.scrub(reason, 1000))
                continue
            digest = payload_hash(payload)
            if prev is not None and prev.status != "pending":
                if prev.delivered_hash == digest:
                    self.count("skipped-duplicate", lead.key)
                    continue
                if prev.status == "rejected" and prev.payload_hash == digest:
                    self.count("skipped-rejected", lead.key, prev.error)
                    continue
                if prev.delivered_hash is not None and not self.dest.supports_update:
                    self.count(
                        "not-updatable",
                        lead.key,
                        f"changed since delivered; {self.dest.kind} cannot update a lead",
                    )
                    continue
            prepared = Prepared(
                lead,
                payload,
                digest,
                update=prev is not None
                and prev.delivered_hash is not None
                and self.dest.supports_update,
                remote_id=prev.remote_id if prev is not None else None,
                resend=prev is not None and prev.status == "pending",
            )
            (unknown if prepared.resend else to_send).append(prepared)
        if unknown and not self.dry_run:
            to_send += await self._reconcile(unknown, rows, ctx)
        else:
            to_send += unknown
        if not self.dry_run:
            for p in to_send:
                prev = rows.get(p.lead.key)
                self.prev[p.lead.key] = dict(prev.values) if prev is not None else None
                row = self._pending_row(p, prev)
                self.pending_rows[p.lead.key] = row
                write.append(row)
                self.unstarted.add(p.lead.key)
            await self.commit(write)
        size = max(1, self.dest.batch_size)
        return [to_send[i : i + size] for i in range(0, len(to_send), size)]

    async def _reconcile(
        self, unknown: list[Prepared], rows: dict[str, ledger.LedgerRow], ctx: PushContext
    ) -> list[Prepared]:
        """Ask the destination about leads a killed push left ``pending``."""
        try:
            answers = await self.dest.reconcile(unknown, ctx)
        except SourceAuthError as exc:
            self.fatal = self.scrub(str(exc), 1000)
            answers = [Outcome("failed", exc.status, detail=self.fatal) for _ in unknown]
        except LeadkitError as exc:
            detail = self.scrub(f"could not check the destination: {exc}", 1000)
            for p in unknown:  # still unknown: leave the row pending for the next push
                self.count("failed", p.lead.key, detail)
            return []
        resend = []
        for p, answer in zip(unknown, answers, strict=True):
            if answer is None:
                resend.append(p)
                continue
            prev = rows.get(p.lead.key)
            self.pending_rows[p.lead.key] = self._row(
                p.lead,
                prev,
                payload_hash=p.payload_hash,
                payload=self.scrub(orjson.dumps(p.payload).decode(), limit=1_000_000),
            )
            self._record(p, answer)
        return resend

    def _decide_cancel(
        self, leads: list[Lead], rows: dict[str, ledger.LedgerRow]
    ) -> list[list[Prepared]]:
        out = []
        for lead in leads:
            prev = rows.get(lead.key)
            if (
                prev is None
                or prev.status not in ledger.DELIVERED
                or not prev.values.get("payload")
            ):
                self.count("not-delivered", lead.key)
                continue
            payload = orjson.loads(prev.values["payload"])
            self.prev[lead.key] = dict(prev.values)
            out.append(Prepared(lead, payload, prev.payload_hash or "", remote_id=prev.remote_id))
        size = max(1, self.dest.batch_size)
        return [out[i : i + size] for i in range(0, len(out), size)]

    async def _worker(self, queue: asyncio.Queue[list[Prepared] | None], ctx: PushContext) -> None:
        while True:
            batch = await queue.get()
            if batch is None:
                return
            if self.halted():
                continue  # never started: put back at the end of the run
            for p in batch:
                self.unstarted.discard(p.lead.key)
            outcomes: list[Outcome] | None
            try:
                if self.cancel:
                    outcomes = await self.dest.cancel(batch, ctx)
                elif self.dry_run:
                    outcomes = await self.dest.check(batch, ctx)
                else:
                    outcomes = await self.dest.send(batch, ctx)
                if len(outcomes) != len(batch):
                    raise RuntimeError(
                        f"{self.dest.kind} returned {len(outcomes)} outcomes for {len(batch)} leads"
                    )
            except SourceAuthError as exc:
                self.fatal = self.scrub(str(exc), 1000)
                log.error("%s", self.fatal)
                outcomes = [Outcome("failed", exc.status, detail=self.fatal) for _ in batch]
            except LeadkitError as exc:
                detail = self.scrub(str(exc), 1000)
                status = getattr(exc, "status", None)
                outcomes = [Outcome("failed", status, detail=detail) for _ in batch]
            except Exception as exc:  # a destination bug: the outcome is unknown
                log.exception("%s: sending a batch failed", self.name)
                detail = self.scrub(f"{type(exc).__name__}: {exc}; left pending", 1000)
                for p in batch:
                    self.pending_rows.pop(p.lead.key, None)
                    self.count("failed", p.lead.key, detail)
                continue
            for p, out in zip(batch, outcomes, strict=True):
                self._record(p, out)


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def push(
    config: LeadkitConfig,
    destination: str,
    *,
    where: str = "",
    table: str = "leads",
    dry_run: bool = False,
    limit: int | None = None,
    cancel: bool = False,
    progress: PushProgress | None = None,
    stop: asyncio.Event | None = None,
    redactor: Redactor | None = None,
    keep_items: int = 1000,
) -> PushResult:
    """Push the selected leads to ``destination`` (async; the caller holds the push lock).

    See :func:`run_push` for the arguments.
    """
    if cancel and dry_run:
        raise LeadkitError("--cancel cannot be combined with --dry-run (cancel has no test mode)")
    if limit is not None and limit < 0:
        raise LeadkitError(f"--limit {limit} must be 0 or more")
    dest = build_destination(config, destination)
    if cancel and not dest.supports_cancel:
        raise LeadkitError(
            f"destination {destination!r} ({dest.kind}) cannot cancel deliveries; "
            "only dialler destinations can"
        )
    redactor = redactor or Redactor(config.secrets())
    for secret in dest.secrets():
        redactor.add(secret)
    job = _Push(
        config,
        dest,
        where=where,
        table=table,
        dry_run=dry_run,
        limit=limit,
        cancel=cancel,
        progress=progress or PushProgress(),
        stop=stop or asyncio.Event(),
        redactor=redactor,
        keep_items=keep_items,
    )
    return await job.run()


def run_push(
    config: LeadkitConfig,
    destination: str,
    *,
    where: str = "",
    table: str = "leads",
    dry_run: bool = False,
    limit: int | None = None,
    cancel: bool = False,
    progress: PushProgress | None = None,
    handle_signals: bool = True,
    redactor: Redactor | None = None,
    keep_items: int = 1000,
) -> PushResult:
    """Push leads: take the destination's push lock, handle signals, run, release.

    Args:
        config: the loaded configuration.
        destination: a ``[destinations.NAME]`` name.
        where: filters in KPro's language, e.g. ``"createdAt.gte=2024-01-01&status=passed"``.
        table: the lead table: ``leads`` (default) or a system table such as ``kpro_leads``.
        dry_run: validate and report; send nothing real and write no ledger rows.
        limit: at most this many leads (the first in key order).
        cancel: withdraw earlier deliveries of the selected leads (dialler only).
        progress: receives progress events.
        handle_signals: install SIGINT/SIGTERM handlers (stop after in-flight requests).
        redactor: the redactor your log handlers use.
        keep_items: how many per-lead outcomes to keep in ``PushResult.items``.

    Raises:
        RunLockedError: another push to this destination is running (exit code 75).
        LeadkitError: unknown destination, bad selection, ...
        WarehouseError: the warehouse cannot be read or written.
    """
    lock: RunLock | None = None
    build_destination(config, destination)  # an unknown name fails before any lock file
    if not dry_run:
        path = Path(f"{config.warehouse.path}.push-{destination}")
        lock = RunLock(path, wait_s=0.0, exit_code=EXIT_LOCKED)
        try:
            lock.acquire()
        except RunLockedError:
            raise RunLockedError(
                f"another `leadkit push {destination}` is running; this push did nothing. "
                "Let it finish (two pushes to one destination could send a lead twice).",
                exit_code=EXIT_LOCKED,
            ) from None
    try:

        async def main() -> PushResult:
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
                            "%s received: finishing the requests in flight, then stopping "
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
                return await push(
                    config,
                    destination,
                    where=where,
                    table=table,
                    dry_run=dry_run,
                    limit=limit,
                    cancel=cancel,
                    progress=progress,
                    stop=stop,
                    redactor=redactor,
                    keep_items=keep_items,
                )
            finally:
                for sig in installed:
                    loop.remove_signal_handler(sig)

        try:
            return asyncio.run(main())
        except duckdb.Error as exc:
            raise WarehouseError(f"warehouse {config.warehouse.path}: {exc}") from exc
    finally:
        if lock is not None:
            lock.release()
