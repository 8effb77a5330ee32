"""OviPro bearer tokens (spec §2, Q5): one token at a time, renewed before it expires.

:class:`OviProAuth` implements :class:`leadkit.engine.http.RequestAuth` for the Lead API:

* the first request asks the Authentication API for a token
  (``POST {auth_url}{auth_path}`` with ``{"username", "password"}``);
* a token is renewed *proactively* once ``renew_fraction`` (default 0.8) of its
  ``expires_in`` has passed, so a long extract never sends an expired token in the normal
  case;
* a 401 from the Lead API renews it once (the HTTP client then replays the request once);
* renewals are **single-flight**: however many requests wait for a token, one token request
  is made and they all use its result;
* a rejected login (401, or 404 ``INVALID_API_KEY``) is remembered: every later request of
  the run fails at once with the same clear error, never a retry loop against the token
  service;
* every token is added to the run's redactor the moment it arrives, so it can never show up
  in a log line, an error or ``_runs``.

The JWT is treated as opaque (its claims are not read).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from leadkit.engine.http import HttpClient
from leadkit.errors import SourceAuthError, SourceError
from leadkit.redact import Redactor
from leadkit.systems.ovipro.settings import OviProSettings

__all__ = ["DEFAULT_EXPIRES_IN_S", "OviProAuth"]

#: Lifetime assumed when a token response carries no usable ``expires_in`` (spec §2).
DEFAULT_EXPIRES_IN_S = 900.0


class OviProAuth:
    """Bearer-token credentials for one OviPro source (a :class:`RequestAuth`).

    Args:
        http: a client *without* ``auth`` for the token requests (it adds the Request-ID
            and retries 429/5xx/timeouts like any other request).
        settings: the source's settings (auth URL, credentials, ``renew_fraction``).
        source: the source name, for messages.
        redactor: the run's redactor; every token is added to it.
        log: where renewals are logged (never the token).
        clock: seconds on a monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        http: HttpClient,
        settings: OviProSettings,
        *,
        source: str,
        redactor: Redactor,
        log: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.settings = settings
        self.source = source
        self.redactor = redactor
        self.log = log
        self.clock = clock
        self.token_requests = 0
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()
        self._failed: SourceError | None = None

    def _header(self) -> dict[str, str]:
        assert self._token is not None
        return {"Authorization": f"Bearer {self._token}"}

    def _fresh(self) -> bool:
        return self._token is not None and self.clock() < self._renew_at

    async def headers(self) -> dict[str, str]:
        """The ``Authorization`` header, fetching or renewing the token first if due."""
        if self._failed is not None:
            raise self._failed
        if not self._fresh():
            async with self._lock:
                if self._failed is not None:
                    raise self._failed
                if not self._fresh():
                    await self._fetch("renewing" if self._token else "requesting")
        return self._header()

    async def refresh(self, failed: Mapping[str, str]) -> None:
        """Renew after the Lead API rejected ``failed`` with 401 — unless another request
        already renewed the token meanwhile (then the replay simply uses the new one)."""
        async with self._lock:
            if self._failed is not None:
                raise self._failed
            if (
                self._token is None
                or failed.get("Authorization") == self._header()["Authorization"]
            ):
                await self._fetch("renewing after HTTP 401")

    async def _fetch(self, why: str) -> None:
        """One token request (the caller holds the lock)."""
        s = self.settings
        self.token_requests += 1
        level = (
            logging.INFO if self._token is not None or why.startswith("renew") else logging.DEBUG
        )
        self.log.log(level, "%s: %s the OviPro token (user %r)", self.source, why, s.username)
        headers = {"Accept": "application/json"}
        if s.api_key is not None:
            headers["x-api-key"] = s.api_key.get_secret_value()
        started = self.clock()
        body = {"username": s.username, "password": s.password.get_secret_value()}
        try:
            resp = await self.http.request("POST", s.url("token"), json=body, headers=headers)
            token, expires_in = self._read(resp.body, resp.url)
        except SourceError as exc:
            self._token = None
            self._failed = self._explain(exc)
            raise self._failed from exc
        self._token = token
        self._renew_at = started + expires_in * s.renew_fraction

    def _read(self, body: bytes, shown_url: str) -> tuple[str, float]:
        """``access_token`` and ``expires_in`` from a token response (never echoing it)."""
        try:
            doc: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            doc = None
        token = doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token.strip():
            keys = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
            raise SourceError(
                f"{self.source}: the token response from {shown_url} has no access_token "
                f"(got keys {keys}); expected {{token_type, access_token, expires_in}} "
                "(spec §2) — check auth_url and auth_path",
                source=self.source,
                url=shown_url,
            )
        self.redactor.add(token)
        expires = doc.get("expires_in")
        if isinstance(expires, bool) or not isinstance(expires, int | float) or expires <= 0:
            self.log.warning(
                "%s: the token response has no usable expires_in (%r); assuming %ds",
                self.source,
                expires,
                DEFAULT_EXPIRES_IN_S,
            )
            expires = DEFAULT_EXPIRES_IN_S
        return token.strip(), float(expires)

    def _explain(self, exc: SourceError) -> SourceError:
        """The token service's error with what to do about it."""
        s = self.settings
        where = f"[sources.{self.source}]"
        if isinstance(exc, SourceAuthError) and exc.status == 404:
            hint = (
                "OviPro's gateway rejected the API key (404 INVALID_API_KEY): check `api_key` "
                f"in {where} (the environment variable it names), or remove it if your "
                "integration has none"
            )
        elif isinstance(exc, SourceAuthError):
            hint = (
                f"OviPro rejected the login of user {s.username!r}: check `username` and "
                f"`password` in {where} (the environment variables they name). "
                "leadkit does not retry a rejected login"
            )
        elif exc.status == 404:
            hint = (
                "no token endpoint at that URL: check `auth_url` and `auth_path` "
                "(the defaults are inferred, spec §2)"
            )
        elif exc.status == 415:
            hint = (
                "leadkit sends the login as JSON with Content-Type: application/json, so a 415 "
                "means something between leadkit and OviPro rewrote the request (a proxy) or "
                "`auth_url`/`auth_path` point at an endpoint that is not the token service"
            )
        else:
            hint = "the token service did not give a token; the next run tries again"
        cls = SourceAuthError if isinstance(exc, SourceAuthError) else SourceError
        return cls(
            f"{self.source}: cannot get an OviPro token: {_strip_source(str(exc), self.source)}"
            f" — {hint}",
            source=self.source,
            url=exc.url,
            status=exc.status,
            detail=exc.detail,
            request_id=exc.request_id,
        )


def _strip_source(message: str, source: str) -> str:
    """Drop a leading ``"<source>: "`` (and the HTTP client's generic hint) from a message."""
    prefix = f"{source}: "
    text = message[len(prefix) :] if message.startswith(prefix) else message
    return text.split(" — check the credentials", 1)[0]
