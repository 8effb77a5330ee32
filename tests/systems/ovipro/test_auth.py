"""OviPro bearer tokens against the OviPro sandbox on 127.0.0.1: single-flight, proactive
renewal, one renewal on 401, rejected logins, redaction, messages."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from leadkit.engine.http import HttpClient, make_session
from leadkit.errors import SourceAuthError, SourceError
from leadkit.redact import Redactor
from leadkit.systems.ovipro.auth import OviProAuth
from leadkit.systems.ovipro.client import OviProSource, is_invalid_api_key, new_request_id
from leadkit.systems.ovipro.sandbox import OviProSandbox, OviProSandboxConfig
from leadkit.systems.ovipro.settings import OviProSettings

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
LOG = logging.getLogger("leadkit.test.ovipro")


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def sandbox() -> AsyncIterator[OviProSandbox]:
    async with OviProSandbox(OviProSandboxConfig(leads=30, outgoing_leads=5, seed=1)) as sb:
        yield sb


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with make_session(8, 10) as s:
        yield s


def settings_for(sb: OviProSandbox, **changes: Any) -> OviProSettings:
    values: dict[str, Any] = {
        "base_url": sb.base_url,
        "auth_url": sb.auth_url,
        "username": sb.username,
        "password": sb.password,
        "backoff_initial_s": 0.01,
        **changes,
    }
    return OviProSettings.model_validate(values)


def make_auth(
    session: aiohttp.ClientSession,
    settings: OviProSettings,
    *,
    redactor: Redactor | None = None,
    clock: Any = None,
) -> tuple[OviProAuth, HttpClient]:
    """The auth and a Lead API client using it, as the source wires them."""
    redactor = redactor or Redactor()

    def client(auth: OviProAuth | None) -> HttpClient:
        return HttpClient(
            session,
            source="op",
            redactor=redactor,
            max_retries=2,
            log=LOG,
            backoff_initial_s=0.01,
            request_id=new_request_id,
            auth=auth,
            is_auth_error=is_invalid_api_key,
        )

    kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
    auth = OviProAuth(client(None), settings, source="op", redactor=redactor, log=LOG, **kwargs)
    return auth, client(auth)


async def test_many_waiting_requests_share_one_token_request(
    sandbox: OviProSandbox, session: aiohttp.ClientSession
) -> None:
    redactor = Redactor()
    auth, _ = make_auth(session, settings_for(sandbox), redactor=redactor)
    headers = await asyncio.gather(*(auth.headers() for _ in range(50)))
    assert sandbox.token_requests == 1
    assert auth.token_requests == 1
    assert len({h["Authorization"] for h in headers}) == 1
    value = headers[0]["Authorization"]
    assert value.startswith("Bearer ")
    token = value.removeprefix("Bearer ")
    # The token is a secret from the moment it arrives.
    assert redactor.scrub(f"echo {token}") == "echo ***"
    # The token request carried its own valid Request-ID.
    assert all(UUID4.match(rid) for rid in sandbox.request_ids)


async def test_the_token_is_renewed_proactively_once_per_lifetime(
    sandbox: OviProSandbox, session: aiohttp.ClientSession
) -> None:
    clock = Clock()
    auth, _ = make_auth(session, settings_for(sandbox), clock=clock)
    first = await auth.headers()
    clock.now += 900 * 0.8 - 1  # just before 80 % of expires_in=900
    assert await auth.headers() == first
    assert sandbox.token_requests == 1
    clock.now += 2
    renewed = await asyncio.gather(*(auth.headers() for _ in range(20)))
    assert sandbox.token_requests == 2
    assert {h["Authorization"] for h in renewed} != {first["Authorization"]}
    assert len({h["Authorization"] for h in renewed}) == 1


async def test_renew_fraction_is_honoured(
    sandbox: OviProSandbox, session: aiohttp.ClientSession
) -> None:
    clock = Clock()
    auth, _ = make_auth(session, settings_for(sandbox, renew_fraction=0.5), clock=clock)
    await auth.headers()
    clock.now += 451
    await auth.headers()
    assert sandbox.token_requests == 2


async def test_refresh_after_a_401_is_single_flight_and_skips_stale_failures(
    sandbox: OviProSandbox, session: aiohttp.ClientSession
) -> None:
    auth, _ = make_auth(session, settings_for(sandbox))
    old = await auth.headers()
    await asyncio.gather(*(auth.refresh(old) for _ in range(20)))
    assert sandbox.token_requests == 2  # one renewal for twenty 401s with the same token
    new = await auth.headers()
    assert new != old
    await auth.refresh(old)  # a late 401 of the old token: already renewed, nothing to do
    assert sandbox.token_requests == 2


async def test_an_expired_token_is_renewed_once_on_401_and_the_requests_replayed(
    session: aiohttp.ClientSession,
) -> None:
    """A clock that never moves: leadkit thinks its token is fresh, the server does not."""
    cfg = OviProSandboxConfig(leads=250, outgoing_leads=0, seed=2, token_lifetime_s=1)
    async with OviProSandbox(cfg) as sb:
        auth, http = make_auth(session, settings_for(sb), clock=lambda: 0.0)
        await auth.headers()
        await asyncio.sleep(1.1)  # the server's token expired
        url = sb.base_url + "/leads"
        responses = await asyncio.gather(
            *(
                http.request("GET", url, params={"startIndex": str(i * 10), "size": "10"})
                for i in range(10)
            )
        )
        assert all(r.status == 200 for r in responses)
        assert sb.token_requests == 2  # the first token, then exactly one renewal
        assert len(sb.request_ids) == len(set(sb.request_ids))


async def test_a_wrong_password_fails_once_with_a_clear_message_and_no_retry_loop(
    sandbox: OviProSandbox, session: aiohttp.ClientSession
) -> None:
    wrong = "not-the-password-42"
    redactor = Redactor([wrong])
    auth, _ = make_auth(session, settings_for(sandbox, password=wrong), redactor=redactor)
    with pytest.raises(SourceAuthError) as info:
        await auth.headers()
    text = str(info.value)
    assert text.startswith("op: cannot get an OviPro token: HTTP 401 on POST ")
    assert f"OviPro rejected the login of user {sandbox.username!r}" in text
    assert "check `username` and `password` in [sources.op]" in text
    assert "leadkit does not retry a rejected login" in text
    assert re.search(r"\(Request-ID [0-9a-f-]{36}\)", text)
    assert info.value.request_id in sandbox.request_ids
    assert wrong not in text
    # Every later request fails at once with the same error: no second login attempt.
    results = await asyncio.gather(*(auth.headers() for _ in range(10)), return_exceptions=True)
    assert all(r is info.value for r in results)
    assert sandbox.token_requests == 1


async def test_an_api_key_is_sent_when_set_and_a_missing_one_is_a_credentials_error(
    sandbox: OviProSandbox, session: aiohttp.ClientSession
) -> None:
    sandbox.configure(require_api_key=True)
    auth, _ = make_auth(session, settings_for(sandbox))
    with pytest.raises(SourceAuthError) as info:
        await auth.headers()
    text = str(info.value)
    assert "HTTP 404" in text
    assert "INVALID_API_KEY" in text
    assert "check `api_key` in [sources.op]" in text
    keyed, http = make_auth(session, settings_for(sandbox, api_key=sandbox.api_key))
    resp = await http.request(
        "GET", sandbox.base_url + "/leads", headers={"x-api-key": sandbox.api_key}
    )
    assert resp.status == 200
    assert keyed.token_requests == 1


@pytest.mark.parametrize(
    ("status", "auth_error", "expected"),
    [
        (415, False, "leadkit's list requests have no body, so a 415 means a proxy"),
        (404, True, "OviPro's gateway rejected the API key (404 INVALID_API_KEY)"),
        (404, False, "check `base_url`, `leads_path` and `outgoing_leads_path`"),
        (401, True, "the Lead API refused a token the token service had just issued"),
        (503, False, "OviPro kept failing after the retries; nothing is lost"),
        (429, False, "the next run reads everything again"),
        (400, False, "quote the Request-ID to OviPro support"),
    ],
    ids=["415", "invalid-api-key", "not-found", "401", "503", "429", "400"],
)
def test_lead_api_failures_say_what_to_do(status: int, auth_error: bool, expected: str) -> None:
    """The Lead API's errors as the HTTP client raises them, explained by the source.

    (The sandbox answers 415 only to a POST whose body is not JSON; leadkit's list requests
    have no body and its login is JSON, so an extract cannot provoke a real 415.)
    """
    cls = SourceAuthError if auth_error else SourceError
    rid = new_request_id()
    raised = cls(
        f"op: HTTP {status} on GET http://h/lead/v1/leads (Request-ID {rid}): CODE: text"
        + (
            " — check the credentials in the environment variable named in leadkit.toml"
            if auth_error
            else ""
        ),
        source="op",
        url="http://h/lead/v1/leads",
        status=status,
        request_id=rid,
    )
    settings = OviProSettings.model_validate(
        {"base_url": "http://h/lead/v1", "auth_url": "http://h/a", "username": "u", "password": "p"}
    )
    explained = OviProSource("op", settings)._explain(raised)
    assert type(explained) is cls
    assert expected in str(explained)
    assert f"(Request-ID {rid})" in str(explained)
    assert str(explained).count(" — ") == 1  # the generic credentials hint is replaced
    assert (explained.status, explained.request_id) == (status, rid)


def test_settings_refuse_what_cannot_work() -> None:
    from pydantic import ValidationError

    base = {
        "base_url": "http://h/lead/v1",
        "auth_url": "http://h/a",
        "username": "u",
        "password": "p",
    }
    for bad in (
        {"page_size": 101},
        {"page_size": 1},
        {"base_url": "h/lead/v1"},
        {"auth_url": "http://user:pw@h/a"},
        {"leads_path": "http://h/leads"},
        {"password": ""},
        {"renew_fraction": 0},
    ):
        with pytest.raises(ValidationError):
            OviProSettings.model_validate({**base, **bad})
    ok = OviProSettings.model_validate({**base, "leads_path": "leads", "api_key": ""})
    assert ok.url("leads") == "http://h/lead/v1/leads"
    assert ok.url("token") == "http://h/a/tokens"
    assert ok.api_key is None  # "${OVIPRO_API_KEY:-}" left empty: no key
