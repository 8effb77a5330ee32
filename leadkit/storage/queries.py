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

A long-lived reader (``leadkit serve``, ``Warehouse.query``) passes a :class:`RowCache`,
valid for as long as its read-only connection stays open (no one can write the file
meanwhile). Reading the page's rows is most of a query's cost: DuckDB decodes a whole
compressed segment (thousands of rows) to read even one row of it. So the cache keeps:

* the rows read, in blocks of :data:`BLOCK_ROWS` consecutive ``rowid``s: a block costs
  about as much to read as a page of it, and the next pages and other queries over the
  same rows (the newest leads, under the default sort) read nothing;
* the whole order of a filter set and sort, once a client pages through it (it asked for
  the page before) or asks for a deep page first: one sort of every matching row costs
  about as much as a count plus one deep page, and every later page needs neither;
* for such an order whose pages are scattered over the table (a sort by name), its rows
  :data:`ORDER_CHUNK_ROWS` at a time, when the client pages through it: 2,000 scattered
  rows cost about 1.5 times one page of them (DuckDB decodes nearly every segment of the
  table either way), not twenty times.

Requests in other threads that want rows or an order being read wait for it rather than
read it again.

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

import bisect
import contextlib
import difflib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Collection, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import polars as pl

from leadkit.errors import QueryError, QueryProblem, WarehouseError, short_repr
from leadkit.query import BoundQuery, FieldCatalog, QueryInput, compile_query, to_sql
from leadkit.query.to_sql import quote_identifier

if TYPE_CHECKING:
    import pyarrow as pa  # imported where used: ``import leadkit`` stays 0.24 s lighter

__all__ = [
    "BLOCK_ROWS",
    "DEFAULT_SIZE",
    "HIDDEN_COLUMNS",
    "MAX_SIZE",
    "CountMemo",
    "LruCache",
    "QueryResult",
    "RowCache",
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


class LruCache:
    """A thread-safe LRU bounded in bytes and entries.

    Args:
        max_bytes: the total size of the values kept (:meth:`put` says each one's size;
            ``cache[key] = value`` counts ``bytes`` by their length, other values 64 bytes).
        max_entries: the number of values kept.

    Attributes:
        hits: lookups that found a value.
    """

    def __init__(self, *, max_bytes: int, max_entries: int = 4096) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.hits = 0
        self._size = 0
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        """The bytes kept now."""
        return self._size

    def get(self, key: Hashable) -> Any:
        """The value kept for ``key``, or None."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __getitem__(self, key: Hashable) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: Hashable, value: object) -> None:
        self.put(key, value, len(value) if isinstance(value, bytes) else 64)

    def put(self, key: Hashable, value: object, size: int) -> None:
        """Keep ``value`` (``size`` bytes) for ``key``, dropping the least recently used."""
        if size > self.max_bytes // 8:
            return  # one huge value would push out everything else
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (value, size)
            self._size += size
            while self._size > self.max_bytes or len(self._items) > self.max_entries:
                _, (_, dropped) = self._items.popitem(last=False)
                self._size -= dropped


BLOCK_ROWS = 2048
"""Rows per block of a :class:`RowCache` (one DuckDB vector): ``rowid`` ``n`` is in block
``n // BLOCK_ROWS``."""

ROW_CACHE_BYTES = 256 << 20
"""Default size of a :class:`RowCache`'s blocks (about 450,000 KPro leads)."""

ORDER_CACHE_BYTES = 64 << 20
"""Default size of a :class:`RowCache`'s sort orders (4 bytes per matching row)."""

_MAX_BLOCKS_READ = 4
"""A page whose rows lie in more blocks than this that are not kept yet is read row by row
(a sort that scatters the rows, e.g. by name): reading every block would cost far more."""

DEEP_OFFSET = 1000
"""A page from this offset on is deep: sorting the top ``offset + size`` rows costs nearly
as much as sorting them all."""

ORDER_CHUNK_ROWS = 2000
"""Rows of a kept order read at once when a page of it is scattered over the table."""

_ROWID = "__leadkit_rowid"


class RowCache:
    """Rows and sort orders of tables, read from one connection whose data cannot change.

    Rows are kept in blocks of :data:`BLOCK_ROWS` consecutive ``rowid``s, and for a kept
    order whose pages are scattered over the table, in chunks of the order (both in
    :attr:`blocks`).

    Only for a cache that lives as long as one open read-only connection (like
    ``TableDirectory(keep_info=True)``): ``rowid``s are stable only while no one writes.

    Args:
        max_bytes: the size of the row blocks kept (Arrow's count of their bytes).
        order_bytes: the size of the sort orders kept.

    Attributes:
        blocks: the row blocks, by table, column list and block number.
        orders: every matching ``rowid`` in order, by table, filters and sort.
        blocks_read: blocks read from DuckDB so far.
        chunks_read: chunks of scattered rows of an order read so far.
    """

    def __init__(
        self, *, max_bytes: int = ROW_CACHE_BYTES, order_bytes: int = ORDER_CACHE_BYTES
    ) -> None:
        self.blocks = LruCache(max_bytes=max_bytes, max_entries=1 << 20)
        self.orders = LruCache(max_bytes=order_bytes, max_entries=1 << 16)
        self.blocks_read = 0
        self.chunks_read = 0
        self._asked = LruCache(max_bytes=16 << 20, max_entries=1 << 16)
        self._reading: set[Hashable] = set()
        self._turn = threading.Condition()

    @contextlib.contextmanager
    def claim(self, cache: LruCache, keys: Sequence[Hashable]) -> Iterator[list[Hashable]]:
        """The ``keys`` not in ``cache`` yet, claimed for this thread to read and put there
        (once its block ends, the claims lapse). Waits while another thread reads one of
        them, so concurrent requests never read the same rows twice."""
        with self._turn:
            while any(k in self._reading for k in keys):
                self._turn.wait()
            mine = [k for k in keys if k not in cache]
            self._reading.update(mine)
        try:
            yield mine
        finally:
            with self._turn:
                self._reading.difference_update(mine)
                self._turn.notify_all()

    def paging(self, key: Hashable, offset: int, size: int) -> bool:
        """Note that the page at ``offset`` of the order ``key`` is asked for; say whether
        the page before it was (a client paging through the order: sorting all of it, and
        reading its rows ahead, pay)."""
        self._asked[(key, offset)] = True
        return offset > 0 and (key, offset - size) in self._asked

    def can_keep_order(self, rows: int) -> bool:
        """Whether an order of ``rows`` rows fits (4 bytes a row)."""
        return rows * 4 <= self.orders.max_bytes // 8

    def keep_order(self, key: Hashable, rowids: pl.DataFrame) -> pl.Series:
        """Keep the ``rowid``s of a result in order (as 32-bit numbers when they fit)."""
        ranked = rowids.to_series()
        if ranked.len() and int(ranked.max()) < 1 << 32:  # type: ignore[arg-type]
            ranked = ranked.cast(pl.UInt32)
        self.orders.put(key, ranked, int(ranked.estimated_size()))
        return ranked

    def __repr__(self) -> str:
        return (
            f"<RowCache {len(self.blocks)} blocks ({self.blocks.size >> 20} MB), "
            f"{len(self.orders)} orders ({self.orders.size >> 20} MB)>"
        )


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
    rows: RowCache | None = None,
    utc: bool = False,
) -> QueryResult:
    """Run ``query`` against ``table`` on an open connection (count and page, same snapshot).

    Sets the connection's session ``TimeZone`` to UTC (unless ``utc`` says it is already),
    so timestamps come back in UTC.

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
        rows: rows and sort orders kept between calls (see :class:`RowCache`); only for
            one that lives as long as one open connection, like ``counts``.
        utc: the connection's ``TimeZone`` is UTC already (``SET GLOBAL`` when it was
            opened), so the ``SET`` can be skipped.

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
        if not utc:
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
        # Late materialisation: sort only the sort columns, then read the page's rows.
        late = info.base_table and "rowid" not in info.columns and _ROWID not in info.columns
        count_key = (info.name, parts.where, *parts.params)
        total: int | None = None if counts is None else counts.get(count_key)
        ranked: pl.Series | None = None  # every matching rowid, in order
        order_key = (info.name, parts.where, parts.order_by, *parts.params)
        paging = False  # the client asked for the page before this one
        if late and rows is not None and parts.order_by:
            paging = rows.paging(order_key, bound.offset, bound.size)
            ranked = rows.orders.get(order_key)
            # Sorting all of the result costs about as much as a count and one deep page,
            # so it is done (and kept, if not too long) for a deep page whose count is not
            # known yet, and for a client paging through the result.
            deep = total is None and bound.offset >= DEEP_OFFSET
            wanted = total is None or (bound.offset < total and rows.can_keep_order(total))
            if ranked is None and (paging or deep) and wanted:
                with rows.claim(rows.orders, [order_key]) as mine:
                    ranked = rows.orders.get(order_key)
                    if mine or ranked is None:
                        sql = f"SELECT rowid FROM {source} WHERE {parts.where}{order}"
                        rowids = con.sql(sql, params=parts.params).pl()
                        ranked = rows.keep_order(order_key, rowids)
            if ranked is not None:
                total = ranked.len()
        if total is None:
            sql = f"SELECT count(*) FROM {source} WHERE {parts.where}"
            total = int(con.execute(sql, parts.params).fetchall()[0][0])
        if counts is not None and counts.get(count_key) is None:
            counts[count_key] = total
        ids: list[int] = []  # the page's rowids (late materialisation)
        if late and bound.offset < total:
            if ranked is not None:
                ids = ranked.slice(bound.offset, bound.size).to_list()
            else:
                sql = f"SELECT rowid FROM {source} WHERE {parts.where}{order} LIMIT ? OFFSET ?"
                found = con.execute(sql, [*parts.params, bound.size, bound.offset]).fetchall()
                ids = [r[0] for r in found]
        if ids:
            kept = rows if bound.fields is None else None
            scattered_ok = ranked is None or not paging
            page = _rows_by_id(con, info.name, select, ids, kept, scattered_ok=scattered_ok)
            if page is None and kept is not None and ranked is not None:
                # Scattered rows: read the part of the order they are in.
                page = _ranked_rows(con, info.name, select, ranked, bound, kept, order_key)
            frame = page if page is not None else _polars(_read_ids(con, info.name, select, ids))
        elif bound.offset < total and not late:
            sql = f"SELECT {select} FROM {source} WHERE {parts.where}{order} LIMIT ? OFFSET ?"
            frame = con.sql(sql, params=[*parts.params, bound.size, bound.offset]).pl()
        else:  # past the end: no rows, but the columns of a real page
            frame = con.sql(f"SELECT {select} FROM {source} LIMIT 0").pl()
    except duckdb.Error as exc:
        raise WarehouseError(f"query on {table!r} failed: {exc}") from exc
    return QueryResult(frame, total, bound.page, bound.size, info.name, bound)


@dataclass(frozen=True)
class _Block:
    """A block of a :class:`RowCache`: its rows in ``rowid`` order, without the ``rowid``,
    as Arrow (polars frames of the same rows take about three times the memory)."""

    table: pa.Table
    first: int
    rowids: tuple[int, ...] | None  # None: they run first, first + 1, ... (no gaps)

    def position(self, rowid: int) -> int | None:
        if self.rowids is None:
            at = rowid - self.first
            return at if 0 <= at < self.table.num_rows else None
        at = bisect.bisect_left(self.rowids, rowid)
        return at if at < len(self.rowids) and self.rowids[at] == rowid else None


def _rows_by_id(
    con: duckdb.DuckDBPyConnection,
    table: str,
    select: str,
    ids: list[int],
    rows: RowCache | None,
    *,
    scattered_ok: bool = True,
) -> pl.DataFrame | None:
    """The rows ``ids`` (``rowid``s of ``table``) with the columns ``select``, in that order.

    From ``rows``' blocks when it is given, reading the blocks not kept yet; when more than
    ``_MAX_BLOCKS_READ`` are missing (rows scattered by a sort, e.g. by name), only these
    rows, not kept, or None when not ``scattered_ok``.
    """
    if rows is not None:
        numbers = sorted({i // BLOCK_ROWS for i in ids})
        blocks: list[_Block | None] = [rows.blocks.get((table, select, n)) for n in numbers]
        missing = [n for n, b in zip(numbers, blocks, strict=True) if b is None]
        if len(missing) <= _MAX_BLOCKS_READ:
            if missing:
                with rows.claim(rows.blocks, [(table, select, n) for n in missing]) as mine:
                    read = [n for n in missing if (table, select, n) in mine]
                    if read:
                        _read_blocks(con, table, select, read, rows)
                    blocks = [rows.blocks.get((table, select, n)) for n in numbers]
            page = _from_blocks(dict(zip(numbers, blocks, strict=True)), ids)
            if page is not None:
                return _polars(page)
        elif not scattered_ok:
            return None
    return _polars(_read_ids(con, table, select, ids))


def _from_blocks(blocks: dict[int, _Block | None], ids: list[int]) -> pa.Table | None:
    """The rows ``ids`` from ``blocks`` (by number), in that order; None when one is not
    there (a block put out of a small cache at once, or a row not in its block)."""
    starts: dict[int, tuple[_Block, int]] = {}
    tables = []
    height = 0
    for n, block in blocks.items():
        if block is None:
            return None
        starts[n] = (block, height)
        tables.append(block.table)
        height += block.table.num_rows
    positions = []
    for rowid in ids:
        block, start = starts[rowid // BLOCK_ROWS]
        at = block.position(rowid)
        if at is None:
            return None
        positions.append(start + at)
    import pyarrow as pa

    joined = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    return joined.take(positions)


def _read_blocks(
    con: duckdb.DuckDBPyConnection, table: str, select: str, numbers: list[int], rows: RowCache
) -> None:
    """Read the blocks ``numbers`` (ascending) into ``rows``."""
    read = con.sql(_block_sql(quote_identifier(table), select, numbers)).to_arrow_table()
    rowids = read.column(_ROWID).to_pylist()
    if any(a > b for a, b in itertools.pairwise(rowids)):
        read = read.sort_by(_ROWID)
        rowids = read.column(_ROWID).to_pylist()
    read = read.drop_columns([_ROWID])
    for n in numbers:
        start = bisect.bisect_left(rowids, n * BLOCK_ROWS)
        stop = bisect.bisect_left(rowids, (n + 1) * BLOCK_ROWS)
        first = rowids[start] if stop > start else n * BLOCK_ROWS
        dense = stop == start or rowids[stop - 1] - first == stop - start - 1
        part = read.slice(start, stop - start)
        block = _Block(part, first, None if dense else tuple(rowids[start:stop]))
        rows.blocks.put((table, select, n), block, part.nbytes + 64)
    rows.blocks_read += len(numbers)


def _read_ids(con: duckdb.DuckDBPyConnection, table: str, select: str, ids: list[int]) -> pa.Table:
    """Just the rows ``ids``, in that order, with a ``rowid`` range that lets DuckDB skip to
    them (a bare ``rowid IN (...)`` reads whole row groups)."""
    listed = ", ".join(str(int(i)) for i in ids)
    sql = (
        f"SELECT rowid AS {_ROWID}, {select} FROM {quote_identifier(table)} "
        f"WHERE rowid BETWEEN {min(ids)} AND {max(ids)} AND rowid IN ({listed})"
    )
    read = con.sql(sql).to_arrow_table()
    at = {rowid: i for i, rowid in enumerate(read.column(_ROWID).to_pylist())}
    try:
        positions = [at[rowid] for rowid in ids]
    except KeyError:
        raise WarehouseError(f"rows of {table!r} changed while they were read") from None
    return read.drop_columns([_ROWID]).take(positions)


def _ranked_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    select: str,
    ranked: pl.Series,
    bound: BoundQuery,
    rows: RowCache,
    order_key: Hashable,
) -> pl.DataFrame:
    """A page of a kept order whose rows are scattered over the table, from chunks of
    :data:`ORDER_CHUNK_ROWS` consecutive rows of the order: reading scattered rows costs
    about as much for a thousand as for one page (DuckDB decodes every segment they are
    in), so the next pages of a client paging through the order cost nothing."""
    first = bound.offset // ORDER_CHUNK_ROWS
    last = (min(bound.offset + bound.size, ranked.len()) - 1) // ORDER_CHUNK_ROWS
    chunks: list[pa.Table] = []
    for n in range(first, last + 1):
        key = (table, select, order_key, n)
        chunk: pa.Table | None = rows.blocks.get(key)
        if chunk is None:
            with rows.claim(rows.blocks, [key]):
                chunk = rows.blocks.get(key)
                if chunk is None:
                    ids = ranked.slice(n * ORDER_CHUNK_ROWS, ORDER_CHUNK_ROWS).to_list()
                    chunk = _read_ids(con, table, select, ids)
                    rows.blocks.put(key, chunk, chunk.nbytes)
                    rows.chunks_read += 1
        chunks.append(chunk)
    import pyarrow as pa

    joined = chunks[0] if len(chunks) == 1 else pa.concat_tables(chunks)
    return _polars(joined.slice(bound.offset - first * ORDER_CHUNK_ROWS, bound.size))


def _block_sql(source: str, select: str, numbers: list[int]) -> str:
    """Read the blocks ``numbers`` (ascending), neighbours as one ``rowid`` range."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and spans[-1][1] == n - 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    ranges = " OR ".join(
        f"rowid BETWEEN {first * BLOCK_ROWS} AND {(last + 1) * BLOCK_ROWS - 1}"
        for first, last in spans
    )
    return f"SELECT rowid AS {_ROWID}, {select} FROM {source} WHERE {ranges}"


def _polars(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame
