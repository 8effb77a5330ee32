"""Field catalogs: which fields a query may name, their types and where their values live.

A catalog is built by hand (the KPro simulator lists the API's filterable fields) or from a
polars schema (a warehouse table), and resolves the paths users write:

>>> fields = [Field("created_at", FieldType.TIMESTAMP), Field("site.id", FieldType.INTEGER)]
>>> catalog = FieldCatalog(fields)
>>> catalog.resolve(("createdAt",), "createdAt.gte").columns
('created_at',)
>>> catalog.resolve(("site", "id"), "site.id").columns
('site', 'id')
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Literal

import polars as pl
from polars.datatypes import DataTypeClass

from leadkit.errors import QueryError, QueryProblem, short_repr
from leadkit.naming import snake_case

__all__ = ["Field", "FieldCatalog", "FieldType", "Usage", "snake_case"]

Usage = Literal["filter", "sort", "fields"]

_MAX_LISTED = 10


class FieldType(Enum):
    """The type of a field, as far as filtering and sorting care."""

    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    LIST = "list"  # of scalars; see Field.element_type
    STRUCT = "struct"  # not filterable itself, only its leaves
    OTHER = "other"  # binary, objects, lists of structs...: neither filterable nor sortable

    @property
    def noun(self) -> str:
        """The type in a message: ``a whole number``, ``a timestamp``..."""
        return _NOUNS[self]


_NOUNS = {
    FieldType.INTEGER: "a whole number",
    FieldType.FLOAT: "a number",
    FieldType.DECIMAL: "a number",
    FieldType.STRING: "a string",
    FieldType.BOOLEAN: "a boolean",
    FieldType.DATE: "a date",
    FieldType.TIMESTAMP: "a timestamp",
    FieldType.LIST: "a list",
    FieldType.STRUCT: "a struct",
    FieldType.OTHER: "an unsupported type",
}
_SCALARS = frozenset(FieldType) - {FieldType.LIST, FieldType.STRUCT, FieldType.OTHER}


@dataclass(frozen=True)
class Field:
    """One field a query may name.

    Attributes:
        path: dotted name as the API or user writes it, e.g. ``site.id`` or ``createdAt``.
        type: its type; ``LIST`` needs ``element_type``.
        column: where the value lives: a top-level column name, or a tuple path into
            STRUCT columns. Default: ``path`` split on dots.
        nullable: whether the value can be null (``null``/``notnull`` need it).
        filterable: may appear in filters (forced False for STRUCT and OTHER).
        sortable: may appear in ``sort`` (forced False for LIST, STRUCT and OTHER).
        element_type: the element type of a LIST.
        time_zone: for TIMESTAMP fields, the time zone the values are stored in; ``None``
            means naive timestamps that hold UTC wall-clock time.
    """

    path: str
    type: FieldType
    column: str | tuple[str, ...] | None = None
    nullable: bool = True
    filterable: bool = True
    sortable: bool = True
    element_type: FieldType | None = None
    time_zone: str | None = "UTC"

    def __post_init__(self) -> None:
        if not self.path or "" in self.path.split("."):
            raise ValueError(f"bad field path {self.path!r}")
        if self.type is FieldType.LIST and self.element_type not in _SCALARS:
            raise ValueError(f"LIST field {self.path!r} needs a scalar element_type")
        if self.type in (FieldType.STRUCT, FieldType.OTHER):
            object.__setattr__(self, "filterable", False)
        if self.type in (FieldType.LIST, FieldType.STRUCT, FieldType.OTHER):
            object.__setattr__(self, "sortable", False)

    @property
    def columns(self) -> tuple[str, ...]:
        """The column path: top-level column first, then STRUCT field names."""
        if self.column is None:
            return tuple(self.path.split("."))
        return (self.column,) if isinstance(self.column, str) else self.column

    @property
    def value_type(self) -> FieldType:
        """The type each filter value must have (the element type for a LIST)."""
        if self.type is FieldType.LIST and self.element_type is not None:
            return self.element_type
        return self.type

    @property
    def noun(self) -> str:
        """The type in a message, e.g. ``a list of strings``."""
        if self.type is FieldType.LIST and self.element_type is not None:
            return "a list of " + self.element_type.noun.removeprefix("a ") + "s"
        return self.type.noun


def _key(path: Iterable[str], normalize: bool) -> tuple[str, ...]:
    return tuple(snake_case(p) if normalize else p for p in path)


class FieldCatalog:
    """The fields a query may name, with path resolution and "did you mean" help.

    Args:
        fields: the fields; paths must be unique (after case normalisation).
        normalize_case: match each path segment after camelCase→snake_case on both sides,
            so ``createdAt`` and ``created_at`` name the same field. False = exact match only
            (the KPro simulator is strict like the real API).
    """

    def __init__(self, fields: Iterable[Field], *, normalize_case: bool = True) -> None:
        self.normalize_case = normalize_case
        self._fields = tuple(fields)
        self._by_key: dict[tuple[str, ...], Field] = {}
        self._children: dict[tuple[str, ...], list[Field]] = {}
        for f in self._fields:
            key = _key(f.path.split("."), normalize_case)
            if key in self._by_key:
                raise ValueError(f"fields {self._by_key[key].path!r} and {f.path!r} collide")
            self._by_key[key] = f
            for end in range(1, len(key)):
                self._children.setdefault(key[:end], []).append(f)

    def __iter__(self) -> Iterator[Field]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"FieldCatalog({[f.path for f in self._fields]!r})"

    def lookup(self, path: tuple[str, ...]) -> Field | None:
        """The field at ``path``, or None."""
        return self._by_key.get(_key(path, self.normalize_case))

    def children(self, path: tuple[str, ...]) -> tuple[Field, ...]:
        """Fields below ``path`` when it names a struct (empty otherwise)."""
        return tuple(self._children.get(_key(path, self.normalize_case), ()))

    def names(self, usage: Usage = "filter") -> tuple[str, ...]:
        """Paths usable for ``usage``: filter, sort or fields (the latter: every field)."""
        if usage == "filter":
            return tuple(f.path for f in self._fields if f.filterable)
        if usage == "sort":
            return tuple(f.path for f in self._fields if f.sortable)
        return tuple(f.path for f in self._fields)

    def resolve(
        self,
        path: tuple[str, ...],
        param: str,
        value: str | None = None,
        *,
        usage: Usage = "filter",
        text: str | None = None,
    ) -> Field:
        """The field at ``path``, usable for ``usage``, or a QueryError saying why not.

        Args:
            path: the path as written, split on dots.
            param: the parameter name as written (``createdAtt.gte``) for the message.
            value: the value as written; ``None`` quotes ``param`` alone.
            usage: what the field is for: ``filter``, ``sort`` or ``fields``.
            text: the text to quote instead of ``param=value`` (e.g. a bracket list).

        Raises:
            QueryError: with one problem: unknown field (with the nearest name), a struct,
                or a field that cannot be filtered/sorted.

        Example:
            >>> catalog = FieldCatalog([Field("createdAt", FieldType.TIMESTAMP)])
            >>> catalog.resolve(("createdAtt",), "createdAtt.gte", "2021-03-01")
            Traceback (most recent call last):
            ...
            leadkit.errors.QueryError: unknown field 'createdAtt' in 'createdAtt.gte=2021-03-01'; did you mean 'createdAt'?
        """  # noqa: E501
        if text is None:
            text = param if value is None else f"{param}={value}"
        where = short_repr(text)
        shown = value or ""
        allowed = self.names(usage)
        field = self.lookup(path)
        if field is not None and (usage == "fields" or field.path in allowed):
            return field
        dotted = short_repr(".".join(path), 60)
        children = [f.path for f in self.children(path) if usage == "fields" or f.path in allowed]
        verb = {"filter": "filter on", "sort": "sort by", "fields": "select"}[usage]
        if children and (field is None or field.type is FieldType.STRUCT):
            message = f"{dotted} is a struct in {where}; {verb} one of its fields: "
            raise QueryError([QueryProblem(param, shown, message + _listing(children), allowed)])
        if field is None:
            message = f"unknown field {dotted} in {where}; " + self._suggest(path, allowed)
        else:
            message = f"cannot {verb} {field.path!r} ({field.noun}) in {where}"
            message += "; allowed: " + _listing(allowed)
        raise QueryError([QueryProblem(param, shown, message, allowed)])

    def _suggest(self, path: tuple[str, ...], allowed: tuple[str, ...]) -> str:
        wanted = ".".join(_key(path, self.normalize_case))
        keys = {".".join(_key(p.split("."), self.normalize_case)): p for p in allowed}
        close = difflib.get_close_matches(wanted, list(keys), n=1, cutoff=0.6)
        if close:
            return f"did you mean {keys[close[0]]!r}?"
        return "allowed: " + _listing(allowed)

    @classmethod
    def from_polars_schema(
        cls,
        schema: pl.Schema | Mapping[str, pl.DataType | DataTypeClass],
        *,
        hidden: Collection[str] = (),
        normalize_case: bool = True,
    ) -> FieldCatalog:
        """A catalog for a frame or table with this schema, walking STRUCTs recursively.

        Struct leaves get dotted paths (``site.id``, column ``("site", "id")``); the struct
        itself is listed too (usable in ``fields=``, not in filters). Columns starting with
        ``_`` are ordinary fields unless listed in ``hidden`` (names or dotted paths).

        Example:
            >>> schema = {"id": pl.Int64, "site": pl.Struct({"id": pl.Int32, "code": pl.String})}
            >>> [(f.path, f.type.value) for f in FieldCatalog.from_polars_schema(schema)]
            [('id', 'integer'), ('site', 'struct'), ('site.id', 'integer'), ('site.code', 'string')]
        """
        fields: list[Field] = []

        def walk(prefix: tuple[str, ...], written: pl.DataType | DataTypeClass) -> None:
            dtype = _instance(written)
            path = ".".join(prefix)
            if path in hidden:
                return
            kind, element, zone = _field_type(dtype)
            column: str | tuple[str, ...] = prefix[0] if len(prefix) == 1 else prefix
            zoned = FieldType.TIMESTAMP in (kind, element)
            fields.append(
                Field(path, kind, column, element_type=element, time_zone=zone if zoned else "UTC")
            )
            if isinstance(dtype, pl.Struct):
                for sub in dtype.fields:
                    walk((*prefix, sub.name), sub.dtype)

        for name, dtype in pl.Schema(dict(schema)).items():
            walk((name,), dtype)
        return cls(fields, normalize_case=normalize_case)


def _instance(dtype: pl.DataType | DataTypeClass) -> pl.DataType:
    """A dtype instance (schemas may hold classes such as ``pl.String``)."""
    if isinstance(dtype, pl.DataType):
        return dtype
    instance: pl.DataType = dtype()
    return instance


def _field_type(dtype: pl.DataType) -> tuple[FieldType, FieldType | None, str | None]:
    """Map a polars dtype to (type, element type, time zone)."""
    if isinstance(dtype, pl.Datetime):
        return FieldType.TIMESTAMP, None, dtype.time_zone
    if isinstance(dtype, pl.List):
        inner, _, zone = _field_type(_instance(dtype.inner))
        if inner in _SCALARS:
            return FieldType.LIST, inner, zone
        return FieldType.OTHER, None, None
    if isinstance(dtype, pl.Struct):
        return FieldType.STRUCT, None, None
    if dtype.is_integer():
        return FieldType.INTEGER, None, None
    if isinstance(dtype, pl.Decimal):
        return FieldType.DECIMAL, None, None
    if dtype.is_float():
        return FieldType.FLOAT, None, None
    if isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        return FieldType.STRING, None, None
    if isinstance(dtype, pl.Boolean):
        return FieldType.BOOLEAN, None, None
    if isinstance(dtype, pl.Date):
        return FieldType.DATE, None, None
    return FieldType.OTHER, None, None


def _listing(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:_MAX_LISTED])
    return shown + (", …" if len(names) > _MAX_LISTED else "") if names else "(none)"
