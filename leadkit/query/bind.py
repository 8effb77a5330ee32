"""Bind a parsed :class:`Query` to a :class:`FieldCatalog`: resolve names, type the values.

Binding checks every path, operator and value against the catalog and reports every
problem at once. The result, a :class:`BoundQuery`, is what the polars and SQL back ends
translate; both give identical results.

>>> from leadkit.query import Field, FieldCatalog, FieldType
>>> catalog = FieldCatalog([Field("created_at", FieldType.TIMESTAMP), Field("site.id", FieldType.INTEGER)])
>>> compile_query("createdAt.ltt=2021-03-10&site.id[]=1&site.id[]=2", catalog).describe()
'created_at up to the end of 2021-03-10 and site.id in [1, 2]'
"""  # noqa: E501

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from leadkit.errors import QueryError, QueryProblem, short_repr
from leadkit.query.catalog import Field, FieldCatalog, FieldType
from leadkit.query.operators import (
    EXTENSION_OPS,
    OPERATORS,
    Arity,
    Operator,
    operator_for,
    operator_words,
)
from leadkit.query.parse import QueryInput, capped, parse_query_problems
from leadkit.query.tree import Condition, Op, Query, shown_value
from leadkit.query.values import CONVERTERS

__all__ = [
    "BoundCondition",
    "BoundQuery",
    "BoundSortKey",
    "bind_query",
    "bind_query_problems",
    "compile_query",
]


@dataclass(frozen=True)
class BoundCondition:
    """A condition resolved against a catalog.

    Attributes:
        field: the field it filters.
        op: the operator.
        values: typed values as the back ends compare them: ``ltt`` already moved to the
            next day, timestamps expressed in the field's time zone (naive for naive fields).
        condition: the condition as written.
    """

    field: Field
    op: Op
    values: tuple[object, ...]
    condition: Condition

    @property
    def operator(self) -> Operator:
        """The operator's table entry."""
        return operator_for(self.op)

    def describe(self) -> str:
        """Plain-English twin, e.g. ``site.id in [1, 2]``."""
        path, text = self.field.path, self.operator.text
        if self.op in (Op.NULL, Op.NOTNULL):
            return f"{path} {text}"
        if self.op is Op.LTT:
            day = _utc(self.values[0]) - dt.timedelta(days=1)
            return f"{path} {text} {day.isoformat()[:10]}"
        if self.field.type is FieldType.LIST:
            text = "contains none of" if self.op in (Op.NOT, Op.NOTIN) else "contains any of"
        elif self.operator.arity is not Arity.LIST:
            return f"{path} {text} {_render(self.values[0])}"
        return f"{path} {text} [{', '.join(_render(v) for v in self.values)}]"


@dataclass(frozen=True)
class BoundSortKey:
    """A sort key resolved against a catalog."""

    field: Field
    descending: bool = False

    def describe(self) -> str:
        """Plain English, e.g. ``created_at descending``."""
        return self.field.path + (" descending" if self.descending else " ascending")


@dataclass(frozen=True)
class BoundQuery:
    """A query whose names are resolved and whose values are typed.

    Attributes:
        conditions: typed conditions, all of which must hold.
        sort: resolved sort keys (no tiebreak; pass ``tiebreak=`` to the back ends).
        page: 1-based page number.
        size: page size.
        fields: the fields to return, or None for every column.
        query: the query as parsed.
        catalog: the catalog it was bound to.
    """

    conditions: tuple[BoundCondition, ...]
    sort: tuple[BoundSortKey, ...]
    page: int
    size: int
    fields: tuple[Field, ...] | None
    query: Query
    catalog: FieldCatalog

    @property
    def offset(self) -> int:
        """Rows to skip before this page: ``(page - 1) * size``."""
        return (self.page - 1) * self.size

    def sort_with(self, tiebreak: Sequence[str] = ()) -> tuple[BoundSortKey, ...]:
        """The sort keys plus ``tiebreak`` fields (ascending) not already sorted on.

        Raises:
            ValueError: a tiebreak name is not a sortable field of the catalog.
        """
        keys = list(self.sort)
        for name in tiebreak:
            field = self.catalog.lookup(tuple(name.split(".")))
            if field is None or not field.sortable:
                raise ValueError(f"tiebreak {name!r} is not a sortable field of {self.catalog}")
            if all(k.field != field for k in keys):
                keys.append(BoundSortKey(field))
        return tuple(keys)

    def describe(self) -> str:
        """Plain-English twin of the whole query."""
        parts = [" and ".join(c.describe() for c in self.conditions) or "all rows"]
        if self.sort:
            parts.append("sorted by " + ", ".join(k.describe() for k in self.sort))
        if self.fields is not None:
            parts.append("showing " + ", ".join(f.path for f in self.fields))
        if self.page != 1:
            parts.append(f"page {self.page} ({self.size} per page)")
        return ", ".join(parts)


def bind_query(query: Query, catalog: FieldCatalog) -> BoundQuery:
    """Resolve every path of ``query`` in ``catalog`` and type every value.

    Raises:
        QueryError: listing every problem: unknown fields or operators (with the nearest
            name), operators that do not fit the field's type, bad values, bad sort keys.

    Example:
        >>> from leadkit.query import Field, FieldCatalog, FieldType, parse_query
        >>> catalog = FieldCatalog([Field("site.id", FieldType.INTEGER)])
        >>> bind_query(parse_query("site.id.in=1,x&site.idd=2"), catalog)
        Traceback (most recent call last):
        ...
        leadkit.errors.QueryError: site.id.in='1,x': 'x' is not a whole number; unknown field 'site.idd' in 'site.idd=2'; did you mean 'site.id'?
    """  # noqa: E501
    bound, problems = bind_query_problems(query, catalog)
    if problems:
        raise QueryError(capped(problems))
    return bound


def bind_query_problems(
    query: Query, catalog: FieldCatalog
) -> tuple[BoundQuery, list[QueryProblem]]:
    """Like :func:`bind_query` but return the problems; what had one is left out."""
    problems: list[QueryProblem] = []
    conditions: list[BoundCondition] = []
    for condition in query.conditions:
        try:
            conditions.append(_bind_condition(condition, catalog, query.extensions))
        except QueryError as exc:
            problems.extend(exc.problems)
    sort: list[BoundSortKey] = []
    sort_text = ",".join(k.text for k in query.sort)
    for key in query.sort:
        try:
            field = catalog.resolve(key.path, "sort", key.text, usage="sort")
        except QueryError as exc:
            problems.extend(exc.problems)
            continue
        if any(k.field == field for k in sort):
            message = f"sort={short_repr(sort_text)} names {field.path!r} twice; name it once"
            problems.append(QueryProblem("sort", sort_text, message))
        else:
            sort.append(BoundSortKey(field, key.descending))
    fields: list[Field] | None = None
    if query.fields is not None:
        fields = []
        written = ",".join(".".join(p) for p in query.fields)
        for path in query.fields:
            try:
                field = catalog.resolve(path, "fields", written, usage="fields")
            except QueryError as exc:
                problems.extend(exc.problems)
                continue
            if field not in fields:
                fields.append(field)
    bound = BoundQuery(
        tuple(conditions),
        tuple(sort),
        query.page,
        query.size,
        None if fields is None else tuple(fields),
        query,
        catalog,
    )
    return bound, problems


def compile_query(
    query: QueryInput,
    catalog: FieldCatalog,
    *,
    default_size: int = 100,
    max_size: int = 1000,
    default_sort: str | None = None,
    ignore: Collection[str] = (),
    extensions: bool = True,
) -> BoundQuery:
    """Parse and bind in one step, reporting the problems of both at once.

    Takes the arguments of :func:`~leadkit.query.parse.parse_query` plus the catalog.

    Example:
        >>> from leadkit.query import Field, FieldCatalog, FieldType
        >>> catalog = FieldCatalog([Field("createdAt", FieldType.TIMESTAMP)])
        >>> compile_query("page=0&createdAt.gtx=2021", catalog)
        Traceback (most recent call last):
        ...
        leadkit.errors.QueryError: page=0 is not a whole number >= 1; unknown operator 'gtx' in 'createdAt.gtx=2021'; allowed: not, gt, lt, gte, lte, ltt, in, notin, null, notnull
    """  # noqa: E501
    parsed, problems = parse_query_problems(
        query,
        default_size=default_size,
        max_size=max_size,
        default_sort=default_sort,
        ignore=ignore,
        extensions=extensions,
    )
    bound, more = bind_query_problems(parsed, catalog)
    if problems or more:
        raise QueryError(capped(problems + more))
    return bound


def _bind_condition(
    condition: Condition, catalog: FieldCatalog, extensions: bool
) -> BoundCondition:
    c = condition
    shown = shown_value(c.param, c.raw)
    where = short_repr(c.text)
    if catalog.lookup(c.path) is None and len(c.path) > 1:
        parent = catalog.lookup(c.path[:-1])
        if parent is not None and parent.type is not FieldType.STRUCT:
            words = operator_words(extensions=extensions)
            op = short_repr(c.path[-1], 40)
            message = f"unknown operator {op} in {where}; allowed: {', '.join(words)}"
            raise QueryError([QueryProblem(c.param, shown, message, words)])
    value = None if c.op in (Op.NULL, Op.NOTNULL) else shown
    field = catalog.resolve(c.path, c.param, value, usage="filter", text=c.text)
    operator = operator_for(c.op)
    if not operator.applies_to(field):
        allowed = tuple(
            o.word or "="
            for o in OPERATORS
            if o.applies_to(field) and (extensions or o.op not in EXTENSION_OPS)
        )
        noun = field.noun + ("" if field.nullable else ", never null")
        message = f"cannot use {c.op.word!r} on {field.path!r} ({noun}) in {where}"
        message += f"; allowed on it: {', '.join(allowed)}"
        raise QueryError([QueryProblem(c.param, shown, message, allowed)])
    convert = CONVERTERS[field.value_type]
    problems: list[QueryProblem] = []
    values: list[object] = []
    for raw in c.values:
        try:
            typed = convert(raw)
        except ValueError as exc:
            problems.append(QueryProblem(c.param, shown, _bad_value(c, raw, str(exc))))
            continue
        values.append(_in_zone(operator.bound_value(typed), field))
    if problems:
        raise QueryError(problems)
    return BoundCondition(field, c.op, tuple(values), c)


def _bad_value(c: Condition, raw: str, reason: str) -> str:
    item = short_repr(shown_value(c.param, raw))
    if c.bracket or operator_for(c.op).arity is Arity.ONE:
        return f"{c.param}={item} {reason}"
    return f"{c.param}={short_repr(shown_value(c.param, c.raw))}: {item} {reason}"


def _in_zone(value: object, field: Field) -> object:
    """Express a UTC datetime in the field's time zone (naive UTC for naive fields)."""
    if not isinstance(value, dt.datetime):
        return value
    if field.time_zone is None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if field.time_zone != "UTC":  # polars compares zones by name: "Etc/UTC" is not "UTC"
        return value.astimezone(ZoneInfo(field.time_zone))
    return value


def _utc(value: object) -> dt.date | dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"not a date: {value!r}")


def _render(value: object) -> str:
    """A typed value in a description."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC) if value.tzinfo else value
        return utc.replace(tzinfo=None).isoformat(sep=" ") + " UTC"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return short_repr(value)
    return str(value)
