"""The operator table: one small object per filter operator.

Each :class:`Operator` knows its word, how many values it takes, which field types it
applies to, its plain-English text, a polars builder and a SQL template. Only the odd ones
subclass: :class:`MembershipOperator` (equals/not/in/notin also work on LIST fields, meaning
"contains any of" / "contains none of") and :class:`LttOperator` ("less than tomorrow").

Null semantics are SQL's in both backends: comparisons, ``not`` and ``notin`` never match a
null value (nor a null list); only ``null`` does.

>>> [o.word for o in OPERATORS if FieldType.STRING in o.types]
['', 'not', 'in', 'notin', 'null', 'notnull']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

import polars as pl

from leadkit.query.catalog import Field, FieldType
from leadkit.query.tree import Op

__all__ = [
    "EXTENSION_OPS",
    "OPERATORS",
    "Arity",
    "LttOperator",
    "MembershipOperator",
    "Operator",
    "operator_for",
    "operator_words",
]

PolarsBuilder = Callable[[pl.Expr, Sequence[object]], pl.Expr]


class Arity(Enum):
    """How many values an operator takes."""

    ONE = "one"
    LIST = "list"
    NONE = "none"


_ORDERED = frozenset(
    {FieldType.INTEGER, FieldType.FLOAT, FieldType.DECIMAL, FieldType.DATE, FieldType.TIMESTAMP}
)
_TEMPORAL = frozenset({FieldType.DATE, FieldType.TIMESTAMP})
_SCALAR = _ORDERED | {FieldType.STRING, FieldType.BOOLEAN}
_ANY = _SCALAR | {FieldType.LIST}


@dataclass(frozen=True)
class Operator:
    """One filter operator.

    Attributes:
        op: which operator.
        arity: one value, a list of values, or none.
        types: the field types it applies to.
        text: plain English (``>=``, ``in``, ``is null``...), used by ``describe()``.
        sql: SQL template with ``{column}`` and ``{params}`` (a ``?, ?`` list).
        build: polars builder: (column expression, typed values) → boolean expression.
        nullable_only: only for nullable fields (``null``/``notnull``).
    """

    op: Op
    arity: Arity
    types: frozenset[FieldType]
    text: str
    sql: str
    build: PolarsBuilder
    nullable_only: bool = False

    @property
    def word(self) -> str:
        """The word after the last dot; empty for equals."""
        return self.op.word

    def applies_to(self, field: Field) -> bool:
        """Whether this operator may be used on ``field``."""
        return field.type in self.types and (field.nullable or not self.nullable_only)

    def bound_value(self, value: object) -> object:
        """The value the backends compare with (``ltt`` moves it to the next day)."""
        return value

    def to_sql(self, field: Field, column: str, count: int) -> str:
        """The SQL clause for ``field`` (already rendered as ``column``) and ``count`` values."""
        return self.sql.format(column=column, params=", ".join(["?"] * count))

    def to_polars(self, field: Field, column: pl.Expr, values: Sequence[object]) -> pl.Expr:
        """The polars expression for ``field`` (as ``column``) and its typed ``values``."""
        return self.build(column, values)


@dataclass(frozen=True)
class MembershipOperator(Operator):
    """Equals/not/in/notin: on a LIST field they test "contains any/none of the values"."""

    negated: bool = False

    def to_sql(self, field: Field, column: str, count: int) -> str:
        if field.type is not FieldType.LIST:
            return super().to_sql(field, column, count)
        params = ", ".join(["?"] * count)
        return ("NOT " if self.negated else "") + f"list_has_any({column}, [{params}])"

    def to_polars(self, field: Field, column: pl.Expr, values: Sequence[object]) -> pl.Expr:
        if field.type is not FieldType.LIST:
            return super().to_polars(field, column, values)
        contains_any = column.list.eval(pl.element().is_in(list(values))).list.any()
        return ~contains_any if self.negated else contains_any


@dataclass(frozen=True)
class LttOperator(Operator):
    """ "Less than tomorrow": ``field < (the value's UTC calendar date + 1 day)``.

    Any time of day in the value is ignored, so ``createdAt.ltt=2021-03-10`` and
    ``createdAt.ltt=2021-03-10 15:00`` both mean "up to the end of 10 March (UTC)".
    """

    def bound_value(self, value: object) -> object:
        if isinstance(value, dt.datetime):
            day = value.astimezone(dt.UTC).date() + dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time(), dt.UTC)
        if isinstance(value, dt.date):
            return value + dt.timedelta(days=1)
        raise TypeError(f"ltt needs a date or datetime, got {value!r}")


def _one(fn: Callable[[pl.Expr, object], pl.Expr]) -> PolarsBuilder:
    return lambda column, values: fn(column, values[0])


OPERATORS: tuple[Operator, ...] = (
    MembershipOperator(Op.EQ, Arity.ONE, _ANY, "=", "{column} = ?", _one(lambda c, v: c.eq(v))),
    MembershipOperator(
        Op.NOT, Arity.ONE, _ANY, "!=", "{column} <> ?", _one(lambda c, v: c.ne(v)), negated=True
    ),
    Operator(Op.GT, Arity.ONE, _ORDERED, ">", "{column} > ?", _one(lambda c, v: c.gt(v))),
    Operator(Op.LT, Arity.ONE, _ORDERED, "<", "{column} < ?", _one(lambda c, v: c.lt(v))),
    Operator(Op.GTE, Arity.ONE, _ORDERED, ">=", "{column} >= ?", _one(lambda c, v: c.ge(v))),
    Operator(Op.LTE, Arity.ONE, _ORDERED, "<=", "{column} <= ?", _one(lambda c, v: c.le(v))),
    LttOperator(
        Op.LTT, Arity.ONE, _TEMPORAL, "up to the end of", "{column} < ?", _one(lambda c, v: c.lt(v))
    ),
    MembershipOperator(
        Op.IN, Arity.LIST, _ANY, "in", "{column} IN ({params})", lambda c, v: c.is_in(list(v))
    ),
    MembershipOperator(
        Op.NOTIN,
        Arity.LIST,
        _ANY,
        "not in",
        "{column} NOT IN ({params})",
        lambda c, v: ~c.is_in(list(v)),
        negated=True,
    ),
    Operator(
        Op.NULL, Arity.NONE, _ANY, "is null", "{column} IS NULL", lambda c, v: c.is_null(), True
    ),
    Operator(
        Op.NOTNULL,
        Arity.NONE,
        _ANY,
        "is not null",
        "{column} IS NOT NULL",
        lambda c, v: c.is_not_null(),
        True,
    ),
)
"""Every operator, in documentation order."""

EXTENSION_OPS = frozenset({Op.NULL, Op.NOTNULL})
"""Operators leadkit adds to the KPro language."""

_BY_OP = {o.op: o for o in OPERATORS}


def operator_for(op: Op) -> Operator:
    """The table entry for ``op``."""
    return _BY_OP[op]


def operator_words(*, extensions: bool = True) -> tuple[str, ...]:
    """The words accepted after the last dot, in documentation order.

    Example:
        >>> ", ".join(operator_words())
        'not, gt, lt, gte, lte, ltt, in, notin, null, notnull'
    """
    return tuple(o.word for o in OPERATORS if o.word and (extensions or o.op not in EXTENSION_OPS))
