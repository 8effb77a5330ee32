"""KPro Marketing source: extract every lead from ``GET /api/bulk/open/leads``.

How a run pages (spec §3, §4, quirks Q3–Q5, Q8, Q16):

1. Ask for page 1 in **ascending** ``createdAt`` order (``sort=createdAt``) with
   ``size=page_size`` and, on an incremental run, ``createdAt.gte=<cursor − overlap>``
   (minute precision, UTC). Ascending order matters: with the API's default
   ``-createdAt``, a lead created while we page pushes every later page down by one, so
   pages overlap and the last lead of each page is missed (page drift). Ascending, new
   leads only ever append at the end.
2. Learn ``pagination.total`` from the envelope, then fetch pages 2…lastPage concurrently,
   at most ``concurrency`` in flight. Next pages are computed from page numbers, never from
   the ``links`` URLs (they carry the API key).
3. If a response reports a larger total than planned (leads arrived meanwhile), keep
   fetching the following pages one by one until a page comes back short.

The cursor is the ``createdAt`` of the newest committed lead. Incremental runs cannot see a
lead whose fields changed without a new ``createdAt`` (``updatedAt`` is not filterable,
Q3): run ``leadkit extract --full-refresh`` periodically to pick those changes up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar

import msgspec

from leadkit.engine.http import HttpClient
from leadkit.engine.paging import PageNumberPaging, fan_out
from leadkit.errors import SourceError
from leadkit.systems.base import Page, RunContext, Source, TableSpec
from leadkit.systems.kpro.models import parse_raw_page
from leadkit.systems.kpro.settings import KProSettings

__all__ = ["KProSource", "kpro_since_filter", "parse_envelope"]

#: Stop following a growing total after this many extra pages in one run.
MAX_EXTRA_PAGES = 10_000

#: Pages fetched and waiting to be parsed, beyond the ``concurrency`` requests in flight.
PARSE_BACKLOG = 4


def kpro_since_filter(cursor: str, overlap_s: int) -> str:
    """The ``createdAt.gte`` value for an incremental run: cursor − overlap, floored to the minute.

    Example:
        >>> kpro_since_filter("2021-03-10T14:05:31+00:00", 3600)
        '2021-03-10 13:05'
    """
    when = datetime.fromisoformat(cursor) - timedelta(seconds=overlap_s)
    return when.strftime("%Y-%m-%d %H:%M")


class KProSource(Source):
    """Pull leads from one KPro Marketing account."""

    system = "kpro"
    tables: ClassVar[Sequence[TableSpec]] = ()  # set in leadkit.systems.kpro.__init__

    settings: KProSettings

    def __init__(self, name: str, settings: KProSettings) -> None:
        super().__init__(name, settings)
        self.settings = settings

    def secrets(self) -> list[str]:
        return [self.settings.api_key.get_secret_value()]

    @property
    def url(self) -> str:
        return self.settings.base_url.rstrip("/") + "/" + self.settings.path.lstrip("/")

    async def pages(self, ctx: RunContext) -> AsyncIterator[Page]:
        s = self.settings
        http = HttpClient(
            ctx.session,
            source=self.name,
            redactor=ctx.redactor,
            max_retries=s.max_retries,
            log=ctx.log,
            backoff_initial_s=s.backoff_initial_s,
            stats=ctx.stats,
        )
        params: list[tuple[str, str]] = [
            ("api_key", s.api_key.get_secret_value()),
            ("sort", s.sort),
            ("size", str(s.page_size)),
        ]
        if ctx.cursor:
            params.append(("createdAt.gte", kpro_since_filter(ctx.cursor, s.overlap_s)))
        paging = PageNumberPaging(per_page=s.page_size)
        seen_total = 0
        # A request slot is given back as soon as the body is in: a page waiting for a
        # parsing slot does not keep the next request from going out.
        requests = asyncio.Semaphore(s.concurrency)

        async def fetch(number: int) -> tuple[Page, int]:
            async with requests:
                resp = await http.request("GET", self.url, params=[*params, ("page", str(number))])
            return await ctx.cpu(
                parse_envelope,
                resp.body,
                number,
                source=self.name,
                run_id=ctx.run_id,
                extracted_at=ctx.extracted_at,
                shown_url=resp.url,
            )

        first, total = await fetch(1)
        seen_total = total
        ctx.on_total(total)
        yield first
        planned = paging.remaining_pages(total)
        jobs: list[Callable[[], Coroutine[Any, Any, tuple[Page, int]]]] = [
            partial(fetch, n) for n in planned
        ]
        in_progress = s.concurrency + PARSE_BACKLOG
        async for page, page_total in fan_out(jobs, concurrency=in_progress, stop=ctx.stop):
            seen_total = max(seen_total, page_total)
            yield page
        # Leads created while we paged sort after everything else: follow them.
        number = paging.last_page(total) + 1
        extra = 0
        while not ctx.stop.is_set() and seen_total > (number - 1) * s.page_size:
            extra += 1
            if extra > MAX_EXTRA_PAGES:
                ctx.log.warning("%s: stopped following new leads after %d pages", self.name, extra)
                break
            ctx.on_total(seen_total)
            page, page_total = await fetch(number)
            seen_total = max(seen_total, page_total)
            yield page
            if page.received < s.page_size:
                break
            number += 1


class _Envelope(msgspec.Struct):
    """The export envelope (spec §3.2): ``data`` split into records without decoding them;
    ``links`` is not read (it carries the API key)."""

    data: list[msgspec.Raw]
    pagination: dict[str, Any]


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def parse_envelope(
    body: bytes,
    number: int,
    *,
    source: str,
    run_id: str,
    extracted_at: datetime,
    shown_url: str,
) -> tuple[Page, int]:
    """Parse one export response into a :class:`Page` and the envelope's total.

    A module-level function of plain arguments, so the engine can run it in a worker
    process.
    """
    context = f"page {number}"
    try:
        envelope = _ENVELOPE.decode(body)
        total = int(envelope.pagination["total"])
    except (msgspec.DecodeError, KeyError, TypeError, ValueError) as exc:
        raise SourceError(
            f"{source}: {context} is not the documented envelope "
            f"({type(exc).__name__}: {exc}); first bytes: {body[:120]!r}",
            source=source,
            url=shown_url,
        ) from exc
    # Each record stays undecoded JSON text: polars reads the page's records in one call,
    # and ``_raw`` keeps them exactly as sent.
    parsed = parse_raw_page(
        [bytes(raw) for raw in envelope.data],
        source=source,
        run_id=run_id,
        extracted_at=extracted_at,
        context=context,
    )
    cursor = parsed.max_created_at.isoformat() if parsed.max_created_at else None
    page = Page(
        seq=number - 1,
        frame=parsed.frame,
        table="kpro_leads",
        rejects=parsed.rejects,
        cursor=cursor,
        received=len(envelope.data),
    )
    return page, total
