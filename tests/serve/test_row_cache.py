"""The rows and sort orders a long-lived reader keeps (``RowCache``): pages read through it
are exactly the pages plain SQL gives, however they are asked for."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from leadkit.query import compile_query, to_sql
from leadkit.serve.reader import SharedReader
from leadkit.storage.queries import (
    BLOCK_ROWS,
    ORDER_CHUNK_ROWS,
    RowCache,
    TableDirectory,
    query_table,
    table_info,
)
from leadkit.storage.warehouse import Warehouse

ROWS = 12_000  # several blocks and order chunks
STATUSES = ("passed", "failed", "incomplete", "considered")


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """A wide-ish table (STRUCT, list, strings, timestamps) stored in an order its default
    sort does not follow, with gaps in its ``rowid``s (deleted rows)."""
    wh = Warehouse(tmp_path_factory.mktemp("rowcache") / "w.duckdb")
    with wh.writing() as con:
        con.execute(
            "CREATE TABLE people (id BIGINT PRIMARY KEY, name VARCHAR, status VARCHAR, "
            "site STRUCT(id BIGINT, code VARCHAR), tags VARCHAR[], created_at TIMESTAMPTZ)"
        )
        con.execute(
            f"""
            INSERT INTO people
            SELECT i, 'name-' || ((i * 7919) % 10007), ['{"','".join(STATUSES)}'][1 + i % 4],
                   {{'id': i % 5, 'code': 'S' || (i % 5)}},
                   CASE WHEN i % 3 = 0 THEN NULL ELSE ['t' || (i % 7)] END,
                   TIMESTAMPTZ '2021-01-01 00:00:00+00' + to_seconds(i * 60 + (i % 13) * 3600)
            FROM range({ROWS}) t(i)
            """
        )
        con.execute("DELETE FROM people WHERE id % 11 = 5")
    return wh


def plain(con: duckdb.DuckDBPyConnection, query: str) -> tuple[int, pl.DataFrame]:
    """The count and the page the plain way: ``ORDER BY ... LIMIT ... OFFSET``."""
    info = table_info(con, "people")
    bound = compile_query(query, info.catalog, default_sort=info.default_sort)
    parts = to_sql(bound, tiebreak=info.tiebreak)
    counted = con.execute(f"SELECT count(*) FROM people WHERE {parts.where}", parts.params)
    total = int(counted.fetchall()[0][0])
    sql = (
        f"SELECT {parts.select} FROM people WHERE {parts.where} ORDER BY {parts.order_by} "
        "LIMIT ? OFFSET ?"
    )
    page = con.sql(sql, params=[*parts.params, bound.size, bound.offset]).pl()
    return total, page


@pytest.fixture(scope="module")
def con(wh: Warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    with wh.reading() as con:
        con.execute("SET GLOBAL TimeZone = 'UTC'")
        yield con


def queries(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        params = []
        if rng.random() < 0.5:
            params.append(f"createdAt.gte=2021-01-0{rng.randint(1, 8)}")
        if rng.random() < 0.4:
            params.append(f"status={rng.choice(STATUSES)}")
        if rng.random() < 0.3:
            params.append(f"site.id.in={rng.randint(0, 4)},{rng.randint(0, 4)}")
        sort = rng.choice((None, "-createdAt", "createdAt", "name", "-site.id,createdAt", "-id"))
        if sort:
            params.append(f"sort={sort}")
        size = rng.choice((7, 50, 100, 333))
        params.append(f"size={size}")
        if rng.random() < 0.1:
            params.append("fields=id,site.code,name")
        params.append(f"page={rng.choice((1, 2, 3, rng.randint(1, 60)))}")
        out.append("&".join(params))
    return out


def test_the_table_has_gaps_and_spans_several_blocks(con: duckdb.DuckDBPyConnection) -> None:
    (count, top), *_ = con.execute("SELECT count(*), max(rowid) FROM people").fetchall()
    assert top // BLOCK_ROWS >= 4
    assert top + 1 > count  # deleted rows leave gaps


def test_pages_through_the_cache_are_the_plain_pages(con: duckdb.DuckDBPyConnection) -> None:
    rows, counts, directory = RowCache(), {}, TableDirectory(keep_info=True)
    for query in queries(random.Random(1), 250):
        result = query_table(
            con, query, "people", directory=directory, counts=counts, rows=rows, utc=True
        )
        total, page = plain(con, query)
        assert result.total == total, query
        assert result.frame.equals(page), query
    assert rows.blocks_read > 0
    assert len(rows.blocks) > 0


@pytest.mark.parametrize("sort", ["-createdAt", "name", "-site.id,createdAt"])
def test_paging_through_a_result_in_order_keeps_its_order(
    con: duckdb.DuckDBPyConnection, sort: str
) -> None:
    rows, counts = RowCache(), {}
    seen: list[int] = []
    page = 1
    while True:
        query = f"status.not=failed&sort={sort}&size=97&page={page}"
        result = query_table(con, query, "people", counts=counts, rows=rows)
        total, expected = plain(con, query)
        assert result.total == total
        assert result.frame.equals(expected), query
        if not result.frame.height:
            break
        seen += result.frame["id"].to_list()
        page += 1
    assert len(seen) == len(set(seen)) == total
    assert len(rows.orders) == 1  # sorted once, from the second page on
    if sort == "name":  # scattered over the table: read a chunk of the order at a time
        assert 0 < rows.chunks_read <= -(-total // ORDER_CHUNK_ROWS)


def test_a_deep_page_sorts_the_whole_result_once(con: duckdb.DuckDBPyConnection) -> None:
    rows: RowCache = RowCache()
    for page in (40, 17, 55):
        query = f"sort=name&size=50&page={page}"
        result = query_table(con, query, "people", rows=rows)
        assert result.frame.equals(plain(con, query)[1])
    assert len(rows.orders) == 1


def test_a_cache_too_small_for_a_block_still_gives_the_right_rows(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = RowCache(max_bytes=1000, order_bytes=1000)
    for query in queries(random.Random(2), 60):
        result = query_table(con, query, "people", rows=rows)
        assert result.frame.equals(plain(con, query)[1]), query
    assert len(rows.blocks) == len(rows.orders) == 0


def test_threads_asking_for_the_same_rows_read_them_once(wh: Warehouse) -> None:
    with SharedReader(wh) as reader:
        query = "sort=createdAt&size=100&page=3"
        expected = reader.query(query, "people").frame
        rows = reader.rows
        assert rows is not None
        before = rows.blocks_read
        results: list[pl.DataFrame] = []
        deep = [f"sort=-id&size=100&page={p}" for p in range(20, 28)]

        def ask(q: str) -> None:
            results.append(reader.query(q, "people").frame)

        threads = [threading.Thread(target=ask, args=(q,)) for q in deep * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == len(threads)
        assert len(rows.orders) <= 1
        # Every block of the 8 pages read once, however many threads wanted it.
        with wh.reading() as con:
            (blocks,) = con.execute(
                "SELECT count(DISTINCT rowid // ?) FROM (SELECT rowid FROM people "
                "ORDER BY id DESC LIMIT 800 OFFSET 1900)",
                [BLOCK_ROWS],
            ).fetchall()[0]
        assert rows.blocks_read - before <= blocks
        assert reader.query(query, "people").frame.equals(expected)


def test_a_reader_sharing_a_writers_database_keeps_nothing(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "w.duckdb")
    with wh.writing() as con:
        con.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, created_at TIMESTAMPTZ)")
        con.execute("INSERT INTO t SELECT i, now() FROM range(10) r(i)")
        with SharedReader(wh) as reader:
            assert reader.query("size=3", "t").total == 10
            assert reader.rows is None
            con.execute("INSERT INTO t SELECT i, now() FROM range(10, 15) r(i)")
            assert reader.query("size=3", "t").total == 15


def test_the_serve_settings_size_the_caches_and_zero_turns_them_off(wh: Warehouse) -> None:
    from leadkit.config import parse_config

    cfg = parse_config({"serve": {"row_cache_mb": 8, "order_cache_mb": 0}})
    with SharedReader(
        wh, row_cache_mb=cfg.serve.row_cache_mb, order_cache_mb=cfg.serve.order_cache_mb
    ) as reader:
        first = reader.query("sort=-id&size=50&page=40", "people")
        rows = reader.rows
        assert rows is not None
        assert (rows.blocks.max_bytes, rows.orders.max_bytes) == (8 << 20, 0)
        assert len(rows.orders) == 0
        assert reader.query("sort=-id&size=50&page=40", "people").frame.equals(first.frame)
    with SharedReader(wh, row_cache_mb=0, order_cache_mb=0) as reader:
        assert reader.query("sort=-id&size=50&page=40", "people").frame.equals(first.frame)
        assert reader.rows is None
    assert parse_config({"serve": {"row_cache_mb": 0}}).serve.row_cache_mb == 0
    with pytest.raises(Exception, match="row_cache_mb"):
        parse_config({"serve": {"row_cache_mb": -1}})
