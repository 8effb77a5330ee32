"""One read-only connection kept open for ``leadkit serve``, given up while an extract writes.

Opening the DuckDB file costs tens of milliseconds, more than a typical query, so the server
keeps one read-only connection open between requests and gives each request a cursor of
its own (``con.cursor()``: another connection to the same open database, used by one thread
at a time). A reader that keeps the file open keeps every writer out, so it lets go:

* **when an extract wants to write.** A writer that cannot get the file leaves a marker in
  ``<warehouse>.writer-waiting/`` while it retries (:meth:`Warehouse._open`). A watcher
  thread lists that folder every ``poll_s`` (10 ms); when a marker of a live process is
  there, no new request gets the connection, and it is closed as soon as the requests
  already running finish. Requests that arrive meanwhile wait for the writer to get in
  (at most ``writer_wait_s``), then reopen through :meth:`Warehouse.reading`, which leaves
  a reader marker so the writer gives the file back after its ``hold_s``. So a request
  waits at most about ``hold_s`` plus one query while an extract runs, and never fails.
* **when idle** for ``idle_s`` (1 s): writers that leave no markers (the ``duckdb`` CLI)
  get in too, and an idle server holds nothing.

**Freshness.** While the connection is open no other process can write the file (a writer
needs it alone), so what the server reads cannot go stale; an extract's writes become
visible at the first request after it gave the file back, when the connection reopens.

**Memo.** For the same reason, whatever was computed from the open connection stays true
until it closes: :attr:`SharedReader.memo` keeps recent answers (counts of a filter set,
whole response bodies) and :attr:`SharedReader.rows` the rows and sort orders read (a
:class:`~leadkit.storage.queries.RowCache`) for as long as the connection is open, and both
are emptied with it. (When a writer in the same process has the file open, the reader shares
its database, whose data can change under it: then it keeps nothing.)

Example:
    >>> import os, tempfile
    >>> from leadkit.storage.warehouse import Warehouse
    >>> wh = Warehouse(os.path.join(tempfile.mkdtemp(), "r.duckdb"))
    >>> wh.migrate() >= 1
    True
    >>> with SharedReader(wh) as reader:
    ...     reader.query("size=1", "kpro_leads").total
    0
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Collection, Iterator
from types import TracebackType

import duckdb

from leadkit.errors import WarehouseError
from leadkit.query import QueryInput
from leadkit.storage.queries import (
    ORDER_CACHE_BYTES,
    ROW_CACHE_BYTES,
    LruCache,
    QueryResult,
    RowCache,
    TableDirectory,
    list_tables,
    query_table,
)
from leadkit.storage.warehouse import Warehouse

__all__ = ["Memo", "SharedReader"]

log = logging.getLogger("leadkit.serve")


class Memo(LruCache):
    """A thread-safe LRU of values computed from one open connection, bounded in bytes.

    Args:
        max_bytes: the total size of the values kept (``bytes`` count their length, other
            values 64 bytes).
        max_entries: the number of values kept.
    """

    def __init__(self, *, max_bytes: int = 64 << 20, max_entries: int = 4096) -> None:
        super().__init__(max_bytes=max_bytes, max_entries=max_entries)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


class SharedReader:
    """A warehouse's read-only connection shared by a server's worker threads.

    Args:
        warehouse: the warehouse to read.
        poll_s: how often the watcher looks for a waiting writer.
        idle_s: close the connection after this long without a request.
        writer_wait_s: how long a request waits for a waiting writer to get the file
            before it opens anyway (a writer that never gets in, e.g. one that died).
        row_cache_mb: rows kept between requests while the file is open, in MB of Arrow
            data (``[serve] row_cache_mb``); 0 with ``order_cache_mb`` 0: no row cache.
        order_cache_mb: sort orders of results a client pages through, in MB.

    Attributes:
        opens: how many times the file was opened.
        yields: how many times the connection was given up for a waiting writer.
    """

    def __init__(
        self,
        warehouse: Warehouse,
        *,
        poll_s: float = 0.01,
        idle_s: float = 1.0,
        writer_wait_s: float = 10.0,
        row_cache_mb: int = ROW_CACHE_BYTES >> 20,
        order_cache_mb: int = ORDER_CACHE_BYTES >> 20,
    ) -> None:
        self.warehouse = warehouse
        self._cache_bytes = (row_cache_mb << 20, order_cache_mb << 20)
        self.poll_s = poll_s
        self.idle_s = idle_s
        self.writer_wait_s = writer_wait_s
        self.opens = 0
        self.yields = 0
        self._directory = TableDirectory(keep_info=True)
        self._memo = Memo()
        self._rows: RowCache | None = self._row_cache()
        self._cond = threading.Condition()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._stack: contextlib.ExitStack | None = None
        self._active = 0
        self._draining = False
        self._opening = False
        self._last_used = 0.0
        self._closed = False
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def _row_cache(self) -> RowCache | None:
        rows, orders = self._cache_bytes
        if rows == 0 and orders == 0:
            return None
        return RowCache(max_bytes=rows, order_bytes=orders)

    def __repr__(self) -> str:
        state = "open" if self._con is not None else "closed"
        return f"<SharedReader {self.warehouse.path} {state}, {self._active} active>"

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the watcher thread (the connection itself opens on the first request)."""
        if self._watcher is None:
            self._watcher = threading.Thread(
                target=self._watch, name="leadkit-serve-watcher", daemon=True
            )
            self._watcher.start()

    def close(self) -> None:
        """Stop the watcher and close the connection (waits for running requests)."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        with self._cond:
            self._closed = True
            while self._active:
                self._cond.wait()
            self._close_locked()

    def __enter__(self) -> SharedReader:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        """Whether the file is open right now."""
        return self._con is not None

    @property
    def memo(self) -> Memo:
        """Answers computed from the open connection; use it only inside :meth:`cursor`.

        Emptied (replaced) whenever the file is reopened, never while a cursor is out.
        """
        return self._memo

    @property
    def rows(self) -> RowCache | None:
        """Row blocks and sort orders read from the open connection (like :attr:`memo`);
        None while the connection shares a writer's database in this process."""
        return self._rows

    @property
    def directory(self) -> TableDirectory:
        """Table names, keys and field catalogs of the open connection (like :attr:`memo`)."""
        return self._directory

    # -- reading ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the shared connection for this thread, for one request.

        Raises:
            WarehouseError: the warehouse is missing or cannot be opened.
            WarehouseBusyError: a writer held it past ``busy_timeout_s``.
        """
        con = self._acquire()
        try:
            cur = con.cursor()
            try:
                yield cur
            finally:
                cur.close()
        finally:
            self._release()

    def query(
        self,
        query: QueryInput = "",
        table: str = "leads",
        *,
        size: int | None = None,
        ignore: Collection[str] = (),
    ) -> QueryResult:
        """:func:`~leadkit.storage.queries.query_table` on a cursor of the shared connection."""
        with self.cursor() as cur:
            # All three are replaced only when the file is reopened, never while a cursor is out.
            directory, memo, rows = self._directory, self._memo, self._rows
            return query_table(
                cur,
                query,
                table,
                size=size,
                ignore=ignore,
                directory=directory,
                counts=memo,
                rows=rows,
                utc=True,  # SET GLOBAL when the file was opened
            )

    def release(self, timeout_s: float = 30.0) -> None:
        """Close the connection now (after the queries running on it), so a writer in this
        process can open the file; the next query reopens it."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            if self._con is None:
                return
            if self._active == 0:
                self._close_locked()
                return
            self._draining = True
            while self._con is not None and time.monotonic() < deadline:
                self._cond.wait(0.05)

    def tables(self) -> list[str]:
        """The tables and views of the warehouse."""
        with self.cursor() as cur:
            return list_tables(cur)

    # -- the connection --------------------------------------------------------------------

    def _acquire(self) -> duckdb.DuckDBPyConnection:
        waited_since: float | None = None
        with self._cond:
            while True:
                if self._closed:
                    raise WarehouseError("the reader is closed")
                if self._con is not None and not self._draining:
                    self._active += 1
                    self._last_used = time.monotonic()
                    return self._con
                if self._con is None and not self._opening:
                    if self._writer_waiting():
                        now = time.monotonic()
                        waited_since = waited_since or now
                        if now - waited_since < self.writer_wait_s:
                            self._cond.wait(self.poll_s)
                            continue
                        log.warning("a writer has waited %.0fs; opening anyway", now - waited_since)
                    self._opening = True
                    break
                self._cond.wait()
        stack = contextlib.ExitStack()
        try:
            con = stack.enter_context(self.warehouse.reading())
            # Every cursor of the connection reports timestamps in UTC.
            con.execute("SET GLOBAL TimeZone = 'UTC'")
            # A writer in this process may have the file open: the reader then shares its
            # database, whose data can change under it, so it keeps nothing it read.
            mode = con.execute("SELECT current_setting('access_mode')").fetchall()[0][0]
        except BaseException:
            stack.close()
            with self._cond:
                self._opening = False
                self._cond.notify_all()
            raise
        with self._cond:
            self._con, self._stack = con, stack
            # Table schemas cannot change while the file is open: remember them until closed.
            self._directory = TableDirectory(keep_info=True)
            stable = mode == "read_only"
            self._memo = Memo() if stable else Memo(max_bytes=0)
            self._rows = self._row_cache() if stable else None
            self._opening = False
            self.opens += 1
            self._active += 1
            self._last_used = time.monotonic()
            self._cond.notify_all()
        return con

    def _release(self) -> None:
        with self._cond:
            self._active -= 1
            self._last_used = time.monotonic()
            if self._draining and self._active == 0:
                self._close_locked()

    def _close_locked(self) -> None:
        if self._stack is not None:
            self._stack.close()
        self._con, self._stack = None, None
        self._draining = False
        self._cond.notify_all()

    def _writer_waiting(self) -> bool:
        """A marker of a live process in ``<warehouse>.writer-waiting/``."""
        try:
            names = os.listdir(self.warehouse.writer_waiting_dir)
        except OSError:
            return False
        for name in names:
            pid = name.partition("-")[0]
            if not pid.isdigit() or _alive(int(pid)):
                return True
        return False

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            if self._con is None:
                continue
            writer = self._writer_waiting()
            with self._cond:
                if self._con is None or self._draining:
                    continue
                idle = self._active == 0 and time.monotonic() - self._last_used >= self.idle_s
                if not writer and not idle:
                    continue
                if writer:
                    self.yields += 1
                    log.info("an extract waits to write: giving up the warehouse")
                if self._active == 0:
                    self._close_locked()
                else:
                    self._draining = True
