"""Translate a :class:`BoundQuery` into DuckDB SQL with ``?`` parameters.

Identifiers come only from the catalog and are quoted by :func:`quote_identifier`; user
values are only ever bound as parameters, never spliced into the SQL text. Struct fields are
read as ``("site")."id"``, which DuckDB cannot mistake for a table-qualified column.

Semantics match :mod:`leadkit.query.to_polars` exactly: SQL null semantics, string fields
compared as text, ``NULLS LAST`` in both directions.

>>> from leadkit.query import FieldCatalog, Field, FieldType, compile_query
>>> catalog = FieldCatalog([Field("created_at", FieldType.TIMESTAMP), Field("site.id", FieldType.INTEGER)])
>>> parts = to_sql(compile_query("createdAt.gte=2021-03-01&site.id.in=1,2&sort=-site.id", catalog))
>>> parts.where
'"created_at" >= ? AND ("site")."id" IN (?, ?)'
>>> parts.params[1:], parts.order_by
([1, 2], '("site")."id" DESC NULLS LAST')
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leadkit.naming import quote_ident as quote_identifier
from leadkit.query.bind import BoundQuery
from leadkit.query.catalog import Field
from leadkit.query.to_polars import output_name

__all__ = ["SqlParts", "column_sql", "quote_identifier", "sql_for_count", "sql_for_page", "to_sql"]


@dataclass(frozen=True)
class SqlParts:
    """The pieces of a SELECT for a bound query.

    Attributes:
        where: the conditions ANDed, with ``?`` placeholders (``TRUE`` when none).
        params: the values for the placeholders, in order.
        order_by: the ORDER BY list without the keywords (empty when unsorted).
        select: ``*`` or the quoted column list for ``fields``.
    """

    where: str
    params: list[object]
    order_by: str
    select: str


def column_sql(field: Field) -> str:
    """The SQL expression reading ``field``: ``"col"`` or ``("col")."a"."b"`` in STRUCTs."""
    first, *rest = field.columns
    if not rest:
        return quote_identifier(first)
    return f"({quote_identifier(first)})." + ".".join(quote_identifier(n) for n in rest)


def to_sql(bound: BoundQuery, *, tiebreak: Sequence[str] = ()) -> SqlParts:
    """WHERE, parameters, ORDER BY and SELECT list for ``bound``.

    Args:
        bound: the bound query.
        tiebreak: fields (catalog names) appended ascending to the sort, e.g. ``("id",)``.
    """
    clauses: list[str] = []
    params: list[object] = []
    for c in bound.conditions:
        clauses.append(c.operator.to_sql(c.field, column_sql(c.field), len(c.values)))
        params.extend(c.values)
    order_by = ", ".join(
        f"{column_sql(k.field)} {'DESC' if k.descending else 'ASC'} NULLS LAST"
        for k in bound.sort_with(tiebreak)
    )
    select = "*"
    if bound.fields is not None:
        select = ", ".join(
            f"{column_sql(f)} AS {quote_identifier(output_name(f))}" for f in bound.fields
        )
    return SqlParts(" AND ".join(clauses) or "TRUE", params, order_by, select)


def _table(table: str) -> str:
    return ".".join(quote_identifier(part) for part in table.split("."))


def sql_for_page(
    bound: BoundQuery, table: str, *, tiebreak: Sequence[str] = ()
) -> tuple[str, list[object]]:
    """One page of rows: ``SELECT ... FROM table WHERE ... ORDER BY ... LIMIT ? OFFSET ?``.

    ``table`` may be schema-qualified (``main.leads``); each dotted part is quoted.

    Example:
        >>> from leadkit.query import FieldCatalog, Field, FieldType, compile_query
        >>> bound = compile_query("page=3&size=10", FieldCatalog([Field("id", FieldType.INTEGER)]))
        >>> sql_for_page(bound, "leads", tiebreak=["id"])
        ('SELECT * FROM "leads" WHERE TRUE ORDER BY "id" ASC NULLS LAST LIMIT ? OFFSET ?', [10, 20])
    """
    parts = to_sql(bound, tiebreak=tiebreak)
    order = f" ORDER BY {parts.order_by}" if parts.order_by else ""
    sql = f"SELECT {parts.select} FROM {_table(table)} WHERE {parts.where}{order} LIMIT ? OFFSET ?"
    return sql, [*parts.params, bound.size, bound.offset]


def sql_for_count(bound: BoundQuery, table: str) -> tuple[str, list[object]]:
    """The number of matching rows: ``SELECT count(*) FROM table WHERE ...``."""
    parts = to_sql(bound)
    return f"SELECT count(*) FROM {_table(table)} WHERE {parts.where}", parts.params
