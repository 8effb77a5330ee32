"""Carehome source: every lead of one account, window by window (spec §1, §4, §5).

How a run reads (the API has no paging and no cursor):

1. Plan contiguous UTC windows of ``window`` from the watermark (minus ``overlap_s``; on a
   first run from ``start``) to now. Each window is one ``GET /api/leads/`` with
   ``dateTimeFrom``/``dateTimeTo`` and ``isAnonymised=false`` — plus the same with ``true``
   when ``include_anonymised``, and one request per category when ``categories`` is a
   subset. Requests run concurrently, at most ``concurrency`` in flight, oldest first.
2. Each response is one engine page: split into records with their exact text, normalised
   (:mod:`.normalise`) off the event loop. A lead dated exactly on a window's end belongs to
   the next window and is dropped from this one; an id seen earlier in the run with another
   category is quarantined.
3. The watermark (the stored cursor) advances only past windows whose pages are all
   committed (:class:`~leadkit.systems.carehome.windows.Frontier`).

Failures (every failure is HTTP 500 with ``{"message": ...}``, spec §4, Q10):

* ``message`` about the API key → :class:`~leadkit.errors.SourceAuthError`, at once, no
  retry; ``Invalid <param>`` → :class:`~leadkit.errors.SourceError` naming the parameter,
  no retry. Neither message shows the key.
* A timeout, a 504, or a ``message`` saying the result is too large → the window is split
  in half and both halves are requested (down to ``min_window``; below that it is retried).
* Other 5xx, 429, connection errors → retried with backoff, at most ``max_retries``.
* A 200 whose body is not JSON (spec Q5) → retried; after ``max_retries`` its raw text goes
  to ``_rejects`` with the window, and the watermark stays before that window so the next
  run asks again.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

import aiohttp
import orjson
from yarl import URL

from leadkit.errors import SourceAuthError, SourceError
from leadkit.systems.base import Page, Reject, RunContext, Source, TableSpec
from leadkit.systems.carehome.normalise import (
    BodyError,
    NormalisedPage,
    normalise,
    quarantine,
    split_body,
)
from leadkit.systems.carehome.settings import DEFAULT_START_DAYS, CarehomeSettings
from leadkit.systems.carehome.windows import Frontier, Window, api_time, plan

__all__ = ["TABLE", "CarehomeSource", "Lane", "classify_failure", "read_window"]

TABLE = "carehome_leads"

Failure = Literal["key", "param", "too_large", "transient", "permanent"]

_TRANSIENT = frozenset({408, 425, 429, 500, 502, 503})
_PARAM = re.compile(r"^\s*invalid\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_KEY = re.compile(r"api[\s_-]?key", re.IGNORECASE)
_TOO_LARGE = re.compile(r"too (large|many|big)|narrow", re.IGNORECASE)


def classify_failure(status: int, message: str) -> tuple[Failure, str | None]:
    """What a failed response means, from its status and its body's ``message``, and the
    parameter it names (for ``param``).

    Example:
        >>> classify_failure(500, "Invalid API key")
        ('key', None)
        >>> classify_failure(500, "Invalid dateTimeFrom")
        ('param', 'dateTimeFrom')
        >>> classify_failure(500, "Internal error"), classify_failure(503, "")
        (('transient', None), ('transient', None))
        >>> classify_failure(500, "Too many leads in the requested range")
        ('too_large', None)
    """
    if _KEY.search(message) or status in (401, 403):
        return "key", None
    m = _PARAM.match(message)
    if m:
        return "param", m.group(1)
    if _TOO_LARGE.search(message) or status == 504:
        return "too_large", None
    if status in _TRANSIENT:
        return "transient", None
    return "permanent", None


def _message(body: bytes) -> str:
    """The ``message`` of an error body, or its first text."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace").strip()[:200]
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        return str(doc["message"])[:300]
    return body.decode("utf-8", "replace").strip()[:200]


_PARAM_HINTS = {
    "dateTimeFrom": "check `start`, `end` and `window` in",
    "dateTimeTo": "check `start`, `end` and `window` in",
    "categoryId": "check `categories` (ids 1..8) in",
    "isAnonymised": "check `include_anonymised` in",
}


@dataclass(frozen=True)
class Lane:
    """One sequence of windows with the same other parameters.

    Attributes:
        category: ``categoryId`` to send, or ``None`` for all categories.
        anonymised: the ``isAnonymised`` value to send.
    """

    category: int | None
    anonymised: bool

    @property
    def name(self) -> str:
        """e.g. ``all/false`` or ``3/true``."""
        return f"{self.category or 'all'}/{str(self.anonymised).lower()}"

    def params(self, window: Window) -> list[tuple[str, str]]:
        """The query parameters of one request, without the key."""
        out = [
            ("dateTimeFrom", api_time(window.start)),
            ("dateTimeTo", api_time(window.end)),
            ("isAnonymised", "true" if self.anonymised else "false"),
        ]
        if self.category is not None:
            out.append(("categoryId", str(self.category)))
        return out


@dataclass
class _Split:
    """The window must be split."""


@dataclass
class _Malformed:
    """The body stayed invalid after every retry."""

    reason: str
    raw: str


Outcome = NormalisedPage | _Split | _Malformed


def read_window(
    body: bytes,
    *,
    source: str,
    run_id: str,
    extracted_at: datetime,
    context: str,
    before: datetime,
) -> NormalisedPage:
    """Decode and normalise one response (a module-level function of plain arguments, so
    the engine may run it in a worker).

    Raises:
        BodyError: the body is not the documented JSON.
    """
    records, raws = split_body(body)
    return normalise(
        records,
        raws,
        source=source,
        run_id=run_id,
        extracted_at=extracted_at,
        context=context,
        before=before,
    )


class CarehomeSource(Source):
    """Pull the leads of one care-home directory account."""

    system = "carehome"
    tables: ClassVar[tuple[TableSpec, ...]] = ()  # set in leadkit.systems.carehome.__init__

    settings: CarehomeSettings

    def __init__(self, name: str, settings: CarehomeSettings) -> None:
        super().__init__(name, settings)
        self.settings = settings

    def secrets(self) -> list[str]:
        return [self.settings.api_key.get_secret_value()]

    def describe(self) -> str:
        return f"{self.name} (carehome at {self.settings.base_url})"

    def lanes(self) -> list[Lane]:
        """The request sequences this source walks."""
        s = self.settings
        cats: list[int | None] = list(s.categories) if s.per_category else [None]
        flags = [False, True] if s.include_anonymised else [False]
        return [Lane(c, a) for a in flags for c in cats]

    def span(self, cursor: str | None, now: datetime) -> tuple[datetime, datetime]:
        """Where this run starts and ends.

        Example:
            >>> src = CarehomeSource("ch", CarehomeSettings(api_key="k" * 40, overlap_s=60))
            >>> now = datetime(2024, 5, 1, 12, tzinfo=UTC)
            >>> [t.isoformat() for t in src.span("2024-05-01T00:00:00+00:00", now)]
            ['2024-04-30T23:59:00+00:00', '2024-05-01T12:00:00+00:00']
            >>> src.span(None, now)[0].isoformat()
            '2024-02-01T00:00:00+00:00'
        """
        s = self.settings
        end = now.astimezone(UTC).replace(microsecond=0)
        if s.end is not None:
            end = min(end, s.end)
        if cursor:
            start = datetime.fromisoformat(cursor).astimezone(UTC) - timedelta(seconds=s.overlap_s)
        elif s.start is not None:
            start = s.start
        else:
            day = (end - timedelta(days=DEFAULT_START_DAYS)).date()
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start, end

    async def pages(self, ctx: RunContext) -> AsyncIterator[Page]:
        s = self.settings
        ctx.redactor.add(s.api_key.get_secret_value())
        start, end = self.span(ctx.cursor, datetime.now(UTC))
        if start >= end:
            return
        lanes = self.lanes()
        frontier = Frontier(start, [lane.name for lane in lanes])
        todo: deque[tuple[Window, Lane]] = deque(
            (w, lane) for w in plan(start, end, s.window) for lane in lanes
        )
        ctx.log.info(
            "%s: %d windows of %s from %s to %s (%d requests planned)",
            self.name,
            len(todo) // len(lanes),
            s.window,
            start.isoformat(),
            end.isoformat(),
            len(todo),
        )
        running: dict[asyncio.Task[Outcome], tuple[Window, Lane]] = {}
        seen: dict[int, int] = {}
        seq = 0
        try:
            while running or (todo and not ctx.stop.is_set()):
                while todo and len(running) < s.concurrency and not ctx.stop.is_set():
                    window, lane = todo.popleft()
                    task = asyncio.ensure_future(self._fetch(ctx, window, lane))
                    running[task] = (window, lane)
                if not running:
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=lambda t: running[t][0]):
                    window, lane = running.pop(task)
                    outcome = task.result()
                    if isinstance(outcome, _Split):
                        todo.extendleft((h, lane) for h in reversed(window.halves()))
                        continue
                    yield self._page(ctx, seq, window, lane, outcome, frontier, seen)
                    seq += 1
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    def _page(
        self,
        ctx: RunContext,
        seq: int,
        window: Window,
        lane: Lane,
        outcome: NormalisedPage | _Malformed,
        frontier: Frontier,
        seen: dict[int, int],
    ) -> Page:
        context = _context(window, lane)
        if isinstance(outcome, _Malformed):
            ctx.log.warning(
                "%s: window %s: the body stayed invalid after %d attempts (%s); its raw text "
                "is in _rejects and the watermark stays before this window (the next run asks "
                "again)",
                self.name,
                context,
                self.settings.max_retries + 1,
                outcome.reason,
            )
            reject = Reject(
                f"response body is not valid JSON after {self.settings.max_retries + 1} "
                f"attempts: {outcome.reason}",
                ctx.redactor.scrub(outcome.raw),
                None,
                context,
            )
            return Page(seq=seq, frame=None, table=TABLE, rejects=[reject])
        frame, clashes = quarantine(outcome.frame, seen, context)
        warnings = outcome.warnings
        if clashes:
            warnings = int(frame.get_column("dq_warnings").list.len().sum() or 0)
        moved = frontier.done(lane.name, window)
        return Page(
            seq=seq,
            frame=frame,
            table=TABLE,
            rejects=[*outcome.rejects, *clashes],
            cursor=moved.isoformat() if moved is not None else None,
            received=outcome.received,
            warnings=warnings,
        )

    def _can_split(self, window: Window) -> bool:
        return window.seconds >= 2 * max(1, int(self.settings.min_window.total_seconds()))

    async def _fetch(self, ctx: RunContext, window: Window, lane: Lane) -> Outcome:
        """One window of one lane: the normalised page, a request to split, or a body that
        stayed malformed. Raises :class:`SourceError` for permanent failures."""
        s = self.settings
        params = [("api_key", s.api_key.get_secret_value()), *lane.params(window)]
        shown = ctx.redactor.url(str(URL(s.url).update_query(params)))
        context = _context(window, lane)
        attempt = 0
        while True:
            ctx.stats["requests"] = ctx.stats.get("requests", 0) + 1
            malformed: _Malformed | None = None
            try:
                async with ctx.session.get(
                    s.url, params=params, headers={"Accept": "application/json"}
                ) as resp:
                    body = await resp.read()
                    status = resp.status
            except TimeoutError:
                if self._can_split(window):
                    ctx.log.info("%s: %s timed out; splitting it in half", self.name, context)
                    return _Split()
                problem = f"timeout after {s.timeout_s:g}s on GET {shown}"
            except aiohttp.ClientError as exc:
                problem = ctx.redactor.scrub(f"{type(exc).__name__}: {exc} on GET {shown}")
            else:
                if status == 200:
                    try:
                        return await ctx.cpu(
                            read_window,
                            body,
                            source=self.name,
                            run_id=ctx.run_id,
                            extracted_at=ctx.extracted_at,
                            context=context,
                            before=window.end,
                        )
                    except BodyError as exc:
                        text = body.decode("utf-8", "replace")
                        malformed = _Malformed(str(exc), text)
                        problem = f"malformed body on GET {shown}: {exc}"
                else:
                    message = ctx.redactor.scrub(_message(body))
                    kind, param = classify_failure(status, message)
                    if kind == "too_large" and self._can_split(window):
                        ctx.log.info(
                            "%s: %s answered %d %r; splitting it in half",
                            self.name,
                            context,
                            status,
                            message,
                        )
                        return _Split()
                    if kind in ("key", "param", "permanent"):
                        raise self._permanent(kind, param, status, message, shown, params)
                    problem = f"HTTP {status} on GET {shown}: {message}"
            attempt += 1
            if attempt > s.max_retries:
                if malformed is not None:
                    return malformed
                raise SourceError(
                    f"{self.name}: giving up after {attempt} attempts: {problem} — the carehome "
                    "API kept failing; nothing is lost (committed windows stay, the watermark "
                    "is before this window) and the next run resumes here",
                    source=self.name,
                    url=shown,
                )
            ctx.stats["retries"] = ctx.stats.get("retries", 0) + 1
            delay = min(30.0, s.backoff_initial_s * 2 ** (attempt - 1))
            delay += random.uniform(0, max(s.backoff_initial_s, 0.001))
            ctx.log.warning(
                "%s: retry %d/%d in %.1fs after %s",
                self.name,
                attempt,
                s.max_retries,
                delay,
                problem,
            )
            await asyncio.sleep(delay)

    def _permanent(
        self,
        kind: Failure,
        param: str | None,
        status: int,
        message: str,
        shown: str,
        params: list[tuple[str, str]],
    ) -> SourceError:
        where = f"[sources.{self.name}]"
        if kind == "key":
            return SourceAuthError(
                f"{self.name}: the carehome API rejected the API key (HTTP {status} "
                f"{message!r} on GET {shown}) — check `api_key` in {where} and the environment "
                "variable it names; not retried",
                source=self.name,
                url=shown,
                status=status,
                detail=message,
            )
        if kind == "param" and param is not None:
            sent = dict(params)
            value = f"={sent[param]!r}" if param in sent and param != "api_key" else ""
            hint = _PARAM_HINTS.get(
                param, "check `base_url` and `path` point at the carehome leads API in"
            )
            return SourceError(
                f"{self.name}: the carehome API rejected the parameter {param}{value} (HTTP "
                f"{status} {message!r} on GET {shown}) — {hint} {where}; not retried",
                source=self.name,
                url=shown,
                status=status,
                detail=message,
            )
        return SourceError(
            f"{self.name}: HTTP {status} {message!r} on GET {shown} — check `base_url` and "
            f"`path` in {where} (the leads endpoint is /api/leads/); not retried",
            source=self.name,
            url=shown,
            status=status,
            detail=message,
        )


def _context(window: Window, lane: Lane) -> str:
    """Where a page came from, e.g. ``window 2024-01-01T00:00:00Z..2024-01-02T00:00:00Z
    isAnonymised=false categoryId=all``."""
    return (
        f"window {window} isAnonymised={str(lane.anonymised).lower()} "
        f"categoryId={lane.category or 'all'}"
    )
