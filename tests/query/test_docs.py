"""The docstring examples of leadkit.query run as doctests; the façade's exports are pinned."""

from __future__ import annotations

import doctest
import importlib
from types import ModuleType

import pytest

import leadkit.query
from leadkit.query import OPERATORS, Op, operator_words

MODULES = [
    "leadkit.query",
    "leadkit.query.tree",
    "leadkit.query.catalog",
    "leadkit.query.operators",
    "leadkit.query.values",
    "leadkit.query.parse",
    "leadkit.query.bind",
    "leadkit.query.to_polars",
    "leadkit.query.to_sql",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests_pass(name: str) -> None:
    module: ModuleType = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


def test_exported_members_are_pinned() -> None:
    assert sorted(leadkit.query.__all__) == sorted(
        [
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
            "compile_query",
            "column_expr",
            "column_sql",
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
    )
    for name in leadkit.query.__all__:
        assert hasattr(leadkit.query, name), name


def test_operator_table_covers_every_operator_once() -> None:
    assert [o.op for o in OPERATORS] == list(Op)
    assert all(o.text and o.sql and o.types for o in OPERATORS)
    assert operator_words(extensions=False) == (
        "not", "gt", "lt", "gte", "lte", "ltt", "in", "notin"
    )  # fmt: skip
