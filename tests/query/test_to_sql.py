"""The DuckDB back end: the shared case table (identical to polars), SQL text and safety."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb
import polars as pl
import pytest

from leadkit.query import (
    Field,
    FieldCatalog,
    FieldType,
    apply_polars,
    compile_query,
    quote_identifier,
    sql_for_count,
    sql_for_page,
    to_sql,
)

from ._cases import CASES, CATALOG, DATA
from .test_to_polars import run_polars


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.register("data_frame", DATA)
    connection.execute("CREATE TABLE leads AS SELECT * FROM data_frame")
    yield connection
    connection.close()


def run_sql(con: duckdb.DuckDBPyConnection, query: str, table: str = "leads") -> list[int]:
    """The ids of one page of ``query`` from ``table``, sorted with an id tiebreak."""
    bound = compile_query(query, CATALOG)
    sql, params = sql_for_page(bound, table, tiebreak=["id"])
    return [row[0] for row in con.execute(sql.replace("SELECT *", "SELECT id"), params).fetchall()]


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_sql_case_matches_expected_ids_and_polars(
    con: duckdb.DuckDBPyConnection, query: str, expected: list[int]
) -> None:
    assert run_sql(con, query) == expected
    assert run_sql(con, query) == run_polars(query)


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_sql_count_matches_polars_filter(
    con: duckdb.DuckDBPyConnection, query: str, expected: list[int]
) -> None:
    bound = compile_query(query, CATALOG)
    sql, params = sql_for_count(bound, "leads")
    row = con.execute(sql, params).fetchone()
    assert row is not None
    assert row[0] == apply_polars(bound, DATA).collect().height


@pytest.mark.parametrize(
    ("query", "where", "params", "order_by"),
    [
        pytest.param("", "TRUE", [], "", id="nothing"),
        pytest.param(
            "createdAt.gte=2021-03-01&site.id.in=1,2",
            '"created_at" >= ? AND ("site")."id" IN (?, ?)',
            [dt.datetime(2021, 3, 1, tzinfo=dt.UTC), 1, 2],
            "",
            id="spec-3",
        ),
        pytest.param(
            "createdAt.ltt=2021-03-10",
            '"created_at" < ?',
            [dt.datetime(2021, 3, 11, tzinfo=dt.UTC)],
            "",
            id="ltt-next-midnight",
        ),
        pytest.param(
            "eligibilityStatus.notin=incomplete,failed&sort=-site.id,-createdAt",
            '"eligibility_status" NOT IN (?, ?)',
            ["incomplete", "failed"],
            '("site")."id" DESC NULLS LAST, "created_at" DESC NULLS LAST',
            id="notin-and-spec-sort",
        ),
        pytest.param("note.not=x", '"note" <> ?', ["x"], "", id="not"),
        pytest.param(
            "amount.gt=1&amount.lte=9", '"amount" > ? AND "amount" <= ?', [1, 9], "", id="gt-lte"
        ),
        pytest.param(
            "note.null&tags.notnull", '"note" IS NULL AND "tags" IS NOT NULL', [], "", id="nulls"
        ),
        pytest.param(
            "tags[]=a&tags[]=b", 'list_has_any("tags", [?, ?])', ["a", "b"], "", id="list-any"
        ),
        pytest.param("tags.not=a", 'NOT list_has_any("tags", [?])', ["a"], "", id="list-none"),
        pytest.param(
            "active=1&bornOn=2000-02-29",
            '"active" = ? AND "born_on" = ?',
            [True, dt.date(2000, 2, 29)],
            "",
            id="bool-date",
        ),
        pytest.param(
            "syncedAt.gte=2021-03-01",
            '"synced_at" >= ?',
            [dt.datetime(2021, 3, 1)],
            "",
            id="naive-timestamp-binds-naive-utc",
        ),
        pytest.param(
            "email=x' OR 1=1 --", '"email" = ?', ["x' OR 1=1 --"], "", id="injection-is-a-parameter"
        ),
    ],
)
def test_sql_text_and_params(query: str, where: str, params: list[object], order_by: str) -> None:
    parts = to_sql(compile_query(query, CATALOG))
    assert (parts.where, parts.params, parts.order_by, parts.select) == (
        where,
        params,
        order_by,
        "*",
    )


def test_sql_page_and_count_statements() -> None:
    bound = compile_query(
        "site.code=KZ&sort=-createdAt&page=3&size=20&fields=id,site.name", CATALOG
    )
    assert sql_for_page(bound, "main.leads", tiebreak=["id"]) == (
        'SELECT "id" AS "id", ("site")."name" AS "site.name" FROM "main"."leads" '
        'WHERE ("site")."code" = ? ORDER BY "created_at" DESC NULLS LAST, "id" ASC NULLS LAST '
        "LIMIT ? OFFSET ?",
        ["KZ", 20, 40],
    )
    assert sql_for_count(bound, "leads") == (
        'SELECT count(*) FROM "leads" WHERE ("site")."code" = ?',
        ["KZ"],
    )


def test_sql_fields_select_matches_polars(con: duckdb.DuckDBPyConnection) -> None:
    bound = compile_query("fields=id,site.code,tags&site.id=1", CATALOG)
    sql, params = sql_for_page(bound, "leads", tiebreak=["id"])
    rows = con.execute(sql, params).fetchall()
    columns = [d[0] for d in con.description or ()]
    from_polars = apply_polars(bound, DATA, tiebreak=["id"]).collect()
    assert columns == from_polars.columns == ["id", "site.code", "tags"]
    assert rows == from_polars.rows()


def test_sql_injection_leaves_table_intact(con: duckdb.DuckDBPyConnection) -> None:
    assert run_sql(con, "email=x'; DROP TABLE leads; --") == []
    assert run_sql(con, "note.in=1);DELETE FROM leads;--") == []
    row = con.execute("SELECT count(*) FROM leads").fetchone()
    assert row == (10,)


def test_sql_struct_access_is_not_confused_with_a_table_of_the_same_name() -> None:
    frame = pl.DataFrame({"id": [10, 20], "site": [{"id": 1}, {"id": 2}]})
    connection = duckdb.connect()
    connection.register("frame", frame)
    connection.execute('CREATE TABLE "site" AS SELECT * FROM frame')
    bound = compile_query("site.id=2", FieldCatalog.from_polars_schema(frame.schema))
    sql, params = sql_for_page(bound, "site")
    assert connection.execute(sql, params).fetchall() == [(20, {"id": 2})]


def test_sql_quotes_odd_identifiers() -> None:
    assert quote_identifier('a"b') == '"a""b"'
    frame = pl.DataFrame({'we"ird name': [1, 2], "id": [1, 2]})
    connection = duckdb.connect()
    connection.register("frame", frame)
    catalog = FieldCatalog(
        [Field('we"ird name', FieldType.INTEGER), Field("id", FieldType.INTEGER)]
    )
    bound = compile_query('we"ird name.gt=1', catalog)
    sql, params = sql_for_page(bound, "frame")
    assert connection.execute(sql.replace("*", "id"), params).fetchall() == [(2,)]
    assert apply_polars(bound, frame).collect()["id"].to_list() == [2]


def test_sql_results_do_not_depend_on_session_time_zone(con: duckdb.DuckDBPyConnection) -> None:
    queries = [case.values[0] for case in CASES if "At" in str(case.values[0])]
    before = [run_sql(con, str(q)) for q in queries]
    con.execute("SET TimeZone = 'Asia/Tokyo'")
    try:
        assert [run_sql(con, str(q)) for q in queries] == before
    finally:
        con.execute("SET TimeZone = 'UTC'")


def test_sql_zoned_timestamp_and_enum_agree_with_polars() -> None:
    local = [dt.datetime(2021, 3, 1, 12), dt.datetime(2021, 7, 1, 12)]
    frame = pl.DataFrame(
        {"id": [1, 2], "at": local, "kind": pl.Series(["b", "a"], dtype=pl.Enum(["b", "a"]))}
    ).with_columns(pl.col("at").dt.replace_time_zone("Europe/London"))
    catalog = FieldCatalog.from_polars_schema(frame.schema)
    connection = duckdb.connect()
    connection.register("frame", frame)
    for query in ("at=2021-07-01 11:00", "at.ltt=2021-03-01", "kind=a", "kind.notin=zzz&sort=kind"):
        bound = compile_query(query, catalog)
        sql, params = sql_for_page(bound, "frame", tiebreak=["id"])
        sql = sql.replace("SELECT *", "SELECT id")  # fetching TIMESTAMPTZ values needs pytz
        ids = [row[0] for row in connection.execute(sql, params).fetchall()]
        assert ids == apply_polars(bound, frame, tiebreak=["id"]).collect()["id"].to_list(), query
