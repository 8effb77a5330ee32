"""The polars back end: the shared case table, plus projection and dtype details."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from leadkit.query import (
    Field,
    FieldCatalog,
    FieldType,
    apply_polars,
    bind_query,
    column_expr,
    compile_query,
    parse_query,
    polars_filter,
)

from ._cases import CASES, CATALOG, DATA


def run_polars(query: str, frame: pl.DataFrame | pl.LazyFrame = DATA) -> list[int]:
    """The ids of one page of ``query`` over ``frame``, sorted with an id tiebreak."""
    bound = compile_query(query, CATALOG)
    page = apply_polars(bound, frame, tiebreak=["id"]).slice(bound.offset, bound.size)
    return page.collect()["id"].to_list()


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_polars_case_matches_expected_ids(query: str, expected: list[int]) -> None:
    assert run_polars(query) == expected


def test_polars_accepts_lazy_frames() -> None:
    assert run_polars("site.id=3", DATA.lazy()) == [3, 9]


def test_polars_filter_without_conditions_is_literal_true() -> None:
    expr = polars_filter(compile_query("sort=id", CATALOG))
    assert DATA.filter(expr).height == DATA.height


def test_polars_fields_selects_columns_and_struct_leaves_in_order() -> None:
    bound = compile_query("fields=id,site.code,createdAt&site.id=2", CATALOG)
    out = apply_polars(bound, DATA, tiebreak=["id"]).collect()
    assert out.columns == ["id", "site.code", "created_at"]
    assert out.rows()[0][:2] == (2, "HFL")


def test_polars_sort_on_unselected_field_still_sorts() -> None:
    bound = compile_query("fields=id&sort=-amount", CATALOG)
    out = apply_polars(bound, DATA, tiebreak=["id"]).collect()
    assert out.columns == ["id"]
    assert out["id"].to_list()[:3] == [8, 5, 2]


def test_polars_tiebreak_not_repeated_when_already_sorted() -> None:
    bound = compile_query("sort=-id", CATALOG)
    assert [k.descending for k in bound.sort_with(["id"])] == [True]


def test_polars_tiebreak_unknown_field_is_a_programming_error() -> None:
    bound = compile_query("", CATALOG)
    with pytest.raises(ValueError, match="tiebreak 'nope'"):
        bound.sort_with(["nope"])


def test_polars_categorical_and_enum_compare_and_sort_as_text() -> None:
    frame = pl.DataFrame(
        {
            "id": [1, 2, 3],
            "cat": pl.Series(["b", "a", None], dtype=pl.Categorical),
            "enum": pl.Series(["b", "a", "b"], dtype=pl.Enum(["b", "a"])),
        }
    )
    catalog = FieldCatalog.from_polars_schema(frame.schema)
    bound = compile_query("enum.in=a,zzz&cat.notnull", catalog)
    assert apply_polars(bound, frame).collect()["id"].to_list() == [2]
    bound = compile_query("sort=enum,-id", catalog)
    assert apply_polars(bound, frame).collect()["id"].to_list() == [2, 3, 1]


def test_polars_zoned_timestamp_column_compares_in_utc() -> None:
    local = [dt.datetime(2021, 3, 1, 12), dt.datetime(2021, 7, 1, 12)]  # GMT, then BST
    frame = pl.DataFrame({"id": [1, 2], "at": local}).with_columns(
        pl.col("at").dt.replace_time_zone("Europe/London")
    )
    catalog = FieldCatalog.from_polars_schema(frame.schema)
    assert catalog.lookup(("at",)) == Field(
        "at", FieldType.TIMESTAMP, "at", time_zone="Europe/London"
    )
    bound = compile_query("at=2021-07-01 11:00", catalog)  # 12:00 BST is 11:00 UTC
    assert apply_polars(bound, frame).collect()["id"].to_list() == [2]


def test_polars_column_expr_walks_nested_structs() -> None:
    frame = pl.DataFrame({"listing": [{"development": {"id": 7}}]})
    field = Field("listing.development.id", FieldType.INTEGER)
    assert frame.select(column_expr(field)).item() == 7
    catalog = FieldCatalog([field])
    assert (
        frame.filter(
            polars_filter(bind_query(parse_query("listing.development.id=7"), catalog))
        ).height
        == 1
    )


def test_polars_etc_utc_column_from_duckdb_compares() -> None:
    frame = pl.DataFrame({"id": [1, 2], "at": [dt.datetime(2021, 1, 1), dt.datetime(2021, 1, 2)]})
    frame = frame.with_columns(pl.col("at").dt.replace_time_zone("Etc/UTC"))
    bound = compile_query("at.gte=2021-01-02", FieldCatalog.from_polars_schema(frame.schema))
    assert apply_polars(bound, frame).collect()["id"].to_list() == [2]
