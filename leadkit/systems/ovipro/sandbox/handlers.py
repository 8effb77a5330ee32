"""HTTP handling of the OviPro sandbox: routing, the checks every request passes, endpoints.

:func:`handle` answers every request. In order: the route (unknown → 404 ``NOT_FOUND``),
the ``Request-ID`` header (missing or not a lowercase uuid → 400
``BAD_REQUEST_PARAMETERS``), the optional ``x-api-key`` (→ 404 ``INVALID_API_KEY``), the
in-flight limit (→ 429), injected faults, then the token endpoint or the bearer token
(→ 401 ``UNAUTHORIZED``) and the endpoint itself. Every answer echoes the request's
``Request-ID``. The state (configuration, data, logs) is a :class:`SandboxState` kept in
the application under :data:`STATE`; see :mod:`leadkit.systems.ovipro.sandbox.simulator`
for the public entry points.
"""

from __future__ import annotations

import asyncio
import hmac
import random
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson
from aiohttp import web

from leadkit.sandbox import reset_connection
from leadkit.systems.ovipro.sandbox.bodies import (
    BodyError,
    StatusError,
    apply_update,
    build_incoming,
    build_outgoing,
)
from leadkit.systems.ovipro.sandbox.config import FaultKind
from leadkit.systems.ovipro.sandbox.dataset import LeadFactory, World, random_uuid
from leadkit.systems.ovipro.sandbox.params import UUID_PATTERN, error_entry, parse_list_query
from leadkit.systems.ovipro.sandbox.responses import error, json_response
from leadkit.systems.ovipro.sandbox.store import Kind, LeadStore
from leadkit.systems.ovipro.sandbox.tokens import TokenClaims, TokenError, TokenIssuer
from leadkit.systems.ovipro.sandbox.vocab import MARKETPLACE_CODES

if TYPE_CHECKING:
    from leadkit.systems.ovipro.sandbox.config import OviProSandboxConfig

__all__ = ["STATE", "CreatedLead", "RequestRecord", "Route", "SandboxState", "handle"]

RouteName = Literal["token", "leads", "lead", "marketplace", "outgoing"]


@dataclass(frozen=True)
class RequestRecord:
    """One request the sandbox received (no body, no ``Authorization``, no API key).

    Attributes:
        method: ``GET``, ``POST``…
        path: the URL path from the server root, e.g. ``/lead/v1/leads``.
        query: decoded query parameters in order.
        status: the status answered, or None when the connection was reset.
        request_id: the ``Request-ID`` header as received, None when missing.
        fault: the fault injected, if any.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    status: int | None
    request_id: str | None
    fault: FaultKind | None = None


@dataclass(frozen=True)
class CreatedLead:
    """A lead created through the API (spec §6, §9; no deduplication, Q15).

    Attributes:
        endpoint: ``leads`` (``POST /leads``), ``marketplace`` or ``outgoing``.
        lead_id: the id answered.
        body: the request body as sent (parsed).
        request_id: the request's ``Request-ID``.
        marketplace: the path's marketplace code (``marketplace`` only).
    """

    endpoint: Literal["leads", "marketplace", "outgoing"]
    lead_id: str
    body: dict[str, Any]
    request_id: str | None
    marketplace: str | None = None


@dataclass(frozen=True)
class Route:
    """An endpoint: name, methods and the path pattern (``{name}`` matches one segment)."""

    name: RouteName
    methods: tuple[str, ...]
    template: str
    pattern: re.Pattern[str]

    @classmethod
    def build(cls, name: RouteName, methods: tuple[str, ...], template: str) -> Route:
        """A route from a path template such as ``/lead/v1/leads/{leadId}``."""
        parts = re.split(r"\{(\w+)\}", template)
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
        )
        return cls(name, methods, template, re.compile(regex))


@dataclass
class SandboxState:
    """What the handlers work on: the live configuration, the data and the logs."""

    config: OviProSandboxConfig
    world: World
    store: LeadStore
    issuer: TokenIssuer = field(default_factory=TokenIssuer)
    requests: list[RequestRecord] = field(default_factory=list)
    request_ids: list[str | None] = field(default_factory=list)
    created: list[CreatedLead] = field(default_factory=list)
    token_requests: int = 0
    in_flight: int = 0

    def __post_init__(self) -> None:
        seed = self.config.seed
        self.fault_rng = random.Random(f"ovipro-faults:{seed}")
        self.change_rng = random.Random(f"ovipro-changes:{seed}")
        self.id_rng = random.Random(f"ovipro-ids:{seed}")
        self.added = LeadFactory(self.world, "added")
        self.added_outgoing = LeadFactory(self.world, "added-outgoing")
        c = self.config
        self.routes = (
            Route.build("token", ("POST",), c.token_url_path),
            Route.build("leads", ("GET", "POST"), c.leads_url_path),
            Route.build("lead", ("PUT", "PATCH"), c.leads_url_path + "/{leadId}"),
            Route.build("marketplace", ("POST",), c.marketplace_url_path),
            Route.build("outgoing", ("GET", "POST"), c.outgoing_url_path),
        )

    def route(self, path: str) -> tuple[Route | None, dict[str, str]]:
        """The route of ``path`` and its path parameters."""
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match:
                return route, match.groupdict()
        return None, {}

    def add_incoming(self, n: int) -> list[str]:
        """Generate ``n`` incoming leads created now (status ``NEW``); return their ids."""
        items = self.added.incoming(n, created_at=int(time.time()))
        self.store.add_incoming(items)
        return [item["leadId"] for item in items]

    def add_outgoing(self, n: int) -> list[str]:
        """Generate ``n`` outgoing leads created now; return their ids."""
        items = self.added_outgoing.outgoing(n, created_at=int(time.time()))
        self.store.add_outgoing(items)
        return [item["leadId"] for item in items]

    def delete_random(self, n: int) -> list[str]:
        """Delete ``n`` random incoming leads (fewer if there are fewer)."""
        ids = list(self.store.incoming)
        return self.store.delete("incoming", self.change_rng.sample(ids, min(n, len(ids))))


STATE = web.AppKey("ovipro_sandbox_state", SandboxState)
"""Where the application keeps its :class:`SandboxState`."""


def _fault(state: SandboxState, request: web.Request) -> tuple[web.Response | None, FaultKind]:
    kind = state.fault_rng.choice(state.config.fault_kinds)
    if kind == "reset":
        reset_connection(request)
        return None, kind
    if kind == "429":
        return _too_many(state, "injected fault"), kind
    if kind == "500":
        return error(500, "TECHNICAL_ERROR"), kind
    if kind in ("502", "504"):
        # A gateway in front of the API: a plain-text answer, not OviPro's error body.
        text = "Bad Gateway" if kind == "502" else "Gateway Timeout"
        return web.Response(status=int(kind), text=text), kind
    return error(503, "TECHNICAL_ERROR", message="Service temporarily unavailable."), kind


def _too_many(state: SandboxState, why: str) -> web.Response:
    seconds = state.config.retry_after_s
    return error(
        429,
        "TOO_MANY_REQUESTS",
        description=f"rate limit ({why}); retry after {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def _check_request_id(value: str | None) -> web.Response | None:
    if value is None or value == "":
        entry = error_entry("Request-ID", "VALUE_REQUIRED", "the Request-ID header is required")
    elif UUID_PATTERN.fullmatch(value) is None:
        shown = value if len(value) <= 40 else value[:37] + "..."
        message = f"Request-ID={shown!r} is not a lowercase uuid (e.g. str(uuid.uuid4()))"
        entry = error_entry("Request-ID", "INVALID_TYPE", message)
    else:
        return None
    return error(400, "BAD_REQUEST_PARAMETERS", errors=[entry])


async def handle(request: web.Request) -> web.StreamResponse:
    """Answer one request (the only aiohttp handler of the sandbox)."""
    state = request.app[STATE]
    request_id = request.headers.get("Request-ID")
    state.request_ids.append(request_id)
    route, path_params = state.route(request.path)
    if route is not None and route.name == "token" and request.method == "POST":
        state.token_requests += 1
    state.in_flight += 1
    fault: FaultKind | None = None
    try:
        crowded = (limit := state.config.max_in_flight) is not None and state.in_flight > limit
        if state.config.latency_s:
            await asyncio.sleep(state.config.latency_s)
        response, fault = await _answer(state, request, route, path_params, request_id, crowded)
    finally:
        state.in_flight -= 1
    query = tuple(request.rel_url.query.items())
    status = None if response is None else response.status
    state.requests.append(
        RequestRecord(request.method, request.path, query, status, request_id, fault)
    )
    if response is None:
        return web.Response(status=500)  # never sent: the connection is gone
    if request_id is not None:
        response.headers["Request-ID"] = request_id
    return response


async def _answer(
    state: SandboxState,
    request: web.Request,
    route: Route | None,
    path_params: dict[str, str],
    request_id: str | None,
    crowded: bool,
) -> tuple[web.Response | None, FaultKind | None]:
    config = state.config
    if route is None or request.method not in route.methods:
        allowed = f"; {route.template} allows {', '.join(route.methods)}" if route else ""
        return error(404, "NOT_FOUND", description=f"no route {request.method} "
                     f"{request.path}{allowed}"), None  # fmt: skip
    bad_id = _check_request_id(request_id)
    if bad_id is not None:
        return bad_id, None
    if config.require_api_key and request.headers.get("x-api-key") not in config.api_keys:
        return error(404, "INVALID_API_KEY", description="send a valid x-api-key header"), None
    if crowded:
        return _too_many(state, f"more than {config.max_in_flight} requests at once"), None
    faulty = route.name != "token" or config.fault_on_tokens
    if faulty and config.fault_rate and state.fault_rng.random() < config.fault_rate:
        return _fault(state, request)
    if route.name == "token":
        return await _token(state, request), None
    claims = _authorize(state, request)
    if isinstance(claims, web.Response):
        return claims, None
    return await _dispatch(state, request, route, path_params, request_id, claims), None


async def _dispatch(
    state: SandboxState,
    request: web.Request,
    route: Route,
    path_params: dict[str, str],
    request_id: str | None,
    claims: TokenClaims,
) -> web.Response:
    if route.name in ("leads", "outgoing") and request.method == "GET":
        kind: Kind = "incoming" if route.name == "leads" else "outgoing"
        return _list(state, request, kind, claims)
    if route.name == "marketplace":
        code = path_params["marketplaceCode"]
        if code not in MARKETPLACE_CODES:
            message = f"marketplaceCode={code!r}; allowed: {', '.join(MARKETPLACE_CODES)}"
            entry = error_entry("marketplaceCode", "INVALID_TYPE", message)
            return error(400, "BAD_REQUEST_PARAMETERS", errors=[entry])
        if code not in claims.marketplaces:
            description = f"the token has no permission to create {code} marketplace leads"
            return error(401, "UNAUTHORIZED", description=description)
    if route.name == "lead":
        lead_id = path_params["leadId"]
        record = state.store.incoming.get(lead_id)
        if record is None or record.office not in claims.offices:
            return error(404, "INVALID_ID", description=f"no lead with leadId={lead_id!r}")
    body = await _json_body(request)
    if isinstance(body, web.Response):
        return body
    try:
        if route.name == "lead":
            return _update(state, path_params["leadId"], body, claims, request.method)
        return _create(state, route, path_params, body, claims, request_id)
    except BodyError as exc:
        return error(400, "BAD_REQUEST_BODY", errors=exc.errors)


def _authorize(state: SandboxState, request: web.Request) -> TokenClaims | web.Response:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        description = "send Authorization: Bearer <access_token> (POST the token endpoint first)"
        return error(401, "UNAUTHORIZED", description=description)
    try:
        return state.issuer.verify(token.strip())
    except TokenError as exc:
        return error(401, "UNAUTHORIZED", description=str(exc))


async def _json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        sent = request.headers.get("Content-Type", "")
        return error(415, "UNSUPPORTED_MEDIA_TYPE",
                     description=f"Content-Type {sent!r}; send application/json")  # fmt: skip
    raw = await request.read()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        entry = error_entry("body", "INVALID_TYPE", f"the body is not valid JSON: {exc}")
        return error(400, "BAD_REQUEST_BODY", errors=[entry])


async def _token(state: SandboxState, request: web.Request) -> web.Response:
    body = await _json_body(request)
    if isinstance(body, web.Response):
        return body
    if not isinstance(body, dict):
        body = {}
    errors = [
        error_entry(name, "VALUE_REQUIRED", f"{name} is required")
        for name in ("username", "password")
        if not isinstance(body.get(name), str) or not body[name]
    ]
    if errors:
        return error(400, "BAD_REQUEST_BODY", errors=errors)
    account = next((a for a in state.config.accounts if a.username == body["username"]), None)
    if account is None or not hmac.compare_digest(
        account.password.encode(), str(body["password"]).encode()
    ):
        return error(401, "UNAUTHORIZED", description="wrong username or password")
    lifetime = state.config.token_lifetime_s
    token = state.issuer.issue(
        account.username,
        offices=account.offices if account.offices is not None else state.world.office_ids,
        marketplaces=account.marketplaces,
        lifetime_s=lifetime,
    )
    return json_response(200, {"token_type": "Bearer", "access_token": token,
                               "expires_in": lifetime})  # fmt: skip


def _list(
    state: SandboxState, request: web.Request, kind: Kind, claims: TokenClaims
) -> web.Response:
    config = state.config
    pairs = list(request.rel_url.query.items())
    query, errors = parse_list_query(pairs, kind, strict=config.strict_params)
    if errors:
        return error(400, "BAD_REQUEST_PARAMETERS", errors=errors)
    if kind == "incoming":
        if config.grow_per_request:
            state.add_incoming(config.grow_per_request)
        if config.shrink_per_request:
            state.delete_random(config.shrink_per_request)
    rows = state.store.select(kind, query, claims.offices)
    page = rows[query.start_index : query.start_index + query.size]
    body = b'{"totalCount":%d,"leads":[%b]}' % (len(rows), b",".join(r.json for r in page))
    return web.Response(body=body, content_type="application/json")


def _create(
    state: SandboxState,
    route: Route,
    path_params: dict[str, str],
    body: Any,
    claims: TokenClaims,
    request_id: str | None,
) -> web.Response:
    now = int(time.time())
    lead_id = random_uuid(state.id_rng)
    marketplace = path_params.get("marketplaceCode")
    if route.name == "outgoing":
        item = build_outgoing(body, state.world, claims.offices, lead_id=lead_id, now=now)
        state.store.add_outgoing([item])
        endpoint: Literal["leads", "marketplace", "outgoing"] = "outgoing"
    else:
        party_id = random_uuid(state.id_rng)
        item = build_incoming(
            body, state.world, lead_id=lead_id, party_id=party_id, now=now,
            marketplace=marketplace,
        )  # fmt: skip
        state.store.add_incoming([item])
        endpoint = "marketplace" if marketplace else "leads"
    state.created.append(CreatedLead(endpoint, lead_id, body, request_id, marketplace))
    return json_response(201, {"leadId": lead_id})


def _update(
    state: SandboxState, lead_id: str, body: Any, claims: TokenClaims, method: str
) -> web.Response:
    record = state.store.incoming[lead_id]
    try:
        changed = apply_update(
            record.item, body, state.world, claims.offices, now=int(time.time()),
            partial=method == "PATCH",
        )  # fmt: skip
    except StatusError as exc:
        entry = error_entry("leadStatusCode", "INVALID_STATUS", str(exc))
        return error(400, "INVALID_STATUS", description=str(exc), errors=[entry])
    if changed:
        record.refresh()
        state.store.changed()
    return json_response(200, {})
