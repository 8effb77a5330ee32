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
4. Responses are merged into engine pages of about :data:`BATCH_LEADS` leads (one commit
   per 100-lead response would make the warehouse writer the bottleneck).
5. There is no date filter (Q3), so every run is a full scan; the engine upserts on
   ``(_source, lead_id)``, counts inserted / updated / unchanged by the record's
   fingerprint, and — when the scan was provably complete (``ctx.scan_stable``) — flags the
   leads it did not see as vanished (``_vanished_at``) and un-flags those that came back.

Incoming leads go to ``ovipro_leads``, outgoing leads (``include_outgoing``) to
``ovipro_outgoing_leads``; the two scans run one after the other.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

import orjson

from leadkit.engine.http import HttpClient
from leadkit.engine.paging import fan_out
from leadkit.errors import SourceAuthError, SourceError
from leadkit.systems.base import Page, RunContext, Source, TableSpec
from leadkit.systems.ovipro.auth import OviProAuth
from leadkit.systems.ovipro.models import Endpoint, parse_page, shape_of
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


def new_request_id() -> str:
    """A fresh ``Request-ID``: a lowercase RFC 4122 uuid4 (spec §3).

    Example:
        >>> import re
        >>> pattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
        >>> bool(re.match(pattern, new_request_id())), new_request_id() != new_request_id()
        (True, True)
    """
    return str(uuid.uuid4())


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

        try:
            for endpoint in self.endpoints():
                async for page in self._scan(ctx, http, endpoint, seq, unstable, announce):
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
    ) -> AsyncIterator[Page]:
        s = self.settings
        url = s.url(endpoint)
        shape = shape_of(endpoint)
        scan = OffsetScan(s.page_size)

        async def fetch(offset: int) -> tuple[list[Any], Edge]:
            params = [("startIndex", str(offset)), ("size", str(s.page_size)), ("sort", SORT)]
            resp = await http.request(
                "GET", url, params=params, headers={"Accept": "application/json", **self._key()}
            )
            return await ctx.cpu(
                read_response, resp.body, endpoint, offset, source=self.name, shown_url=resp.url
            )

        buffer: list[Any] = []
        offsets: list[int] = []

        def settle(records: list[Any], edge: Edge) -> None:
            drop = scan.add(edge)
            if drop and records and _lead_id(records[-1]) in drop:
                records = records[:-1]
            if drop and records and _lead_id(records[0]) in drop:
                records = records[1:]
            buffer.extend(records)
            offsets.append(edge.offset)

        async def take() -> Page:
            context = f"{shape.table} startIndex={min(offsets)}..{max(offsets)}"
            page = await ctx.cpu(
                build_page,
                list(buffer),
                endpoint,
                context,
                source=self.name,
                run_id=ctx.run_id,
                extracted_at=ctx.extracted_at,
            )
            page.seq = next(seq)
            buffer.clear()
            offsets.clear()
            return page

        records, edge = await fetch(0)
        expected = edge.total
        announce(endpoint, expected)
        settle(records, edge)
        jobs: list[Callable[[], Coroutine[Any, Any, tuple[list[Any], Edge]]]] = [
            partial(fetch, offset) for offset in scan.planned(edge.total)
        ]
        async for records, edge in fan_out(jobs, concurrency=s.concurrency, stop=ctx.stop):
            settle(records, edge)
            if len(buffer) >= BATCH_LEADS:
                yield await take()
        # The list grew while we read it: follow it to the end.
        extra = 0
        while not ctx.stop.is_set() and (offset := scan.follow()) is not None:
            extra += 1
            if extra > MAX_EXTRA_PAGES:
                unstable.append(f"{shape.table}: stopped following new leads after {extra} pages")
                break
            records, edge = await fetch(offset)
            if edge.total > expected:
                expected = edge.total
                announce(endpoint, expected)
            settle(records, edge)
            if len(buffer) >= BATCH_LEADS:
                yield await take()
        if offsets:
            # The rest, and at least one page per endpoint (even an empty one): it tells the
            # engine this table was scanned.
            yield await take()
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


def read_response(
    body: bytes, endpoint: Endpoint, offset: int, *, source: str, shown_url: str
) -> tuple[list[Any], Edge]:
    """Decode one list response: its ``leads`` and the :class:`Edge` the scan needs.

    Raises:
        SourceError: the body is not the documented ``{totalCount, leads}`` object.
    """
    context = f"{shape_of(endpoint).table} startIndex={offset}"
    try:
        envelope = orjson.loads(body)
        records = envelope["leads"]
        total = envelope["totalCount"]
        if not isinstance(records, list):
            raise TypeError("leads is not an array")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise TypeError(f"totalCount is {total!r}, not a count")
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise SourceError(
            f"{source}: {context} is not the documented {{totalCount, leads}} response "
            f"({type(exc).__name__}: {exc}); first bytes: {body[:120]!r}",
            source=source,
            url=shown_url,
        ) from exc
    edge = Edge(
        offset=offset,
        count=len(records),
        total=total,
        first=_lead_id(records[0]) if records else None,
        last=_lead_id(records[-1]) if records else None,
    )
    return records, edge


def build_page(
    records: list[Any],
    endpoint: Endpoint,
    context: str,
    *,
    source: str,
    run_id: str,
    extracted_at: datetime,
) -> Page:
    """Parse the leads of one or more responses into one :class:`Page` (``seq`` unset).

    Module-level functions of plain arguments, so the engine can run them in a worker
    process.
    """
    parsed = parse_page(
        records, endpoint, source=source, run_id=run_id, extracted_at=extracted_at, context=context
    )
    return Page(
        seq=-1,
        frame=parsed.frame,
        table=shape_of(endpoint).table,
        rejects=parsed.rejects,
        received=len(records),
    )


def _lead_id(record: Any) -> str | None:
    value = record.get("leadId") if isinstance(record, dict) else None
    return value if isinstance(value, str) and value else None
