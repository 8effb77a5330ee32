"""The OviPro sandbox's knobs: faults, latency, rate limit, changing data, the runner."""

from __future__ import annotations

import asyncio
import sys
import time
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import aiohttp
import orjson
import pytest

from leadkit.sandbox import SandboxThread
from leadkit.systems.ovipro.sandbox import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    OviProSandbox,
    OviProSandboxConfig,
)
from tests.systems.ovipro.conftest import Api, SandboxFactory


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- faults (spec §10) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("500", {"errorCode": "TECHNICAL_ERROR", "message": "A technical error has occurred."}),
        ("503", {"errorCode": "TECHNICAL_ERROR", "message": "Service temporarily unavailable."}),
        ("429", {"errorCode": "TOO_MANY_REQUESTS", "message": "Too many requests.",
                 "description": "rate limit (injected fault); retry after 3 s"}),
    ],
)  # fmt: skip
async def test_status_faults(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession, kind: str, body: dict[str, str]
) -> None:
    async with make_sandbox() as sb:
        api = Api(http, sb)
        token = await api.token()
        sb.configure(fault_rate=1.0, fault_kinds=(kind,), retry_after_s=3)
        rid = str(uuid.uuid4())
        for method, url in (("GET", sb.leads_url), ("POST", sb.outgoing_url),
                            ("POST", sb.token_url)):  # fmt: skip
            reply = await api.call(method, url, json={}, auth=token, request_id=rid)
            assert (reply.status, reply.body) == (int(kind), body)
            assert reply.headers.get("Retry-After") == ("3" if kind == "429" else None)
            assert reply.headers["Request-ID"] == rid
        assert [(r.status, r.fault) for r in sb.requests[1:]] == [(int(kind), kind)] * 3
        assert sb.created == []
        assert sb.token_requests == 2


async def test_reset_fault_drops_the_connection(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    async with make_sandbox() as sb:
        api = Api(http, sb)
        token = await api.token()
        sb.configure(fault_rate=1.0, fault_kinds=("reset",))
        with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
            await api.leads(auth=token)
        # (aiohttp may retry an idempotent request once on a dropped connection.)
        assert {(r.status, r.fault) for r in sb.requests[1:]} == {(None, "reset")}


async def test_faults_can_spare_the_token_endpoint(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    async with make_sandbox(fault_rate=1.0, fault_kinds=("500",), fault_on_tokens=False) as sb:
        api = Api(http, sb)
        token = await api.token()
        assert (await api.leads(auth=token)).status == 500


async def test_faults_are_mixed_and_switch_at_runtime(api: Api, sandbox: OviProSandbox) -> None:
    token = await api.token()
    sandbox.configure(fault_rate=0.5, fault_kinds=("500", "503", "429"))
    seen = Counter([(await api.leads("size=1", auth=token)).status for _ in range(120)])
    assert set(seen) == {200, 500, 503, 429}
    assert 30 < seen[200] < 90
    sandbox.configure(fault_rate=0.0)
    assert {(await api.leads("size=1", auth=token)).status for _ in range(20)} == {200}


async def test_configure_validates_and_refuses_dataset_knobs(sandbox: OviProSandbox) -> None:
    with pytest.raises(ValueError, match="cannot change \\['leads'\\] while running"):
        sandbox.configure(leads=5)
    with pytest.raises(ValueError, match="fault_rate=2 must be between 0 and 1"):
        sandbox.configure(fault_rate=2)
    allowed = "allowed: 500, 502, 503, 504, 429, reset"
    with pytest.raises(ValueError, match=f"fault_kinds=\\('418',\\); {allowed}"):
        sandbox.configure(fault_kinds=("418",))
    assert sandbox.config.fault_rate == 0.0


def test_config_reports_every_problem() -> None:
    with pytest.raises(ValueError, match="invalid OviProSandboxConfig") as info:
        OviProSandboxConfig(leads=-1, offices=0, token_lifetime_s=0, leads_path="leads/",
                            marketplace_path="/marketplaces/leads")  # fmt: skip
    message = str(info.value)
    for part in ("leads=-1 must be >= 0", "offices=0 must be 1..12",
                 "token_lifetime_s=0 must be an int >= 1", "leads_path='leads/' must start",
                 "needs {marketplaceCode}"):  # fmt: skip
        assert part in message


# --- latency and the in-flight limit ------------------------------------------------------


async def test_latency_delays_every_answer(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    async with make_sandbox(latency_s=0.2) as sb:
        api = Api(http, sb)
        started = time.perf_counter()
        await api.token()
        assert time.perf_counter() - started >= 0.2


async def test_too_many_requests_at_once_get_429(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    async with make_sandbox(latency_s=0.2, max_in_flight=2, retry_after_s=2) as sb:
        api = Api(http, sb)
        token = await api.token()
        replies = await asyncio.gather(*(api.leads("size=1", auth=token) for _ in range(5)))
        assert sorted(r.status for r in replies) == [200, 200, 429, 429, 429]
        limited = next(r for r in replies if r.status == 429)
        assert limited.headers["Retry-After"] == "2"
        expected = "rate limit (more than 2 requests at once); retry after 2 s"
        assert limited.body["description"] == expected


# --- leads that change while a client pages ----------------------------------------------


async def test_grow_per_request_adds_new_leads_on_every_get(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    async with make_sandbox(leads=50, grow_per_request=3) as sb:
        api = Api(http, sb)
        before = datetime.now(UTC).replace(microsecond=0)
        totals = [(await api.leads("size=3")).body["totalCount"] for _ in range(3)]
        assert totals == [53, 56, 59]
        added = [x for x in sb.leads() if stamp(x["creationTime"]) >= before]
        assert len(added) == 9
        for lead in added:
            assert lead["leadStatusCode"] == "NEW"
            assert stamp(lead["creationTime"]) <= datetime.now(UTC) + timedelta(seconds=1)
        # Outgoing reads do not grow the incoming leads.
        await api.outgoing()
        assert len(sb.leads()) == 59


async def test_shrink_per_request_deletes_leads_on_every_get(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    async with make_sandbox(leads=50, shrink_per_request=4) as sb:
        api = Api(http, sb)
        before = {x["leadId"] for x in sb.leads()}
        totals = [(await api.leads("size=1")).body["totalCount"] for _ in range(3)]
        assert totals == [46, 42, 38]
        assert {x["leadId"] for x in sb.leads()} < before


async def test_offsets_shift_while_leads_change(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    """A naive offset scan under churn misses or repeats leads: the effect to test against."""
    async with make_sandbox(leads=200, grow_per_request=2, shrink_per_request=2) as sb:
        api = Api(http, sb)
        seen: list[str] = []
        start = 0
        while True:
            reply = await api.leads(f"sort=creationTime|asc&size=20&startIndex={start}")
            seen += [x["leadId"] for x in reply.body["leads"]]
            start += 20
            if start >= reply.body["totalCount"]:
                break
        current = {x["leadId"] for x in sb.leads()}
        assert len(current) == 200
        assert set(seen) != current  # something was missed, or vanished after being read


async def test_add_delete_and_set_status(api: Api, sandbox: OviProSandbox) -> None:
    new_ids = sandbox.add_leads(3)
    reply = await api.leads("size=3")
    assert {x["leadId"] for x in reply.body["leads"]} == set(new_ids)  # newest first
    assert reply.body["totalCount"] == 303
    assert sandbox.delete_leads([new_ids[0], "not-there"]) == [new_ids[0]]
    assert (await api.leads("size=1")).body["totalCount"] == 302
    before = sandbox.lead(new_ids[1])
    assert before is not None
    after = sandbox.set_status(new_ids[1], "APPROVED")
    assert after["modificationTime"] > before["modificationTime"]
    [listed] = (await api.leads(f"leadId={new_ids[1]}")).body["leads"]
    assert listed == after
    out_ids = sandbox.add_outgoing_leads(2)
    assert (await api.outgoing("size=1")).body["totalCount"] == 62
    assert sandbox.delete_outgoing_leads(out_ids) == out_ids


# --- determinism ---------------------------------------------------------------------------


async def test_same_seed_same_data_other_seed_other_data() -> None:
    config = OviProSandboxConfig(leads=200, outgoing_leads=30, seed=11)
    async with OviProSandbox(config) as one, OviProSandbox(config) as two:
        assert one.leads() == two.leads()
        assert one.outgoing_leads() == two.outgoing_leads()
        assert one.add_leads(5) == two.add_leads(5)
    async with OviProSandbox(OviProSandboxConfig(leads=200, outgoing_leads=30, seed=12)) as three:
        assert {x["leadId"] for x in three.leads()}.isdisjoint(x["leadId"] for x in one.leads())


# --- running it elsewhere: a thread, a process ------------------------------------------


def test_runs_in_a_sandbox_thread() -> None:
    config = OviProSandboxConfig(leads=15, outgoing_leads=3)
    with SandboxThread(lambda: OviProSandbox(config)) as thread:
        assert thread.base_url.endswith("/lead/v1")
        sb: OviProSandbox = thread.server
        body = orjson.dumps({"username": sb.username, "password": sb.password})
        headers = {"Request-ID": str(uuid.uuid4()), "Content-Type": "application/json"}
        request = urllib.request.Request(sb.token_url, data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as resp:
            token = orjson.loads(resp.read())["access_token"]
        headers = {"Request-ID": str(uuid.uuid4()), "Authorization": f"Bearer {token}"}
        request = urllib.request.Request(f"{thread.base_url}/leads?size=1", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert orjson.loads(resp.read())["totalCount"] == 15
        assert thread.call(lambda: sb.add_leads(1))


async def test_module_runner_prints_its_urls_and_serves(http: aiohttp.ClientSession) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "leadkit.systems.ovipro.sandbox", "--port", "0", "--leads", "40",
        "--outgoing-leads", "5", "--latency-ms", "1",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = {}
        for _ in range(5):
            line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode().strip()
            name, _, value = line.partition("=")
            lines[name] = value
        assert lines["OVIPRO_USERNAME"] == DEMO_USERNAME
        assert lines["OVIPRO_PASSWORD"] == DEMO_PASSWORD
        assert "public sandbox demo values" in next(k for k in lines if k.startswith("#"))
        base, auth = lines["OVIPRO_SANDBOX_URL"], lines["OVIPRO_AUTH_URL"]
        assert urlsplit(base).hostname == "127.0.0.1"
        assert (urlsplit(base).path, urlsplit(auth).path) == ("/lead/v1", "/authentication/v1")
        headers = {"Request-ID": str(uuid.uuid4())}
        body = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
        async with http.post(f"{auth}/tokens", json=body, headers=headers) as resp:
            token = (await resp.json())["access_token"]
        headers = {"Request-ID": str(uuid.uuid4()), "Authorization": f"Bearer {token}"}
        async with http.get(f"{base}/leads", headers=headers) as resp:
            assert resp.status == 200
            assert (await resp.json())["totalCount"] == 40
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=10)
