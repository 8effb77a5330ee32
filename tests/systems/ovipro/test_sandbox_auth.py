"""The OviPro sandbox's token endpoint, bearer tokens, Request-ID, API key and routes.

Spec §2 (tokens), §3 (headers), §10 (errors), Q1 (paths), Q4 (API key), Q6 (Request-ID).
"""

from __future__ import annotations

import asyncio
import base64
import uuid

import aiohttp
import jwt
import orjson
import pytest

from leadkit.systems.ovipro.sandbox import (
    DEMO_API_KEY,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    OviProSandbox,
)
from leadkit.systems.ovipro.sandbox.tokens import TokenError, TokenIssuer
from tests.systems.ovipro.conftest import Api, SandboxFactory

MISSING = "send Authorization: Bearer <access_token> (POST the token endpoint first)"
UNAUTHORIZED = {"errorCode": "UNAUTHORIZED", "message": "Unauthorized request."}


# --- token endpoint (spec §2) ----------------------------------------------------------


async def test_token_is_a_signed_jwt_bound_to_the_offices(api: Api, sandbox: OviProSandbox) -> None:
    body = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    reply = await api.call("POST", f"{sandbox.auth_url}/tokens", json=body, auth=False)
    assert reply.status == 200
    assert list(reply.body) == ["token_type", "access_token", "expires_in"]
    assert reply.body["token_type"] == "Bearer"
    assert reply.body["expires_in"] == 900
    token = reply.body["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == DEMO_USERNAME
    assert claims["exp"] - claims["iat"] in (900, 901)
    assert sorted(claims["offices"]) == sorted(sandbox.office_ids)
    assert sandbox.token_requests == 1
    assert sandbox.tokens_issued == 1


@pytest.mark.parametrize(
    "body",
    [
        {"username": DEMO_USERNAME, "password": "wrong"},
        {"username": "someone.else", "password": DEMO_PASSWORD},
        {"username": DEMO_USERNAME.upper(), "password": DEMO_PASSWORD},
    ],
    ids=["wrong-password", "unknown-user", "username-case"],
)
async def test_wrong_credentials_are_401(
    api: Api, sandbox: OviProSandbox, body: dict[str, str]
) -> None:
    reply = await api.call("POST", sandbox.token_url, json=body, auth=False)
    assert reply.status == 401
    assert reply.body == {**UNAUTHORIZED, "description": "wrong username or password"}
    assert DEMO_PASSWORD not in str(reply.body)
    assert sandbox.token_requests == 1
    assert sandbox.tokens_issued == 0


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({}, ["username", "password"]),
        ({"username": DEMO_USERNAME}, ["password"]),
        ({"password": DEMO_PASSWORD}, ["username"]),
        ({"username": "", "password": DEMO_PASSWORD}, ["username"]),
        ({"username": 7, "password": DEMO_PASSWORD}, ["username"]),
        ([DEMO_USERNAME, DEMO_PASSWORD], ["username", "password"]),
    ],
    ids=["empty", "no-password", "no-username", "blank-username", "number", "array"],
)
async def test_missing_credentials_are_400(
    api: Api, sandbox: OviProSandbox, body: object, missing: list[str]
) -> None:
    reply = await api.call("POST", sandbox.token_url, json=body, auth=False)
    assert reply.status == 400
    assert reply.body["errorCode"] == "BAD_REQUEST_BODY"
    assert [(e["target"], e["errorCode"]) for e in reply.body["errors"]] == [
        (name, "VALUE_REQUIRED") for name in missing
    ]


async def test_token_needs_a_json_body(api: Api, sandbox: OviProSandbox) -> None:
    form = f"username={DEMO_USERNAME}&password={DEMO_PASSWORD}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    reply = await api.call("POST", sandbox.token_url, data=form, headers=headers, auth=False)
    assert reply.status == 415
    assert reply.body == {
        "errorCode": "UNSUPPORTED_MEDIA_TYPE",
        "message": "Unsupported media type.",
        "description": "Content-Type 'application/x-www-form-urlencoded'; send application/json",
    }
    headers = {"Content-Type": "application/json"}
    reply = await api.call("POST", sandbox.token_url, data="{nope", headers=headers, auth=False)
    assert reply.status == 400
    assert reply.body["errorCode"] == "BAD_REQUEST_BODY"
    assert reply.body["errors"][0]["target"] == "body"


async def test_token_endpoint_needs_a_request_id(api: Api, sandbox: OviProSandbox) -> None:
    body = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    reply = await api.call("POST", sandbox.token_url, json=body, auth=False, request_id=None)
    assert reply.status == 400
    assert reply.body["errors"][0]["target"] == "Request-ID"
    assert sandbox.token_requests == 1


# --- bearer tokens on the Lead API -------------------------------------------------------


def _tamper(token: str) -> str:
    """The token with its payload changed (offices emptied), signature kept."""
    head, payload, signature = token.split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["offices"] = []
    encoded = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
    return f"{head}.{encoded}.{signature}"


async def test_the_lead_api_needs_a_valid_token(
    api: Api, sandbox: OviProSandbox, make_sandbox: SandboxFactory
) -> None:
    good = await api.token()
    assert (await api.leads("size=1", auth=good)).status == 200
    assert (await api.leads("size=1", headers={"Authorization": f"bearer {good}"})).status == 200
    async with make_sandbox() as other:
        foreign = other.issue_token()
    cases = {
        "missing": (False, MISSING),
        "malformed": ("not.a.jwt", "the token is malformed"),
        "garbage": ("abc", "the token is malformed"),
        "foreign": (foreign, "the token's signature is not valid"),
        "tampered": (_tamper(good), "the token's signature is not valid"),
        "unsigned": (
            jwt.encode({"sub": DEMO_USERNAME}, "", algorithm="none"),
            "the token is malformed",
        ),
    }
    for name, (token, description) in cases.items():
        reply = await api.leads("size=1", auth=token)
        expected = {**UNAUTHORIZED, "description": description}
        assert (reply.status, reply.body) == (401, expected), name
    reply = await api.leads("size=1", auth=False, headers={"Authorization": f"Basic {good}"})
    assert reply.status == 401


async def test_tokens_expire_after_their_lifetime(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    async with make_sandbox(token_lifetime_s=1) as sb:
        api = Api(http, sb)
        reply = await api.call(
            "POST", sb.token_url, json={"username": sb.username, "password": sb.password},
            auth=False,
        )  # fmt: skip
        assert reply.body["expires_in"] == 1
        token = reply.body["access_token"]
        assert (await api.leads("size=1", auth=token)).status == 200
        await asyncio.sleep(1.05)
        reply = await api.leads("size=1", auth=token)
        assert (reply.status, reply.body) == (
            401, {**UNAUTHORIZED, "description": "the token has expired"}
        )  # fmt: skip
        fresh = await api.token()
        assert (await api.leads("size=1", auth=fresh)).status == 200
        sb.configure(token_lifetime_s=900)
        assert (await api.leads("size=1", auth=await api.token())).status == 200
        assert sb.token_requests == 3


async def test_expire_tokens_ends_every_token_now(api: Api, sandbox: OviProSandbox) -> None:
    assert (await api.leads("size=1")).status == 200
    sandbox.expire_tokens()
    reply = await api.leads("size=1")
    assert reply.body["description"] == "the token has expired"


# --- Request-ID (spec §3, Q6) ------------------------------------------------------------


async def test_request_id_is_echoed(api: Api, sandbox: OviProSandbox) -> None:
    rid = str(uuid.uuid4())
    reply = await api.leads("size=1", request_id=rid)
    assert reply.status == 200
    assert reply.headers["Request-ID"] == rid
    reply = await api.leads("size=1", request_id=rid, auth="nope")
    assert (reply.status, reply.headers["Request-ID"]) == (401, rid)


async def test_missing_request_id_is_400(api: Api, sandbox: OviProSandbox) -> None:
    reply = await api.leads("size=1", request_id=None)
    assert reply.status == 400
    assert reply.body == {
        "errorCode": "BAD_REQUEST_PARAMETERS",
        "message": "Invalid request parameters",
        "errors": [{"target": "Request-ID", "errorCode": "VALUE_REQUIRED",
                    "message": "the Request-ID header is required"}],
    }  # fmt: skip
    assert "Request-ID" not in reply.headers


@pytest.mark.parametrize(
    "value",
    [
        str(uuid.uuid4()).upper(),
        "not-a-uuid",
        "12345",
        "{" + str(uuid.uuid4()) + "}",
        uuid.uuid4().hex,
        "00000000-0000-0000-0000-000000000000",  # version 0
        "9031d1c5-7d40-61dd-b2b8-7919a2fc4fe9",  # version 6
        "9031d1c5-7d40-41dd-c2b8-7919a2fc4fe9",  # variant c
    ],
    ids=["upper", "word", "digits", "braces", "hex", "v0", "v6", "variant"],
)
async def test_invalid_request_id_is_400(api: Api, value: str) -> None:
    reply = await api.leads("size=1", request_id=value)
    assert reply.status == 400
    assert reply.body["errorCode"] == "BAD_REQUEST_PARAMETERS"
    [entry] = reply.body["errors"]
    assert (entry["target"], entry["errorCode"]) == ("Request-ID", "INVALID_TYPE")
    assert reply.headers["Request-ID"] == value


@pytest.mark.parametrize(
    "value",
    ["9031d1c5-7d40-41dd-b2b8-7919a2fc4fe9", str(uuid.uuid1()),
     str(uuid.uuid5(uuid.NAMESPACE_DNS, "x"))],
    ids=["documented", "v1", "v5"],
)  # fmt: skip
async def test_valid_request_ids(api: Api, value: str) -> None:
    assert (await api.leads("size=1", request_id=value)).status == 200


async def test_every_request_id_is_recorded_in_order(api: Api, sandbox: OviProSandbox) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for rid in ids:  # the first call fetches a token first
        await api.leads("size=1", request_id=rid)
    await api.leads("size=1", request_id=None)
    await api.leads("size=1", request_id="BAD")
    await api.call("GET", sandbox.root_url + "/nowhere", request_id=ids[0])
    recorded = sandbox.request_ids
    assert recorded[1:] == [*ids, None, "BAD", ids[0]]
    assert [r.request_id for r in sandbox.requests] == recorded
    assert sandbox.requests[0].path == "/authentication/v1/tokens"


# --- x-api-key (spec Q4) -----------------------------------------------------------------


async def test_api_key_is_off_by_default(api: Api) -> None:
    assert (await api.leads("size=1")).status == 200


async def test_api_key_check_answers_404_invalid_api_key(api: Api, sandbox: OviProSandbox) -> None:
    assert (await api.leads("size=1")).status == 200  # gets a token before the check is on
    sandbox.configure(require_api_key=True)
    expected = {
        "errorCode": "INVALID_API_KEY",
        "message": "Missing or invalid API key.",
        "description": "send a valid x-api-key header",
    }
    for headers in ({}, {"x-api-key": "wrong"}, {"x-api-key": ""}):
        reply = await api.leads("size=1", headers=headers)
        assert (reply.status, reply.body) == (404, expected)
    assert (await api.leads("size=1", headers={"X-API-KEY": DEMO_API_KEY})).status == 200
    body = {"username": sandbox.username, "password": sandbox.password}
    reply = await api.call("POST", sandbox.token_url, json=body, auth=False)
    assert (reply.status, reply.body) == (404, expected)
    reply = await api.call(
        "POST", sandbox.token_url, json=body, auth=False, headers={"x-api-key": DEMO_API_KEY}
    )
    assert reply.status == 200


# --- routes (spec §4, Q1) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/lead/v1/unknown"),
        ("GET", "/lead/v1/leads/"),
        ("GET", "/lead/v2/leads"),
        ("DELETE", "/lead/v1/leads"),
        ("GET", "/lead/v1/leads/9031d1c5-7d40-41dd-b2b8-7919a2fc4fe9"),
        ("GET", "/authentication/v1/tokens"),
        ("PUT", "/lead/v1/outgoingLeads"),
    ],
)
async def test_unknown_routes_are_404_not_found(
    api: Api, sandbox: OviProSandbox, method: str, path: str
) -> None:
    reply = await api.call(method, sandbox.root_url + path)
    assert reply.status == 404
    assert reply.body["errorCode"] == "NOT_FOUND"
    assert reply.body["message"] == "Not found."
    assert reply.body["description"].startswith(f"no route {method} {path}")


async def test_paths_are_configurable(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    paths = {"auth_path": "/auth", "token_path": "/oauth/token", "lead_path": "/api/lead/v2",
             "leads_path": "/incoming", "outgoing_path": "/outgoing"}  # fmt: skip
    async with make_sandbox(**paths) as sb:
        assert sb.base_url.endswith("/api/lead/v2")
        assert sb.token_url == sb.root_url + "/auth/oauth/token"
        api = Api(http, sb)
        reply = await api.call("GET", sb.base_url + "/incoming", query="size=2")
        assert (reply.status, reply.body["totalCount"]) == (200, 40)
        reply = await api.call("GET", sb.base_url + "/outgoing", query="size=2")
        assert (reply.status, reply.body["totalCount"]) == (200, 10)
        assert (await api.call("GET", sb.base_url + "/leads")).status == 404


def test_a_checked_token_is_not_decoded_again_but_still_expires() -> None:
    issuer = TokenIssuer()
    token = issuer.issue("demo", offices=("o1",), marketplaces=(), lifetime_s=60, now=1000.0)
    first = issuer.verify(token, now=1001.0)
    again = issuer.verify(token, now=1059.0)  # from the cache
    assert first == again
    assert again.offices == frozenset({"o1"})
    with pytest.raises(TokenError, match="expired"):
        issuer.verify(token, now=1060.0)
    fresh = issuer.issue("demo", offices=(), marketplaces=(), lifetime_s=60, now=1000.0)
    issuer.verify(fresh, now=1001.0)
    issuer.expire_all(now=1002.0)
    with pytest.raises(TokenError, match="expired"):
        issuer.verify(fresh, now=1003.0)
    with pytest.raises(TokenError, match="signature"):
        issuer.verify(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], now=1001.0)
