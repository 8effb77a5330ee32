"""bind_query / compile_query and the catalog: resolution, types, values and messages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from leadkit.errors import QueryError
from leadkit.query import (
    Field,
    FieldCatalog,
    FieldType,
    bind_query,
    compile_query,
    parse_query,
    snake_case,
)

from ._cases import CATALOG

UTC = dt.UTC

# The KPro API's filterable fields, strict like the real API (no case folding, no extensions).
KPRO = FieldCatalog(
    [
        Field("id", FieldType.INTEGER, nullable=False, filterable=False),
        Field("createdAt", FieldType.TIMESTAMP, "created_at", nullable=False),
        Field("eligibilityStatus", FieldType.STRING, "eligibility_status", nullable=False),
        Field("site.id", FieldType.INTEGER, nullable=False),
        Field("site.code", FieldType.STRING, nullable=False),
        Field("site.name", FieldType.STRING, nullable=False),
    ],
    normalize_case=False,
)


def values(query: str, catalog: FieldCatalog = CATALOG) -> tuple[object, ...]:
    """The typed values of the only condition of ``query``."""
    (condition,) = compile_query(query, catalog).conditions
    return condition.values


def messages(query: str, catalog: FieldCatalog = CATALOG, **options: object) -> list[str]:
    with pytest.raises(QueryError) as caught:
        compile_query(query, catalog, **options)  # type: ignore[arg-type]
    return [p.message for p in caught.value.problems]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("amount=-12", (-12,), id="int"),
        pytest.param("amount=%2B7", (7,), id="int-plus"),
        pytest.param("site.id.in=1,2", (1, 2), id="int-list"),
        pytest.param("active=true", (True,), id="bool-true"),
        pytest.param("active=False", (False,), id="bool-false-any-case"),
        pytest.param("active.in=1,0", (True, False), id="bool-digits"),
        pytest.param("note=12", ("12",), id="string-stays-string"),
        pytest.param("bornOn=2000-02-29", (dt.date(2000, 2, 29),), id="date"),
        pytest.param("bornOn.ltt=2000-02-29", (dt.date(2000, 3, 1),), id="date-ltt-next-day"),
        pytest.param("tags.in=a,b", ("a", "b"), id="list-elements"),
        pytest.param("note.null", (), id="null-no-values"),
        pytest.param(
            "createdAt.ltt=2021-12-31", (dt.datetime(2022, 1, 1, tzinfo=UTC),), id="ltt-year-end"
        ),
        pytest.param(
            "createdAt.ltt=2021-03-10 15:45",
            (dt.datetime(2021, 3, 11, tzinfo=UTC),),
            id="ltt-ignores-time",
        ),
        pytest.param(
            "createdAt.ltt=2021-03-10T23:30:00-02:00",
            (dt.datetime(2021, 3, 12, tzinfo=UTC),),
            id="ltt-uses-utc-day-of-offset-value",
        ),
        pytest.param(
            "syncedAt=2021-03-01 10:00+01:00", (dt.datetime(2021, 3, 1, 9, 0),), id="naive-field"
        ),
    ],
)
def test_bind_typed_values(query: str, expected: tuple[object, ...]) -> None:
    assert values(query) == expected


def test_bind_decimal_and_float_fields() -> None:
    catalog = FieldCatalog.from_polars_schema({"d": pl.Decimal(10, 2), "f": pl.Float32})
    assert values("d.gte=2.50", catalog) == (Decimal("2.50"),)
    assert values("f.lt=1e3", catalog) == (1000.0,)
    assert values("f=.5", catalog) == (0.5,)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2021-03-11", dt.datetime(2021, 3, 11, tzinfo=UTC), id="date-is-midnight"),
        pytest.param("2021-03-11 10:00", dt.datetime(2021, 3, 11, 10, tzinfo=UTC), id="minutes"),
        pytest.param(
            "2021-03-11 10:00:30", dt.datetime(2021, 3, 11, 10, 0, 30, tzinfo=UTC), id="seconds"
        ),
        pytest.param(
            "2021-03-11T10:00:30.25",
            dt.datetime(2021, 3, 11, 10, 0, 30, 250000, tzinfo=UTC),
            id="iso-fraction",
        ),
        pytest.param("2021-03-11T10:00Z", dt.datetime(2021, 3, 11, 10, tzinfo=UTC), id="iso-z"),
        pytest.param(
            "2021-03-11T10:00:00+00:00", dt.datetime(2021, 3, 11, 10, tzinfo=UTC), id="atom"
        ),
        pytest.param(
            "2021-03-11T10:00-0530", dt.datetime(2021, 3, 11, 15, 30, tzinfo=UTC), id="offset"
        ),
        pytest.param(
            "2021-03-11T01:00:00%2B02:00",
            dt.datetime(2021, 3, 10, 23, tzinfo=UTC),
            id="offset-back-a-day",
        ),
        pytest.param(
            "2021-03-11T12:00:00+02:00",
            dt.datetime(2021, 3, 11, 10, tzinfo=UTC),
            id="plus-as-space",
        ),
    ],
)
def test_bind_timestamp_forms(text: str, expected: dt.datetime) -> None:
    assert values(f"createdAt={text}") == (expected,)


@pytest.mark.parametrize(
    "text",
    [
        "2021-13-01",
        "2021-02-30",
        "2021-03-01 24:00",
        "2021-03-01 10",
        "2021-03-01T10:00%2B25:00",
        "2021-03-01T10:00-01:75",
        "2021/03/01",
        "01-03-2021",
        "2021-3-1",
        "yesterday",
        "",
    ],
)
def test_bind_bad_timestamps(text: str) -> None:
    shown = text.replace("%2B", "+")
    assert messages(f"createdAt.gte={text}") == [
        f"createdAt.gte={shown!r} is not a date; use YYYY-MM-DD or YYYY-MM-DD HH:mm (UTC)"
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            "createdAt.gte=2021-13-01",
            ["createdAt.gte='2021-13-01' is not a date; use YYYY-MM-DD or YYYY-MM-DD HH:mm (UTC)"],
            id="spec-bad-date",
        ),
        pytest.param(
            "site.id.in=1,x", ["site.id.in='1,x': 'x' is not a whole number"], id="bad-list-item"
        ),
        pytest.param(
            "site.id[]=1&site.id[]=x&site.id[]=2.5",
            ["site.id[]='x' is not a whole number", "site.id[]='2.5' is not a whole number"],
            id="bad-bracket-items",
        ),
        pytest.param(
            "amount=99999999999999999999",
            ["amount='99999999999999999999' is out of range for a whole number"],
            id="int-range",
        ),
        pytest.param("amount=1.0", ["amount='1.0' is not a whole number"], id="int-fraction"),
        pytest.param(
            "active=yes", ["active='yes' is not a boolean; use true, false, 1 or 0"], id="bool"
        ),
        pytest.param(
            "bornOn=2021-03-01 10:00",
            ["bornOn='2021-03-01 10:00' is not a date; use YYYY-MM-DD"],
            id="date",
        ),
        pytest.param("tags.in=a,b", [], id="list-strings-fine"),
        pytest.param(
            "eligibilityStatus.gte=a",
            [
                "cannot use 'gte' on 'eligibility_status' (a string) in 'eligibilityStatus.gte=a';"
                " allowed on it: =, not, in, notin, null, notnull"
            ],
            id="gte-on-string",
        ),
        pytest.param(
            "amount.ltt=5",
            [
                "cannot use 'ltt' on 'amount' (a whole number) in 'amount.ltt=5';"
                " allowed on it: =, not, gt, lt, gte, lte, in, notin, null, notnull"
            ],
            id="ltt-on-number",
        ),
        pytest.param(
            "active.gt=1",
            [
                "cannot use 'gt' on 'active' (a boolean) in 'active.gt=1';"
                " allowed on it: =, not, in, notin, null, notnull"
            ],
            id="gt-on-bool",
        ),
        pytest.param(
            "tags.lt=a",
            [
                "cannot use 'lt' on 'tags' (a list of strings) in 'tags.lt=a';"
                " allowed on it: =, not, in, notin, null, notnull"
            ],
            id="lt-on-list",
        ),
        pytest.param(
            "site=1",
            [
                "'site' is a struct in 'site=1'; filter on one of its fields: site.id,"
                " site.code, site.name"
            ],
            id="struct",
        ),
        pytest.param(
            "createdAtt.gte=2021-03-01",
            [
                "unknown field 'createdAtt' in 'createdAtt.gte=2021-03-01'; did you mean"
                " 'created_at'?"
            ],
            id="nearest-camel",
        ),
        pytest.param(
            "site.idd[]=1&site.idd[]=2",
            ["unknown field 'site.idd' in 'site.idd[]=1&site.idd[]=2'; did you mean 'site.id'?"],
            id="nearest-struct-leaf",
        ),
        pytest.param(
            "zzz=1",
            [
                "unknown field 'zzz' in 'zzz=1'; allowed: id, site.id, site.code, site.name,"
                " created_at, eligibility_status, amount, active, note, born_on, …"
            ],
            id="no-near-name",
        ),
        pytest.param(
            "createdAt.gtx=2021",
            [
                "unknown operator 'gtx' in 'createdAt.gtx=2021';"
                " allowed: not, gt, lt, gte, lte, ltt, in, notin, null, notnull"
            ],
            id="unknown-operator",
        ),
        pytest.param(
            "site.id.eq=1",
            [
                "unknown operator 'eq' in 'site.id.eq=1';"
                " allowed: not, gt, lt, gte, lte, ltt, in, notin, null, notnull"
            ],
            id="no-eq-word",
        ),
        pytest.param(
            "sort=tags",
            [
                "cannot sort by 'tags' (a list of strings) in 'sort=tags'; allowed: id, site.id,"
                " site.code, site.name, created_at, eligibility_status, amount, active, note,"
                " born_on, …"
            ],
            id="sort-list",
        ),
        pytest.param(
            "sort=-site",
            [
                "'site' is a struct in 'sort=-site'; sort by one of its fields: site.id,"
                " site.code, site.name"
            ],
            id="sort-struct",
        ),
        pytest.param(
            "sort=-createdAtt",
            ["unknown field 'createdAtt' in 'sort=-createdAtt'; did you mean 'created_at'?"],
            id="sort-unknown",
        ),
        pytest.param(
            "sort=createdAt,-created_at",
            ["sort='createdAt,-created_at' names 'created_at' twice; name it once"],
            id="sort-twice",
        ),
        pytest.param(
            "fields=id,emial",
            ["unknown field 'emial' in 'fields=id,emial'; did you mean 'email'?"],
            id="fields",
        ),
        pytest.param(
            "page=0&createdAtt=1&amount.gt=x&sort=nope",
            [
                "page=0 is not a whole number >= 1",
                "unknown field 'createdAtt' in 'createdAtt=1'; did you mean 'created_at'?",
                "amount.gt='x' is not a whole number",
                "unknown field 'nope' in 'sort=nope'; did you mean 'note'?",
            ],
            id="parse-and-bind-problems-at-once",
        ),
    ],
)
def test_bind_messages(query: str, expected: list[str]) -> None:
    if expected:
        assert messages(query) == expected
    else:
        compile_query(query, CATALOG)


def test_bind_not_filterable_types() -> None:
    catalog = FieldCatalog.from_polars_schema({"id": pl.Int64, "blob": pl.Binary})
    assert messages("blob=1", catalog) == [
        "cannot filter on 'blob' (an unsupported type) in 'blob=1'; allowed: id"
    ]


def test_bind_null_needs_a_nullable_field() -> None:
    assert messages("createdAt.null", KPRO) == [
        "cannot use 'null' on 'createdAt' (a timestamp, never null) in 'createdAt.null';"
        " allowed on it: =, not, gt, lt, gte, lte, ltt, in, notin"
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            "created_at.gte=2021-03-01",
            [
                "unknown field 'created_at' in 'created_at.gte=2021-03-01'; did you mean"
                " 'createdAt'?"
            ],
            id="no-case-folding",
        ),
        pytest.param(
            "createdAt.null",
            [
                "unknown operator 'null' in 'createdAt.null=';"
                " allowed: not, gt, lt, gte, lte, ltt, in, notin"
            ],
            id="no-extension-operators",
        ),
        pytest.param(
            "fields=id",
            [
                "unknown field 'fields' in 'fields=id'; allowed: createdAt, eligibilityStatus,"
                " site.id, site.code, site.name"
            ],
            id="no-fields-extension",
        ),
        pytest.param(
            "id=3",
            [
                "cannot filter on 'id' (a whole number) in 'id=3'; allowed: createdAt,"
                " eligibilityStatus, site.id, site.code, site.name"
            ],
            id="sortable-not-filterable",
        ),
        pytest.param(
            "api_key=0123456789abcdef&siteId=1",
            [
                "unknown field 'api_key' in 'api_key=***'; allowed: createdAt, eligibilityStatus,"
                " site.id, site.code, site.name",
                "unknown field 'siteId' in 'siteId=1'; did you mean 'site.id'?",
            ],
            id="secret-never-echoed",
        ),
    ],
)
def test_bind_strict_kpro_catalog(query: str, expected: list[str]) -> None:
    assert messages(query, KPRO, extensions=False) == expected


def test_bind_strict_kpro_catalog_accepts_documented_queries() -> None:
    bound = compile_query(
        "api_key=k&createdAt.gte=2021-03-01&site.id.in=1,2&eligibilityStatus.notin=not-checked"
        "&sort=-site.id,-createdAt,id",
        KPRO,
        ignore=["api_key"],
        extensions=False,
        default_sort="-createdAt",
    )
    assert bound.describe() == (
        "createdAt >= 2021-03-01 00:00:00 UTC and site.id in [1, 2]"
        " and eligibilityStatus not in ['not-checked'], sorted by site.id descending,"
        " createdAt descending, id ascending"
    )
    assert [k.field.columns for k in bound.sort] == [("site", "id"), ("created_at",), ("id",)]


@pytest.mark.parametrize(
    ("written", "path"),
    [
        pytest.param("createdAt", "created_at", id="camel"),
        pytest.param("created_at", "created_at", id="snake"),
        pytest.param("CreatedAt", "created_at", id="pascal"),
        pytest.param("site.ID", "site.id", id="upper-segment"),
        pytest.param("eligibilityStatus", "eligibility_status", id="camel-2"),
        pytest.param("_source", "_source", id="underscore-column"),
    ],
)
def test_bind_camel_and_snake_resolve_to_the_same_field(written: str, path: str) -> None:
    catalog = FieldCatalog.from_polars_schema({**CATALOG_SCHEMA, "_source": pl.String})
    (condition,) = bind_query(parse_query(f"{written}.null"), catalog).conditions
    assert condition.field.path == path


CATALOG_SCHEMA = {
    "created_at": pl.Datetime("us", "UTC"),
    "eligibility_status": pl.String,
    "site": pl.Struct({"id": pl.Int64}),
}


def test_bind_describe_uses_catalog_names_and_typed_values() -> None:
    bound = compile_query(
        "createdAt.gte=2021-03-11+10:00&createdAt.ltt=2021-03-12&tags.not=a&note=x&active=1"
        "&bornOn=2000-01-01&amount.notin=1,2&sort=-amount&page=2&size=5&fields=id",
        CATALOG,
    )
    assert bound.describe() == (
        "created_at >= 2021-03-11 10:00:00 UTC and created_at up to the end of 2021-03-12"
        " and tags contains none of ['a'] and note = 'x' and active = true"
        " and born_on = 2000-01-01 and amount not in [1, 2], sorted by amount descending,"
        " showing id, page 2 (5 per page)"
    )
    assert (bound.page, bound.size, bound.offset) == (2, 5, 5)
    assert bound.fields is not None
    assert [f.path for f in bound.fields] == ["id"]


@pytest.mark.parametrize(
    ("dtype", "kind", "element"),
    [
        pytest.param(pl.Int8, FieldType.INTEGER, None, id="int8"),
        pytest.param(pl.UInt64, FieldType.INTEGER, None, id="uint64"),
        pytest.param(pl.Float32, FieldType.FLOAT, None, id="float32"),
        pytest.param(pl.Decimal(10, 2), FieldType.DECIMAL, None, id="decimal"),
        pytest.param(pl.String, FieldType.STRING, None, id="string"),
        pytest.param(pl.Categorical(), FieldType.STRING, None, id="categorical"),
        pytest.param(pl.Enum(["a"]), FieldType.STRING, None, id="enum"),
        pytest.param(pl.Boolean, FieldType.BOOLEAN, None, id="bool"),
        pytest.param(pl.Date, FieldType.DATE, None, id="date"),
        pytest.param(
            pl.Datetime("ns", "Europe/London"), FieldType.TIMESTAMP, None, id="datetime-tz"
        ),
        pytest.param(pl.List(pl.Int64), FieldType.LIST, FieldType.INTEGER, id="list-int"),
        pytest.param(
            pl.List(pl.Struct({"a": pl.Int8})), FieldType.OTHER, None, id="list-of-structs"
        ),
        pytest.param(pl.Binary, FieldType.OTHER, None, id="binary"),
        pytest.param(pl.Object, FieldType.OTHER, None, id="object"),
        pytest.param(pl.Time, FieldType.OTHER, None, id="time"),
    ],
)
def test_catalog_from_polars_schema_types(
    dtype: pl.DataType, kind: FieldType, element: FieldType | None
) -> None:
    (field,) = FieldCatalog.from_polars_schema({"x": dtype})
    assert (field.type, field.element_type) == (kind, element)
    usable = kind not in (FieldType.OTHER,)
    assert field.filterable is usable
    assert field.sortable is (usable and kind is not FieldType.LIST)


def test_catalog_from_polars_schema_structs_hidden_and_zones() -> None:
    schema = pl.Schema(
        {
            "_source": pl.String,
            "secret": pl.String,
            "site": pl.Struct({"id": pl.Int64, "internal": pl.String}),
            "seen": pl.Datetime("us"),
            "at": pl.Datetime("us", "Europe/London"),
        }
    )
    catalog = FieldCatalog.from_polars_schema(schema, hidden=["secret", "site.internal"])
    assert [f.path for f in catalog] == ["_source", "site", "site.id", "seen", "at"]
    assert catalog.lookup(("site", "id")) == Field("site.id", FieldType.INTEGER, ("site", "id"))
    assert catalog.lookup(("seen",)) == Field("seen", FieldType.TIMESTAMP, "seen", time_zone=None)
    assert catalog.children(("site",)) == (catalog.lookup(("site", "id")),)
    site = catalog.lookup(("site",))
    assert site is not None
    assert (site.filterable, site.sortable) == (False, False)


def test_catalog_field_validation() -> None:
    with pytest.raises(ValueError, match="needs a scalar element_type"):
        Field("tags", FieldType.LIST)
    with pytest.raises(ValueError, match=r"bad field path 'a\.\.b'"):
        Field("a..b", FieldType.STRING)
    with pytest.raises(ValueError, match="fields 'createdAt' and 'created_at' collide"):
        FieldCatalog([Field("createdAt", FieldType.STRING), Field("created_at", FieldType.STRING)])
    FieldCatalog(
        [Field("createdAt", FieldType.STRING), Field("created_at", FieldType.STRING)],
        normalize_case=False,
    )


def test_catalog_resolve_raises_one_problem() -> None:
    with pytest.raises(QueryError) as caught:
        KPRO.resolve(("createdAtt",), "createdAtt.gte", "2021-03-01")
    assert str(caught.value) == (
        "unknown field 'createdAtt' in 'createdAtt.gte=2021-03-01'; did you mean 'createdAt'?"
    )
    problem = caught.value.problems[0]
    assert (problem.param, problem.value) == ("createdAtt.gte", "2021-03-01")
    assert problem.allowed == (
        "createdAt",
        "eligibilityStatus",
        "site.id",
        "site.code",
        "site.name",
    )


def test_catalog_hand_built_struct_prefix_is_explained() -> None:
    assert messages("site=1", KPRO) == [
        "'site' is a struct in 'site=1'; filter on one of its fields: site.id, site.code, site.name"
    ]


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("createdAt", "created_at"),
        ("created_at", "created_at"),
        ("homePostcode", "home_postcode"),
        ("mapitId", "mapit_id"),
        ("ID", "id"),
        ("HTTPCode", "http_code"),
        ("site2Id", "site2_id"),
    ],
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake
