"""Translate a :class:`BoundQuery` into polars expressions.

Semantics match :mod:`leadkit.query.to_sql` exactly (both are tested on one table of cases):
comparisons, ``not`` and ``notin`` never match nulls; string fields compare and sort as
plain text (categoricals and enums are cast to ``String``); sorting puts nulls last in both
directions and is stable.

>>> import polars as pl
>>> from leadkit.query import FieldCatalog, compile_query
>>> frame = pl.DataFrame({"id": [1, 2, 3], "site": [{"id": 1}, {"id": 2}, {"id": 3}]})
>>> bound = compile_query("site.id.notin=2&sort=-id", FieldCatalog.from_polars_schema(frame.schema))
>>> apply_polars(bound, frame).collect()["id"].to_list()
[3, 1]
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from leadkit.query.bind import BoundCondition, BoundQuery
from leadkit.query.catalog import Field, FieldType

__all__ = ["apply_polars", "column_expr", "polars_filter"]


def column_expr(field: Field) -> pl.Expr:
    """The polars expression reading ``field`` (walking into STRUCT columns).

    Example:
        >>> from leadkit.query import Field, FieldType
        >>> frame = pl.DataFrame({"site": [{"id": 7}]})
        >>> frame.select(column_expr(Field("site.id", FieldType.INTEGER))).item()
        7
    """
    first, *rest = field.columns
    expr = pl.col(first)
    for name in rest:
        expr = expr.struct.field(name)
    if field.type is FieldType.STRING:
        expr = expr.cast(pl.String)
    return expr


def condition_expr(condition: BoundCondition) -> pl.Expr:
    """The boolean expression for one condition."""
    column = column_expr(condition.field)
    return condition.operator.to_polars(condition.field, column, condition.values)


def polars_filter(bound: BoundQuery) -> pl.Expr:
    """All conditions ANDed into one expression (``pl.lit(True)`` when there are none).

    Example:
        >>> from leadkit.query import Field, FieldCatalog, FieldType, compile_query
        >>> catalog = FieldCatalog([Field("n", FieldType.INTEGER)])
        >>> pl.DataFrame({"n": [1, 5, None]}).filter(polars_filter(compile_query("n.gt=2", catalog)))["n"].to_list()
        [5]
    """  # noqa: E501
    expr = pl.lit(True)
    for condition in bound.conditions:
        expr = expr & condition_expr(condition)
    return expr


def apply_polars(
    bound: BoundQuery, frame: pl.LazyFrame | pl.DataFrame, *, tiebreak: Sequence[str] = ()
) -> pl.LazyFrame:
    """Filter and sort ``frame`` (and select ``fields``); paging is left to the caller.

    Args:
        bound: the bound query.
        frame: the rows; its columns must match the catalog the query was bound to.
        tiebreak: fields (catalog names) appended ascending to the sort, e.g. ``("id",)``.

    Returns:
        A lazy frame; page it with ``.slice(bound.offset, bound.size)``.
    """
    lazy = frame.lazy().filter(polars_filter(bound))
    keys = bound.sort_with(tiebreak)
    if keys:
        lazy = lazy.sort(
            [column_expr(k.field) for k in keys],
            descending=[k.descending for k in keys],
            nulls_last=True,
            maintain_order=True,
        )
    if bound.fields is not None:
        lazy = lazy.select([column_expr(f).alias(output_name(f)) for f in bound.fields])
    return lazy


def output_name(field: Field) -> str:
    """The column name a selected field gets: the column, or ``a.b`` inside STRUCTs."""
    return ".".join(field.columns)
