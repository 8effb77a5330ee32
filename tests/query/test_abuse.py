"""Injection and abuse through all three ways in: ``Warehouse.query``, the CLI and HTTP.

Quotes, semicolons, comment markers, NUL bytes, unicode, 1 MB values, thousands of
parameters and very long dotted paths must give a clean error (one short message naming the
limit) or the correct rows — never a crash, never SQL from the query, and in bounded time.
A canary table proves nothing ran: it must still be there, with its row, afterwards.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from typer.testing import CliRunner

from leadkit.cli.app import app
from leadkit.errors import QueryError
from leadkit.query.parse import (
    MAX_LIST_VALUES,
    MAX_NAME_LENGTH,
    MAX_PARAMETERS,
    MAX_PROBLEMS,
    MAX_QUERY_LENGTH,
    MAX_VALUE_LENGTH,
)
from leadkit.serve import QueryServer
from leadkit.storage.warehouse import Warehouse

KEY = "abuse-test-key-0123456789abcdef"
SECONDS = 5.0  # every abusive query answers within this

EVIL = (
    "'; DROP TABLE canary; --",
    '"); DELETE FROM canary; /*',
    "x' OR '1'='1",
    "*/ SELECT 1; --",
    "a\x00b",
    "Zoë 🏠 名前",
    "\\'\\\"",
    "%27%3B",
)


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    warehouse = Warehouse(Path(tmp_path_factory.mktemp("abuse")) / "w.duckdb")
    with warehouse.writing() as con:
        con.execute("CREATE TABLE canary (n INTEGER)")
        con.execute("INSERT INTO canary VALUES (42)")
        con.execute(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR, n BIGINT, "
            "site STRUCT(id INTEGER, code VARCHAR))"
        )
        for i, name in enumerate(EVIL):
            con.execute(
                "INSERT INTO people VALUES (?, ?, ?, {'id': ?, 'code': ?})",
                [i + 1, name, i, i % 3, name],
            )
    return warehouse


def intact(wh: Warehouse) -> None:
    assert wh.sql("SELECT n FROM canary")["n"].to_list() == [42]
    assert wh.sql("SELECT count(*) AS c FROM people")["c"][0] == len(EVIL)


def encode(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


# -- values are data, never SQL ------------------------------------------------------------


@pytest.mark.parametrize("value", EVIL, ids=range(len(EVIL)))
def test_hostile_value_finds_exactly_the_row_that_holds_it(wh: Warehouse, value: str) -> None:
    result = wh.query(f"name={encode(value)}", table="people")
    assert result.frame["name"].to_list() == [value]
    result = wh.query(f"site.code[]={encode(value)}&site.code[]=other", table="people")
    assert result.frame["name"].to_list() == [value]
    result = wh.query(f"name.not={encode(value)}&sort=id", table="people")
    assert result.total == len(EVIL) - 1
    intact(wh)


@pytest.mark.parametrize(
    "query",
    [
        "name.x'--=1",
        "sort=id%3B DROP TABLE canary",
        "sort=-id--",
        "fields=id,name) FROM canary; --",
        'fields="id"',
        "n.in=1)%3B DROP TABLE canary%3B--",
        "id; DROP TABLE canary=1",
        "name/*=1",
        "name.gt=1",
        "people.name=1",
        "main.canary.n=1",
    ],
)
def test_hostile_names_and_controls_are_clean_errors(wh: Warehouse, query: str) -> None:
    with pytest.raises(QueryError) as caught:
        wh.query(query, table="people")
    assert len(str(caught.value)) < 1000
    intact(wh)


@pytest.mark.parametrize(
    "table", ["canary; DROP TABLE canary", 'people" --', "people'", "information_schema.tables"]
)
def test_hostile_table_names_are_unknown_tables(wh: Warehouse, table: str) -> None:
    with pytest.raises(QueryError, match="unknown table"):
        wh.query("", table=table)
    intact(wh)


# -- limits -------------------------------------------------------------------------------

LIMITS = [
    pytest.param(
        "name=" + "a" * 1_000_000,
        f"is 1,000,000 characters long; a value may be at most {MAX_VALUE_LENGTH:,}",
        id="1MB-value",
    ),
    pytest.param(
        "name=" + "a" * (MAX_QUERY_LENGTH + 1),
        f"characters long; the maximum is {MAX_QUERY_LENGTH:,}",
        id="query-too-long",
    ),
    pytest.param(
        "&".join(f"f{i}=1" for i in range(5000)),
        f"the query has 5,000 parameters; the maximum is {MAX_PARAMETERS:,}",
        id="5000-filters",
    ),
    pytest.param(
        "&".join(f"n[]={i}" for i in range(MAX_PARAMETERS + 1)),
        f"parameters; the maximum is {MAX_PARAMETERS:,} (for a long list use field.in=a,b,c",
        id="too-many-brackets",
    ),
    pytest.param(
        "n.in=" + ",".join(str(i) for i in range(MAX_LIST_VALUES + 1)),
        f"n.in lists {MAX_LIST_VALUES + 1:,} values; the maximum is {MAX_LIST_VALUES:,}",
        id="in-list-too-long",
    ),
    pytest.param(
        ".".join(["site"] * 10_000) + "=1",
        f"characters long; the maximum is {MAX_NAME_LENGTH}",
        id="deep-dotted-path",
    ),
    pytest.param(
        "sort=" + ",".join(["id"] * 5000), "sort= names 5,000 fields; the maximum is 32", id="sort"
    ),
    pytest.param(
        "fields=" + ",".join(f"f{i}" for i in range(5000)),
        "fields= names 5,000 fields; the maximum is 256",
        id="fields",
    ),
]


@pytest.mark.parametrize(("query", "message"), LIMITS)
def test_limits_give_one_short_error_quickly(wh: Warehouse, query: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(QueryError) as caught:
        wh.query(query, table="people")
    assert time.monotonic() - started < SECONDS
    assert message in str(caught.value)
    assert len(caught.value.problems) == 1
    assert len(str(caught.value)) < 300
    intact(wh)


def test_many_problems_are_capped_with_a_count(wh: Warehouse) -> None:
    query = "&".join(f"bad{i}=1" for i in range(MAX_PARAMETERS))
    with pytest.raises(QueryError) as caught:
        wh.query(query, table="people")
    problems = caught.value.problems
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1].message == (
        f"… and {MAX_PARAMETERS - MAX_PROBLEMS} more problems (at most {MAX_PROBLEMS} are listed)"
    )


def test_in_with_the_maximum_of_values_answers_correctly(wh: Warehouse) -> None:
    values = ",".join(str(i) for i in range(-MAX_LIST_VALUES + 3, 3))
    started = time.monotonic()
    result = wh.query(f"n.in={values}&sort=id", table="people")
    assert time.monotonic() - started < SECONDS
    assert result.frame["n"].to_list() == [0, 1, 2]


def test_long_value_under_the_limit_is_just_a_value(wh: Warehouse) -> None:
    assert wh.query("name=" + "z" * MAX_VALUE_LENGTH, table="people").total == 0


# -- the CLI ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def config(wh: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("abuse-cli")) / "leadkit.toml"
    path.write_text(f'[warehouse]\npath = "{wh.path}"\n')
    return path


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param("name=" + "a" * 1_000_000, "a value may be at most", id="1MB-value"),
        pytest.param("&".join(f"f{i}=1" for i in range(5000)), "5,000 parameters", id="5000"),
        pytest.param("sort=id;DROP TABLE canary", "unknown field", id="injection"),
    ],
)
def test_cli_prints_the_error_and_exits_2(
    wh: Warehouse, config: Path, query: str, message: str
) -> None:
    result = CliRunner().invoke(
        app, ["query", query, "-t", "people", "--config", str(config)], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output) < 2000
    intact(wh)


def test_cli_returns_a_hostile_value_as_data(wh: Warehouse, config: Path) -> None:
    value = EVIL[0]
    result = CliRunner().invoke(
        app,
        ["query", f"name={encode(value)}", "-t", "people", "-f", "json", "--config", str(config)],
    )
    assert result.exit_code == 0, result.output
    assert '"name":"\'; DROP TABLE canary; --"' in result.output
    intact(wh)


# -- HTTP ---------------------------------------------------------------------------------


@pytest.fixture
async def base(wh: Warehouse) -> AsyncIterator[str]:
    async with QueryServer(wh, api_key=KEY, access_log=None) as server:
        yield server.base_url


async def raw_get(base: str, query: str) -> tuple[int, str]:
    url = aiohttp.client.URL(f"{base}/api/people?api_key={KEY}&{query}", encoded=True)
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.text()


@pytest.mark.parametrize(
    ("query", "status", "fragment"),
    [
        pytest.param("name=" + "a" * 1_000_000, 400, "a value may be at most", id="1MB-value"),
        pytest.param(
            "&".join(f"f{i}=1" for i in range(5000)), 400, "the maximum is 1,000", id="5000-filters"
        ),
        pytest.param(
            "n.in=" + ",".join(str(i) for i in range(MAX_LIST_VALUES)), 200, '"total":', id="in"
        ),
        pytest.param(f"name={encode(EVIL[0])}", 200, '"total":1', id="injection-value"),
        pytest.param(f"name={encode(EVIL[4])}", 200, '"total":1', id="nul-byte"),
        pytest.param("name=%FF%FE%ED%A0%80", 200, '"total":0', id="bad-utf8"),
        pytest.param("sort=id%3BDROP%20TABLE%20canary", 400, "unknown field", id="sort"),
        pytest.param("%00=1", 400, "unknown field", id="nul-name"),
        pytest.param("&&&=&==&%3D=", 400, "parameter with no name", id="empty-names"),
    ],
)
async def test_server_answers_abuse_cleanly(
    wh: Warehouse, base: str, query: str, status: int, fragment: str
) -> None:
    started = time.monotonic()
    got, text = await raw_get(base, query)
    assert time.monotonic() - started < SECONDS
    assert got == status, text[:300]
    assert fragment in text
    assert len(text) < 1_000_000
    # still serving, nothing executed
    assert (await raw_get(base, "size=1"))[0] == 200
    intact(wh)


async def test_server_refuses_a_request_line_over_its_limit_without_falling_over(
    wh: Warehouse, base: str
) -> None:
    status, _ = await raw_get(base, "name=" + "a" * (3 * MAX_QUERY_LENGTH))
    assert status in (400, 414)
    assert (await raw_get(base, "size=1"))[0] == 200
    intact(wh)
