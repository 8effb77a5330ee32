"""The KPro sandbox's export side (spec §1–§4, §7) over real sockets on 127.0.0.1.

Expected results are computed independently, in plain Python over ``sb.leads()``.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import pytest
import yarl

from leadkit.systems.kpro.simulator import (
    DEMO_API_KEY,
    LEADS_PATH,
    KProSandbox,
    KProSandboxConfig,
)
from tests.systems.kpro.conftest import SandboxFactory

Lead = dict[str, Any]


async def get(
    http: aiohttp.ClientSession,
    sb: KProSandbox,
    query: str = "",
    *,
    key: str | None = None,
    path: str = LEADS_PATH,
) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
    """GET ``path?api_key=KEY&query`` with the query sent exactly as written."""
    raw = f"api_key={key or sb.api_key}" + (f"&{query}" if query else "")
    url = yarl.URL(f"{sb.base_url}{path}?{raw}", encoded=True)
    async with http.get(url) as resp:
        return resp.status, await resp.json(), resp.headers


async def all_ids(http: aiohttp.ClientSession, sb: KProSandbox, query: str) -> list[int]:
    """Ids of every lead matching ``query``, in the order the sandbox serves them."""
    ids: list[int] = []
    page = 1
    while True:
        status, body, _ = await get(http, sb, f"{query}&size=1000&page={page}".lstrip("&"))
        assert status == 200, body
        ids += [lead["id"] for lead in body["data"]]
        if body["links"]["next"] is None:
            return ids
        page += 1


def ts(lead: Lead) -> datetime:
    return datetime.fromisoformat(lead["createdAt"])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def newest_first(leads: list[Lead]) -> list[int]:
    """The default order: createdAt descending, then id ascending."""
    return [lead["id"] for lead in sorted(leads, key=lambda x: (-ts(x).timestamp(), x["id"]))]


# --- auth and routing (spec §1, §2, Q17) ------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "headers"),
    [
        ("", {}),
        ("api_key=" + "f" * 64, {}),
        ("API_KEY={key}", {}),
        ("", {"X-Api-Key": "{key}"}),
        ("", {"Authorization": "Bearer {key}"}),
    ],
    ids=["missing", "wrong", "wrong-case-name", "header", "bearer"],
)
async def test_a_missing_or_bad_key_is_401(
    sandbox: KProSandbox, http: aiohttp.ClientSession, raw: str, headers: dict[str, str]
) -> None:
    url = yarl.URL(f"{sandbox.leads_url}?{raw.format(key=sandbox.api_key)}", encoded=True)
    sent = {k: v.format(key=sandbox.api_key) for k, v in headers.items()}
    async with http.get(url, headers=sent) as resp:
        assert resp.status == 401
        assert await resp.json() == {"message": "Unauthenticated."}


async def test_the_default_key_is_the_documented_shape(sandbox: KProSandbox) -> None:
    assert sandbox.api_key == DEMO_API_KEY
    assert len(DEMO_API_KEY) == 64
    assert int(DEMO_API_KEY, 16) >= 0


@pytest.mark.parametrize("path", ["/api/bulk/leads", "/", "/api/rest/leads", LEADS_PATH + "/1"])
async def test_only_the_leads_path_exists(
    sandbox: KProSandbox, http: aiohttp.ClientSession, path: str
) -> None:
    status, body, _ = await get(http, sandbox, path=path)
    assert (status, body) == (404, {"message": "Not Found"})


async def test_other_methods_are_405(sandbox: KProSandbox, http: aiohttp.ClientSession) -> None:
    async with http.put(sandbox.leads_url, params={"api_key": sandbox.api_key}) as resp:
        assert resp.status == 405
        assert "Supported methods" in (await resp.json())["message"]


# --- envelope (spec §3.2) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "page"),
    [
        (None, None),
        (7, 1),
        (7, 2),
        (7, 86),
        (7, 87),
        (7, 500),
        (1000, 1),
        (600, 1),
        (599, 2),
        (1, 600),
    ],
)
async def test_pagination_maths(
    sandbox: KProSandbox, http: aiohttp.ClientSession, size: int | None, page: int | None
) -> None:
    params = {k: v for k, v in (("size", size), ("page", page)) if v is not None}
    status, body, _ = await get(http, sandbox, urlencode(params))
    assert status == 200
    assert list(body) == ["data", "pagination", "links"]
    per_page, current = size or 100, page or 1
    total = 600
    last_page = max(1, math.ceil(total / per_page))
    first = (current - 1) * per_page
    count = max(0, min(per_page, total - first))
    assert body["pagination"] == {
        "currentPage": current,
        "perPage": per_page,
        "total": total,
        "from": first + 1 if count else None,
        "to": first + count if count else None,
        "lastPage": last_page,
    }
    expected = newest_first(sandbox.leads())[first : first + count]
    assert [lead["id"] for lead in body["data"]] == expected
    links = body["links"]
    assert list(links) == ["first", "prev", "next", "last"]
    assert (links["prev"] is None) == (current == 1)
    assert (links["next"] is None) == (current >= last_page)


async def test_no_match_is_an_empty_first_and_last_page(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await get(http, sandbox, "eligibilityStatus=nobody")
    assert status == 200
    assert body["data"] == []
    assert body["pagination"] == {
        "currentPage": 1, "perPage": 100, "total": 0, "from": None, "to": None, "lastPage": 1
    }  # fmt: skip
    assert body["links"]["prev"] is None
    assert body["links"]["next"] is None


async def test_links_repeat_every_parameter_and_change_only_page(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    query = (
        "createdAt.gte=2021-03-01%2000:00&site.id%5B%5D=1&site.id[]=4&sort=createdAt&size=5&page=2"
    )
    status, body, _ = await get(http, sandbox, query)
    assert status == 200
    sent = Counter(parse_qsl(f"api_key={sandbox.api_key}&{query}"))
    del sent[("page", "2")]
    last = body["pagination"]["lastPage"]
    assert last > 3
    for name, page in (("first", 1), ("prev", 1), ("next", 3), ("last", last)):
        link = urlsplit(body["links"][name])
        assert f"{link.scheme}://{link.netloc}{link.path}" == sandbox.leads_url
        pairs = Counter(parse_qsl(link.query))
        assert pairs.pop(("page", str(page))) == 1
        assert pairs == sent, name
    # Following a link gives that page of the same result.
    async with http.get(yarl.URL(body["links"]["next"], encoded=True)) as resp:
        following = await resp.json()
    assert following["pagination"] == {**body["pagination"], "currentPage": 3, "from": 11, "to": 15}


# --- the documented filter examples (spec §4) ------------------------------------------

BOUNDARY_TIMES = [
    utc(2021, 2, 28, 23, 59, 59),
    utc(2021, 3, 1, 0, 0, 0),
    utc(2021, 3, 10, 23, 59, 59),
    utc(2021, 3, 11, 0, 0, 0),
    utc(2021, 3, 11, 10, 0, 0),
    utc(2021, 3, 11, 11, 0, 0),
    utc(2021, 3, 11, 11, 0, 30),
]

Pred = Callable[[Lead], bool]
EXAMPLES: list[tuple[str, Pred]] = [
    (
        "createdAt.gte=2021-03-01&createdAt.ltt=2021-03-10",
        lambda x: utc(2021, 3, 1) <= ts(x) < utc(2021, 3, 11),
    ),
    (
        "createdAt.gte=2021-03-11%2010:00&createdAt.lte=2021-03-11%2011:00",
        lambda x: utc(2021, 3, 11, 10) <= ts(x) <= utc(2021, 3, 11, 11),
    ),
    (
        "createdAt.gte=2021-03-11+10:00&createdAt.lte=2021-03-11+11:00",
        lambda x: utc(2021, 3, 11, 10) <= ts(x) <= utc(2021, 3, 11, 11),
    ),
    (
        "createdAt.gte=2021-03-01&site.id.in=1,2",
        lambda x: ts(x) >= utc(2021, 3, 1) and x["site"]["id"] in (1, 2),
    ),
    (
        "createdAt.gte=2021-03-01&eligibilityStatus.notin=incomplete,failed",
        lambda x: (
            ts(x) >= utc(2021, 3, 1) and x["eligibilityStatus"] not in ("incomplete", "failed")
        ),
    ),
    ("site.id[]=1&site.id[]=2", lambda x: x["site"]["id"] in (1, 2)),
    ("site.id%5B%5D=1&site.id%5B%5D=2", lambda x: x["site"]["id"] in (1, 2)),
    ("site.id.not[]=1&site.id.not[]=2", lambda x: x["site"]["id"] not in (1, 2)),
    ("site.id.not%5B%5D=1&site.id.not%5B%5D=2", lambda x: x["site"]["id"] not in (1, 2)),
]
OTHER_FILTERS: list[tuple[str, Pred]] = [
    ("site.id=4", lambda x: x["site"]["id"] == 4),
    ("site.id.not=4", lambda x: x["site"]["id"] != 4),
    ("site.id.gt=20", lambda x: x["site"]["id"] > 20),
    ("site.id.lte=5", lambda x: x["site"]["id"] <= 5),
    ("site.id.notin=1,2,3,4", lambda x: x["site"]["id"] not in (1, 2, 3, 4)),
    ("site.code=RM", lambda x: x["site"]["code"] == "RM"),
    ("site.code=rm", lambda x: False),  # exact, case-sensitive (Q14)
    ("site.code.in=RM,ZPL", lambda x: x["site"]["code"] in ("RM", "ZPL")),
    ("site.name=Rightmove", lambda x: x["site"]["name"] == "Rightmove"),
    ("site.name=Share%20to%20Buy", lambda x: x["site"]["name"] == "Share to Buy"),
    ("eligibilityStatus=not-checked", lambda x: x["eligibilityStatus"] == "not-checked"),
    ("eligibilityStatus.not=failed", lambda x: x["eligibilityStatus"] != "failed"),
    ("eligibilityStatus[]=passed&eligibilityStatus[]=considered",
     lambda x: x["eligibilityStatus"] in ("passed", "considered")),
    ("createdAt=2021-03-11%2010:00", lambda x: ts(x) == utc(2021, 3, 11, 10)),
    ("createdAt=2021-03-01", lambda x: ts(x) == utc(2021, 3, 1)),
    ("createdAt.gt=2021-03-11%2011:00", lambda x: ts(x) > utc(2021, 3, 11, 11)),
    ("createdAt.lt=2021-03-01", lambda x: ts(x) < utc(2021, 3, 1)),
    ("createdAt.ltt=2021-02-28", lambda x: ts(x) < utc(2021, 3, 1)),
    ("createdAt.not=2021-03-11%2011:00", lambda x: ts(x) != utc(2021, 3, 11, 11)),
    ("createdAt.gte=2021-03-05&site.id.in=3,4&eligibilityStatus.not=failed",
     lambda x: ts(x) >= utc(2021, 3, 5) and x["site"]["id"] in (3, 4)
     and x["eligibilityStatus"] != "failed"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "keep"), EXAMPLES + OTHER_FILTERS, ids=[q for q, _ in EXAMPLES + OTHER_FILTERS]
)
async def test_filters_return_exactly_the_matching_leads(
    sandbox: KProSandbox, http: aiohttp.ClientSession, query: str, keep: Pred
) -> None:
    for moment in BOUNDARY_TIMES:
        sandbox.store.add_generated(1, created_at=moment)
    leads = sandbox.leads()
    expected = newest_first([lead for lead in leads if keep(lead)])
    assert await all_ids(http, sandbox, query) == expected


async def test_boundaries_of_the_documented_examples(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    added = {m: sandbox.store.add_generated(1, created_at=m)["id"][0] for m in BOUNDARY_TIMES}
    day = set(await all_ids(http, sandbox, EXAMPLES[0][0]))
    hour = set(await all_ids(http, sandbox, EXAMPLES[1][0]))
    inside_day = {utc(2021, 3, 1), utc(2021, 3, 10, 23, 59, 59)}
    inside_hour = {utc(2021, 3, 11, 10), utc(2021, 3, 11, 11)}
    for moment, lead_id in added.items():
        assert (lead_id in day) == (moment in inside_day), moment
        assert (lead_id in hour) == (moment in inside_hour), moment


async def test_brackets_equal_in_and_notin(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    assert await all_ids(http, sandbox, "site.id[]=1&site.id[]=2") == await all_ids(
        http, sandbox, "site.id.in=1,2"
    )
    assert await all_ids(http, sandbox, "site.id.not[]=1&site.id.not[]=2") == await all_ids(
        http, sandbox, "site.id.notin=1,2"
    )


# --- sorting (spec §4, Q4, Q5) ----------------------------------------------------------


def order(leads: list[Lead], *keys: tuple[Callable[[Lead], Any], bool]) -> list[int]:
    """Stable multi-key sort: keys most significant first, then id ascending."""
    result = sorted(leads, key=lambda x: x["id"])
    for key, descending in reversed(keys):
        result = sorted(result, key=key, reverse=descending)
    return [lead["id"] for lead in result]


SORTS: list[tuple[str, tuple[tuple[Callable[[Lead], Any], bool], ...]]] = [
    ("createdAt", ((ts, False),)),
    ("-createdAt", ((ts, True),)),
    ("-site.id,-createdAt", ((lambda x: x["site"]["id"], True), (ts, True))),
    ("site.code,createdAt", ((lambda x: x["site"]["code"], False), (ts, False))),
    ("-site.name", ((lambda x: x["site"]["name"], True),)),
    ("email", ((lambda x: x["email"], False),)),
    ("-id", ((lambda x: x["id"], True),)),
    ("customerId,-id", ((lambda x: x["customerId"], False), (lambda x: x["id"], True))),
    ("eligibilityStatus,-updatedAt", ((lambda x: x["eligibilityStatus"], False),
                                      (lambda x: x["updatedAt"], True))),
]  # fmt: skip


@pytest.mark.parametrize(("sort", "keys"), SORTS, ids=[s for s, _ in SORTS])
async def test_sort_with_id_tiebreak(
    sandbox: KProSandbox, http: aiohttp.ClientSession, sort: str, keys: Any
) -> None:
    leads = sandbox.leads()
    assert len({lead["createdAt"] for lead in leads}) < len(leads), "need createdAt ties"
    assert await all_ids(http, sandbox, f"sort={sort}") == order(leads, *keys)


# --- errors (spec §4 "Errors") ---------------------------------------------------------

BAD_QUERIES = [
    ("page=0", ["page"]),
    ("page=abc", ["page"]),
    ("page=-1", ["page"]),
    ("page=1&page=2", ["page"]),
    ("size=0", ["size"]),
    ("size=1001", ["size"]),
    ("size=x", ["size"]),
    ("foo=1", ["foo"]),
    ("created_at.gte=2021-03-01", ["created_at.gte"]),
    ("createdAtt.gte=2021-03-01", ["createdAtt.gte"]),
    ("createdAt.gtx=2021-03-01", ["createdAt.gtx"]),
    ("createdAt.null=1", ["createdAt.null"]),
    ("eligibilityStatus.gt=passed", ["eligibilityStatus.gt"]),
    ("site.id.ltt=2021-03-01", ["site.id.ltt"]),
    ("createdAt.gte=yesterday", ["createdAt.gte"]),
    ("createdAt.gte=2021-02-30", ["createdAt.gte"]),
    ("site.id=abc", ["site.id"]),
    ("site.id.in=1,x", ["site.id.in"]),
    ("updatedAt.gte=2021-03-01", ["updatedAt.gte"]),
    ("email=a@b.com", ["email"]),
    ("sort=foo", ["sort"]),
    ("sort=listing", ["sort"]),
    ("sort=-site", ["sort"]),
    ("fields=id", ["fields"]),
    ("page=0&size=5000&foo=1&sort=bar", ["page", "size", "foo", "sort"]),
]


@pytest.mark.parametrize(("query", "params"), BAD_QUERIES, ids=[q for q, _ in BAD_QUERIES])
async def test_bad_queries_are_400_with_every_problem(
    sandbox: KProSandbox, http: aiohttp.ClientSession, query: str, params: list[str]
) -> None:
    status, body, headers = await get(http, sandbox, query)
    assert status == 400
    assert headers["Content-Type"].startswith("application/json")
    assert set(body) == {"message", "errors"}
    assert isinstance(body["message"], str)
    assert body["message"]
    assert sorted(body["errors"]) == sorted(params)
    for reasons in body["errors"].values():
        assert reasons
        assert all(isinstance(r, str) and r for r in reasons)
    assert sandbox.api_key not in str(body)


async def test_error_messages_name_the_fix(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    _, body, _ = await get(http, sandbox, "createdAtt.gte=2021-03-01")
    assert "did you mean 'createdAt'?" in body["errors"]["createdAtt.gte"][0]
    _, body, _ = await get(http, sandbox, "size=5000")
    assert body["errors"]["size"] == [
        "size=5000 is over the maximum 1000; use size<=1000 and page through with page="
    ]


# --- knobs: faults, growth, latency, request log, local authorities --------------------


@pytest.mark.parametrize(
    ("kind", "message"),
    [("500", "Server Error"), ("503", "Service Unavailable"), ("429", "Too Many Attempts.")],
)
async def test_status_faults(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession, kind: str, message: str
) -> None:
    async with make_sandbox(leads=20, fault_rate=1.0, fault_kinds=(kind,), retry_after_s=3) as sb:
        for method in ("GET", "POST"):
            async with http.request(method, sb.leads_url, params={"api_key": sb.api_key}) as resp:
                assert resp.status == int(kind)
                assert await resp.json() == {"message": message}
                assert resp.headers.get("Retry-After") == ("3" if kind == "429" else None)
        assert [(r.status, r.fault) for r in sb.requests] == [(int(kind), kind)] * 2
        assert sb.imported == []


async def test_reset_fault_drops_the_connection(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    async with make_sandbox(leads=20, fault_rate=1.0, fault_kinds=("reset",)) as sb:
        with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
            await get(http, sb)
        # (aiohttp may retry an idempotent request once on a dropped connection.)
        assert {(r.status, r.fault) for r in sb.requests} == {(None, "reset")}


async def test_faults_are_mixed_and_can_be_switched_at_runtime(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    sandbox.configure(fault_rate=0.5)
    seen: Counter[int | None] = Counter()
    for _ in range(120):
        try:
            seen[(await get(http, sandbox, "size=1"))[0]] += 1
        except aiohttp.ClientError:
            seen[None] += 1
    assert set(seen) == {200, 500, 503, 429, None}
    assert 30 < seen[200] < 90
    sandbox.configure(fault_rate=0.0)
    statuses = [(await get(http, sandbox, "size=1"))[0] for _ in range(20)]
    assert statuses == [200] * 20
    with pytest.raises(ValueError, match="cannot change"):
        sandbox.configure(leads=5)
    with pytest.raises(ValueError, match="fault_rate"):
        sandbox.configure(fault_rate=2)


async def test_grow_per_request_adds_new_leads_on_every_get(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    async with make_sandbox(leads=50, grow_per_request=3) as sb:
        before = datetime.now(UTC).replace(microsecond=0)
        totals, newest = [], []
        for _ in range(3):
            status, body, _ = await get(http, sb, "size=3")
            assert status == 200
            totals.append(body["pagination"]["total"])
            newest.append([lead["id"] for lead in body["data"]])
        assert totals == [53, 56, 59]
        leads = sb.leads()
        added = leads[50:]
        assert [lead["id"] for lead in added] == sorted(lead["id"] for lead in added)
        assert min(lead["id"] for lead in added) > max(lead["id"] for lead in leads[:50])
        for lead in added:
            assert before <= ts(lead) <= datetime.now(UTC) + timedelta(seconds=1)
        # Newest first by default (ties on the second: id ascending).
        assert newest[2] == newest_first(leads)[:3]
        assert set(newest[2]) <= {lead["id"] for lead in added}


async def test_add_leads_between_requests(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    ids = sandbox.add_leads(4)
    assert len(ids) == 4
    _, body, _ = await get(http, sandbox, "sort=-id&size=4")
    assert [lead["id"] for lead in body["data"]] == sorted(ids, reverse=True)
    assert body["pagination"]["total"] == 604


async def test_latency_delays_every_answer(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    async with make_sandbox(leads=5, latency_s=0.2) as sb:
        started = time.perf_counter()
        await get(http, sb)
        assert time.perf_counter() - started >= 0.2


async def test_request_log_leaves_out_the_key(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    await get(http, sandbox, "site.id[]=1&size=2")
    await get(http, sandbox, key="nope")
    first, second = sandbox.requests
    assert first == first.__class__("GET", LEADS_PATH, (("site.id[]", "1"), ("size", "2")), 200)
    assert (second.query, second.status) == ((), 401)
    assert sandbox.api_key not in repr(sandbox.requests)


async def test_local_authorities_as_objects(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    _, plain, _ = await get(http, sandbox, "size=200")
    sandbox.configure(local_authority_objects=True)
    _, objects, _ = await get(http, sandbox, "size=200")
    for before, after in zip(plain["data"], objects["data"], strict=True):
        if before["homeLocalAuthority"] is None:
            assert after["homeLocalAuthority"] is None
        else:
            assert after["homeLocalAuthority"]["name"] == before["homeLocalAuthority"]
            assert set(after["homeLocalAuthority"]) == {"id", "name", "slug", "longName", "mapitId"}


async def test_served_leads_equal_the_dataset(
    sandbox: KProSandbox, http: aiohttp.ClientSession
) -> None:
    served: list[Lead] = []
    for page in (1, 2, 3):
        _, body, _ = await get(http, sandbox, f"sort=createdAt&size=250&page={page}")
        served += body["data"]
    assert served == sandbox.leads()


async def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="fault_kinds"):
        KProSandboxConfig(fault_kinds=("418",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="start and end"):
        KProSandboxConfig(start=utc(2022, 1, 1), end=utc(2021, 1, 1))


# --- the command-line runner ------------------------------------------------------------


async def test_module_runner_prints_the_url_and_serves(http: aiohttp.ClientSession) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "leadkit.systems.kpro.simulator", "--port", "0", "--leads", "40",
        "--latency-ms", "1", "--fault-rate", "0",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode().strip()
        name, _, url = line.partition("=")
        assert name == "KPRO_SANDBOX_URL"
        assert urlsplit(url).hostname == "127.0.0.1"
        async with http.get(url + LEADS_PATH, params={"api_key": DEMO_API_KEY}) as resp:
            assert resp.status == 200
            assert (await resp.json())["pagination"]["total"] == 40
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=10)
