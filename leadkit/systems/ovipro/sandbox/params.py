"""Query parameters of the two list endpoints (spec §5, §9, Q14): parsing and validation.

:func:`parse_list_query` turns the query pairs of ``GET /leads`` or ``GET /outgoingLeads``
into a :class:`ListQuery`, or into the ``errors[]`` entries of a 400
``BAD_REQUEST_PARAMETERS`` answer: every problem at once, each naming its parameter
(``target``), the offending value and what is allowed.

Array parameters accept repeated keys and comma lists alike; id parameters must be
lowercase RFC 4122 uuids (spec §3); ``sort`` items are ``field|asc`` or ``field|desc``.

Example:
    >>> query, errors = parse_list_query([("size", "20"), ("sort", "creationTime|asc")], "incoming")
    >>> query.size, query.sort, errors
    (20, (('creationTime', False),), [])
    >>> print(parse_list_query([("sort", "createdAt|asc")], "incoming")[1][0]["message"])
    sort='createdAt|asc': unknown field 'createdAt'; did you mean 'creationTime'? Allowed: ...
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from leadkit.systems.ovipro.sandbox.vocab import STATUS_CODES

__all__ = [
    "DEFAULT_SIZE",
    "LIST_PARAMS",
    "MAX_SIZE",
    "SORT_FIELDS",
    "UUID_PATTERN",
    "ListQuery",
    "ParamSpec",
    "error_entry",
    "parse_list_query",
]

UUID_PATTERN = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)
"""A lowercase RFC 4122 uuid, versions 1–5 (spec §3); use with ``fullmatch``."""

DEFAULT_SIZE = 50
MAX_SIZE = 100
_INT32_MAX = 2**31 - 1
_DIGITS = re.compile(r"[0-9]+")
_SORT_ITEM = re.compile(r"([^|]*)\|(asc|desc)")

ListKind = Literal["incoming", "outgoing"]


@dataclass(frozen=True)
class ParamSpec:
    """One filter parameter.

    Attributes:
        name: the query parameter.
        many: an array parameter (repeatable, comma lists accepted).
        kind: ``uuid`` (validated), ``enum`` (one of ``allowed``) or ``text`` (any string).
        allowed: the values of an ``enum``.
    """

    name: str
    many: bool
    kind: Literal["uuid", "enum", "text"]
    allowed: tuple[str, ...] = ()


LIST_PARAMS: dict[ListKind, tuple[ParamSpec, ...]] = {
    "incoming": (
        ParamSpec("leadId", True, "uuid"),
        ParamSpec("agencyOfficeId", True, "uuid"),
        ParamSpec("leadStatusCode", True, "enum", STATUS_CODES),
        ParamSpec("leadSourceTypeCode", True, "text"),  # open enum (Q12)
        ParamSpec("leadTypeCode", True, "text"),  # open enum (Q12)
        ParamSpec("agentId", False, "uuid"),
        ParamSpec("partyId", False, "uuid"),
        ParamSpec("realtyFriendlyId", False, "text"),
    ),
    "outgoing": (
        ParamSpec("leadId", True, "uuid"),
        ParamSpec("agencyOfficeId", True, "uuid"),
        ParamSpec("agentId", False, "uuid"),
        ParamSpec("partyId", False, "uuid"),
        ParamSpec("realtyId", False, "uuid"),
    ),
}
"""The filter parameters of each list endpoint (spec §5, §9)."""

SORT_FIELDS: dict[ListKind, tuple[str, ...]] = {
    "incoming": ("creationTime", "modificationTime", "assignmentTime", "decisionTime",
                 "leadStatusCode"),
    "outgoing": ("creationTime",),
}  # fmt: skip
"""Fields ``sort`` may name (spec §5; outgoing leads have only ``creationTime``)."""

_CONTROL = ("startIndex", "size", "sort")


@dataclass(frozen=True)
class ListQuery:
    """A validated list request.

    Attributes:
        filters: ``(parameter, values)`` pairs, sorted by parameter, values sorted and
            unique; a lead matches when it matches every pair (any value of a pair).
        sort: ``(field, descending)`` keys; empty means the default
            (``creationTime|desc``). ``leadId`` always breaks ties.
        start_index: 0-based offset.
        size: page size.
    """

    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sort: tuple[tuple[str, bool], ...] = ()
    start_index: int = 0
    size: int = DEFAULT_SIZE


def error_entry(target: str, code: str, message: str) -> dict[str, str]:
    """One ``errors[]`` entry of an error body (spec §10)."""
    return {"target": target, "errorCode": code, "message": message}


def _suggest(word: str, choices: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for the nearest choice (case first), else ``";"``."""
    close = [c for c in choices if c.lower() == word.lower()]
    close = close or difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ";"


def _integer(name: str, values: list[str], low: int, high: int, errors: list[Any]) -> int | None:
    if len(values) > 1:
        errors.append(error_entry(name, "INVALID_TYPE", f"{name} may be given once"))
        return None
    value = values[0]
    if not _DIGITS.fullmatch(value) or not low <= int(value) <= high:
        rule = f"an integer >= {low}" if high == _INT32_MAX else f"an integer {low}..{high}"
        errors.append(error_entry(name, "INVALID_TYPE", f"{name}={value!r} must be {rule}"))
        return None
    return int(value)


def _sort(values: list[str], fields: Sequence[str], errors: list[Any]) -> tuple[Any, ...]:
    keys: list[tuple[str, bool]] = []
    for item in (part for value in values for part in value.split(",")):
        match = _SORT_ITEM.fullmatch(item)
        field = match.group(1) if match else item.partition("|")[0]
        if field not in fields:
            hint = _suggest(field, fields)
            message = f"sort={item!r}: unknown field {field!r}{hint} Allowed: {', '.join(fields)}"
        elif match is None:
            message = f"sort={item!r} needs an order: use '{field}|asc' or '{field}|desc'"
        elif any(f == field for f, _ in keys):
            message = f"sort={item!r}: {field!r} is sorted on twice"
        else:
            keys.append((field, match.group(2) == "desc"))
            continue
        errors.append(error_entry("sort", "INVALID_TYPE", message))
    return tuple(keys)


def _filter(spec: ParamSpec, values: list[str], errors: list[Any]) -> tuple[str, ...]:
    if not spec.many and len(values) > 1:
        errors.append(error_entry(spec.name, "INVALID_TYPE", f"{spec.name} may be given once"))
        return ()
    items = [p for v in values for p in v.split(",")] if spec.many else values
    for item in items:
        if spec.kind == "uuid" and not UUID_PATTERN.fullmatch(item):
            message = f"{spec.name}={item!r} is not a lowercase uuid"
        elif spec.kind == "enum" and item not in spec.allowed:
            message = f"{spec.name}={item!r}{_suggest(item, spec.allowed)} Allowed: "
            message += ", ".join(spec.allowed)
        elif item == "":
            message = f"{spec.name} is empty"
        else:
            continue
        errors.append(error_entry(spec.name, "INVALID_TYPE", message))
    return tuple(sorted(set(items)))


def parse_list_query(
    pairs: Sequence[tuple[str, str]], kind: ListKind, *, strict: bool = False
) -> tuple[ListQuery, list[dict[str, str]]]:
    """Validate the query of a list request.

    Args:
        pairs: decoded query parameters in order (repeated keys repeated).
        kind: which endpoint: ``incoming`` (``/leads``) or ``outgoing``.
        strict: report unknown parameters too (otherwise they are ignored).

    Returns:
        The query, and the ``errors[]`` entries (empty when valid; the query is then
        meaningless).
    """
    specs = {spec.name: spec for spec in LIST_PARAMS[kind]}
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        given.setdefault(name, []).append(value)
    errors: list[dict[str, str]] = []
    start = size = None
    sort: tuple[tuple[str, bool], ...] = ()
    filters = []
    for name, values in given.items():
        if name == "startIndex":
            start = _integer(name, values, 0, _INT32_MAX, errors)
        elif name == "size":
            size = _integer(name, values, 1, MAX_SIZE, errors)
        elif name == "sort":
            sort = _sort(values, SORT_FIELDS[kind], errors)
        elif name in specs:
            filters.append((name, _filter(specs[name], values, errors)))
        elif strict:
            known = [*_CONTROL, *specs]
            message = f"unknown parameter {name!r}{_suggest(name, known)} Allowed: "
            errors.append(error_entry(name, "INVALID_TYPE", message + ", ".join(known)))
    query = ListQuery(
        filters=tuple(sorted(filters)),
        sort=sort,
        start_index=0 if start is None else start,
        size=DEFAULT_SIZE if size is None else size,
    )
    return query, errors
