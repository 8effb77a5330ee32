"""``Warehouse.query``: KPro's filter language over real warehouse tables.

Expectations are computed in plain Python over ``_leads.LEADS`` (not with leadkit's own
polars or SQL back ends), then compared with what the warehouse returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leadkit.errors import QueryError
from leadkit.storage.queries import HIDDEN_COLUMNS, QueryResult, UnknownTableError
from leadkit.storage.warehouse import Warehouse

from ._leads import LEADS, build_warehouse, default_order, key, ts

Lead = dict[str, Any]


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return build_warehouse(tmp_path_factory.mktemp("queries") / "w.duckdb")


def keys_of(result: QueryResult) -> list[tuple[str, int]]:
    return list(zip(result.frame["_source"], result.frame["id"], strict=True))


def expect(predicate: Callable[[Lead], bool]) -> list[tuple[str, int]]:
    return [key(r) for r in default_order([r for r in LEADS if predicate(r)])]


def site(r: Lead) -> int:
    return int(r["site"]["id"])


# The six documented examples of spec §4, verbatim, with their meaning in plain Python.
SPEC_EXAMPLES = [
    pytest.param(
        "createdAt.gte=2021-03-01&createdAt.ltt=2021-03-10",
        lambda r: ts("2021-03-01 00:00") <= r["created_at"] < ts("2021-03-11 00:00"),
        id="1-march-1-to-10-inclusive",
    ),
    pytest.param(
        "createdAt.gte=2021-03-11 10:00&createdAt.lte=2021-03-11 11:00",
        lambda r: ts("2021-03-11 10:00") <= r["created_at"] <= ts("2021-03-11 11:00"),
        id="2-ten-to-eleven-inclusive",
    ),
    pytest.param(
        "createdAt.gte=2021-03-01&site.id.in=1,2",
        lambda r: r["created_at"] >= ts("2021-03-01 00:00") and site(r) in (1, 2),
        id="3-site-in",
    ),
    pytest.param(
        "createdAt.gte=2021-03-01&eligibilityStatus.notin=incomplete,failed",
        lambda r: (
            r["created_at"] >= ts("2021-03-01 00:00")
            and r["eligibility_status"] not in ("incomplete", "failed")
        ),
        id="4-status-notin",
    ),
    pytest.param("site.id[]=1&site.id[]=2", lambda r: site(r) in (1, 2), id="5-brackets-in"),
    pytest.param(
        "site.id.not[]=1&site.id.not[]=2", lambda r: site(r) not in (1, 2), id="6-brackets-notin"
    ),
]


@pytest.mark.parametrize(("query", "predicate"), SPEC_EXAMPLES)
def test_query_spec_example_gives_exactly_the_expected_leads(
    wh: Warehouse, query: str, predicate: Callable[[Lead], bool]
) -> None:
    result = wh.query(query, table="kpro_leads", size=1000)
    expected = expect(predicate)
    assert expected, "the dataset must exercise the example"
    assert keys_of(result) == expected
    assert result.total == len(expected)


def test_query_ten_to_eleven_example_includes_both_ends_but_not_eleven_thirty(
    wh: Warehouse,
) -> None:
    result = wh.query(
        "createdAt.gte=2021-03-11 10:00&createdAt.lte=2021-03-11 11:00&sort=createdAt",
        table="kpro_leads",
    )
    times = [t.strftime("%H:%M:%S") for t in result.frame["created_at"]]
    assert times == ["10:00:00", "10:30:00", "10:30:00", "11:00:00"]


def test_query_ltt_takes_the_whole_day_utc(wh: Warehouse) -> None:
    result = wh.query("createdAt.ltt=2021-03-10&createdAt.gte=2021-03-10", table="kpro_leads")
    times = sorted(result.frame["created_at"])
    day = [r["created_at"] for r in LEADS if r["created_at"].date() == dt.date(2021, 3, 10)]
    assert times == sorted(day)
    assert times[0] == ts("2021-03-10 00:00")
    assert times[-1] == ts("2021-03-10 23:59:59")


def test_query_snake_and_camel_paths_are_the_same_fields(wh: Warehouse) -> None:
    camel = wh.query("createdAt.gte=2021-03-05&eligibilityStatus=passed", table="kpro_leads")
    snake = wh.query("created_at.gte=2021-03-05&eligibility_status=passed", table="kpro_leads")
    assert keys_of(camel) == keys_of(snake) != []


def test_query_sort_by_struct_field_then_created_at_with_key_tiebreak(wh: Warehouse) -> None:
    result = wh.query("sort=-site.id,-createdAt&size=1000", table="kpro_leads")
    by_key = sorted(LEADS, key=key)
    by_created = sorted(by_key, key=lambda r: r["created_at"], reverse=True)
    expected = [key(r) for r in sorted(by_created, key=site, reverse=True)]
    assert keys_of(result) == expected


def test_query_ties_are_broken_by_source_then_id(wh: Warehouse) -> None:
    result = wh.query("createdAt=2021-03-11 10:30", table="kpro_leads")
    tied = sorted(key(r) for r in LEADS if r["created_at"] == ts("2021-03-11 10:30"))
    assert len(tied) == 2
    assert keys_of(result) == tied


def test_query_pages_cover_every_row_once_and_report_the_total(wh: Warehouse) -> None:
    pages = [wh.query(f"page={p}&size=7", table="kpro_leads") for p in range(1, 9)]
    seen = [k for page in pages for k in keys_of(page)]
    assert seen == expect(lambda r: True)
    assert {p.total for p in pages} == {len(LEADS)}
    assert [p.frame.height for p in pages] == [7, 7, 7, 7, 7, 7, 6, 0]
    assert pages[0].pages == 7
    assert (pages[6].first_row, pages[6].last_row) == (43, 48)
    past = pages[7]
    assert past.frame.height == 0
    assert past.first_row is None
    assert past.frame.columns == pages[0].frame.columns


def test_query_size_keyword_is_the_default_page_size(wh: Warehouse) -> None:
    assert wh.query("", table="kpro_leads", size=5).frame.height == 5
    assert wh.query("size=3", table="kpro_leads", size=5).frame.height == 3
    assert wh.query("", table="kpro_leads").size == 100


def test_query_fields_choose_columns_and_struct_leaves(wh: Warehouse) -> None:
    result = wh.query("fields=id,site.code,createdAt&size=3", table="kpro_leads")
    assert result.frame.columns == ["id", "site.code", "created_at"]
    first = default_order(LEADS)[0]
    assert result.frame.row(0) == (first["id"], first["site"]["code"], first["created_at"])


def test_query_leaves_raw_out_unless_asked_for(wh: Warehouse) -> None:
    plain = wh.query("size=1", table="kpro_leads")
    assert not set(HIDDEN_COLUMNS) & set(plain.frame.columns)
    assert "email" in plain.frame.columns
    raw = wh.query("size=1&fields=id,_raw", table="kpro_leads")
    assert raw.frame.columns == ["id", "_raw"]
    assert raw.frame["_raw"][0].startswith('{"id":')


@pytest.mark.parametrize(
    ("query", "predicate"),
    [
        ("annualHouseholdIncome.null", lambda r: r["annual_household_income"] is None),
        ("annual_household_income.notnull", lambda r: r["annual_household_income"] is not None),
        ("firstName.null=false", lambda r: r["first_name"] is not None),
        ("listing.null", lambda r: r["listing"] is None),
    ],
    ids=["null", "notnull", "null-false", "struct-null"],
)
def test_query_null_and_notnull(
    wh: Warehouse, query: str, predicate: Callable[[Lead], bool]
) -> None:
    if query == "listing.null":
        with pytest.raises(QueryError, match="'listing' is a struct"):
            wh.query(query, table="kpro_leads")
        return
    expected = expect(predicate)
    assert 0 < len(expected) < len(LEADS)
    assert keys_of(wh.query(query, table="kpro_leads", size=1000)) == expected


def test_query_list_field_means_contains_any_of(wh: Warehouse) -> None:
    def schemes(r: Lead) -> list[str]:
        return list(r["listing"]["schemes"]) if r["listing"] else []

    got = wh.query("listing.schemes.in=first-dibs,rent-to-buy", table="kpro_leads", size=1000)
    assert keys_of(got) == expect(lambda r: bool({"first-dibs", "rent-to-buy"} & set(schemes(r))))
    none = wh.query("listing.schemes.not=first-dibs", table="kpro_leads", size=1000)
    assert keys_of(none) == expect(lambda r: r["listing"] and "first-dibs" not in schemes(r))


def test_query_numbers_booleans_and_dates(wh: Warehouse) -> None:
    income = wh.query("annualHouseholdIncome.gte=50000", table="kpro_leads", size=1000)
    assert keys_of(income) == expect(lambda r: (r["annual_household_income"] or 0) >= 50000)
    ftb = wh.query("firstTimeBuyer=true", table="kpro_leads", size=1000)
    assert keys_of(ftb) == expect(lambda r: r["first_time_buyer"] is True)
    born = wh.query("dateOfBirth.lt=1970-01-01", table="kpro_leads", size=1000)
    assert keys_of(born) == expect(lambda r: r["date_of_birth"] < dt.date(1970, 1, 1))


def test_query_the_leads_view_sorts_newest_first_with_source_and_lead_id(wh: Warehouse) -> None:
    result = wh.query("status=passed&size=1000")
    assert result.table == "leads"
    got = list(zip(result.frame["source"], result.frame["lead_id"], strict=True))
    passed = [r for r in LEADS if r["eligibility_status"] == "passed"]
    by_key = sorted(passed, key=lambda r: (r["_source"], str(r["id"])))
    expected = [
        (r["_source"], str(r["id"]))
        for r in sorted(by_key, key=lambda r: r["created_at"], reverse=True)
    ]
    assert got == expected


def test_query_a_table_without_created_at_is_sorted_by_its_key(wh: Warehouse) -> None:
    sites = wh.query("", table="kpro_sites", size=5)
    assert sites.frame["id"].to_list() == sorted(sites.frame["id"].to_list())
    assert sites.query.sort == ()


def test_query_injection_in_values_matches_nothing_and_changes_nothing(wh: Warehouse) -> None:
    for query in ("email=x' OR 1=1 --", "email.in=x'); DROP TABLE kpro_leads; --,y"):
        assert wh.query(query, table="kpro_leads").total == 0
    assert wh.query("", table="kpro_leads").total == len(LEADS)


# -- errors: exact text ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "createdAtt.gte=2021-03-01",
            "unknown field 'createdAtt' in 'createdAtt.gte=2021-03-01'; did you mean 'created_at'?",
        ),
        (
            "createdAt.gtx=2021-03-01",
            "unknown operator 'gtx' in 'createdAt.gtx=2021-03-01'; "
            "allowed: not, gt, lt, gte, lte, ltt, in, notin, null, notnull",
        ),
        (
            "firstTimeBuyer.gt=1",
            "cannot use 'gt' on 'first_time_buyer' (a boolean) in 'firstTimeBuyer.gt=1'; "
            "allowed on it: =, not, in, notin, null, notnull",
        ),
        (
            "createdAt.gte=01/03/2021",
            "createdAt.gte='01/03/2021' is not a date; use YYYY-MM-DD or YYYY-MM-DD HH:mm (UTC)",
        ),
        ("site.id.in=1,x", "site.id.in='1,x': 'x' is not a whole number"),
        (
            "size=5000",
            "size=5000 is over the maximum 1000; use size<=1000 and page through with page=",
        ),
        ("page=0", "page=0 is not a whole number >= 1"),
        (
            "sort=-site",
            "'site' is a struct in 'sort=-site'; sort by one of its fields: "
            "site.id, site.code, site.name",
        ),
    ],
    ids=["unknown-field", "unknown-op", "op-type", "bad-date", "bad-int", "size", "page", "sort"],
)
def test_query_error_message(wh: Warehouse, query: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        wh.query(query, table="kpro_leads")
    assert str(caught.value) == message


def test_query_reports_every_problem_at_once(wh: Warehouse) -> None:
    with pytest.raises(QueryError) as caught:
        wh.query("size=5000&site.idd=1&createdAt.gte=yesterday", table="kpro_leads")
    assert [p.param for p in caught.value.problems] == ["size", "site.idd", "createdAt.gte"]
    assert caught.value.to_dict()["errors"] == {
        "size": ["size=5000 is over the maximum 1000; use size<=1000 and page through with page="],
        "site.idd": ["unknown field 'site.idd' in 'site.idd=1'; did you mean 'site.id'?"],
        "createdAt.gte": [
            "createdAt.gte='yesterday' is not a date; use YYYY-MM-DD or YYYY-MM-DD HH:mm (UTC)"
        ],
    }


def test_query_size_keyword_over_the_maximum_is_a_query_error(wh: Warehouse) -> None:
    with pytest.raises(QueryError, match=r"^size=5000 is over the maximum 1000"):
        wh.query("", table="kpro_leads", size=5000)


def test_query_unknown_table_names_the_nearest_and_lists_them(wh: Warehouse) -> None:
    with pytest.raises(UnknownTableError) as caught:
        wh.query("", table="kpro_lead")
    message = str(caught.value)
    assert message.startswith("unknown table 'kpro_lead'; did you mean 'kpro_leads'? tables: ")
    listed = message.split("tables: ")[1].split(", ")
    public = [t for t in listed if not t.startswith("_")]
    assert public == sorted(public)
    assert {"kpro_eligibility_statuses", "kpro_enquiry_types", "leads"} <= set(public)
    # leadkit's own tables last; a long list ends with an ellipsis.
    assert all(t.startswith("_") or t == "…" for t in listed[len(public) :])
    assert "_deliveries" in listed
    assert caught.value.problems[0].param == "table"


def test_query_table_names_ignore_case(wh: Warehouse) -> None:
    assert wh.query("size=1", table="KPro_Leads").table == "kpro_leads"


def test_query_sees_tables_created_and_dropped_after_its_first_read(tmp_path: Path) -> None:
    wh = build_warehouse(tmp_path / "w.duckdb")
    assert wh.query("size=1", table="kpro_leads").total == len(LEADS)
    with wh.writing() as con:
        con.execute("CREATE TABLE notes AS SELECT 1 AS id, 'hello' AS body")
    assert wh.query("body=hello", table="notes").total == 1
    with wh.writing() as con:
        con.execute("DROP TABLE notes")
    with pytest.raises(UnknownTableError, match=r"^unknown table 'notes'"):
        wh.query("", table="notes")


def test_query_result_repr_is_short(wh: Warehouse) -> None:
    result = wh.query("site.id.in=1,2&size=3", table="kpro_leads")
    text = repr(result)
    assert text.startswith(f"<QueryResult kpro_leads: rows 1-3 of {result.total}, page 1 of ")
    assert "site.id in [1, 2]" in text
    assert len(text) < 200
