"""The Real Geeks Incoming Leads API sandbox: a real HTTP server on 127.0.0.1.

It serves the endpoints of spec §2 under the host the official clients take
(``{host}/rest/...`` and ``{host}/v2/rest/...``): HTTP Basic auth and per-site grants
(401), invalid JSON (400), validation (422 ``{"error": ...}``), create as an upsert by
``id`` (201 ``{}``), PATCH v1/v2 (200 ``{}``), activities, potential-seller leads and the
users list. Every request passes, in order: the route (404/405), the injected latency,
an injected fault, the credentials and the site grant (401), the body (400) and its
validation (422). It is written from the spec, independently of leadkit's mapping.

In tests::

    async with RealGeeksSandbox(RealGeeksSandboxConfig(latency_s=0.05)) as sb:
        ...  # POST f"{sb.base_url}/rest/sites/{sb.site_uuids[0]}/leads" with Basic auth
        sb.lead(sb.site_uuids[0], lead_id)  # what it stored
        sb.fail_next("503", "429")          # the next two requests fail
        sb.configure(fault_rate=0.1)

From a shell (benchmarks): ``python -m leadkit.systems.realgeeks.sandbox --port 0`` prints
``REALGEEKS_SANDBOX_URL=…`` and the public demo credentials, then serves until stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import dataclasses
import hmac
import json
import random
import re
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from aiohttp import web

from leadkit.sandbox import AppSandbox, reset_connection, serve_app_forever
from leadkit.systems.realgeeks.sandbox.config import (
    FAULT_KINDS,
    RUNTIME_KNOBS,
    UNGRANTED_SITE_UUID,
    FaultKind,
    RealGeeksSandboxConfig,
)
from leadkit.systems.realgeeks.sandbox.validation import (
    Invalid,
    LeadChange,
    canonical_uuid,
    check_activities,
    check_lead,
)

__all__ = ["STATE", "RealGeeksSandbox", "ReceivedRequest", "SandboxState", "main", "make_app"]

RouteName = Literal["create", "update", "activities", "potential-seller", "users", "user"]
StoredLead = dict[str, Any]

_SITE = r"/rest/sites/(?P<site>[^/]+)"
_ROUTES: tuple[tuple[RouteName, str, re.Pattern[str]], ...] = (
    ("create", "POST", re.compile(_SITE + r"/leads/?")),
    ("update", "PATCH", re.compile(r"(?P<v2>/v2)?" + _SITE + r"/leads/(?P<lead>[^/]+)")),
    ("activities", "POST", re.compile(_SITE + r"/leads/(?P<lead>[^/]+)/activities")),
    ("potential-seller", "POST", re.compile(_SITE + r"/potential-seller-leads")),
    ("users", "GET", re.compile(_SITE + r"/users")),
    ("user", "PUT", re.compile(_SITE + r"/users/(?P<user>[^/]+)")),
)


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the sandbox answered (never the ``Authorization`` header).

    Attributes:
        method: ``POST``, ``PATCH``…
        path: the URL path from the host, e.g. ``/rest/sites/{site}/leads``.
        status: the status answered, or None when the connection was reset.
        site: the site UUID of the path (canonical form when valid, else as sent).
        lead_id: the lead id of the path (canonical form when valid), if any.
        api: ``v1`` or ``v2`` (the ``/v2/rest`` PATCH).
        body: the parsed JSON body (None when absent or not JSON).
        headers: request headers except ``Authorization``.
        fault: the fault injected, if any.
        error: the ``error`` text answered, if any.
    """

    method: str
    path: str
    status: int | None
    site: str | None = None
    lead_id: str | None = None
    api: Literal["v1", "v2"] = "v1"
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    fault: FaultKind | None = None
    error: str | None = None


@dataclass
class SandboxState:
    """Everything the sandbox holds: configuration, stored leads and the request log.

    Attributes:
        config: the behaviour in force.
        leads: site UUID → lead id → stored lead (fields, ``activities`` appended in order).
        requests: every request answered, oldest first.
        held: (site, lead id) of leads created by a PATCH or activities call under
            ``accept_unknown_leads``.
        queued_faults: faults the next requests get, in order (see ``fail_next``).
    """

    config: RealGeeksSandboxConfig
    leads: dict[str, dict[str, StoredLead]] = field(default_factory=dict)
    requests: list[ReceivedRequest] = field(default_factory=list)
    held: set[tuple[str, str]] = field(default_factory=set)
    queued_faults: deque[FaultKind] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"realgeeks-faults:{self.config.seed}")


STATE = web.AppKey("realgeeks_state", SandboxState)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _json(status: int, body: object, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=orjson.dumps(body), content_type="application/json", headers=headers
    )


def _error(status: int, text: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return _json(status, {"error": text}, headers)


def _fault_response(state: SandboxState, kind: FaultKind) -> web.Response | None:
    if kind == "500":
        return _error(500, "internal server error (injected fault)")
    if kind == "500-text":
        return web.Response(status=500, text="Internal Server Error", content_type="text/plain")
    if kind == "503":
        html = "<html><body><h1>503 Service Unavailable</h1></body></html>"
        return web.Response(status=503, text=html, content_type="text/html")
    if kind == "429":
        retry_after = f"{state.config.retry_after_s:g}"
        return _error(429, "too many requests", {"Retry-After": retry_after})
    return None  # reset


def _credentials_ok(config: RealGeeksSandboxConfig, header: str | None) -> bool:
    if not header or not header.startswith("Basic "):
        return False
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    user, sep, password = decoded.partition(":")
    user_ok = hmac.compare_digest(user.encode(), config.username.encode())
    password_ok = hmac.compare_digest(password.encode(), config.password.encode())
    return bool(sep) and user_ok and password_ok


def _route(method: str, path: str) -> tuple[RouteName, dict[str, str]] | web.Response:
    allowed: list[str] = []
    for name, verb, pattern in _ROUTES:
        m = pattern.fullmatch(path)
        if m is None:
            continue
        if method == verb:
            return name, {k: v for k, v in m.groupdict().items() if v is not None}
        allowed.append(verb)
    if allowed:
        return _error(405, f"method {method} not allowed", {"Allow": ", ".join(allowed)})
    return _error(404, f"no such endpoint: {path}")


async def handle(request: web.Request) -> web.StreamResponse:
    """Answer one request (every route) and log it in the state."""
    state = request.app[STATE]
    config = state.config
    headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
    record = ReceivedRequest(request.method, request.path, None, headers=headers)
    if config.latency_s:
        await asyncio.sleep(config.latency_s)
    routed = _route(request.method, request.path)
    if isinstance(routed, web.Response):
        return _log(state, record, routed)
    name, params = routed
    site = canonical_uuid(params["site"])
    record = dataclasses.replace(
        record, site=site or params["site"], api="v2" if params.get("v2") else "v1"
    )
    if "lead" in params:
        record = dataclasses.replace(
            record, lead_id=canonical_uuid(params["lead"]) or params["lead"]
        )
    fault: FaultKind | None = None
    if state.queued_faults:
        fault = state.queued_faults.popleft()
    elif config.fault_rate and state.rng.random() < config.fault_rate:
        fault = state.rng.choice(config.fault_kinds)
    if fault is not None:
        record = dataclasses.replace(record, fault=fault)
        response = _fault_response(state, fault)
        if response is None:
            state.requests.append(record)
            reset_connection(request)
            return web.Response(status=500)  # never written: the connection is gone
        return _log(state, record, response)
    if not _credentials_ok(config, request.headers.get("Authorization")):
        return _log(state, record, _error(401, "invalid credentials: HTTP Basic auth required"))
    if site is None:
        return _log(state, record, _error(422, f"site uuid {params['site']!r} is not a valid UUID"))
    if site not in {str(uuid.UUID(s)) for s in config.site_uuids}:
        text = f"these credentials have no access to site {site}; ask the site to grant it"
        return _log(state, record, _error(401, text))
    if name == "users":
        return _log(state, record, _json(200, list(config.users)))
    if name == "user":
        return _log(state, record, _error(403, "only Lead Manager may update users"))
    raw = await request.read()
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return _log(state, record, _error(400, f"request body is not valid JSON: {exc}"))
    record = dataclasses.replace(record, body=body)
    try:
        response = _write(state, name, site, params, body, record.api)
    except Invalid as exc:
        response = _error(422, str(exc))
    return _log(state, record, response)


def _log(state: SandboxState, record: ReceivedRequest, response: web.Response) -> web.Response:
    error: str | None = None
    if response.status >= 400 and response.content_type == "application/json":
        assert isinstance(response.body, bytes)
        error = orjson.loads(response.body).get("error")
    state.requests.append(dataclasses.replace(record, status=response.status, error=error))
    return response


def _write(
    state: SandboxState,
    name: RouteName,
    site: str,
    params: Mapping[str, str],
    body: Any,
    api: Literal["v1", "v2"],
) -> web.Response:
    config = state.config
    leads = state.leads.get(site, {})
    now = _now()
    if name in ("create", "potential-seller"):
        mode: Literal["create", "potential-seller"] = name
        existing_id = canonical_uuid(body.get("id")) if isinstance(body, dict) else None
        existing = leads.get(existing_id) if existing_id else None
        default_source = str(existing.get("source", "")) if existing else ""
        change = check_lead(
            body,
            mode=mode,
            strict_activities=config.strict_activities,
            default_source=default_source,
            now=now,
        )
        lead_id = change.lead_id or str(uuid.uuid4())
        leads = state.leads.setdefault(site, leads)
        lead = leads.setdefault(lead_id, {"id": lead_id, "created": now, "activities": []})
        if name == "potential-seller":
            lead["role"] = "Potential Seller"
        _apply(lead, change)
        return _json(201, {})
    path_id = canonical_uuid(params["lead"])
    if path_id is None:
        raise Invalid(f"lead id {params['lead']!r} is not a valid UUID")
    lead_id = path_id
    stored = leads.get(lead_id)
    if stored is None and not config.accept_unknown_leads:
        return _error(404, "lead not found")
    source = str(stored.get("source", "")) if stored else ""
    if name == "activities":
        acts = check_activities(
            body, strict=config.strict_activities, default_source=source, now=now
        )
        change = LeadChange(activities=acts)
    else:
        change = check_lead(
            body,
            mode="patch-v2" if api == "v2" else "patch-v1",
            strict_activities=config.strict_activities,
            default_source=source,
            now=now,
        )
        if change.lead_id is not None and change.lead_id != lead_id:
            raise Invalid(f"id {body['id']!r} in the body does not match the URL's {lead_id}")
    if stored is None:
        leads = state.leads.setdefault(site, leads)
        stored = leads[lead_id] = {"id": lead_id, "created": now, "activities": []}
        state.held.add((site, lead_id))
    _apply(stored, change)
    return _json(200, {})


def _apply(lead: StoredLead, change: LeadChange) -> None:
    lead.update(change.fields)
    for name in change.unset:
        lead.pop(name, None)
    lead["activities"].extend(change.activities)


def make_app(config: RealGeeksSandboxConfig | None = None) -> web.Application:
    """Build the sandbox application.

    Args:
        config: behaviour; defaults to ``RealGeeksSandboxConfig()``.
    """
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[STATE] = SandboxState(config or RealGeeksSandboxConfig())
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


class RealGeeksSandbox(AppSandbox[RealGeeksSandboxConfig, SandboxState]):
    """The sandbox as an async context manager, listening on 127.0.0.1 (a free port).

    Args:
        config: behaviour; defaults to ``RealGeeksSandboxConfig()``.
        port: port to bind; 0 picks a free one.

    Example:
        >>> async def demo() -> tuple[bool, int]:
        ...     async with RealGeeksSandbox() as sb:
        ...         return sb.base_url.startswith("http://127.0.0.1:"), len(sb.site_uuids)
        >>> asyncio.run(demo())
        (True, 2)
    """

    config_type = RealGeeksSandboxConfig
    state_key = STATE

    def build(self, config: RealGeeksSandboxConfig) -> web.Application:
        return make_app(config)

    @property
    def username(self) -> str:
        """The accepted HTTP Basic username."""
        return self.config.username

    @property
    def password(self) -> str:
        """The accepted HTTP Basic password (a public demo value by default)."""
        return self.config.password

    @property
    def site_uuids(self) -> tuple[str, ...]:
        """Sites the credentials were granted."""
        return self.config.site_uuids

    @property
    def ungranted_site_uuid(self) -> str:
        """A well-formed site the credentials were not granted (every call → 401)."""
        return UNGRANTED_SITE_UUID

    def leads_url(self, site: str) -> str:
        """Absolute URL of ``POST /rest/sites/{site}/leads``."""
        return f"{self.base_url}/rest/sites/{site}/leads"

    # --- what tests look at -------------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request answered, oldest first (faults and errors included)."""
        return self._state.requests

    @property
    def received(self) -> list[ReceivedRequest]:
        """Every accepted (2xx) request, oldest first."""
        return [r for r in self._state.requests if r.status is not None and r.status < 300]

    @property
    def leads(self) -> dict[str, dict[str, StoredLead]]:
        """Stored leads: site UUID → lead id (canonical) → fields and ``activities``."""
        return self._state.leads

    @property
    def held(self) -> set[tuple[str, str]]:
        """(site, lead id) of leads created by PATCH/activities (``accept_unknown_leads``)."""
        return self._state.held

    def lead(self, site: str, lead_id: str) -> StoredLead | None:
        """One stored lead (ids in any accepted UUID form), or None."""
        site_key, lead_key = canonical_uuid(site), canonical_uuid(lead_id)
        if site_key is None or lead_key is None:
            return None
        return self._state.leads.get(site_key, {}).get(lead_key)

    # --- changing things ----------------------------------------------------------------

    def configure(self, **changes: Any) -> RealGeeksSandboxConfig:
        """Change knobs while running, e.g. ``sb.configure(fault_rate=1.0)``.

        Raises:
            ValueError: an unknown knob or an invalid value.
        """
        unknown = sorted(set(changes) - RUNTIME_KNOBS)
        if unknown:
            raise ValueError(f"unknown knobs {unknown}; allowed: {sorted(RUNTIME_KNOBS)}")
        state = self._state
        state.config = dataclasses.replace(state.config, **changes)
        return state.config

    def fail_next(self, *kinds: FaultKind) -> None:
        """Make the next ``len(kinds)`` requests fail with these faults, in order.

        Raises:
            ValueError: an unknown fault kind.
        """
        bad = [k for k in kinds if k not in FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kinds {bad}; allowed: {', '.join(FAULT_KINDS)}")
        self._state.queued_faults.extend(kinds)

    def clear(self) -> None:
        """Forget every stored lead and logged request."""
        state = self._state
        state.leads.clear()
        state.requests.clear()
        state.held.clear()
        state.queued_faults.clear()


def serve_forever(
    config: RealGeeksSandboxConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the sandbox until interrupted (blocking).

    Args:
        config: behaviour.
        host: address to bind; keep the default (loopback only).
        port: port to bind; 0 picks a free one.
        on_ready: called with the root URL (``http://host:port``) once listening.
    """
    serve_app_forever(lambda: make_app(config), host=host, port=port, on_ready=on_ready)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: start a sandbox and print its URL and the public demo credentials."""
    parser = argparse.ArgumentParser(
        prog="python -m leadkit.systems.realgeeks.sandbox", description=main.__doc__
    )
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay per request")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of failed requests")
    parser.add_argument("--fault-kinds", default=",".join(FAULT_KINDS), help="kinds to inject")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strict-activities", action="store_true")
    parser.add_argument("--accept-unknown-leads", action="store_true")
    args = parser.parse_args(argv)
    config = RealGeeksSandboxConfig(
        latency_s=args.latency_ms / 1000,
        fault_rate=args.fault_rate,
        fault_kinds=tuple(args.fault_kinds.split(",")),  # validated by the config
        seed=args.seed,
        strict_activities=args.strict_activities,
        accept_unknown_leads=args.accept_unknown_leads,
    )

    def ready(root: str) -> None:
        print(f"REALGEEKS_SANDBOX_URL={root}", flush=True)
        print(f"REALGEEKS_USERNAME={config.username}", flush=True)
        print(f"REALGEEKS_PASSWORD={config.password}", flush=True)
        print(f"REALGEEKS_SITE_UUID={config.site_uuids[0]}", flush=True)
        print("# the username and password are public sandbox demo values", flush=True)

    serve_forever(config, port=args.port, on_ready=ready)
