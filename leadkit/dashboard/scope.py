"""What the dashboard shows: the lead tables, and the filter box compiled against each.

Every lead chart reads one or more *lead tables* (``kpro_leads``, ``ovipro_leads``,
``carehome_leads``). Each is read through a relation that adds the canonical columns of the
``leads`` view the table does not already have (``system``, ``lead_id``, ``status``,
``category``, ``channel`` …), so the filter box accepts both a system's own fields
(``eligibilityStatus``, ``site.id``, ``lead.leadTypeCode``) and the canonical ones
(``status``, ``channel``, ``createdAt``) on every system.

The filter box is compiled against each lead table on its own. A table whose fields the
filter cannot bind to (``site.id`` on OviPro leads) is *left out*: none of its leads match,
and the dashboard says so under the box. Only when the filter binds to no table at all is
it an error, shown with the query layer's message.

Example:
    >>> plan = compile_filter("eligibilityStatus.in=passed&sort=-createdAt", {
    ...     "kpro_leads": {"eligibility_status": "VARCHAR", "created_at": "TIMESTAMPTZ"},
    ...     "ovipro_leads": {"lead_status_code": "VARCHAR"},
    ... })
    >>> sorted(plan.tables), list(plan.left_out)
    (['kpro_leads'], ['ovipro_leads'])
    >>> plan.tables["kpro_leads"].where, plan.tables["kpro_leads"].params
    ('"eligibility_status" IN (?)', ('passed',))
    >>> plan.ignored
    ('sort',)
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from leadkit.errors import QueryError
from leadkit.query import FieldCatalog, compile_query, quote_identifier, to_sql
from leadkit.storage.migrations import LEADS_COLUMNS

__all__ = [
    "CANONICAL_TYPES",
    "LEAD_TABLES",
    "FilterPlan",
    "LeadTable",
    "Scope",
    "TablePlan",
    "compile_filter",
    "relation_sql",
    "view_columns",
]

#: Canonical columns the dashboard adds to every lead table that lacks them, with types:
#: the columns of the ``leads`` view.
CANONICAL_TYPES: dict[str, str] = dict(LEADS_COLUMNS)

#: Parameters of the filter language that page or shape a result: charts ignore them.
_SHAPING = ("sort", "page", "size", "fields")


@dataclass(frozen=True)
class LeadTable:
    """One system's lead table and how its columns map onto the canonical ones.

    Attributes:
        system: the system name (``kpro``), as in the ``leads`` view's ``system``.
        table: the warehouse table.
        label: how the dashboard names its leads ("KPro leads").
        canonical: canonical column → SQL expression over the table, for the columns the
            table does not have under that name. ``system`` is always added. A column
            the table has itself keeps the table's meaning (``kpro_leads.source`` is KPro's
            own lead source; the source name is ``_source``).
    """

    system: str
    table: str
    label: str
    canonical: Mapping[str, str] = field(default_factory=dict)


def view_columns(view_sql: str) -> tuple[str, dict[str, str]]:
    """The table and the columns of a system's part of the ``leads`` view.

    Args:
        view_sql: a system's ``view_sql``: ``SELECT <expr> AS <name>, … FROM <table>``.

    Returns:
        The table, and canonical column → its SQL expression over the table.

    Raises:
        ValueError: the SQL is not one plain ``SELECT … FROM <table>``.

    Example:
        >>> view_columns("SELECT 'x' AS system, _source AS source, created_at FROM x_leads")
        ('x_leads', {'system': "'x'", 'source': '_source', 'created_at': 'created_at'})
    """
    match = _VIEW.fullmatch(view_sql.strip())
    if match is None:
        raise ValueError(f"not a plain SELECT … FROM <table>: {view_sql.strip()[:80]!r}")
    columns: dict[str, str] = {}
    for item in _top_level_split(match["select"]):
        named = _ALIAS.fullmatch(item)
        if named is not None:
            columns[named["name"]] = named["expr"].strip()
        elif _IDENTIFIER.fullmatch(item):
            columns[item] = item
        else:
            raise ValueError(f"a view column without a name: {item!r}")
    return match["table"], columns


_VIEW = re.compile(r"SELECT\s+(?P<select>.+?)\s+FROM\s+(?P<table>\w+)", re.IGNORECASE | re.DOTALL)
_ALIAS = re.compile(r"(?P<expr>.+)\s+AS\s+(?P<name>\w+)", re.IGNORECASE | re.DOTALL)
_IDENTIFIER = re.compile(r"\w+")


def _top_level_split(text: str) -> list[str]:
    """``text`` split at the commas outside parentheses and quotes, each part stripped."""
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _lead_table(kind: str, label: str) -> LeadTable:
    """A system's lead table, its canonical columns read from its part of the view."""
    from leadkit.systems import get_system

    table, columns = view_columns(get_system(kind).view_sql)
    canonical = {n: e for n, e in columns.items() if n != "system" and e != n}
    return LeadTable(kind, table, label, canonical)


#: The lead tables in display order. Their canonical columns come from each system's own
#: ``leads`` view SQL (``leadkit/systems/<kind>/tables.py``), so the filter box's
#: ``status``, ``category``, ``channel`` … mean on each table what they mean in the view.
LEAD_TABLES: tuple[LeadTable, ...] = (
    _lead_table("kpro", "KPro leads"),
    _lead_table("ovipro", "OviPro leads"),
    _lead_table("carehome", "care-home leads"),
)


def relation_sql(
    lead_table: LeadTable, columns: Mapping[str, str], usable: Mapping[str, bool] | None = None
) -> str:
    """``SELECT *, <canonical columns> FROM <table>`` for one lead table.

    Args:
        lead_table: the table and its canonical mapping.
        columns: the table's columns (name → type) as they are in the warehouse.
        usable: canonical name → whether its expression runs on this table (default: all);
            an unusable or unmapped canonical column is a typed NULL.

    Example:
        >>> print(relation_sql(LEAD_TABLES[0], {"id": "BIGINT", "created_at": "TIMESTAMPTZ",
        ...     "eligibility_status": "VARCHAR"}))  # doctest: +ELLIPSIS
        SELECT *, 'kpro' AS "system", ... CAST(id AS VARCHAR) AS "lead_id", ... FROM "kpro_leads"
    """
    extra = []
    for name, sql_type in CANONICAL_TYPES.items():
        if name in columns:
            continue
        if name == "system":
            expr = f"'{lead_table.system}'"
        elif name in lead_table.canonical and (usable is None or usable.get(name, True)):
            expr = lead_table.canonical[name]
        else:
            expr = f"CAST(NULL AS {sql_type})"
        extra.append(f"{expr} AS {quote_identifier(name)}")
    return f"SELECT *, {', '.join(extra)} FROM {quote_identifier(lead_table.table)}"


@dataclass(frozen=True)
class TablePlan:
    """The filter box compiled for one lead table.

    Attributes:
        lead_table: the table.
        where: SQL condition over the table's relation (``TRUE`` for no filter).
        params: its ``?`` parameters, in order.
    """

    lead_table: LeadTable
    where: str
    params: tuple[Any, ...]


@dataclass(frozen=True)
class FilterPlan:
    """The filter box compiled against every lead table that exists.

    Attributes:
        text: the filter as typed.
        tables: table name → its plan, for the tables the filter binds to.
        left_out: table name → why none of its leads match (the query layer's error).
        error: the error to show when the filter binds to no table (else None).
        ignored: ``sort``/``page``/``size``/``fields`` parameters given (charts ignore them).
    """

    text: str
    tables: dict[str, TablePlan]
    left_out: dict[str, QueryError]
    error: QueryError | None = None
    ignored: tuple[str, ...] = ()


def _shaping_params(text: str) -> tuple[str, ...]:
    names = [urllib.parse.unquote_plus(p.split("=", 1)[0]) for p in text.lstrip("?").split("&")]
    return tuple(n for n in _SHAPING if n in names)


def compile_filter(
    text: str,
    schemas: Mapping[str, Mapping[str, str]],
    catalogs: Mapping[str, FieldCatalog] | None = None,
) -> FilterPlan:
    """Compile the filter box against each lead table that exists.

    Args:
        text: the filter, e.g. ``eligibilityStatus.in=passed,considered&site.id[]=3``.
        schemas: lead table name → its relation's columns (name → DuckDB type), for the
            lead tables in the warehouse; used when ``catalogs`` has no entry.
        catalogs: lead table name → its relation's field catalog (preferred: has STRUCT
            leaves).

    Returns:
        A :class:`FilterPlan`; ``error`` is set when the filter binds to no table.
    """
    text = text.strip()
    tables: dict[str, TablePlan] = {}
    left_out: dict[str, QueryError] = {}
    errors: list[QueryError] = []
    by_name = {t.table: t for t in LEAD_TABLES}
    for name, columns in schemas.items():
        lead_table = by_name[name]
        if not text:
            tables[name] = TablePlan(lead_table, "TRUE", ())
            continue
        catalog = (catalogs or {}).get(name) or _catalog_from_types(columns)
        try:
            bound = compile_query(text, catalog, ignore=_SHAPING)
        except QueryError as exc:
            errors.append(exc)
            left_out[name] = exc
            continue
        parts = to_sql(bound)
        tables[name] = TablePlan(lead_table, parts.where, tuple(parts.params))
    error = errors[0] if errors and not tables else None
    return FilterPlan(text, tables, left_out, error, _shaping_params(text) if text else ())


def _catalog_from_types(columns: Mapping[str, str]) -> FieldCatalog:
    import polars as pl

    types: dict[str, pl.DataType] = {}
    for name, sql_type in columns.items():
        upper = sql_type.upper()
        if upper.startswith("TIMESTAMP"):
            types[name] = pl.Datetime("us", "UTC")
        elif upper in {"BIGINT", "INTEGER"}:
            types[name] = pl.Int64()
        elif upper == "BOOLEAN":
            types[name] = pl.Boolean()
        elif upper == "DATE":
            types[name] = pl.Date()
        else:
            types[name] = pl.String()
    return FieldCatalog.from_polars_schema(types)


@dataclass(frozen=True)
class Scope:
    """Everything that narrows the dashboard: filter box, sources and dates.

    Attributes:
        filter: the filter box text (KPro's filter language).
        sources: the source names to show (``_source``); empty means every source.
        start: first day of the chosen period (UTC), or None for no lower bound.
        end: last day of the chosen period (UTC, inclusive), or None for no upper bound.
    """

    filter: str = ""
    sources: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None

    def key(self) -> tuple[Any, ...]:
        """A hashable key for caches."""
        return (self.filter.strip(), tuple(sorted(self.sources)), self.start, self.end)
