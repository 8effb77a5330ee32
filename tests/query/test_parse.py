"""parse_query: the grammar, brackets, encodings, control parameters and every message."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pytest

from leadkit.errors import QueryError
from leadkit.query import Condition, Op, Query, SortKey, parse_query
from leadkit.query.parse import QueryInput, parse_query_problems

Row = tuple[str, str, tuple[str, ...], str, bool]


def conditions(query: QueryInput, **options: object) -> list[Row]:
    parsed = parse_query(query, **options)  # type: ignore[arg-type]
    return [(c.dotted, c.op.value, c.values, c.param, c.bracket) for c in parsed.conditions]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("site.code=KZ", [("site.code", "eq", ("KZ",), "site.code", False)], id="eq"),
        pytest.param(
            "site.code.not=KZ", [("site.code", "not", ("KZ",), "site.code.not", False)], id="not"
        ),
        pytest.param("amount.gt=1", [("amount", "gt", ("1",), "amount.gt", False)], id="gt"),
        pytest.param("amount.lt=1", [("amount", "lt", ("1",), "amount.lt", False)], id="lt"),
        pytest.param("amount.gte=1", [("amount", "gte", ("1",), "amount.gte", False)], id="gte"),
        pytest.param("amount.lte=1", [("amount", "lte", ("1",), "amount.lte", False)], id="lte"),
        pytest.param(
            "createdAt.ltt=2021-03-10",
            [("createdAt", "ltt", ("2021-03-10",), "createdAt.ltt", False)],
            id="ltt",
        ),
        pytest.param(
            "site.id.in=1,2", [("site.id", "in", ("1", "2"), "site.id.in", False)], id="in"
        ),
        pytest.param(
            "site.id.notin=1,2",
            [("site.id", "notin", ("1", "2"), "site.id.notin", False)],
            id="notin",
        ),
        pytest.param("note.null", [("note", "null", (), "note.null", False)], id="null-bare"),
        pytest.param("note.null=", [("note", "null", (), "note.null", False)], id="null-empty"),
        pytest.param("note.null=true", [("note", "null", (), "note.null", False)], id="null-true"),
        pytest.param(
            "note.null=FALSE", [("note", "notnull", (), "note.null", False)], id="null-false"
        ),
        pytest.param(
            "note.notnull", [("note", "notnull", (), "note.notnull", False)], id="notnull"
        ),
        pytest.param(
            "note.notnull=false", [("note", "null", (), "note.notnull", False)], id="notnull-false"
        ),
        pytest.param(
            "site.id[]=1&site.id[]=2",
            [("site.id", "in", ("1", "2"), "site.id[]", True)],
            id="brackets",
        ),
        pytest.param(
            "site.id%5B%5D=1&site.id%5b%5d=2",
            [("site.id", "in", ("1", "2"), "site.id[]", True)],
            id="brackets-encoded",
        ),
        pytest.param(
            "site.id.not[]=1&site.id.not%5B%5D=2",
            [("site.id", "notin", ("1", "2"), "site.id.not[]", True)],
            id="not-brackets",
        ),
        pytest.param(
            "site.id[]=1&createdAt.gte=2021-03-01&site.id[]=3",
            [
                ("site.id", "in", ("1", "3"), "site.id[]", True),
                ("createdAt", "gte", ("2021-03-01",), "createdAt.gte", False),
            ],
            id="brackets-collect-across-params",
        ),
        pytest.param(
            "note[]=a,b&note[]=c",
            [("note", "in", ("a,b", "c"), "note[]", True)],
            id="brackets-keep-commas",
        ),
        pytest.param(
            "site.id[]=1&site.id.in=2,3",
            [
                ("site.id", "in", ("1",), "site.id[]", True),
                ("site.id", "in", ("2", "3"), "site.id.in", False),
            ],
            id="bracket-and-in-are-anded",
        ),
        pytest.param(
            "createdAt.gte=2021-03-11+10:00",
            [("createdAt", "gte", ("2021-03-11 10:00",), "createdAt.gte", False)],
            id="plus-is-space",
        ),
        pytest.param(
            "createdAt.gte=2021-03-11%2010:00",
            [("createdAt", "gte", ("2021-03-11 10:00",), "createdAt.gte", False)],
            id="percent-20-is-space",
        ),
        pytest.param(
            "email=a%2Bb%40x.com",
            [("email", "eq", ("a+b@x.com",), "email", False)],
            id="encoded-plus",
        ),
        pytest.param("note=caf%C3%A9", [("note", "eq", ("café",), "note", False)], id="utf8"),
        pytest.param(
            "?note=x&&", [("note", "eq", ("x",), "note", False)], id="leading-question-mark"
        ),
        pytest.param("note", [("note", "eq", ("",), "note", False)], id="no-equals-sign"),
        pytest.param("note=a=b", [("note", "eq", ("a=b",), "note", False)], id="equals-in-value"),
        pytest.param(
            "createdAt.gtx=2021",
            [("createdAt.gtx", "eq", ("2021",), "createdAt.gtx", False)],
            id="unknown-op-left-for-bind",
        ),
        pytest.param("in=1", [("in", "eq", ("1",), "in", False)], id="op-word-alone-is-a-field"),
        pytest.param(
            "api_key=secret&api_key[]=x&note=1",
            [("note", "eq", ("1",), "note", False)],
            id="ignored",
        ),
        pytest.param(
            {"site.id[]": ["1", "2"], "createdAt.gte": "2021-03-01"},
            [
                ("site.id", "in", ("1", "2"), "site.id[]", True),
                ("createdAt", "gte", ("2021-03-01",), "createdAt.gte", False),
            ],
            id="mapping",
        ),
        pytest.param(
            [("site.id%5B%5D", "1"), ("site.id[]", "2"), ("note", "a+b")],
            [
                ("site.id", "in", ("1", "2"), "site.id[]", True),
                ("note", "eq", ("a+b",), "note", False),
            ],
            id="decoded-pairs-stay-as-given",
        ),
    ],
)
def test_parse_conditions(query: QueryInput, expected: list[Row]) -> None:
    assert conditions(query, ignore=["api_key"]) == expected


def test_parse_without_extensions_treats_null_and_fields_as_names() -> None:
    assert conditions("x.null=1&fields=a", extensions=False) == [
        ("x.null", "eq", ("1",), "x.null", False),
        ("fields", "eq", ("a",), "fields", False),
    ]


def test_parse_defaults() -> None:
    assert parse_query("") == Query((), (), 1, 100, None, True)
    parsed = parse_query("note=x", default_size=25, max_size=50, default_sort="-createdAt,id")
    assert (parsed.page, parsed.size, parsed.offset) == (1, 25, 0)
    assert parsed.sort == (SortKey(("createdAt",), True), SortKey(("id",), False))


@pytest.mark.parametrize(
    ("query", "sort"),
    [
        pytest.param("sort=-site.id,-createdAt", ("-site.id", "-createdAt"), id="spec"),
        pytest.param("sort=createdAt", ("createdAt",), id="ascending"),
        pytest.param("sort=%2BcreatedAt", ("createdAt",), id="explicit-plus"),
        pytest.param("sort=+createdAt", ("createdAt",), id="plus-decoded-to-space"),
        pytest.param("sort=+createdAt,+-id", ("createdAt", "-id"), id="spaces-stripped"),
    ],
)
def test_parse_sort(query: str, sort: tuple[str, ...]) -> None:
    parsed = parse_query(query, default_sort="id")
    assert tuple(k.text for k in parsed.sort) == sort


def test_parse_page_size_fields() -> None:
    parsed = parse_query("page=3&size=1000&fields=id,site.code")
    assert (parsed.page, parsed.size, parsed.offset) == (3, 1000, 2000)
    assert parsed.fields == (("id",), ("site", "code"))
    assert parse_query("size=1").size == 1


def test_parse_describe_and_to_params_round_trip() -> None:
    text = (
        "site.id[]=1&site.id[]=2&createdAt.gte=2021-03-11+10:00&note.null=false"
        "&eligibilityStatus.notin=incomplete,failed&sort=-createdAt&page=4&size=10&fields=id"
    )
    parsed = parse_query(text)
    assert parsed.describe() == (
        "site.id in [1, 2] and createdAt >= '2021-03-11 10:00' and note is not null"
        " and eligibilityStatus not in [incomplete, failed], sorted by createdAt descending,"
        " showing id, page 4 (10 per page)"
    )
    params = parsed.to_params()
    assert params == [
        ("site.id[]", "1"),
        ("site.id[]", "2"),
        ("createdAt.gte", "2021-03-11 10:00"),
        ("note.notnull", ""),
        ("eligibilityStatus.notin", "incomplete,failed"),
        ("sort", "-createdAt"),
        ("size", "10"),
        ("fields", "id"),
    ]
    again = parse_query(params)
    assert [(c.path, c.op, c.values) for c in again.conditions] == [
        (c.path, c.op, c.values) for c in parsed.conditions
    ]
    assert (again.sort, again.size, again.fields, again.page) == (parsed.sort, 10, (("id",),), 1)


def test_condition_text_masks_secret_looking_params() -> None:
    condition = Condition(("api_key",), Op.EQ, ("0123",), "api_key")
    assert condition.text == "api_key=***"


@pytest.mark.parametrize(
    ("query", "messages"),
    [
        pytest.param(
            "size=5000",
            ["size=5000 is over the maximum 1000; use size<=1000 and page through with page="],
            id="size-over-max",
        ),
        pytest.param("size=0", ["size=0 is not a whole number between 1 and 1000"], id="size-zero"),
        pytest.param(
            "size=abc", ["size='abc' is not a whole number between 1 and 1000"], id="size-text"
        ),
        pytest.param(
            "size=", ["size='' is not a whole number between 1 and 1000"], id="size-empty"
        ),
        pytest.param("page=abc", ["page='abc' is not a whole number >= 1"], id="page-text"),
        pytest.param("page=0", ["page=0 is not a whole number >= 1"], id="page-zero"),
        pytest.param("page=-2", ["page=-2 is not a whole number >= 1"], id="page-negative"),
        pytest.param("page=1.5", ["page='1.5' is not a whole number >= 1"], id="page-fraction"),
        pytest.param(
            "page=" + "9" * 30,
            ["page='" + "9" * 30 + "' is over the maximum 1000000000"],
            id="page-huge",
        ),
        pytest.param(
            "page=1&page=2", ["'page' is given 2 times; give it once"], id="page-repeated"
        ),
        pytest.param(
            "page[]=1", ["'page[]' takes no brackets; use page=<value> once"], id="page-brackets"
        ),
        pytest.param(
            "createdAt.gte=2021-03-01&createdAt.gte=2021-03-05",
            ["'createdAt.gte' is given 2 times; give each filter once"],
            id="filter-repeated",
        ),
        pytest.param(
            "site.id=1&site.id=2",
            [
                "'site.id' is given 2 times; give each filter once"
                " (for a list use site.id[]=a&site.id[]=b or site.id.in=a,b)"
            ],
            id="equals-repeated",
        ),
        pytest.param(
            "site.id.not=1&site.id.not=2&site.id.not=3",
            [
                "'site.id.not' is given 3 times; give each filter once"
                " (for a list use site.id.not[]=a&site.id.not[]=b or site.id.notin=a,b)"
            ],
            id="not-repeated",
        ),
        pytest.param(
            "createdAt.gte[]=2021",
            [
                "brackets work only as 'createdAt[]' (in) or 'createdAt.not[]' (notin), not"
                " 'createdAt.gte[]'"
            ],
            id="brackets-with-operator",
        ),
        pytest.param(
            "site..id=1",
            [
                "bad filter name 'site..id' in 'site..id=1'; use field[.op]=value, e.g."
                " createdAt.gte=2021-03-01"
            ],
            id="empty-segment",
        ),
        pytest.param(
            ".gte=1",
            [
                "bad filter name '.gte' in '.gte=1'; use field[.op]=value, e.g."
                " createdAt.gte=2021-03-01"
            ],
            id="no-field",
        ),
        pytest.param(
            "=1",
            ["parameter with no name in '=1'; use field[.op]=value, e.g. createdAt.gte=2021-03-01"],
            id="no-name",
        ),
        pytest.param(
            "site.id.in=",
            ["site.id.in='' needs at least one value, e.g. site.id.in=1,2"],
            id="empty-in",
        ),
        pytest.param(
            "note.null=maybe", ["note.null='maybe' must be empty, true or false"], id="null-value"
        ),
        pytest.param(
            "sort=",
            [
                "sort='' has an empty field name; use a comma-separated list such as"
                " sort=-site.id,-createdAt"
            ],
            id="sort-empty",
        ),
        pytest.param(
            "sort=-",
            [
                "sort='-' has an empty field name; use a comma-separated list such as"
                " sort=-site.id,-createdAt"
            ],
            id="sort-dash",
        ),
        pytest.param(
            "fields=id,,email",
            [
                "fields='id,,email' has an empty field name; use a comma-separated list such"
                " as fields=id,email"
            ],
            id="fields-empty-item",
        ),
        pytest.param(
            "size=5000&page=0&site.id=1&site.id=2&note.null=x&sort=",
            [
                "size=5000 is over the maximum 1000; use size<=1000 and page through with page=",
                "page=0 is not a whole number >= 1",
                "'site.id' is given 2 times; give each filter once"
                " (for a list use site.id[]=a&site.id[]=b or site.id.in=a,b)",
                "note.null='x' must be empty, true or false",
                "sort='' has an empty field name; use a comma-separated list such as"
                " sort=-site.id,-createdAt",
            ],
            id="every-problem-at-once",
        ),
    ],
)
def test_parse_error_messages(query: str, messages: list[str]) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert [p.message for p in caught.value.problems] == messages
    assert str(caught.value) == "; ".join(messages)


def test_parse_problem_carries_param_and_value() -> None:
    with pytest.raises(QueryError) as caught:
        parse_query("size=5000")
    problem = caught.value.problems[0]
    assert (problem.param, problem.value) == ("size", "5000")
    assert caught.value.to_dict() == {
        "message": problem.message,
        "errors": {"size": [problem.message]},
    }


def test_parse_problems_returns_partial_query() -> None:
    parsed, problems = parse_query_problems("size=0&site.id=1&note.in=")
    assert len(problems) == 2
    assert parsed.size == 100
    assert [c.param for c in parsed.conditions] == ["site.id"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"default_size": 0}, "default_size=0 must be between 1 and 1000", id="size-zero"
        ),
        pytest.param(
            {"default_size": 10, "max_size": 5},
            "default_size=10 must be between 1 and 5",
            id="size",
        ),
        pytest.param(
            {"default_sort": "a,,b"}, "bad default_sort: sort='a,,b' has an empty", id="sort"
        ),
    ],
)
def test_parse_bad_options_are_programming_errors(
    options: Mapping[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_query("", **options)  # type: ignore[arg-type]


def test_parse_accepts_sequence_of_pairs_with_repeats() -> None:
    pairs: Sequence[tuple[str, str]] = [("note.not[]", "a"), ("note.not[]", "b")]
    assert conditions(pairs) == [("note", "notin", ("a", "b"), "note.not[]", True)]
