"""HTTP handling of the KPro sandbox: one route, auth, faults, export and import.

:func:`handle` answers every request of the sandbox application; the state it works on
(configuration, lead store, logs) is a :class:`SandboxState` kept in the application under
:data:`STATE`. See :mod:`leadkit.systems.kpro.simulator` for the public entry points.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, unquote_plus, urlencode

import orjson
import polars as pl
from aiohttp import web

from leadkit.errors import QueryError
from leadkit.query import compile_query
from leadkit.sandbox import reset_connection
from leadkit.systems.kpro.dataset import FRAME_SCHEMA
from leadkit.systems.kpro.importing import INVALID_MESSAGE, lead_row, validate_lead
from leadkit.systems.kpro.store import KPRO_FIELDS, LeadStore

if TYPE_CHECKING:
    from leadkit.systems.kpro.simulator import KProSandboxConfig

__all__ = [
    "FAULT_KINDS",
    "LEADS_PATH",
    "STATE",
    "FaultKind",
    "ImportedLead",
    "RequestRecord",
    "SandboxState",
    "handle",
]

LEADS_PATH = "/api/bulk/open/leads"
"""The only path the sandbox serves."""

FaultKind = Literal["500", "503", "429", "reset"]
FAULT_KINDS: tuple[FaultKind, ...] = ("500", "503", "429", "reset")
"""Injectable faults: status 500, 503, 429 (with ``Retry-After``), or a connection reset."""


@dataclass(frozen=True)
class RequestRecord:
    """One request the sandbox received.

    Attributes:
        method: ``GET``, ``POST``…
        path: the URL path.
        query: decoded query parameters in order, without ``api_key``.
        status: the status answered, or None when the connection was reset.
        fault: the fault injected, if any.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    status: int | None
    fault: FaultKind | None = None


@dataclass(frozen=True)
class ImportedLead:
    """One lead of an accepted import batch.

    Attributes:
        payload: the lead as sent.
        status: ``created`` (stored as lead ``lead_id``) or ``duplicate`` (its
            ``externalRef`` was imported before with this key, as lead ``lead_id``).
        lead_id: the KPro id of the stored lead.
    """

    payload: dict[str, Any]
    status: Literal["created", "duplicate"]
    lead_id: int


@dataclass
class SandboxState:
    """What the handlers work on: the live configuration, the leads and the logs."""

    config: KProSandboxConfig
    store: LeadStore
    rng: random.Random
    requests: list[RequestRecord] = field(default_factory=list)
    imported: list[ImportedLead] = field(default_factory=list)
    refs: dict[str, dict[str, int]] = field(default_factory=dict)  # key → externalRef → id


STATE = web.AppKey("kpro_sandbox_state", SandboxState)
"""Where the application keeps its :class:`SandboxState`."""


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=orjson.dumps(body), content_type="application/json", headers=headers
    )


def _pairs(raw_query: str) -> list[tuple[str, str]]:
    pairs = []
    for piece in raw_query.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def _page_url(base: str, pairs: Sequence[tuple[str, str]], page: int) -> str:
    """``base`` with every parameter of the request, ``page`` replaced (or appended)."""
    out: list[tuple[str, str]] = []
    for name, value in pairs:
        if name != "page":
            out.append((name, value))
        elif all(n != "page" for n, _ in out):
            out.append(("page", str(page)))
    if all(n != "page" for n, _ in out):
        out.append(("page", str(page)))
    return f"{base}?{urlencode(out, safe='', quote_via=quote)}"


def _fault(state: SandboxState, request: web.Request) -> tuple[web.Response | None, FaultKind]:
    kind = state.rng.choice(state.config.fault_kinds)
    if kind == "reset":
        reset_connection(request)
        return None, kind
    if kind == "429":
        headers = {"Retry-After": str(state.config.retry_after_s)}
        return _json(429, {"message": "Too Many Attempts."}, headers), kind
    message = "Server Error" if kind == "500" else "Service Unavailable"
    return _json(int(kind), {"message": message}), kind


async def handle(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    config = state.config
    pairs = _pairs(request.rel_url.raw_query_string)
    logged = tuple((k, v) for k, v in pairs if k != "api_key")
    fault: FaultKind | None = None
    response: web.Response | None
    if config.latency_s:
        await asyncio.sleep(config.latency_s)
    if request.path != LEADS_PATH:
        response = _json(404, {"message": "Not Found"})
    elif request.method not in ("GET", "HEAD", "POST"):
        message = f"The {request.method} method is not supported for this route. "
        response = _json(405, {"message": message + "Supported methods: GET, HEAD, POST."})
    elif next((v for k, v in pairs if k == "api_key"), None) not in config.api_keys:
        response = _json(401, {"message": "Unauthenticated."})
    elif config.fault_rate and state.rng.random() < config.fault_rate:
        response, fault = _fault(state, request)
    elif request.method in ("GET", "HEAD"):
        response = _export(state, request, pairs)
    else:
        api_key = next(v for k, v in pairs if k == "api_key")
        response = _import(state, api_key, await request.read())
    status = None if response is None else response.status
    state.requests.append(RequestRecord(request.method, request.path, logged, status, fault))
    return response if response is not None else web.Response(status=500)


def _export(
    state: SandboxState, request: web.Request, pairs: list[tuple[str, str]]
) -> web.Response:
    store = state.store
    if state.config.grow_per_request:
        store.add_generated(state.config.grow_per_request)
    try:
        bound = compile_query(
            request.rel_url.raw_query_string,
            KPRO_FIELDS,
            default_size=100,
            max_size=1000,
            default_sort="-createdAt",
            ignore={"api_key"},
            extensions=False,
        )
    except QueryError as exc:
        return _json(400, exc.to_dict())
    positions = store.order(bound)
    total, page, size = len(positions), bound.page, bound.size
    rows = positions.slice(min(bound.offset, total), size)
    last_page = max(1, -(-total // size))
    base = f"{request.scheme}://{request.host}{request.path}"
    pagination = {
        "currentPage": page,
        "perPage": size,
        "total": total,
        "from": bound.offset + 1 if len(rows) else None,
        "to": bound.offset + len(rows) if len(rows) else None,
        "lastPage": last_page,
    }
    links = {
        "first": _page_url(base, pairs, 1),
        "prev": _page_url(base, pairs, page - 1) if page > 1 else None,
        "next": _page_url(base, pairs, page + 1) if page < last_page else None,
        "last": _page_url(base, pairs, last_page),
    }
    body = b"".join(
        (
            b'{"data":[',
            store.render(rows).encode(),
            b'],"pagination":',
            orjson.dumps(pagination),
            b',"links":',
            orjson.dumps(links),
            b"}",
        )
    )
    return web.Response(body=body, content_type="application/json")


def _import(state: SandboxState, api_key: str, raw: bytes) -> web.Response:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = f"the request body is not valid JSON: {exc}"
        return _json(400, {"message": "Malformed JSON body.", "errors": {"body": [reason]}})
    leads = body.get("data") if isinstance(body, dict) else None
    if not isinstance(leads, list) or not leads:
        return _json(422, {"message": "The data field is required.", "errors": []})
    if state.config.max_batch is not None and len(leads) > state.config.max_batch:
        return _json(422, {"message": "Too many leads", "errors": []})
    checked = [validate_lead(lead) for lead in leads]
    failures = [
        {"customerEmail": lead.get("email") if isinstance(lead, dict) else None, "errors": errors}
        for lead, (_, errors) in zip(leads, checked, strict=True)
        if errors
    ]
    if failures:
        return _json(422, {"message": INVALID_MESSAGE, "errors": failures})
    return _json(201, {"data": _store_imports(state, api_key, leads, [c for c, _ in checked])})


def _store_imports(
    state: SandboxState, api_key: str, leads: list[Any], cleans: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Store the new leads of a valid batch; return the per-lead answer."""
    store = state.store
    refs = state.refs.setdefault(api_key, {})
    now = datetime.now(UTC).replace(microsecond=0)
    emails = list({c["email"] for c in cleans})
    known = (
        store.frame.filter(pl.col("email").is_in(emails))
        .unique("email", keep="first", maintain_order=True)
        .select("email", "customerId")
        .rows()
    )
    customers: dict[str, int] = dict(known)
    rows: list[dict[str, Any]] = []
    answer: list[dict[str, Any]] = []
    for lead, clean in zip(leads, cleans, strict=True):
        ref = None if clean["externalRef"] is None else str(clean["externalRef"])
        if ref is not None and ref in refs:
            lead_id = refs[ref]
            status: Literal["created", "duplicate"] = "duplicate"
        else:
            lead_id, status = store.next_id + len(rows), "created"
            if clean["email"] not in customers:
                customers[clean["email"]] = store.next_customer_id
                store.next_customer_id += 1
            rows.append(
                lead_row(
                    clean,
                    lead_id=lead_id,
                    customer_id=customers[clean["email"]],
                    created_at=now,
                    catalog=store.catalog,
                )
            )
            if ref is not None:
                refs[ref] = lead_id
        state.imported.append(ImportedLead(lead, status, lead_id))
        answer.append(
            {
                "id": lead_id,
                "externalRef": lead.get("externalRef"),
                "email": lead.get("email"),
                "status": status,
            }
        )
    store.add_rows(pl.DataFrame(rows, schema=dict(FRAME_SCHEMA)))
    return answer
