"""OviPro source: every incoming (``GET /leads``) and outgoing (``GET /outgoingLeads``) lead.

How a run reads one list endpoint (spec §3, §5, §9, quirks Q2, Q3, Q5, Q6):

1. Every request carries ``Authorization: Bearer <token>`` (see :mod:`.auth`), a new
   lowercase uuid4 ``Request-ID`` per *attempt* (a retry is a new request, Q6; failures
   quote it for OviPro support), ``Accept: application/json`` and, if configured,
   ``x-api-key``.
2. Ask for ``startIndex=0&size=page_size&sort=creationTime|asc``. The first response gives
   ``totalCount``; the remaining offsets are then fetched concurrently (at most
   ``concurrency`` in flight), in the same ascending order. Pages overlap by one lead so the
   scan can prove it saw everything (:mod:`.scan`).
3. If the last page shows the list grew, keep following it page by page to the end.
4. Each response is split into its records without decoding it (msgspec); each record is
   then decoded once, on the event loop, for its fingerprint (:class:`.models.RawRecords`,
   well under a millisecond per response). Responses are merged into engine pages of about
   :data:`BATCH_LEADS` leads (one commit per 100-lead response would make the warehouse
   writer the bottleneck), which polars parses off the event loop while the fetching goes
   on (at most :data:`MAX_PARSING` pages at a time).
5. There is no date filter (Q3), so every run is a full scan; the engine upserts on
   ``(_source, lead_id)``, counts inserted / updated / unchanged by the record's
   fingerprint, and — when the scan was provably complete (``ctx.scan_stable``) — flags the
   leads it did not see as vanished (``_vanished_at``) and un-flags those that came back.

Incoming leads go to ``ovipro_leads``, outgoing leads (``include_outgoing``) to
``ovipro_outgoing_leads``; the two scans run at the same time, sharing the ``concurrency``
requests in flight.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    Sequence,
)
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

import msgspec
import orjson

from leadkit.engine.http import HttpClient
from leadkit.engine.paging import fan_out
from leadkit.errors import SourceAuthError, SourceError
from leadkit.systems.base import Page, RunContext, Source, TableSpec
from leadkit.systems.ovipro.auth import OviProAuth
from leadkit.systems.ovipro.models import Endpoint, RawRecords, parse_records, shape_of
from leadkit.systems.ovipro.scan import Edge, OffsetScan
from leadkit.systems.ovipro.settings import OviProSettings

__all__ = [
    "BATCH_LEADS",
    "SORT",
    "OviProSource",
    "build_page",
    "is_invalid_api_key",
    "new_request_id",
    "read_response",
]

#: The extraction order (Q2, Q3): a key that never changes, so new leads append at the end.
SORT = "creationTime|asc"

#: Responses (at most 100 leads each) are merged into engine pages of about this many leads:
#: one commit per response would make the warehouse writer the bottleneck.
BATCH_LEADS = 1000

#: Stop following a growing list after this many extra pages in one run.
MAX_EXTRA_PAGES = 10_000

#: Engine pages being parsed at once, at most (beyond that, fetching waits for parsing).
MAX_PARSING = 2

#: Requests waiting for a free slot, beyond the ``concurrency`` in flight.
QUEUED_REQUESTS = 4


def new_request_id() -> str:
    """A fresh ``Request-ID``: a lowercase RFC 4122 uuid4 (spec §3).

    Example:
        >>> import re
        >>> pattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
        >>> bool(re.match(pattern, new_request_id())), new_request_id() != new_request_id()
        (True, True)
    """
    return str(uuid.uuid4())


async def _merged(scans: Sequence[AsyncGenerator[Page, None]]) -> AsyncIterator[Page]:
    """The pages of several scans as they come. Each scan runs ahead by at most one page
    while its previous one is handed on (so it keeps fetching while the engine's queue is
    full); an error in one scan stops the others."""
    nexts: dict[asyncio.Future[Page], AsyncGenerator[Page, None]] = {
        asyncio.ensure_future(anext(scan)): scan for scan in scans
    }
    try:
        while nexts:
            done, _ = await asyncio.wait(nexts, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                scan = nexts.pop(task)
                try:
                    page = task.result()
                except StopAsyncIteration:
                    continue
                nexts[asyncio.ensure_future(anext(scan))] = scan
                yield page
    finally:
        for task in nexts:
            task.cancel()
        await asyncio.gather(*nexts, return_exceptions=True)
        for scan in scans:
            await scan.aclose()


async def _numbered(seq: int, parsing: Awaitable[Page]) -> Page:
    page = await parsing
    page.seq = seq
    return page


def is_invalid_api_key(status: int, body: bytes) -> bool:
    """Q4: OviPro's gateway answers a missing or wrong API key with **404**
    ``INVALID_API_KEY`` — a credentials error, not a missing resource (never retried).

    Example:
        >>> is_invalid_api_key(404, b'{"errorCode": "INVALID_API_KEY", "message": "x"}')
        True
        >>> is_invalid_api_key(404, b'{"errorCode": "NOT_FOUND", "message": "x"}')
        False
    """
    if status != 404:
        return False
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(doc, dict) and doc.get("errorCode") == "INVALID_API_KEY"


class OviProSource(Source):
    """Pull incoming and outgoing leads from one OviPro integration account."""

    system = "ovipro"
    tables: ClassVar[Sequence[TableSpec]] = ()  # set in leadkit.systems.ovipro.__init__
    full_scan = True

    settings: OviProSettings

    def __init__(self, name: str, settings: OviProSettings) -> None:
        super().__init__(name, settings)
        self.settings = settings
        self.auth: OviProAuth | None = None

    def secrets(self) -> list[str]:
        out = [self.settings.password.get_secret_value()]
        if self.settings.api_key is not None:
            out.append(self.settings.api_key.get_secret_value())
        return out

    def describe(self) -> str:
        return f"{self.name} (ovipro, user {self.settings.username!r} at {self.settings.base_url})"

    def endpoints(self) -> list[Endpoint]:
        """The list endpoints this source reads, in order."""
        return ["leads", "outgoing"] if self.settings.include_outgoing else ["leads"]

    def _client(self, ctx: RunContext, auth: OviProAuth | None) -> HttpClient:
        s = self.settings
        return HttpClient(
            ctx.session,
            source=self.name,
            redactor=ctx.redactor,
            max_retries=s.max_retries,
            log=ctx.log,
            backoff_initial_s=s.backoff_initial_s,
            request_id=new_request_id,
            request_id_header="Request-ID",
            stats=ctx.stats,
            auth=auth,
            is_auth_error=is_invalid_api_key,
        )

    async def pages(self, ctx: RunContext) -> AsyncIterator[Page]:
        for secret in self.secrets():
            ctx.redactor.add(secret)
        self.auth = OviProAuth(
            self._client(ctx, None),
            self.settings,
            source=self.name,
            redactor=ctx.redactor,
            log=ctx.log,
        )
        http = self._client(ctx, self.auth)
        seq = itertools.count()
        unstable: list[str] = []
        totals: dict[str, int] = {}

        def announce(endpoint: str, total: int) -> None:
            totals[endpoint] = total
            ctx.on_total(sum(totals.values()))

        # The endpoints are scanned at the same time, sharing ``concurrency`` requests in
        # flight: the outgoing leads (often a page or two) do not wait for the incoming ones.
        slots = asyncio.Semaphore(self.settings.concurrency)
        scans = [
            self._scan(ctx, http, endpoint, seq, unstable, announce, slots)
            for endpoint in self.endpoints()
        ]
        try:
            async for page in _merged(scans):
                yield page
        except SourceError as exc:
            raise self._explain(exc) from exc
        if unstable:
            ctx.scan_stable = False
            for why in unstable:
                ctx.log.warning("%s: %s", self.name, why)

    async def _scan(
        self,
        ctx: RunContext,
        http: HttpClient,
        endpoint: Endpoint,
        seq: Iterator[int],
        unstable: list[str],
        announce: Callable[[str, int], None],
        slots: asyncio.Semaphore,
    ) -> AsyncGenerator[Page, None]:
        s = self.settings
        url = s.url(endpoint)
        shape = shape_of(endpoint)
        scan = OffsetScan(s.page_size)
        headers = {"Accept": "application/json", **self._key()}

        async def fetch(offset: int) -> tuple[list[bytes], Edge]:
            params = [("startIndex", str(offset)), ("size", str(s.page_size)), ("sort", SORT)]
            async with slots:
                resp = await http.request("GET", url, params=params, headers=headers)
            return read_response(resp.body, endpoint, offset, source=self.name, shown_url=resp.url)

        batch = RawRecords(endpoint)
        offsets: list[int] = []
        # Pages being parsed, oldest first. Parsing runs beside the fetching: the requests in
        # flight are topped up while a page is parsed, not after.
        building: deque[asyncio.Future[Page]] = deque()

        def settle(records: list[bytes], edge: Edge) -> None:
            drop = scan.add(edge)
            if drop and records and edge.last in drop:
                records = records[:-1]
            if drop and records and edge.first in drop:
                records = records[1:]
            batch.add(records)  # decoded and fingerprinted here: under 1 ms per response
            offsets.append(edge.offset)

        def take() -> None:
            nonlocal batch
            context = f"{shape.table} startIndex={min(offsets)}..{max(offsets)}"
            building.append(
                asyncio.ensure_future(
                    _numbered(
                        next(seq),
                        ctx.cpu(
                            build_page,
                            batch,
                            endpoint,
                            context,
                            source=self.name,
                            run_id=ctx.run_id,
                            extracted_at=ctx.extracted_at,
                        ),
                    )
                )
            )
            batch = RawRecords(endpoint)
            offsets.clear()

        async def built(wait: bool) -> AsyncIterator[Page]:
            """Parsed pages in order: those done, and with ``wait`` the oldest if too many
            are under way (memory stays bounded when parsing falls behind)."""
            while building and (building[0].done() or (wait and len(building) > MAX_PARSING)):
                yield await building.popleft()

        try:
            records, edge = await fetch(0)
            expected = edge.total
            announce(endpoint, expected)
            settle(records, edge)
            jobs: list[Callable[[], Coroutine[Any, Any, tuple[list[bytes], Edge]]]] = [
                partial(fetch, offset) for offset in scan.planned(edge.total)
            ]
            # A few more tasks than requests in flight: the next request waits on ``slots``
            # and goes out the moment one is free, not after the loop has handled the
            # response that freed it.
            in_progress = s.concurrency + QUEUED_REQUESTS
            async for records, edge in fan_out(jobs, concurrency=in_progress, stop=ctx.stop):
                settle(records, edge)
                if batch.received >= BATCH_LEADS:
                    take()
                async for page in built(wait=True):
                    yield page
            # The list grew while we read it: follow it to the end.
            extra = 0
            while not ctx.stop.is_set() and (offset := scan.follow()) is not None:
                extra += 1
                if extra > MAX_EXTRA_PAGES:
                    unstable.append(
                        f"{shape.table}: stopped following new leads after {extra} pages"
                    )
                    break
                records, edge = await fetch(offset)
                if edge.total > expected:
                    expected = edge.total
                    announce(endpoint, expected)
                settle(records, edge)
                if batch.received >= BATCH_LEADS:
                    take()
                async for page in built(wait=True):
                    yield page
            if offsets:
                # The rest, and at least one page per endpoint (even an empty one): it tells
                # the engine this table was scanned.
                take()
            while building:
                yield await building.popleft()
        finally:
            for task in building:
                task.cancel()
        if ctx.stop.is_set() or extra > MAX_EXTRA_PAGES:
            return
        why = scan.verdict()
        if why is not None:
            unstable.append(
                f"{shape.table}: {why}; leads missing from this scan are not marked vanished "
                "this run, and the next run completes it"
            )

    def _key(self) -> dict[str, str]:
        key = self.settings.api_key
        return {"x-api-key": key.get_secret_value()} if key is not None else {}

    def _explain(self, exc: SourceError) -> SourceError:
        """Add what to do to a Lead API error (token errors are explained by the auth)."""
        text = str(exc)
        if "cannot get an OviPro token" in text:
            return exc
        if isinstance(exc, SourceAuthError) and exc.status == 404:
            hint = (
                "OviPro's gateway rejected the API key (404 INVALID_API_KEY): check `api_key` "
                f"in [sources.{self.name}], or remove it if your integration has none"
            )
        elif isinstance(exc, SourceAuthError):
            hint = (
                "the Lead API refused a token the token service had just issued (after one "
                "renewal): the user may lack permission for the Lead API, or `auth_url` and "
                "`base_url` point at different environments"
            )
        elif exc.status == 415:
            hint = (
                "leadkit's list requests have no body, so a 415 means a proxy rewrote the "
                "request or `base_url`/the path settings point at something that is not the "
                "Lead API"
            )
        elif exc.status == 404:
            hint = (
                "no such endpoint: check `base_url`, `leads_path` and `outgoing_leads_path` "
                "(the defaults are inferred, spec §4)"
            )
        elif exc.status == 400:
            hint = "OviPro rejected the request parameters; quote the Request-ID to OviPro support"
        elif exc.status in (429, 500, 502, 503, 504) or exc.status is None:
            hint = (
                "OviPro kept failing after the retries; nothing is lost (committed pages stay) "
                "and the next run reads everything again. Quote the Request-ID to OviPro "
                "support if it persists"
            )
        else:
            return exc
        cls = SourceAuthError if isinstance(exc, SourceAuthError) else SourceError
        message = text.split(" — check the credentials", 1)[0]
        return cls(
            f"{message} — {hint}",
            source=exc.source,
            url=exc.url,
            status=exc.status,
            detail=exc.detail,
            request_id=exc.request_id,
        )


class _Envelope(msgspec.Struct):
    """A list response (spec §5, §9): ``leads`` split into records without decoding them."""

    totalCount: int
    leads: list[msgspec.Raw]


class _LeadId(msgspec.Struct):
    """Just the ``leadId`` of a record (the scan's boundary leads)."""

    leadId: Any = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_LEAD_ID = msgspec.json.Decoder(_LeadId)


def read_response(
    body: bytes, endpoint: Endpoint, offset: int, *, source: str, shown_url: str
) -> tuple[list[bytes], Edge]:
    """Split one list response into its leads, each the JSON text as sent, and the
    :class:`Edge` the scan needs. Cheap (the records are not decoded), so it runs on the
    event loop.

    Raises:
        SourceError: the body is not the documented ``{totalCount, leads}`` object.
    """
    context = f"{shape_of(endpoint).table} startIndex={offset}"
    try:
        envelope = _ENVELOPE.decode(body)
        if envelope.totalCount < 0:
            raise ValueError(f"totalCount is {envelope.totalCount!r}, not a count")
    except (msgspec.DecodeError, ValueError) as exc:
        raise SourceError(
            f"{source}: {context} is not the documented {{totalCount, leads}} response "
            f"({type(exc).__name__}: {exc}); first bytes: {body[:120]!r}",
            source=source,
            url=shown_url,
        ) from exc
    records = [bytes(raw) for raw in envelope.leads]
    edge = Edge(
        offset=offset,
        count=len(records),
        total=envelope.totalCount,
        first=_lead_id(records[0]) if records else None,
        last=_lead_id(records[-1]) if records else None,
    )
    return records, edge


def build_page(
    records: RawRecords | Sequence[bytes],
    endpoint: Endpoint,
    context: str,
    *,
    source: str,
    run_id: str,
    extracted_at: datetime,
) -> Page:
    """Parse the leads of one or more responses into one :class:`Page` (``seq`` unset):
    either the leads as sent (JSON text each) or already decoded into
    :class:`~leadkit.systems.ovipro.models.RawRecords` of ``endpoint``.

    Module-level functions of plain arguments, so the engine can run them in a worker
    process.
    """
    if not isinstance(records, RawRecords):
        raws = records
        records = RawRecords(endpoint)
        records.add(raws)
    parsed = parse_records(
        records, source=source, run_id=run_id, extracted_at=extracted_at, context=context
    )
    return Page(
        seq=-1,
        frame=parsed.frame,
        table=shape_of(endpoint).table,
        rejects=parsed.rejects,
        received=records.received,
    )


def _lead_id(raw: bytes) -> str | None:
    """The ``leadId`` of a record if it is a non-empty string, else None."""
    try:
        value = _LEAD_ID.decode(raw).leadId
    except msgspec.DecodeError:  # not an object (ValidationError is a DecodeError)
        return None
    return value if isinstance(value, str) and value else None
