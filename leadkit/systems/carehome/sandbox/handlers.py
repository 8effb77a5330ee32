"""HTTP handling of the carehome sandbox: ``GET /api/leads/`` (and ``/api/leads``).

Query parameters (spec §1): ``api_key``; ``dateFrom``/``dateTo`` (``yyyy-mm-dd``, ``dateTo``
covers the whole day); ``dateTimeFrom``/``dateTimeTo`` (``yyyy-mm-ddThh:mm:ss``, inclusive,
compared at millisecond precision); ``isAnonymised`` (``true``/``false``, any case; absent =
false); ``categoryId`` (1–8; comma lists only with ``multi_category``); ``serviceId``. All
given bounds apply together. Numbers and dates take ASCII digits only; a repeated parameter
is one comma list (``categoryId=1&categoryId=2`` = ``1,2``). Unknown parameters are ignored.

Every failure is HTTP 500 ``{"message": ...}`` (spec §4): ``Invalid API key``,
``Invalid <param>``, ``Not found``, ``Method not allowed``; injected faults are 500
``Internal error`` or a proxy's 502/503 page.

Example:
    >>> parse_query({"api_key": "k", "dateTimeFrom": "2024-01-01T00:00:00",
    ...              "isAnonymised": "True", "categoryId": "2"}, multi_category=False)
    Query(low_ms=1704067200000, high_ms=None, anonymised=True, categories=(2,), service=None)
    >>> parse_query({"dateTo": "2024-02-30"}, multi_category=False)
    Traceback (most recent call last):
    ...
    leadkit.systems.carehome.sandbox.handlers.BadParameter: dateTo
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
from aiohttp import web

from leadkit.systems.carehome.sandbox.config import CarehomeSandboxConfig
from leadkit.systems.carehome.sandbox.dataset import LeadFactory, LeadStore, StoredLead

__all__ = [
    "CLIENT_GONE",
    "LEADS_PATHS",
    "STATE",
    "BadParameter",
    "Query",
    "RequestRecord",
    "SandboxState",
    "handle",
    "malform",
    "parse_query",
]

LEADS_PATHS = ("/api/leads/", "/api/leads")

CLIENT_GONE = 499
"""Status logged for a request whose client went away before the answer (a timeout)."""

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DATETIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$")
_DIGITS = re.compile(r"^[0-9]+$")
_ON_BEHALF = re.compile(rb'"onBehalfOf": "((?:[^"\\]|\\.)*)"')
_LQUOTE, _RQUOTE = "“".encode(), "”".encode()


class BadParameter(ValueError):
    """A query parameter the API would refuse (its name is the message)."""


@dataclass(frozen=True)
class Query:
    """A validated leads query (bounds in epoch milliseconds, inclusive)."""

    low_ms: int | None
    high_ms: int | None
    anonymised: bool
    categories: tuple[int, ...] | None
    service: int | None


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox saw it (the API key is never kept).

    Attributes:
        method: HTTP method.
        path: the path.
        params: query parameters except ``api_key``.
        status: the status answered.
        leads: leads in a 200 answer.
        key_ok: whether the ``api_key`` was accepted.
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    status: int
    leads: int = 0
    key_ok: bool = False


@dataclass
class SandboxState:
    """The running sandbox: its configuration, leads, request log and random source."""

    config: CarehomeSandboxConfig
    store: LeadStore
    factory: LeadFactory
    rng: random.Random
    requests: list[RequestRecord] = field(default_factory=list)


STATE = web.AppKey("carehome_state", SandboxState)


def _ms(when: datetime) -> int:
    return int(when.replace(tzinfo=UTC).timestamp() * 1000)


def _parse_date(name: str, value: str) -> datetime:
    if not _DATE.match(value):
        raise BadParameter(name)
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise BadParameter(name) from None


def _parse_datetime(name: str, value: str) -> datetime:
    if not _DATETIME.match(value):
        raise BadParameter(name)
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise BadParameter(name) from None


def _int(name: str, value: str) -> int:
    if not _DIGITS.match(value.strip()):  # ASCII digits only ("²".isdigit() is True)
        raise BadParameter(name)
    return int(value)


def parse_query(params: Mapping[str, str], *, multi_category: bool) -> Query:
    """Validate the parameters (except the key) as the API does.

    Raises:
        BadParameter: the first invalid parameter, by name.
    """
    lows: list[int] = []
    highs: list[int] = []
    if "dateFrom" in params:
        lows.append(_ms(_parse_date("dateFrom", params["dateFrom"])))
    if "dateTo" in params:
        day = _parse_date("dateTo", params["dateTo"]) + timedelta(days=1)
        highs.append(_ms(day) - 1)
    if "dateTimeFrom" in params:
        lows.append(_ms(_parse_datetime("dateTimeFrom", params["dateTimeFrom"])))
    if "dateTimeTo" in params:
        highs.append(_ms(_parse_datetime("dateTimeTo", params["dateTimeTo"])))
    anonymised = False
    if "isAnonymised" in params:
        flag = params["isAnonymised"].strip().lower()
        if flag not in ("true", "false"):
            raise BadParameter("isAnonymised")
        anonymised = flag == "true"
    categories: tuple[int, ...] | None = None
    if "categoryId" in params:
        parts = params["categoryId"].split(",")
        if len(parts) > 1 and not multi_category:
            raise BadParameter("categoryId")
        categories = tuple(_int("categoryId", p) for p in parts)
        if any(not 1 <= c <= 8 for c in categories):
            raise BadParameter("categoryId")
    service = _int("serviceId", params["serviceId"]) if "serviceId" in params else None
    return Query(
        max(lows) if lows else None, min(highs) if highs else None, anonymised, categories, service
    )


def select(store: LeadStore, query: Query) -> list[StoredLead]:
    """The leads a query matches, oldest first."""
    out = []
    for lead in store.between(query.low_ms, query.high_ms):
        if lead.anonymised != query.anonymised:
            continue
        if query.categories is not None and lead.category not in query.categories:
            continue
        if query.service is not None and lead.service != query.service:
            continue
        out.append(lead)
    return out


def malform(body: bytes) -> bytes:
    """The body with curly quotes around each ``onBehalfOf`` value, like the documentation's
    category 3 and 4 examples: invalid JSON (spec Q5).

    Example:
        >>> malform(b'[{"onBehalfOf": "[\\'Myself\\']"}]').decode()
        '[{"onBehalfOf": “[\\'Myself\\']”}]'
    """
    out = _ON_BEHALF.sub(lambda m: b'"onBehalfOf": ' + _LQUOTE + m.group(1) + _RQUOTE, body)
    if out == body:
        return b'[{"id": 0, "onBehalfOf": ' + _LQUOTE + b"[]" + _RQUOTE + b"}]"
    return out


def _message(message: str, status: int = 500) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps({"message": message}),
        content_type="application/json",
    )


def _fault(kind: str) -> web.Response:
    if kind == "500":
        return _message("Internal error")
    reason = "Bad Gateway" if kind == "502" else "Service Unavailable"
    html = f"<html><body><h1>{kind} {reason}</h1></body></html>"
    return web.Response(status=int(kind), text=html, content_type="text/html")


async def handle(request: web.Request) -> web.StreamResponse:
    """Answer one request (every path)."""
    state = request.app[STATE]
    config = state.config
    # A repeated parameter counts as one comma list: ``categoryId=1&categoryId=2`` is the
    # list ``1,2`` (refused without ``multi_category``), a repeated date is invalid.
    params = {k: ",".join(request.query.getall(k)) for k in request.query}
    key_ok = params.get("api_key") in config.api_keys
    shown = tuple((k, v) for k, v in request.query.items() if k != "api_key")
    if config.latency_s:
        await asyncio.sleep(config.latency_s)

    def log(response: web.Response, leads: int = 0) -> web.Response:
        state.requests.append(
            RequestRecord(request.method, request.path, shown, response.status, leads, key_ok)
        )
        return response

    if request.path not in LEADS_PATHS:
        return log(_message("Not found"))
    if request.method != "GET":
        return log(_message("Method not allowed"))
    if config.fault_rate and state.rng.random() < config.fault_rate:
        return log(_fault(state.rng.choice(config.fault_kinds)))
    if not key_ok:
        return log(_message("Invalid API key"))
    try:
        query = parse_query(params, multi_category=config.multi_category)
    except BadParameter as exc:
        return log(_message(f"Invalid {exc}"))
    leads = select(state.store, query)
    if config.max_results is not None and len(leads) > config.max_results:
        return log(_message("Too many leads in the requested range; narrow the dates"))
    if config.slow_over is not None and len(leads) > config.slow_over:
        try:
            await asyncio.sleep(config.slow_s)
        except asyncio.CancelledError:  # the client gave up (timed out): still logged
            log(web.Response(status=CLIENT_GONE), len(leads))
            raise
    body = b"[" + b", ".join(lead.json for lead in leads) + b"]"
    if config.envelope:
        body = b'{"data": ' + body + b', "error": []}'
    if config.malformed_rate and state.rng.random() < config.malformed_rate:
        body = malform(body)
    response = web.Response(status=200, body=body, content_type="application/json")
    return log(response, len(leads))
