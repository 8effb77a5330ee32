"""Parse a KPro-style query (filters, sort, page, size) into an untyped :class:`Query`.

The language (KPro Marketing's, see docs/ and the spec §4):

- ``<field>[.<op>]=<value>``; the operator is the last dotted segment when it is one of
  ``not gt lt gte lte ltt in notin`` (and leadkit's ``null notnull``). Several filters AND.
- ``in``/``notin`` take a comma-separated list; ``field[]=a&field[]=b`` is ``in (a, b)`` and
  ``field.not[]=a&field.not[]=b`` is ``notin (a, b)`` (brackets give exactly the values given).
- ``sort=-site.id,createdAt`` (``-`` = descending), ``page`` (≥ 1), ``size`` (1..max).
- leadkit extensions: ``fields=id,email`` and ``field.null`` / ``field.notnull`` (value
  empty, ``true`` or ``false``; ``field.null=false`` means notnull).

Parsing needs no catalog; :func:`~leadkit.query.bind.bind_query` checks names, operators
and values against one. Every problem is reported at once in one :class:`QueryError`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import unquote_plus

from leadkit.errors import QueryError, QueryProblem, short_repr
from leadkit.query.operators import EXTENSION_OPS, operator_words
from leadkit.query.tree import Condition, Op, Query, SortKey, shown_value

__all__ = [
    "MAX_FIELDS",
    "MAX_LIST_VALUES",
    "MAX_NAME_LENGTH",
    "MAX_PAGE",
    "MAX_PARAMETERS",
    "MAX_PROBLEMS",
    "MAX_QUERY_LENGTH",
    "MAX_SORT_KEYS",
    "MAX_VALUE_LENGTH",
    "QueryInput",
    "capped",
    "parse_query",
    "parse_query_problems",
]

QueryInput = str | Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]
"""A URL query string, a mapping (values may be lists), or (name, value) pairs."""

MAX_PAGE = 1_000_000_000
"""The largest page number accepted (keeps offsets inside 64 bits)."""

MAX_QUERY_LENGTH = 1_048_576
"""The longest query accepted, in characters (names and values together, as written)."""

MAX_PARAMETERS = 1000
"""The most ``name=value`` parameters in one query (each ``field[]=`` value counts)."""

MAX_LIST_VALUES = 10_000
"""The most values in one ``in``/``notin`` list or bracket list."""

MAX_VALUE_LENGTH = 65_536
"""The longest single value, in characters (each item of a list counts on its own)."""

MAX_NAME_LENGTH = 256
"""The longest parameter name, in characters (``site.code.notin`` is 15)."""

MAX_SORT_KEYS = 32
"""The most fields in ``sort=``."""

MAX_FIELDS = 256
"""The most fields in ``fields=``."""

MAX_PROBLEMS = 50
"""Problems reported in one error; past this, one more says how many were left out."""

_WHOLE = re.compile(r"-?[0-9]+")
_DIGITS = 19
_HUGE = 10_000_000_000_000_000_000  # stands in for a number with more than _DIGITS digits
_BRACKETS = re.compile(r"(?:\[\]|%5[Bb]%5[Dd])$")
_CONTROL = ("sort", "page", "size")
_EXTENSION_CONTROL = ("fields",)
_FILTER_HINT = "use field[.op]=value, e.g. createdAt.gte=2021-03-01"


def parse_query(
    query: QueryInput,
    *,
    default_size: int = 100,
    max_size: int = 1000,
    default_sort: str | None = None,
    ignore: Collection[str] = (),
    extensions: bool = True,
) -> Query:
    """Parse a query string (or its decoded pairs) into a :class:`Query`.

    Args:
        query: ``"createdAt.gte=2021-03-01&site.id[]=1"`` (a leading ``?`` is fine; ``+``
            and ``%20`` are spaces, ``%5B%5D`` is ``[]``), a mapping such as a web
            framework's query dict (list values are repeated keys), or decoded pairs.
        default_size: page size when ``size`` is absent.
        max_size: the largest ``size`` accepted.
        default_sort: sort when ``sort`` is absent, written like the parameter
            (``"-createdAt"``); None = unsorted.
        ignore: parameter names skipped entirely (e.g. ``api_key``).
        extensions: accept leadkit's ``null``/``notnull`` operators and ``fields``; False
            parses the KPro language only (a strict simulator).

    Returns:
        The parsed query; values are still raw strings.

    Raises:
        QueryError: listing every problem found.

    Example:
        >>> parse_query("site.id.in=1,2").describe()
        'site.id in [1, 2]'
        >>> parse_query("?createdAt.gte=2021-03-11+10:00&site.id%5B%5D=1&site.id%5B%5D=2").describe()
        "createdAt >= '2021-03-11 10:00' and site.id in [1, 2]"
        >>> parse_query("size=5000&page=abc")
        Traceback (most recent call last):
        ...
        leadkit.errors.QueryError: size=5000 is over the maximum 1000; use size<=1000 and page through with page=; page='abc' is not a whole number >= 1
    """  # noqa: E501
    parsed, problems = parse_query_problems(
        query,
        default_size=default_size,
        max_size=max_size,
        default_sort=default_sort,
        ignore=ignore,
        extensions=extensions,
    )
    if problems:
        raise QueryError(capped(problems))
    return parsed


def capped(problems: list[QueryProblem]) -> list[QueryProblem]:
    """The first :data:`MAX_PROBLEMS` problems, and one saying how many more there were.

    Example:
        >>> many = [QueryProblem(f"f{i}", "1", f"unknown field 'f{i}'") for i in range(60)]
        >>> capped(many)[-1].message
        '… and 10 more problems (at most 50 are listed)'
    """
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    message = f"… and {more} more problems (at most {MAX_PROBLEMS} are listed)"
    return [*problems[:MAX_PROBLEMS], QueryProblem("query", "", message)]


def _too_big(query: QueryInput) -> QueryProblem | None:
    """The query is over :data:`MAX_QUERY_LENGTH` or :data:`MAX_PARAMETERS` (checked first,
    before any work, so a huge query costs little)."""
    if isinstance(query, str):
        length = len(query)
        count = len(query.split("&")) - query.split("&").count("") if length else 0
    elif isinstance(query, Mapping):
        items = [(k, [v] if isinstance(v, str) else list(v)) for k, v in query.items()]
        length = sum(len(k) + len(x) + 2 for k, vs in items for x in vs)
        count = sum(len(vs) for _, vs in items)
    else:
        pairs = list(query)
        length = sum(len(k) + len(v) + 2 for k, v in pairs)
        count = len(pairs)
    if length > MAX_QUERY_LENGTH:
        message = f"the query is {length:,} characters long; the maximum is {MAX_QUERY_LENGTH:,}"
        return QueryProblem("query", "", message)
    if count > MAX_PARAMETERS:
        message = (
            f"the query has {count:,} parameters; the maximum is {MAX_PARAMETERS:,} "
            f"(for a long list use field.in=a,b,c: up to {MAX_LIST_VALUES:,} values)"
        )
        return QueryProblem("query", "", message)
    return None


def _check_length(key: str, value: str, what: str = "") -> None:
    if len(value) > MAX_VALUE_LENGTH:
        shown = short_repr(shown_value(key, value), 40)
        message = (
            f"{key}={shown} {what}is {len(value):,} characters long; "
            f"a value may be at most {MAX_VALUE_LENGTH:,}"
        )
        _fail(key, value[:80], message)


def _check_list(key: str, values: Sequence[str]) -> None:
    if len(values) > MAX_LIST_VALUES:
        message = f"{key} lists {len(values):,} values; the maximum is "
        _fail(key, "", message + f"{MAX_LIST_VALUES:,} (split the query)")
    for value in values:
        _check_length(key, value, "has a value that ")


def parse_query_problems(
    query: QueryInput,
    *,
    default_size: int = 100,
    max_size: int = 1000,
    default_sort: str | None = None,
    ignore: Collection[str] = (),
    extensions: bool = True,
) -> tuple[Query, list[QueryProblem]]:
    """Like :func:`parse_query` but return the problems instead of raising.

    The query returned leaves out whatever had a problem (bad page/size fall back to the
    defaults), so a caller can still bind it and report its problems too.
    """
    if not 1 <= default_size <= max_size:
        raise ValueError(f"default_size={default_size} must be between 1 and {max_size}")
    try:
        sort = _sort_keys(default_sort, "sort") if default_sort is not None else ()
    except QueryError as exc:
        raise ValueError(f"bad default_sort: {exc}") from None
    controls = _CONTROL + (_EXTENSION_CONTROL if extensions else ())
    words = set(operator_words(extensions=extensions))
    problems: list[QueryProblem] = []
    slots: dict[tuple[object, ...], _Slot] = {}
    empty = Query((), sort, 1, default_size, None, extensions)
    too_big = _too_big(query)
    if too_big is not None:
        return empty, [too_big]
    pairs = _pairs(query)

    for key, value in pairs:
        name = key.removesuffix("[]")
        try:
            if len(key) > MAX_NAME_LENGTH:
                message = f"parameter name {short_repr(key, 60)} is {len(key):,} characters long"
                _fail(key[:60], "", f"{message}; the maximum is {MAX_NAME_LENGTH}")
            if key in ignore or name in ignore:
                continue
            if name in controls:
                if key != name:
                    _fail(key, value, f"{key!r} takes no brackets; use {name}=<value> once")
                slots.setdefault((name,), _Slot("control", key)).values.append(value)
                continue
            segments = tuple(name.split("."))
            if not key:
                shown = short_repr(f"={shown_value(key, value)}")
                _fail(key, value, f"parameter with no name in {shown}; {_FILTER_HINT}")
            if "" in segments:
                text = short_repr(f"{key}={shown_value(key, value)}")
                _fail(key, value, f"bad filter name {key!r} in {text}; {_FILTER_HINT}")
            op = Op.EQ
            if len(segments) > 1 and segments[-1] in words:
                op, segments = Op(segments[-1]), segments[:-1]
            if key == name:
                slot = _Slot("filter", key, op, segments)
                slots.setdefault(("filter", key), slot).values.append(value)
            elif op in (Op.EQ, Op.NOT):
                slot = _Slot("bracket", key, Op.IN if op is Op.EQ else Op.NOTIN, segments)
                slots.setdefault(("bracket", op, segments), slot).values.append(value)
            else:
                path = ".".join(segments)
                message = f"brackets work only as '{path}[]' (in) or '{path}.not[]' (notin)"
                _fail(key, value, f"{message}, not {key!r}")
        except QueryError as exc:
            problems.extend(exc.problems)

    conditions: list[Condition] = []
    page, size, fields = 1, default_size, None
    for slot in slots.values():
        key, value = slot.key, slot.values[0]
        try:
            if slot.kind == "bracket":
                _check_list(key, slot.values)
                conditions.append(Condition(slot.path, slot.op, tuple(slot.values), key, True))
            elif len(slot.values) > 1:
                _repeated(slot)
            elif slot.kind == "filter":
                conditions.append(_condition(slot, value))
            elif key == "page":
                page = _page(value)
            elif key == "size":
                size = _size(value, max_size)
            elif key == "sort":
                sort = _sort_keys(value, key)
            else:
                fields = tuple(k.path for k in _sort_keys(value, key, signs=False))
        except QueryError as exc:
            problems.extend(exc.problems)
    return Query(tuple(conditions), sort, page, size, fields, extensions), problems


@dataclass
class _Slot:
    """One distinct parameter seen: its kind, name as written, operator, path, values."""

    kind: str  # "control", "filter" or "bracket"
    key: str
    op: Op = Op.EQ
    path: tuple[str, ...] = ()
    values: list[str] = dataclasses.field(default_factory=list)


def _pairs(query: QueryInput) -> list[tuple[str, str]]:
    """Decoded (name, value) pairs in order; brackets normalised to ``[]``."""
    if isinstance(query, str):
        pairs = []
        for piece in query.removeprefix("?").split("&"):
            if piece:
                name, _, value = piece.partition("=")
                pairs.append((unquote_plus(name), unquote_plus(value)))
    elif isinstance(query, Mapping):
        pairs = [
            (name, item)
            for name, value in query.items()
            for item in ([value] if isinstance(value, str) else value)
        ]
    else:
        pairs = [(name, value) for name, value in query]
    return [(_BRACKETS.sub("[]", name), value) for name, value in pairs]


def _fail(param: str, value: str, message: str) -> NoReturn:
    raise QueryError([QueryProblem(param, shown_value(param, value), message)])


def _repeated(slot: _Slot) -> NoReturn:
    message = f"{slot.key!r} is given {len(slot.values)} times; give "
    if slot.kind == "control":
        _fail(slot.key, slot.values[1], message + "it once")
    message += "each filter once"
    path = ".".join(slot.path)
    if slot.op is Op.EQ:
        message += f" (for a list use {path}[]=a&{path}[]=b or {path}.in=a,b)"
    elif slot.op is Op.NOT:
        message += f" (for a list use {path}.not[]=a&{path}.not[]=b or {path}.notin=a,b)"
    _fail(slot.key, slot.values[1], message)


def _condition(slot: _Slot, value: str) -> Condition:
    op, key = slot.op, slot.key
    if op in (Op.IN, Op.NOTIN):
        if not value:
            _fail(key, value, f"{key}='' needs at least one value, e.g. {key}=1,2")
        values = value.split(",")
        _check_list(key, values)
        return Condition(slot.path, op, tuple(values), key)
    _check_length(key, value)
    if op in EXTENSION_OPS:
        flag = value.lower()
        if flag == "false":
            op = Op.NOTNULL if op is Op.NULL else Op.NULL
        elif flag not in ("", "true"):
            shown = short_repr(shown_value(key, value))
            _fail(key, value, f"{key}={shown} must be empty, true or false")
        return Condition(slot.path, op, (), key)
    return Condition(slot.path, op, (value,), key)


def _whole(value: str) -> int | None:
    """The whole number written (±_HUGE when longer than _DIGITS); None if not one."""
    if not _WHOLE.fullmatch(value):
        return None
    if len(value.lstrip("-")) > _DIGITS:
        return -_HUGE if value.startswith("-") else _HUGE
    return int(value)


def _number(value: str) -> str:
    return value if _WHOLE.fullmatch(value) and len(value) <= _DIGITS else short_repr(value)


def _page(value: str) -> int:
    page = _whole(value)
    if page is not None and page > MAX_PAGE:
        _fail("page", value, f"page={_number(value)} is over the maximum {MAX_PAGE}")
    if page is None or page < 1:
        _fail("page", value, f"page={_number(value)} is not a whole number >= 1")
    return page


def _size(value: str, max_size: int) -> int:
    size = _whole(value)
    if size is not None and size > max_size:
        message = f"size={_number(value)} is over the maximum {max_size}; "
        _fail("size", value, message + f"use size<={max_size} and page through with page=")
    if size is None or size < 1:
        message = f"size={_number(value)} is not a whole number between 1 and {max_size}"
        _fail("size", value, message)
    return size


def _sort_keys(text: str, param: str, *, signs: bool = True) -> tuple[SortKey, ...]:
    """Split ``-site.id,createdAt`` (or a ``fields`` list when ``signs`` is False)."""
    _check_length(param, text)
    items = text.split(",")
    most = MAX_SORT_KEYS if signs else MAX_FIELDS
    if len(items) > most:
        message = f"{param}= names {len(items):,} fields; the maximum is {most}"
        _fail(param, text[:80], message)
    keys = []
    for written in items:
        item = written.strip()
        descending = signs and item.startswith("-")
        if signs and item.startswith(("-", "+")):
            item = item[1:]
        path = tuple(item.split("."))
        if "" in path:
            example = "sort=-site.id,-createdAt" if signs else f"{param}=id,email"
            message = f"{param}={short_repr(text)} has an empty field name"
            _fail(param, text, f"{message}; use a comma-separated list such as {example}")
        keys.append(SortKey(path, descending))
    return tuple(keys)
