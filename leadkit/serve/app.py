"""The aiohttp application behind ``leadkit serve``: read-only, one filter language.

Routes (all GET; HEAD works too):

* ``/api/tables`` — the tables and views, with their URLs;
* ``/api/{table}`` — one page of ``table`` in KPro's envelope (§3.2 of the KPro spec),
  columns as the warehouse names them (snake_case);
* ``/api/bulk/open/leads`` — KPro's own path, reading ``kpro_leads`` with the keys of the
  rows in KPro's camelCase, so a KPro client can point at leadkit.

Every route needs ``api_key=<[serve] api_key>`` in the query string (unless the server was
started with ``no_auth``); a missing or wrong key gets 401 ``{"message": "Unauthenticated."}``.
A bad query gets 400 with ``QueryError.to_dict()``: ``{"message": ..., "errors": {param:
[...]}}``; an unknown table or path 404 and another method 405, in the same JSON shape.
Requests read the warehouse through one :class:`~leadkit.serve.reader.SharedReader`: a
read-only connection kept open between requests (each request gets a cursor of it, in a
worker thread, so the event loop never waits for DuckDB), given up while an extract waits to
write, so the server keeps answering while an extract writes.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar
from urllib.parse import parse_qsl, quote

import orjson
from aiohttp import web

from leadkit.errors import QueryError, WarehouseBusyError, WarehouseError
from leadkit.serve.encoding import rows_json
from leadkit.serve.envelope import AUTH_PARAM, page_links, pagination
from leadkit.serve.reader import SharedReader
from leadkit.storage.queries import UnknownTableError, query_table
from leadkit.storage.warehouse import Warehouse

__all__ = ["DEFAULT_THREADS", "KPRO_PATH", "KPRO_TABLE", "READER", "create_app"]

log = logging.getLogger("leadkit.serve")

KPRO_PATH = "/api/bulk/open/leads"
"""KPro's export path, served from :data:`KPRO_TABLE`."""

KPRO_TABLE = "kpro_leads"

DEFAULT_THREADS = 8
"""Worker threads running queries (DuckDB and the JSON encoding release the GIL)."""

READER = web.AppKey("reader", SharedReader)
"""The app's :class:`~leadkit.serve.reader.SharedReader` (``app[READER]``)."""
_POOL = web.AppKey("pool", ThreadPoolExecutor)
_API_KEY = web.AppKey("api_key", str)
_ENDPOINTS = f"GET /api/tables, /api/{{table}} or {KPRO_PATH}"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def create_app(
    warehouse: Warehouse,
    *,
    api_key: str | None,
    no_auth: bool = False,
    threads: int = DEFAULT_THREADS,
    row_cache_mb: int = 256,
    order_cache_mb: int = 64,
) -> web.Application:
    """The application serving ``warehouse``.

    Args:
        warehouse: the warehouse to read.
        api_key: the key clients must send as ``api_key``.
        no_auth: serve without a key (only when ``api_key`` is None; for local use).
        threads: worker threads running the queries.
        row_cache_mb: rows kept in memory between requests (``[serve] row_cache_mb``).
        order_cache_mb: sort orders kept for clients paging (``[serve] order_cache_mb``).

    Raises:
        ValueError: no ``api_key`` and not ``no_auth``, or both.
    """
    if (api_key is None) != no_auth:
        raise ValueError("give exactly one of api_key or no_auth=True")
    app = web.Application(middlewares=[_guard])
    app[READER] = SharedReader(warehouse, row_cache_mb=row_cache_mb, order_cache_mb=order_cache_mb)
    app[_POOL] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="leadkit-serve")
    app[_API_KEY] = api_key or ""
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    app.router.add_get("/api/tables", _tables)
    app.router.add_get(KPRO_PATH, _kpro)
    app.router.add_get("/api/{table}", _table)
    return app


async def _start(app: web.Application) -> None:
    app[READER].start()


async def _stop(app: web.Application) -> None:
    await asyncio.get_running_loop().run_in_executor(None, app[READER].close)
    app[_POOL].shutdown(wait=False)


async def _in_pool(request: web.Request, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a worker thread: the event loop never waits for DuckDB."""
    return await asyncio.get_running_loop().run_in_executor(request.app[_POOL], fn)


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown path → 404, wrong method → 405, then the key, then errors as JSON."""
    problem = request.match_info.http_exception
    if isinstance(problem, web.HTTPMethodNotAllowed):
        message = f"The {request.method} method is not supported: this server is read-only."
        return _json(405, {"message": message + " Use GET."}, {"Allow": "GET, HEAD"})
    if problem is not None:
        message = f"Not Found: {request.path}. Endpoints: {_ENDPOINTS}."
        return _json(404, {"message": message})
    expected = request.app[_API_KEY]
    if expected:
        given = [v for k, v in _pairs(request) if k == AUTH_PARAM]
        if len(given) != 1 or not hmac.compare_digest(given[0].encode(), expected.encode()):
            return _json(401, {"message": "Unauthenticated."})
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("request failed: %s %s", request.method, request.path)
        return _json(500, {"message": "Server Error"})


def _pairs(request: web.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True)


async def _tables(request: web.Request) -> web.Response:
    try:
        tables = await _in_pool(request, request.app[READER].tables)
    except WarehouseError as exc:
        return _unavailable(exc)
    base = f"{request.scheme}://{request.host}/api/"
    data = [{"name": t, "url": base + quote(t, safe="")} for t in tables]
    return _json(200, {"data": data})


async def _table(request: web.Request) -> web.Response:
    return await _page(request, request.match_info["table"], camel=False)


async def _kpro(request: web.Request) -> web.Response:
    return await _page(request, KPRO_TABLE, camel=True)


async def _page(request: web.Request, table: str, *, camel: bool) -> web.Response:
    reader = request.app[READER]
    raw = request.rel_url.raw_query_string
    base = f"{request.scheme}://{request.host}{request.path}"

    def work() -> bytes:
        pairs = _pairs(request)
        key = (table, camel, base, tuple(p for p in pairs if p[0] != AUTH_PARAM))
        with reader.cursor() as cur:
            # What the open connection answered stays true while it is open (see reader.py).
            memo = reader.memo
            body: bytes | None = memo.get(key)
            if body is not None:
                return body
            result = query_table(
                cur,
                raw,
                table,
                ignore=(AUTH_PARAM,),
                directory=reader.directory,
                counts=memo,
                rows=reader.rows,
                utc=True,  # the reader sets it when it opens the file
            )
            counts = pagination(
                page=result.page, size=result.size, total=result.total, rows=result.frame.height
            )
            links = page_links(base, pairs, result.page, result.pages)
            body = b"".join(
                (
                    b'{"data":',
                    rows_json(result.frame, camel=camel),
                    b',"pagination":',
                    orjson.dumps(counts),
                    b',"links":',
                    orjson.dumps(links),
                    b"}",
                )
            )
            memo[key] = body
            return body

    try:
        body = await _in_pool(request, work)
    except UnknownTableError as exc:
        return _json(404, exc.to_dict())
    except QueryError as exc:
        return _json(400, exc.to_dict())
    except WarehouseError as exc:
        return _unavailable(exc)
    return web.Response(body=body, content_type="application/json")


def _unavailable(exc: WarehouseError) -> web.Response:
    """503 without the warehouse's path or DuckDB's text (those go to the log)."""
    log.warning("warehouse unavailable: %s", exc)
    if isinstance(exc, WarehouseBusyError):
        message = "The warehouse is busy; retry shortly."
        return _json(503, {"message": message}, {"Retry-After": "1"})
    return _json(503, {"message": "The warehouse is not available; see the server's log."})
