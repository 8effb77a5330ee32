"""Differential test: the KPro sandbox over HTTP and the warehouse extracted from it agree.

One filter language, two independent back ends: the sandbox evaluates a query with polars
over its in-memory leads, the warehouse with DuckDB SQL over the rows an extract wrote. For
random filter sets in KPro's own language (``createdAt``, ``eligibilityStatus``,
``site.id/code/name`` with every operator, brackets, sorts on several fields with ties),
both must return the same lead ids in the same order, page by page, with the same totals.

A sandbox of 2,000 leads is extracted once for the module.
"""

from __future__ import annotations

import datetime as dt
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadkit.config import load_config
from leadkit.engine.extract import run_extract
from leadkit.sandbox import SandboxThread
from leadkit.serve import KPRO_PATH, QueryServer
from leadkit.storage.warehouse import Warehouse
from leadkit.systems.kpro.simulator import KProSandbox, KProSandboxConfig

UTC = dt.UTC
LEADS = 2000
SERVE_KEY = "differential-key-0123456789abcdef"


class World:
    """The running sandbox, its leads as the API sends them, and the extracted warehouse."""

    def __init__(self, sb: SandboxThread, warehouse: Warehouse) -> None:
        self.sb = sb
        self.warehouse = warehouse
        self.leads: list[dict[str, Any]] = list(sb.call(lambda: sb.server.leads()))
        self.key = str(sb.server.api_key)

    def sandbox_page(self, query: str) -> dict[str, Any]:
        url = f"{self.sb.base_url}{KPRO_PATH}?api_key={self.key}&{query}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            assert resp.status == 200
            body: dict[str, Any] = orjson.loads(resp.read())
            return body

    def warehouse_page(self, query: str) -> tuple[list[int], int]:
        result = self.warehouse.query(query, table="kpro_leads")
        return result.frame["id"].to_list(), result.total


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    workdir = Path(tmp_path_factory.mktemp("differential"))
    with SandboxThread(lambda: KProSandbox(KProSandboxConfig(leads=LEADS, seed=11))) as sb:
        config_path = workdir / "leadkit.toml"
        config_path.write_text(
            f'[warehouse]\npath = "{workdir / "leadkit.duckdb"}"\n\n'
            f'[sources.main]\nkind = "kpro"\nbase_url = "{sb.base_url}"\n'
            'api_key = "${KEY_MAIN}"\npage_size = 1000\n'
        )
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("KEY_MAIN", str(sb.server.api_key))
            config = load_config(config_path)
            result = run_extract(config, handle_signals=False)
        assert result.ok, result
        warehouse = Warehouse(config.warehouse.path)
        yield World(sb, warehouse)


def test_the_extract_holds_every_lead(world: World) -> None:
    _, total = world.warehouse_page("size=1")
    assert total == len(world.leads) == LEADS


# -- random KPro queries ----------------------------------------------------------------------


def _instants(world: World) -> list[dt.datetime]:
    return sorted({dt.datetime.fromisoformat(str(x["createdAt"])) for x in world.leads})


@st.composite
def timestamp_text(draw: st.DrawFn, instants: list[dt.datetime]) -> str:
    instant = draw(st.sampled_from(instants)).astimezone(UTC)
    instant += draw(st.sampled_from([dt.timedelta(0), dt.timedelta(seconds=-1)]))
    form = draw(st.sampled_from(["date", "minute", "second", "iso", "offset"]))
    if form == "date":
        return instant.strftime("%Y-%m-%d")
    if form == "minute":
        return instant.strftime("%Y-%m-%d %H:%M")
    if form == "second":
        return instant.strftime("%Y-%m-%d %H:%M:%S")
    if form == "iso":
        return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    return instant.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()


@st.composite
def kpro_filter(draw: st.DrawFn, world: World) -> list[tuple[str, str]]:
    """One filter of KPro's documented language, as (name, value) pairs."""
    field = draw(
        st.sampled_from(["createdAt", "eligibilityStatus", "site.id", "site.code", "site.name"])
    )
    if field == "createdAt":
        op = draw(st.sampled_from(["", "not", "gt", "lt", "gte", "lte", "ltt"]))
        value = draw(timestamp_text(_instants(world)))
        return [(f"{field}.{op}" if op else field, value)]
    domain = sorted(
        {
            str(x["eligibilityStatus"] if field == "eligibilityStatus" else x["site"][field[5:]])
            for x in world.leads
        }
    )
    if field == "site.id":
        domain += ["999"]
    elif field != "site.id":
        domain += ["nonesuch"]
    op = draw(st.sampled_from(["", "not", "in", "notin", "[]", "not[]"]))
    if op in ("", "not"):
        return [(f"{field}.{op}" if op else field, draw(st.sampled_from(domain)))]
    values = draw(st.lists(st.sampled_from(domain), min_size=1, max_size=4, unique=True))
    if op.endswith("[]"):
        name = f"{field}[]" if op == "[]" else f"{field}.not[]"
        return [(name, v) for v in values]
    return [(f"{field}.{op}", ",".join(values))]


SORTS = ["createdAt", "site.id", "id", "site.code", "eligibilityStatus", "lastName", "email"]


@st.composite
def kpro_query(draw: st.DrawFn, world: World) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for f in draw(st.lists(kpro_filter(world), max_size=3)):
        if any(name == f[0][0] for name, _ in pairs):
            continue  # one filter per name
        pairs += f
    keys = draw(st.lists(st.sampled_from(SORTS), max_size=3, unique=True))
    if keys:
        pairs.append(("sort", ",".join(("-" if draw(st.booleans()) else "") + k for k in keys)))
    return pairs


def encode(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='.[]')}={quote(v, safe='')}" for k, v in pairs)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_sandbox_and_warehouse_return_the_same_leads_in_the_same_order(
    world: World, data: st.DataObject
) -> None:
    pairs = data.draw(kpro_query(world))
    query = encode(pairs)
    # The whole result in pages of 1000 (KPro's maximum): every id, in order.
    expected: list[int] = []
    page = 1
    while True:
        body = world.sandbox_page(f"{query}&size=1000&page={page}")
        ids, total = world.warehouse_page(f"{query}&size=1000&page={page}")
        assert total == body["pagination"]["total"], query
        assert ids == [x["id"] for x in body["data"]], f"page {page} of {query}"
        expected += ids
        if page >= body["pagination"]["lastPage"]:
            break
        page += 1
    assert len(expected) == total
    # And one random page size and page, possibly past the end.
    size = data.draw(st.integers(1, 120), label="size")
    last = max(1, -(-total // size))
    page = data.draw(st.integers(1, last + 1), label="page")
    body = world.sandbox_page(f"{query}&size={size}&page={page}")
    ids, total = world.warehouse_page(f"{query}&size={size}&page={page}")
    assert ids == [x["id"] for x in body["data"]] == expected[(page - 1) * size : page * size]
    assert total == body["pagination"]["total"]


# -- the same through leadkit serve's KPro alias -------------------------------------------------

ALIAS_QUERIES = [
    "createdAt.gte=2021-03-01&createdAt.ltt=2021-03-10",
    "createdAt.gte=2021-03-11 10:00&createdAt.lte=2021-05-11 11:00&sort=-site.id,createdAt",
    "site.id[]=1&site.id[]=2&sort=eligibilityStatus,-createdAt",
    "site.id.not[]=1&site.id.not[]=2&eligibilityStatus.notin=incomplete,failed",
    "sort=lastName,-id",
]


@pytest.mark.parametrize("query", ALIAS_QUERIES)
async def test_serve_kpro_alias_pages_like_the_sandbox(world: World, query: str) -> None:
    """Follow ``links.next`` on both servers: the same ids, page after page."""
    async with (
        QueryServer(world.warehouse, api_key=SERVE_KEY, access_log=None) as server,
        aiohttp.ClientSession() as session,
    ):
        urls = {
            "sandbox": f"{world.sb.base_url}{KPRO_PATH}?{query}&size=70",
            "serve": f"{server.base_url}{KPRO_PATH}?{query}&size=70",
        }
        keys = {"sandbox": world.key, "serve": SERVE_KEY}
        pages = 0
        while urls["sandbox"]:
            bodies = {}
            for name, url in urls.items():
                assert url is not None
                full = f"{url}&api_key={keys[name]}"
                async with session.get(aiohttp.client.URL(full.replace(" ", "%20"))) as resp:
                    assert resp.status == 200, await resp.text()
                    bodies[name] = await resp.json()
            sandbox, serve = bodies["sandbox"], bodies["serve"]
            assert [x["id"] for x in serve["data"]] == [x["id"] for x in sandbox["data"]]
            assert serve["pagination"] == sandbox["pagination"]
            instants = [
                [dt.datetime.fromisoformat(x["createdAt"]) for x in body["data"]]
                for body in (serve, sandbox)
            ]
            assert instants[0] == instants[1]
            urls = {name: bodies[name]["links"]["next"] for name in urls}
            assert (urls["sandbox"] is None) == (urls["serve"] is None)
            pages += 1
        assert pages >= 2, "the query should span several pages"


def test_module_uses_no_leftover_environment() -> None:
    assert "KEY_MAIN" not in os.environ
