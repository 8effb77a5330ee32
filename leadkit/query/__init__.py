"""leadkit's one filter language (KPro Marketing's), for APIs, polars frames and DuckDB.

Three steps, each usable alone:

1. :func:`parse_query` turns ``createdAt.gte=2021-03-01&site.id[]=1&sort=-createdAt`` into an
   untyped :class:`Query` (no catalog needed);
2. :func:`bind_query` resolves it against a :class:`FieldCatalog` into a typed
   :class:`BoundQuery` (:func:`compile_query` does 1+2 and reports all problems of both);
3. :func:`apply_polars` / :func:`polars_filter` or :func:`to_sql` / :func:`sql_for_page`
   run it; both back ends give identical results.

>>> import polars as pl
>>> frame = pl.DataFrame({"id": [1, 2, 3], "status": ["passed", "failed", None]})
>>> bound = compile_query("status.notin=failed", FieldCatalog.from_polars_schema(frame.schema))
>>> apply_polars(bound, frame).collect()["id"].to_list()
[1]
>>> to_sql(bound).where
'"status" NOT IN (?)'
"""

from __future__ import annotations

from leadkit.query.bind import (
    BoundCondition,
    BoundQuery,
    BoundSortKey,
    bind_query,
    bind_query_problems,
    compile_query,
)
from leadkit.query.catalog import Field, FieldCatalog, FieldType, snake_case
from leadkit.query.operators import OPERATORS, Arity, Operator, operator_for, operator_words
from leadkit.query.parse import QueryInput, parse_query, parse_query_problems
from leadkit.query.to_polars import apply_polars, column_expr, polars_filter
from leadkit.query.to_sql import (
    SqlParts,
    column_sql,
    quote_identifier,
    sql_for_count,
    sql_for_page,
    to_sql,
)
from leadkit.query.tree import Condition, Op, Query, SortKey

__all__ = [
    "OPERATORS",
    "Arity",
    "BoundCondition",
    "BoundQuery",
    "BoundSortKey",
    "Condition",
    "Field",
    "FieldCatalog",
    "FieldType",
    "Op",
    "Operator",
    "Query",
    "QueryInput",
    "SortKey",
    "SqlParts",
    "apply_polars",
    "bind_query",
    "bind_query_problems",
    "column_expr",
    "column_sql",
    "compile_query",
    "operator_for",
    "operator_words",
    "parse_query",
    "parse_query_problems",
    "polars_filter",
    "quote_identifier",
    "snake_case",
    "sql_for_count",
    "sql_for_page",
    "to_sql",
]
