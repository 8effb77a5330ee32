"""The filter language over warehouse tables: what ``Warehouse.query`` and ``leadkit serve`` run.

One call reads one table (or view) in one short read-only connection:

1. the table's columns become a :class:`~leadkit.query.FieldCatalog` (from its polars
   schema, so every column and every STRUCT leaf can be filtered, sorted and selected, by
   its snake_case name or the camelCase the APIs use);
2. the query string is parsed and bound against it (every problem reported at once);
3. the count of matching rows and the requested page are read with ``?`` parameters only.
   On a base table the page is read in two steps ("late materialisation"): the ``rowid``s
   of the page are found sorting only the sort columns, then just those rows are read
   whole. Sorting wide rows (many STRUCT columns) costs several times more than the
   query's filters, so this is what keeps a page of a million-row table fast.

Defaults: ``sort=-createdAt`` when the table has a ``created_at`` column (as KPro does),
otherwise none; then a tiebreak on the table's key columns (its primary key, ``source,
lead_id`` for the ``leads`` view, else its first column), so pages never overlap or skip.
``size`` defaults to 100 and may not exceed 1000; ``page`` starts at 1.

``_raw`` (the original record as JSON text) and ``_hash`` (its fingerprint) are left out of
results unless named in ``fields=``: they repeat the row and are rarely what a query wants.

Example:
    >>> import os, tempfile
    >>> from leadkit.storage.warehouse import Warehouse
    >>> wh = Warehouse(os.path.join(tempfile.mkdtemp(), "q.duckdb"))
    >>> with wh.writing() as con:
    ...     _ = con.execute(
    ...         "CREATE TABLE people AS SELECT * FROM (VALUES "
    ...         "(1, 'Ann', TIMESTAMPTZ '2021-03-01 09:00+00'), "
    ...         "(2, 'Bob', TIMESTAMPTZ '2021-03-10 18:30+00'), "
    ...         "(3, 'Cy', TIMESTAMPTZ '2021-03-11 08:00+00')) t(id, first_name, created_at)"
    ...     )
    >>> result = wh.query("createdAt.ltt=2021-03-10&sort=-firstName", table="people")
    >>> result.frame["first_name"].to_list(), result.total
    (['Bob', 'Ann'], 2)
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import polars as pl

from leadkit.errors import QueryError, QueryProblem, WarehouseError, short_repr
from leadkit.query import BoundQuery, FieldCatalog, QueryInput, compile_query, to_sql
from leadkit.query.to_sql import quote_identifier

if TYPE_CHECKING:
    pass

__all__ = [
    "DEFAULT_SIZE",
    "HIDDEN_COLUMNS",
    "MAX_SIZE",
    "CountMemo",
    "QueryResult",
    "TableDirectory",
    "TableInfo",
    "UnknownTableError",
    "list_tables",
    "query_table",
    "table_info",
]

DEFAULT_SIZE = 100
"""Rows per page when neither the query nor the caller says."""

MAX_SIZE = 1000
"""The largest page (KPro's maximum)."""

HIDDEN_COLUMNS = ("_raw", "_hash")
"""Columns left out of results unless named in ``fields=`` (they stay filterable)."""

#: Key columns of views, which carry no primary key of their own.
_VIEW_KEYS: dict[str, tuple[str, ...]] = {"leads": ("source", "lead_id")}
_MAX_LISTED = 20


class UnknownTableError(QueryError):
    """The table named is not in the warehouse.

    Attributes:
        table: the name asked for.
        tables: the tables and views that exist.
    """

    def __init__(self, table: str, tables: Sequence[str]):
        self.table = table
        self.tables = tuple(tables)
        close = difflib.get_close_matches(table.lower(), self.tables, n=1, cutoff=0.6)
        message = f"unknown table {short_repr(table)}; "
        if close:
            message += f"did you mean {close[0]!r}? "
        shown = ", ".join(self.tables[:_MAX_LISTED]) + (
            ", …" if len(self.tables) > _MAX_LISTED else ""
        )
        message += f"tables: {shown or '(none)'}"
        super().__init__([QueryProblem("table", table, message, self.tables)])


@dataclass(frozen=True)
class TableInfo:
    """What the query layer knows about one table.

    Attributes:
        name: the table's name as the warehouse spells it.
        catalog: its fields (columns and STRUCT leaves, camelCase or snake_case).
        columns: its top-level columns, in order.
        default_sort: the sort used when the query gives none (``-created_at`` or None).
        tiebreak: key fields appended ascending to every sort.
        base_table: a table rather than a view (its rows have a ``rowid``).
    """

    name: str
    catalog: FieldCatalog
    columns: tuple[str, ...]
    default_sort: str | None
    tiebreak: tuple[str, ...]
    base_table: bool = False


@dataclass(frozen=True, repr=False)
class QueryResult:
    """One page of a query's result, with the count of every matching row.

    Attributes:
        frame: the rows of this page (a polars DataFrame; timestamps in UTC).
        total: how many rows match the filters, over all pages.
        page: the page number served (1-based; may be past the last page, then empty).
        size: the page size.
        table: the table or view read.
        query: the bound query (``query.describe()`` says what it did in plain English).
    """

    frame: pl.DataFrame
    total: int
    page: int
    size: int
    table: str
    query: BoundQuery

    @property
    def pages(self) -> int:
        """How many pages the result has (at least 1, like KPro's ``lastPage``)."""
        return max(1, -(-self.total // self.size))

    @property
    def first_row(self) -> int | None:
        """1-based position of this page's first row in the whole result; None if empty."""
        return (self.page - 1) * self.size + 1 if self.frame.height else None

    @property
    def last_row(self) -> int | None:
        """1-based position of this page's last row in the whole result; None if empty."""
        return (self.page - 1) * self.size + self.frame.height if self.frame.height else None

    def __len__(self) -> int:
        return self.frame.height

    def __repr__(self) -> str:
        if self.frame.height:
            rows = f"rows {self.first_row}-{self.last_row} of {self.total}"
        else:
            rows = f"no rows of {self.total}"
        what = short_repr(self.query.describe(), 120)
        return f"<QueryResult {self.table}: {rows}, page {self.page} of {self.pages}: {what}>"


def list_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables and views of the warehouse: leadkit's own tables (``_runs``...) last."""
    frame = con.sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).pl()
    names = [str(n) for n in frame["table_name"].to_list()]
    return sorted(names, key=lambda n: (n.startswith("_"), n))


def _primary_keys(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, ...]]:
    frame = con.sql(
        "SELECT table_name, constraint_column_names AS cols FROM duckdb_constraints() "
        "WHERE schema_name = 'main' AND constraint_type = 'PRIMARY KEY'"
    ).pl()
    keys = {str(t): tuple(str(c) for c in cols) for t, cols in frame.iter_rows()}
    return {**_VIEW_KEYS, **keys}


def _base_tables(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    frame = con.sql(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_type = 'BASE TABLE'"
    ).pl()
    return frozenset(str(n) for n in frame["table_name"].to_list())


class CountMemo(Protocol):
    """Where :func:`query_table` may remember totals: a dict, or the server's LRU."""

    def get(self, key: Hashable) -> Any: ...

    def __setitem__(self, key: Hashable, value: int) -> None: ...


@dataclass(frozen=True)
class _Snapshot:
    tables: tuple[str, ...]
    keys: dict[str, tuple[str, ...]]
    base: frozenset[str]


class TableDirectory:
    """The warehouse's table names and key columns, remembered between queries.

    Listing tables costs as much as a small query, so a long-lived reader (``leadkit
    serve``) keeps the list and reads it again only when a name is not in it, or a table
    in it has gone.

    Args:
        keep_info: also remember each table's :class:`TableInfo` (its columns and field
            catalog). Only for a directory that lives as long as one open connection: the
            schema cannot change while a reader holds the file, but can between opens.
    """

    def __init__(self, *, keep_info: bool = False) -> None:
        self._snapshot: _Snapshot | None = None
        self._keep_info = keep_info
        self._infos: dict[str, TableInfo] = {}

    def refresh(self, con: duckdb.DuckDBPyConnection) -> _Snapshot:
        """Read the names and keys again."""
        self._snapshot = _Snapshot(tuple(list_tables(con)), _primary_keys(con), _base_tables(con))
        self._infos.clear()
        return self._snapshot

    def is_base_table(self, table: str) -> bool:
        """Whether ``table`` is a table (not a view), as last read."""
        return self._snapshot is not None and table in self._snapshot.base

    def info(self, table: str) -> TableInfo | None:
        """The remembered :class:`TableInfo` of ``table`` (with ``keep_info`` only)."""
        return self._infos.get(table)

    def remember(self, info: TableInfo) -> None:
        """Keep ``info`` for later queries (with ``keep_info`` only)."""
        if self._keep_info:
            self._infos[info.name] = info

    def find(self, con: duckdb.DuckDBPyConnection, table: str, *, fresh: bool = False) -> str:
        """The table's name as the warehouse spells it (matched ignoring case).

        Raises:
            UnknownTableError: not a table or view of the warehouse.
        """
        snapshot = None if fresh else self._snapshot
        if snapshot is not None and (name := _match(snapshot.tables, table)):
            return name
        snapshot = self.refresh(con)
        if name := _match(snapshot.tables, table):
            return name
        raise UnknownTableError(table, snapshot.tables)

    def keys(self, table: str) -> tuple[str, ...]:
        """The key columns of ``table`` as last read (empty when unknown)."""
        return self._snapshot.keys.get(table, ()) if self._snapshot else ()


def _match(tables: Sequence[str], table: str) -> str | None:
    if table in tables:
        return table
    return {t.lower(): t for t in tables}.get(table.lower())


def table_info(
    con: duckdb.DuckDBPyConnection, table: str, *, directory: TableDirectory | None = None
) -> TableInfo:
    """The catalog, default sort and tiebreak of ``table`` (matched ignoring case).

    Args:
        con: an open connection.
        table: the table or view.
        directory: remembered table names and keys (default: read them now).

    Raises:
        UnknownTableError: no such table or view (with the nearest name and the list).
    """
    directory = directory or TableDirectory()
    name = directory.find(con, table)
    known = directory.info(name)
    if known is not None:
        return known
    try:
        schema = con.sql(f"SELECT * FROM {quote_identifier(name)} LIMIT 0").pl().schema
    except duckdb.CatalogException:  # dropped since the directory was read
        name = directory.find(con, table, fresh=True)
        schema = con.sql(f"SELECT * FROM {quote_identifier(name)} LIMIT 0").pl().schema
    catalog = FieldCatalog.from_polars_schema(schema)
    columns = tuple(schema.names())
    default_sort = "-created_at" if "created_at" in columns else None
    sortable = [f.path for f in catalog if f.sortable]
    keys = directory.keys(name)
    tiebreak = keys if keys and all(k in sortable for k in keys) else tuple(sortable[:1])
    info = TableInfo(name, catalog, columns, default_sort, tiebreak, directory.is_base_table(name))
    directory.remember(info)
    return info


def query_table(
    con: duckdb.DuckDBPyConnection,
    query: QueryInput = "",
    table: str = "leads",
    *,
    size: int | None = None,
    ignore: Collection[str] = (),
    directory: TableDirectory | None = None,
    counts: CountMemo | None = None,
) -> QueryResult:
    """Run ``query`` against ``table`` on an open connection (count and page, same snapshot).

    Sets the connection's session ``TimeZone`` to UTC, so timestamps come back in UTC.

    Args:
        con: a DuckDB connection (read-only is enough).
        query: the query string (or mapping, or pairs) in KPro's filter language.
        table: the table or view.
        size: page size when the query gives no ``size=`` (default 100, at most 1000).
        ignore: parameter names to skip (the HTTP server skips ``api_key``).
        directory: remembered table names and keys (default: read them now).
        counts: remembered totals by table and filters, read and filled here (a client
            paging through a result asks for the same count on every page). Only for a
            mapping that lives as long as one open connection, like ``keep_info``.

    Raises:
        UnknownTableError: ``table`` does not exist.
        QueryError: the query is invalid (every problem listed).
        WarehouseError: DuckDB failed to run the statement.
    """
    default_size = DEFAULT_SIZE if size is None else size
    if not 1 <= default_size <= MAX_SIZE:
        message = f"size={default_size} is not a whole number between 1 and {MAX_SIZE}"
        if default_size > MAX_SIZE:
            message = (
                f"size={default_size} is over the maximum {MAX_SIZE}; use size<={MAX_SIZE} "
                "and page through with page="
            )
        raise QueryError([QueryProblem("size", str(default_size), message)])
    try:
        con.execute("SET SESSION TimeZone = 'UTC'")
        info = table_info(con, table, directory=directory)
        bound = compile_query(
            query,
            info.catalog,
            default_size=default_size,
            max_size=MAX_SIZE,
            default_sort=info.default_sort,
            ignore=ignore,
        )
        parts = to_sql(bound, tiebreak=info.tiebreak)
        source = quote_identifier(info.name)
        select = parts.select
        hidden = [c for c in HIDDEN_COLUMNS if c in info.columns]
        if bound.fields is None and hidden and len(hidden) < len(info.columns):
            select = f"* EXCLUDE ({', '.join(quote_identifier(c) for c in hidden)})"
        order = f" ORDER BY {parts.order_by}" if parts.order_by else ""
        count_key = (info.name, parts.where, *parts.params)
        known = None if counts is None else counts.get(count_key)
        if known is None:
            counted = con.sql(
                f"SELECT count(*) AS n FROM {source} WHERE {parts.where}", params=parts.params
            ).pl()
            total = int(counted["n"][0])
            if counts is not None:
                counts[count_key] = total
        else:
            total = known
        if bound.offset < total:
            if info.base_table and "rowid" not in info.columns:
                # Late materialisation: sort only the sort columns, then read the page's rows.
                page = f"SELECT rowid FROM {source} WHERE {parts.where}{order} LIMIT ? OFFSET ?"
                sql = f"SELECT {select} FROM {source} WHERE rowid IN ({page}){order}"
            else:
                sql = f"SELECT {select} FROM {source} WHERE {parts.where}{order} LIMIT ? OFFSET ?"
            frame = con.sql(sql, params=[*parts.params, bound.size, bound.offset]).pl()
        else:  # past the end: no rows, but the columns of a real page
            frame = con.sql(f"SELECT {select} FROM {source} LIMIT 0").pl()
    except duckdb.Error as exc:
        raise WarehouseError(f"query on {table!r} failed: {exc}") from exc
    return QueryResult(frame, total, bound.page, bound.size, info.name, bound)
