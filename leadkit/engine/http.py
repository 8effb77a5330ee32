"""HTTP for sources: one session per source, retries with backoff, errors translated once.

Every request of every source goes through :meth:`HttpClient.request`. It

* retries connection errors, timeouts, 429 and 5xx with exponential backoff and jitter
  (tenacity), honouring ``Retry-After`` (seconds or an HTTP date, capped);
* never retries 400/401/403/404/422 (or any other 4xx): retrying cannot fix them;
* translates aiohttp/asyncio failures into :class:`leadkit.errors.SourceError` with the
  source name, the URL with secrets masked, the status and the API's own error text;
* logs each retry at WARNING with the same redacted details.
"""

from __future__ import annotations

import dataclasses
import email.utils
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import orjson
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)
from yarl import URL

from leadkit.errors import SourceAuthError, SourceError
from leadkit.redact import Redactor

__all__ = ["HttpClient", "Response", "TransientHTTPError", "api_error_text", "make_session"]

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Retryable answers that say the server did not act on the request.
_REFUSED = frozenset({425, 429, 503})
MAX_RETRY_AFTER_S = 60.0

Params = Sequence[tuple[str, str]] | Mapping[str, str]


@dataclass(frozen=True)
class Response:
    """A successful (2xx, or a status the caller listed in ``accept``) response, fully read."""

    status: int
    body: bytes
    headers: Mapping[str, str]
    url: str  # redacted
    #: True when an earlier attempt of this request failed in a way that may have reached
    #: the server (a timeout, a dropped connection, 500/502/504): a non-idempotent request
    #: may then have been carried out already (e.g. the dialler's spec Q6).
    uncertain: bool = False

    def json(self) -> Any:
        """The body parsed as JSON."""
        return orjson.loads(self.body)


class RequestAuth(Protocol):
    """Per-request credentials that can be renewed (e.g. a bearer token).

    :class:`HttpClient` asks for :meth:`headers` before every attempt, and on a 401 calls
    :meth:`refresh` with the headers that failed, then replays the request once.
    Implementations must make concurrent refreshes single-flight.
    """

    async def headers(self) -> dict[str, str]:
        """Headers to send with the next attempt."""
        ...

    async def refresh(self, failed: Mapping[str, str]) -> None:
        """Renew the credentials after ``failed`` was rejected (no-op if already renewed)."""
        ...


class TransientHTTPError(Exception):
    """A failure worth retrying (internal to this module and the sources)."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def make_session(concurrency: int, timeout_s: float) -> aiohttp.ClientSession:
    """An aiohttp session sized for ``concurrency`` connections to one host."""
    connector = aiohttp.TCPConnector(limit=max(concurrency, 1) * 2, ttl_dns_cache=300)
    timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(10.0, timeout_s))
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        json_serialize=lambda o: orjson.dumps(o).decode(),
        raise_for_status=False,
    )
    # HttpClient owns retries (backoff, counters, a fresh request id per attempt). aiohttp
    # would otherwise silently resend an idempotent request once when a kept-alive
    # connection drops, with the same headers: a repeated Request-ID, an uncounted request.
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False
    return session


def api_error_text(body: bytes, limit: int = 300) -> str:
    """The API's own error text from a response body: its error code (``errorCode`` or
    ``code``) if any, then ``message``/``error``, then ``errors``; or the raw text.

    Example:
        >>> api_error_text(b'{"errorCode": "INVALID_ID", "message": "Unknown lead"}')
        'INVALID_ID: Unknown lead'
        >>> api_error_text(b'{"message": "Unauthenticated."}')
        'Unauthenticated.'
    """
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return text[:limit]
    if isinstance(parsed, dict):
        parts = []
        code = parsed.get("errorCode") or parsed.get("code")
        if isinstance(code, str) and code:
            parts.append(code + (":" if any(parsed.get(k) for k in ("message", "error")) else ""))
        for key in ("message", "error", "detail", "title"):
            if parsed.get(key):
                parts.append(str(parsed[key]))
                break
        if parsed.get("errors"):
            parts.append(orjson.dumps(parsed["errors"]).decode()[:limit])
        if parts:
            return " ".join(parts)[:limit]
    return body.decode("utf-8", "replace")[:limit]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, min(float(value), MAX_RETRY_AFTER_S))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), MAX_RETRY_AFTER_S))


class HttpClient:
    """Requests for one source, with retries and error translation.

    Args:
        session: the source's aiohttp session.
        source: the configured source name (for messages).
        redactor: masks secrets in URLs and texts.
        max_retries: retries after the first attempt.
        log: where retries are logged.
        backoff_initial_s: first backoff step (doubles each retry, with jitter, max 30 s).
        stats: a dict whose ``requests`` and ``retries`` counters this client increments.
        request_id: optional callable giving a request id per attempt, sent as the header
            named ``request_id_header`` and quoted in errors.
        auth: renewable per-request credentials (a 401 renews them once and replays).
        is_auth_error: classifies other responses as credential errors (e.g. OviPro's 404
            ``INVALID_API_KEY``): never retried, raised as :class:`SourceAuthError`.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        source: str,
        redactor: Redactor,
        max_retries: int,
        log: logging.Logger,
        backoff_initial_s: float = 0.5,
        request_id: Callable[[], str] | None = None,
        request_id_header: str = "Request-ID",
        stats: dict[str, int] | None = None,
        auth: RequestAuth | None = None,
        is_auth_error: Callable[[int, bytes], bool] | None = None,
    ) -> None:
        self.session = session
        self.source = source
        self.redactor = redactor
        self.max_retries = max_retries
        self.log = log
        self.backoff = wait_exponential(multiplier=backoff_initial_s, max=30.0) + wait_random(
            0, max(backoff_initial_s, 0.001)
        )
        self.request_id = request_id
        self.request_id_header = request_id_header
        self.stats = stats if stats is not None else {"requests": 0, "retries": 0}
        self.auth = auth
        self.is_auth_error = is_auth_error

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientHTTPError) and exc.retry_after is not None:
            return exc.retry_after
        return float(self.backoff(state))

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        accept: Collection[int] = (),
    ) -> Response:
        """Send a request, retrying transient failures; return the 2xx response.

        ``accept`` lists non-2xx statuses to return as a :class:`Response` instead of
        raising (e.g. ``(400, 422)`` for a destination that reads validation errors).

        Raises:
            SourceAuthError: 401/403.
            SourceError: any other non-retryable status, or retries exhausted.
        """
        last: TransientHTTPError | None = None
        uncertain = False

        def before_sleep(state: RetryCallState) -> None:
            nonlocal uncertain
            self.stats["retries"] = self.stats.get("retries", 0) + 1
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, TransientHTTPError) and exc.status not in _REFUSED:
                uncertain = True
            wait = state.next_action.sleep if state.next_action else 0.0
            self.log.warning(
                "%s: retry %d/%d in %.1fs after %s",
                self.source,
                state.attempt_number,
                self.max_retries,
                wait,
                self.redactor.scrub(str(exc)),
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(TransientHTTPError),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    resp = await self._authenticated(method, url, params, json, headers, accept)
                    return dataclasses.replace(resp, uncertain=True) if uncertain else resp
        except TransientHTTPError as exc:
            last = exc
        assert last is not None
        raise SourceError(
            f"{self.source}: giving up after {self.max_retries + 1} attempts: "
            f"{self.redactor.scrub(str(last))}",
            source=self.source,
            url=self._shown(url, params),
            status=last.status,
        ) from last
        raise AssertionError("unreachable")  # pragma: no cover

    def _shown(self, url: str, params: Params | None) -> str:
        full = URL(url)
        if params:
            full = full.update_query(params)
        return self.redactor.url(str(full))

    async def _authenticated(
        self,
        method: str,
        url: str,
        params: Params | None,
        json: Any,
        headers: Mapping[str, str] | None,
        accept: Collection[int] = (),
    ) -> Response:
        if self.auth is None:
            return await self._once(method, url, params, json, headers, accept)
        creds = await self.auth.headers()
        try:
            return await self._once(method, url, params, json, {**(headers or {}), **creds}, accept)
        except SourceAuthError as exc:
            if exc.status != 401:
                raise
            # The token may have expired in flight: renew once (single-flight), then replay.
            await self.auth.refresh(creds)
            creds = await self.auth.headers()
            return await self._once(method, url, params, json, {**(headers or {}), **creds}, accept)

    async def _once(
        self,
        method: str,
        url: str,
        params: Params | None,
        json: Any,
        headers: Mapping[str, str] | None,
        accept: Collection[int] = (),
    ) -> Response:
        hdrs = dict(headers or {})
        rid = ""
        if self.request_id is not None:
            rid = self.request_id()
            hdrs[self.request_id_header] = rid
        shown = self._shown(url, params)
        rid_note = f" (Request-ID {rid})" if rid else ""
        self.stats["requests"] = self.stats.get("requests", 0) + 1
        try:
            async with self.session.request(
                method, url, params=params, json=json, headers=hdrs
            ) as resp:
                body = await resp.read()
                status = resp.status
                resp_headers = {k: v for k, v in resp.headers.items()}
        except TimeoutError as exc:
            raise TransientHTTPError(f"timeout: {method} {shown}{rid_note}") from exc
        except aiohttp.ClientError as exc:
            text = self.redactor.scrub(f"{type(exc).__name__}: {exc}")
            raise TransientHTTPError(f"{text} on {method} {shown}{rid_note}") from exc
        if 200 <= status < 300 or status in accept:
            return Response(status, body, resp_headers, shown)
        detail = self.redactor.scrub(api_error_text(body))
        message = f"HTTP {status} on {method} {shown}{rid_note}: {detail}"
        if status in RETRY_STATUSES:
            raise TransientHTTPError(message, status=status, retry_after=_retry_after(resp_headers))
        auth_error = status in (401, 403) or (
            self.is_auth_error is not None and self.is_auth_error(status, body)
        )
        cls = SourceAuthError if auth_error else SourceError
        hint = (
            " — check the credentials in the environment variable named in leadkit.toml"
            if cls is SourceAuthError
            else ""
        )
        raise cls(
            f"{self.source}: {message}{hint}",
            source=self.source,
            url=shown,
            status=status,
            detail=detail,
            request_id=rid,
        )
