"""``leadkit serve``'s HTTP API over a real socket on 127.0.0.1, against a real warehouse."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from leadkit.config import ServeSettings, WarehouseSettings
from leadkit.errors import ConfigError
from leadkit.serve import QueryServer, ServeConfig, create_app
from leadkit.serve.server import checked_key
from leadkit.storage.warehouse import Warehouse
from tests.storage._leads import LEADS, build_warehouse, default_order, key, ts

KEY = "test-serve-key-0123456789abcdef"


class Lines(logging.Handler):
    """Collects formatted log lines."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return build_warehouse(tmp_path_factory.mktemp("serve") / "w.duckdb")


@pytest.fixture
def access() -> Iterator[tuple[logging.Logger, Lines]]:
    logger = logging.getLogger("tests.serve.access")
    handler = Lines()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, handler
    logger.removeHandler(handler)


@pytest.fixture
async def base(wh: Warehouse, access: tuple[logging.Logger, Lines]) -> AsyncIterator[str]:
    async with QueryServer(wh, api_key=KEY, access_log=access[0]) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        yield server.base_url


async def get(url: str, **params: Any) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
    async with aiohttp.ClientSession() as session, session.get(url, params=params) as resp:
        return resp.status, await resp.json(), resp.headers


async def fetch(url: str) -> tuple[int, Any]:
    """GET a URL exactly as written (no re-encoding)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(aiohttp.client.URL(url, encoded=True)) as resp,
    ):
        return resp.status, await resp.json()


def ids(body: dict[str, Any]) -> list[tuple[str, int]]:
    return [(row["_source"], row["id"]) for row in body["data"]]


# -- the envelope ---------------------------------------------------------------------------


async def test_envelope_pagination_maths_and_links(base: str) -> None:
    query = "site.id.in=1,2&sort=-createdAt&size=5&page=2"
    status, body = await fetch(f"{base}/api/kpro_leads?api_key={KEY}&{query}")
    assert status == 200
    matching = [key(r) for r in default_order([r for r in LEADS if r["site"]["id"] in (1, 2)])]
    total = len(matching)
    last = -(-total // 5)
    assert ids(body) == matching[5:10]
    assert body["pagination"] == {
        "currentPage": 2,
        "perPage": 5,
        "total": total,
        "from": 6,
        "to": 10,
        "lastPage": last,
    }
    links = body["links"]
    assert list(links) == ["first", "prev", "next", "last"]
    for name, page in (("first", 1), ("prev", 1), ("next", 3), ("last", last)):
        url = urlsplit(links[name])
        assert f"{url.scheme}://{url.netloc}{url.path}" == f"{base}/api/kpro_leads"
        assert parse_qsl(url.query) == [
            ("site.id.in", "1,2"),
            ("sort", "-createdAt"),
            ("size", "5"),
            ("page", str(page)),
        ]
    assert "api_key" not in str(links)
    assert KEY not in str(links)


async def test_following_the_next_link_with_the_key_gives_the_next_page(base: str) -> None:
    _, first = await fetch(f"{base}/api/kpro_leads?api_key={KEY}&site.id%5B%5D=3&size=2")
    _, second = await fetch(f"{first['links']['next']}&api_key={KEY}")
    matching = [key(r) for r in default_order([r for r in LEADS if r["site"]["id"] == 3])]
    assert ids(first) + ids(second) == matching[:4]
    assert second["pagination"]["currentPage"] == 2
    assert "site.id%5B%5D=3" in first["links"]["next"]


async def test_a_page_past_the_end_is_empty_with_null_positions(base: str) -> None:
    status, body, _ = await get(f"{base}/api/kpro_leads", api_key=KEY, size="10", page="9")
    assert status == 200
    assert body["data"] == []
    assert body["pagination"] == {
        "currentPage": 9,
        "perPage": 10,
        "total": len(LEADS),
        "from": None,
        "to": None,
        "lastPage": 5,
    }
    assert body["links"]["next"] is None
    assert body["links"]["prev"].endswith("page=8")


async def test_first_page_has_no_prev_and_an_empty_result_has_one_page(base: str) -> None:
    _, body, _ = await get(f"{base}/api/kpro_leads", api_key=KEY, email="nobody@example.com")
    assert body["data"] == []
    assert body["pagination"]["lastPage"] == 1
    assert body["pagination"]["total"] == 0
    assert body["links"]["prev"] is None
    assert body["links"]["next"] is None


async def test_rows_are_json_objects_with_iso_utc_times_and_nested_structs(base: str) -> None:
    _, body, _ = await get(f"{base}/api/kpro_leads", api_key=KEY, size="1")
    row = body["data"][0]
    newest = default_order(LEADS)[0]
    assert row["created_at"] == newest["created_at"].isoformat()
    assert row["created_at"].endswith("+00:00")
    assert row["site"] == newest["site"]
    assert row["date_of_birth"] == newest["date_of_birth"].isoformat()
    assert "_raw" not in row


async def test_fields_select_columns(base: str) -> None:
    _, body, _ = await get(
        f"{base}/api/kpro_leads", api_key=KEY, fields="id,site.code,createdAt", size="2"
    )
    assert [list(row) for row in body["data"]] == [["id", "site.code", "created_at"]] * 2


# -- the KPro alias ---------------------------------------------------------------------------


async def test_kpro_alias_runs_the_documented_example_verbatim(base: str) -> None:
    url = f"{base}/api/bulk/open/leads?api_key={KEY}&createdAt.gte=2021-03-01&site.id.in=1,2"
    status, body = await fetch(url)
    assert status == 200
    expected = default_order(
        [
            r
            for r in LEADS
            if r["created_at"] >= ts("2021-03-01 00:00") and r["site"]["id"] in (1, 2)
        ]
    )
    assert [(row["_source"], row["id"]) for row in body["data"]] == [key(r) for r in expected]
    assert body["pagination"]["total"] == len(expected)
    assert body["pagination"]["perPage"] == 100
    row = body["data"][0]
    assert row["createdAt"] == expected[0]["created_at"].isoformat()
    assert row["eligibilityStatus"] == expected[0]["eligibility_status"]
    assert row["customerId"] == expected[0]["customer_id"]
    assert "created_at" not in row
    assert body["links"]["first"].startswith(f"{base}/api/bulk/open/leads?createdAt.gte=")


async def test_kpro_alias_camel_cases_nested_fields(base: str) -> None:
    _, body, _ = await get(f"{base}/api/bulk/open/leads", api_key=KEY, **{"listing.id.notnull": ""})
    listing = body["data"][0]["listing"]
    assert set(listing) >= {"id", "name", "schemes", "externalRef", "availabilityStatus"}


# -- auth and errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{}, {"api_key": "wrong"}, {"api_key": KEY + "x"}, {"api_key": ""}],
    ids=["missing", "wrong", "longer", "empty"],
)
async def test_missing_or_wrong_key_is_401(base: str, params: dict[str, str]) -> None:
    for path in ("/api/kpro_leads", "/api/bulk/open/leads", "/api/tables", "/api/no_such"):
        status, body, _ = await get(base + path, **params)
        assert (status, body) == (401, {"message": "Unauthenticated."})


async def test_bad_query_is_400_with_every_problem(base: str) -> None:
    status, body, _ = await get(
        f"{base}/api/kpro_leads", api_key=KEY, **{"createdAtt.gte": "2021-03-01", "size": "5000"}
    )
    assert status == 400
    assert body == {
        "message": "size=5000 is over the maximum 1000; use size<=1000 and page through with "
        "page=; unknown field 'createdAtt' in 'createdAtt.gte=2021-03-01'; did you mean "
        "'created_at'?",
        "errors": {
            "size": [
                "size=5000 is over the maximum 1000; use size<=1000 and page through with page="
            ],
            "createdAtt.gte": [
                "unknown field 'createdAtt' in 'createdAtt.gte=2021-03-01'; "
                "did you mean 'created_at'?"
            ],
        },
    }


async def test_unknown_table_is_404_naming_the_nearest(base: str) -> None:
    status, body, _ = await get(f"{base}/api/kpro_lead", api_key=KEY)
    assert status == 404
    assert body["message"].startswith("unknown table 'kpro_lead'; did you mean 'kpro_leads'?")
    assert body["errors"]["table"] == [body["message"]]


@pytest.mark.parametrize(
    "table",
    ["kpro_leads%22;DROP%20TABLE%20kpro_leads;--", "duckdb_settings", "information_schema.tables"],
    ids=["quote-injection", "system-view", "schema-qualified"],
)
async def test_only_warehouse_tables_can_be_named(base: str, table: str) -> None:
    status, body = await fetch(f"{base}/api/{table}?api_key={KEY}")
    assert status == 404
    assert body["message"].startswith("unknown table ")
    _, still = await fetch(f"{base}/api/kpro_leads?api_key={KEY}&size=1")
    assert still["pagination"]["total"] == len(LEADS)


async def test_unknown_path_is_404_and_other_methods_are_405(base: str) -> None:
    status, body, _ = await get(f"{base}/nope", api_key=KEY)
    assert status == 404
    assert body == {
        "message": "Not Found: /nope. Endpoints: GET /api/tables, /api/{table} or "
        "/api/bulk/open/leads."
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base}/api/kpro_leads", params={"api_key": KEY}) as resp,
    ):
        assert resp.status == 405
        assert resp.headers["Allow"] == "GET, HEAD"
        assert await resp.json() == {
            "message": "The POST method is not supported: this server is read-only. Use GET."
        }


async def test_tables_lists_tables_and_views_with_urls(base: str) -> None:
    status, body, _ = await get(f"{base}/api/tables", api_key=KEY)
    assert status == 200
    names = [t["name"] for t in body["data"]]
    assert {"kpro_leads", "leads", "kpro_sites", "_runs"} <= set(names)
    assert {"name": "leads", "url": f"{base}/api/leads"} in body["data"]


async def test_access_log_never_contains_the_key(
    base: str, access: tuple[logging.Logger, Lines]
) -> None:
    await get(f"{base}/api/kpro_leads", api_key=KEY, size="1")
    await get(f"{base}/api/kpro_leads", apikey=KEY, token=KEY, size="1")
    await get(f"{base}/api/{KEY}", api_key="wrong")
    lines = access[1].lines
    assert len(lines) == 3
    assert all(KEY not in line for line in lines)
    assert lines[0].startswith('127.0.0.1 "GET /api/kpro_leads?api_key=***&size=1" 200 ')
    assert "/api/*** " in lines[2] or "/api/***?" in lines[2]


HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
    """
)


async def test_serves_while_another_process_writes(wh: Warehouse, base: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(wh.path), "0.6"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        status, body, _ = await get(f"{base}/api/kpro_leads", api_key=KEY, size="1")
        assert status == 200
        assert body["pagination"]["total"] == len(LEADS)
    finally:
        proc.wait(timeout=10)


# -- settings ---------------------------------------------------------------------------------


def _config(key: str | None) -> ServeConfig:
    serve = ServeSettings(api_key=key) if key is not None else ServeSettings()
    return ServeConfig(serve, WarehouseSettings(), "leadkit.toml")


def test_no_key_refuses_to_start_and_says_how_to_set_one() -> None:
    with pytest.raises(ConfigError) as caught:
        checked_key(_config(None), no_auth=False, host="127.0.0.1")
    text = str(caught.value)
    assert text.startswith("invalid configuration in leadkit.toml:\n  - serve.api_key: is not set;")
    assert 'api_key = "${LEADKIT_SERVE_KEY}"' in text
    assert "--no-auth" in text


def test_no_auth_only_on_loopback_and_only_without_a_key() -> None:
    assert checked_key(_config(None), no_auth=True, host="127.0.0.1") is None
    assert checked_key(_config(None), no_auth=True, host="::1") is None
    with pytest.raises(ConfigError, match="--no-auth serves only loopback addresses"):
        checked_key(_config(None), no_auth=True, host="0.0.0.0")
    with pytest.raises(ConfigError, match="so --no-auth is not allowed"):
        checked_key(_config(KEY), no_auth=True, host="127.0.0.1")


def test_short_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="shorter than 16 characters"):
        checked_key(_config("abc"), no_auth=False, host="127.0.0.1")
    assert checked_key(_config(KEY), no_auth=False, host="0.0.0.0") == KEY


def test_create_app_needs_a_key_or_an_explicit_no_auth(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one of api_key or no_auth"):
        create_app(Warehouse(tmp_path / "w.duckdb"), api_key=None)


async def test_no_auth_server_answers_without_a_key(wh: Warehouse) -> None:
    async with QueryServer(wh, api_key=None, no_auth=True, access_log=None) as server:
        status, body, _ = await get(f"{server.base_url}/api/leads", size="1")
    assert status == 200
    assert len(body["data"]) == 1
