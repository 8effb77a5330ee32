"""The parsed, still untyped query: operators, conditions, sort keys and paging.

A :class:`Query` is what :func:`~leadkit.query.parse.parse_query` returns. Paths and values
are kept exactly as the user wrote them (raw strings); :func:`~leadkit.query.bind.bind_query`
later resolves the paths against a field catalog and converts the values to typed ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from leadkit.errors import short_repr

__all__ = ["Condition", "Op", "Query", "SortKey", "shown_value"]

# Parameters whose values must never be echoed in messages (an API key given by mistake).
_SECRET_PARAM = re.compile(r"(?i)(api[_-]?key|token|secret|passw|auth)")
# Raw values shown bare in descriptions; anything else is shown as a repr.
_BARE_VALUE = re.compile(r"[\w.:@+-]+")


class Op(Enum):
    """A filter operator. The value is the word used after the last dot (``gte``).

    ``EQ`` has no word: ``field=value`` means equals. ``NULL``/``NOTNULL`` are leadkit
    extensions (not in the KPro documentation).
    """

    EQ = "eq"
    NOT = "not"
    GT = "gt"
    LT = "lt"
    GTE = "gte"
    LTE = "lte"
    LTT = "ltt"
    IN = "in"
    NOTIN = "notin"
    NULL = "null"
    NOTNULL = "notnull"

    @property
    def word(self) -> str:
        """The operator word as written in a parameter name (empty for equals)."""
        return "" if self is Op.EQ else self.value


def shown_value(param: str, value: str) -> str:
    """Return ``value`` as it may appear in a message: masked when ``param`` looks secret.

    Example:
        >>> shown_value("api_key", "0123abcd")
        '***'
        >>> shown_value("site.id", "1")
        '1'
    """
    return "***" if _SECRET_PARAM.search(param) else value


def _bare(value: str) -> str:
    return value if _BARE_VALUE.fullmatch(value) else short_repr(value)


@dataclass(frozen=True)
class Condition:
    """One filter as written: ``<path>[.<op>]=<value>`` or the bracket form.

    Attributes:
        path: the field path as written, split on dots, e.g. ``("site", "id")``.
        op: the operator (brackets give ``IN``/``NOTIN``).
        values: raw values; one for single-value operators, the comma-split list or the
            collected bracket values for ``IN``/``NOTIN``, empty for ``NULL``/``NOTNULL``.
        param: the parameter name as written, e.g. ``createdAt.gte`` or ``site.id[]``.
        bracket: True when the values came from repeated ``path[]=``/``path.not[]=``.
    """

    path: tuple[str, ...]
    op: Op
    values: tuple[str, ...]
    param: str
    bracket: bool = False

    @property
    def dotted(self) -> str:
        """The path joined with dots, as written."""
        return ".".join(self.path)

    @property
    def raw(self) -> str:
        """The value as written (comma lists re-joined; empty for null operators)."""
        return ",".join(self.values)

    @property
    def text(self) -> str:
        """The parameter and value as written, for messages (secrets masked).

        Example:
            >>> Condition(("createdAt",), Op.GTE, ("2021-03-01",), "createdAt.gte").text
            'createdAt.gte=2021-03-01'
        """
        if self.op in (Op.NULL, Op.NOTNULL):
            return self.param
        if self.bracket:
            return "&".join(f"{self.param}={shown_value(self.param, v)}" for v in self.values)
        return f"{self.param}={shown_value(self.param, self.raw)}"

    def to_params(self) -> list[tuple[str, str]]:
        """Re-serialise as (name, value) pairs in canonical form."""
        if self.bracket:
            name = self.dotted + (".not[]" if self.op is Op.NOTIN else "[]")
            return [(name, v) for v in self.values]
        name = self.dotted + (f".{self.op.word}" if self.op.word else "")
        return [(name, self.raw)]

    def describe(self) -> str:
        """Plain-English twin of the condition, with raw values.

        Example:
            >>> Condition(("site", "id"), Op.IN, ("1", "2"), "site.id.in").describe()
            'site.id in [1, 2]'
        """
        from leadkit.query.operators import operator_for  # the table imports this module

        text = operator_for(self.op).text
        if self.op in (Op.NULL, Op.NOTNULL):
            return f"{self.dotted} {text}"
        if self.op in (Op.IN, Op.NOTIN):
            return f"{self.dotted} {text} [{', '.join(_bare(v) for v in self.values)}]"
        return f"{self.dotted} {text} {_bare(self.raw)}"


@dataclass(frozen=True)
class SortKey:
    """One sort key: a field path as written and its direction."""

    path: tuple[str, ...]
    descending: bool = False

    @property
    def text(self) -> str:
        """The key as written in ``sort=``, e.g. ``-createdAt``."""
        return ("-" if self.descending else "") + ".".join(self.path)

    def describe(self) -> str:
        """Plain English, e.g. ``createdAt descending``."""
        return ".".join(self.path) + (" descending" if self.descending else " ascending")


@dataclass(frozen=True)
class Query:
    """A parsed query: filters (ANDed), sort keys, page and page size.

    Attributes:
        conditions: the filters, in the order first written; all must hold.
        sort: sort keys, most significant first (the default sort when none was given).
        page: 1-based page number.
        size: page size.
        fields: paths to return (the ``fields=`` extension), or None for every column.
        extensions: whether leadkit's extensions (``null``/``notnull``, ``fields``) were on.
    """

    conditions: tuple[Condition, ...] = ()
    sort: tuple[SortKey, ...] = ()
    page: int = 1
    size: int = 100
    fields: tuple[tuple[str, ...], ...] | None = None
    extensions: bool = True

    @property
    def offset(self) -> int:
        """Rows to skip before this page: ``(page - 1) * size``."""
        return (self.page - 1) * self.size

    def describe(self) -> str:
        """Plain-English twin of the whole query.

        Example:
            >>> from leadkit.query import parse_query
            >>> parse_query("site.id.in=1,2").describe()
            'site.id in [1, 2]'
            >>> parse_query("createdAt.gte=2021-03-01&sort=-createdAt&page=2&size=10").describe()
            'createdAt >= 2021-03-01, sorted by createdAt descending, page 2 (10 per page)'
        """
        parts = [" and ".join(c.describe() for c in self.conditions) or "all rows"]
        if self.sort:
            parts.append("sorted by " + ", ".join(k.describe() for k in self.sort))
        if self.fields is not None:
            parts.append("showing " + ", ".join(".".join(f) for f in self.fields))
        if self.page != 1:
            parts.append(f"page {self.page} ({self.size} per page)")
        return ", ".join(parts)

    def to_params(self) -> list[tuple[str, str]]:
        """Filters, sort, size (and fields) as (name, value) pairs; no ``page``.

        Use it to build pagination links: add ``("page", str(n))`` and URL-encode.

        Example:
            >>> from leadkit.query import parse_query
            >>> parse_query("site.id[]=1&site.id[]=2&createdAt.gte=2021-03-01&size=5").to_params()
            [('site.id[]', '1'), ('site.id[]', '2'), ('createdAt.gte', '2021-03-01'), ('size', '5')]
        """
        params = [pair for c in self.conditions for pair in c.to_params()]
        if self.sort:
            params.append(("sort", ",".join(k.text for k in self.sort)))
        params.append(("size", str(self.size)))
        if self.fields is not None:
            params.append(("fields", ",".join(".".join(f) for f in self.fields)))
        return params
