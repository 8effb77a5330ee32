"""The dashboard's numbers: every aggregation runs in DuckDB, results are cached.

:class:`DashboardData` answers each chart with one ``GROUP BY`` query through the
warehouse's read path (:meth:`~leadkit.storage.warehouse.Warehouse.reading`: a read-only
connection that waits while an extract commits). Only the matching-rows table loads rows,
and only a limited number of them. No streamlit import: notebooks, tests and the benchmark
use this module directly.

Results are cached by the warehouse file's *signature* (modification time and size of the
file and of its ``.wal``): an extract that commits changes the signature, so the next
render reads fresh numbers, and a render with nothing changed reads nothing at all.

Example:
    >>> import os, tempfile
    >>> from leadkit.storage.warehouse import Warehouse
    >>> wh = Warehouse(os.path.join(tempfile.mkdtemp(), "d.duckdb"))
    >>> data = DashboardData(wh)
    >>> data.status().state
    'missing'
    >>> _ = wh.migrate()
    >>> data.status().state
    'empty'
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar

import duckdb
import polars as pl

from leadkit.dashboard.scope import (
    LEAD_TABLES,
    FilterPlan,
    LeadTable,
    Scope,
    TablePlan,
    compile_filter,
    relation_sql,
)
from leadkit.errors import WarehouseError
from leadkit.query import FieldCatalog, quote_identifier
from leadkit.storage.warehouse import Warehouse

__all__ = [
    "ELIGIBILITY_STATUSES",
    "FILL_HINT",
    "GRAINS",
    "OVIPRO_STATUSES",
    "DashboardData",
    "Grain",
    "WarehouseStatus",
]

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")

#: KPro's eligibility statuses in the order a housing provider reads them.
ELIGIBILITY_STATUSES = ("passed", "considered", "incomplete", "not-checked", "failed")
#: OviPro's lead statuses in funnel order.
OVIPRO_STATUSES = ("NEW", "IN_PROGRESS", "APPROVED", "REJECTED")

FILL_HINT = (
    "run `leadkit extract` to fill it from your sources, or `leadkit demo` to try leadkit "
    "against the built-in sandbox APIs"
)

T = TypeVar("T")


@dataclass(frozen=True)
class WarehouseStatus:
    """Whether there is anything to show.

    Attributes:
        state: ``missing`` (no file), ``empty`` (no leads yet) or ``ready``.
        message: what to tell the user (with the command that fills the warehouse).
        leads: the number of leads in the lead tables.
    """

    state: Literal["missing", "empty", "ready"]
    message: str
    leads: int = 0


@dataclass(frozen=True)
class _Tables:
    """The warehouse's tables as last read: lead tables with their relation and catalog."""

    names: frozenset[str]
    columns: dict[str, dict[str, str]]
    relations: dict[str, str] = field(default_factory=dict)
    catalogs: dict[str, FieldCatalog] = field(default_factory=dict)


class DashboardData:
    """Cached, pushed-down queries over one warehouse for the dashboard.

    Args:
        warehouse: the warehouse to read.
        cache_size: how many query results to keep (least recently used go first).

    Safe to share between threads (streamlit sessions): each thread has its own connection,
    the cache is locked.
    """

    def __init__(self, warehouse: Warehouse, *, cache_size: int = 512) -> None:
        self.warehouse = warehouse
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._local = threading.local()

    # -- connections and cache -------------------------------------------------------------

    def signature(self) -> tuple[int, ...]:
        """Modification time and size of the warehouse file and its WAL (0s when absent)."""
        parts: list[int] = []
        for path in (
            self.warehouse.path,
            self.warehouse.path.with_name(self.warehouse.path.name + ".wal"),
        ):
            try:
                st = path.stat()
                parts += [st.st_mtime_ns, st.st_size]
            except OSError:
                parts += [0, 0]
        return tuple(parts)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Share one read-only connection between the queries inside (one page render).

        The connection is opened on the first query that misses the cache and closed at the
        end, or before a query when an extract is waiting to write.
        """
        self._local.batch = True
        try:
            yield
        finally:
            self._local.batch = False
            self._close()

    def _close(self) -> None:
        stack: contextlib.ExitStack | None = getattr(self._local, "stack", None)
        self._local.con = None
        self._local.stack = None
        if stack is not None:
            stack.close()

    @contextlib.contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con: duckdb.DuckDBPyConnection | None = getattr(self._local, "con", None)
        if con is not None and self.warehouse.writer_waiting():
            self._close()
            con = None
        if con is None:
            stack = contextlib.ExitStack()
            con = stack.enter_context(self.warehouse.reading())
            if getattr(self._local, "batch", False):
                self._local.con = con
                self._local.stack = stack
            else:
                try:
                    yield con
                finally:
                    stack.close()
                return
        yield con

    def _cached(self, key: Hashable, compute: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        full = (self.signature(), key)
        with self._lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                return self._cache[full]  # type: ignore[no-any-return]
        with self._connection() as con:
            try:
                value = compute(con)
            except duckdb.Error as exc:
                raise WarehouseError(f"dashboard query failed: {exc}") from exc
        with self._lock:
            self._cache[full] = value
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return value

    def clear_cache(self) -> None:
        """Forget every cached result."""
        with self._lock:
            self._cache.clear()

    # -- what exists -----------------------------------------------------------------------

    def _tables(self) -> _Tables:
        return self._cached(("tables",), _read_tables)

    def has_table(self, name: str) -> bool:
        """Whether the warehouse has this table or view."""
        return name in self._tables().names

    def lead_tables(self) -> list[LeadTable]:
        """The lead tables present in the warehouse, in display order."""
        present = self._tables().relations
        return [t for t in LEAD_TABLES if t.table in present]

    def status(self) -> WarehouseStatus:
        """``missing``, ``empty`` or ``ready``, with the message to show."""
        path = self.warehouse.path
        if not path.exists():
            return WarehouseStatus(
                "missing", f"There is no warehouse at `{path}` yet: {FILL_HINT}."
            )
        tables = self._tables()
        if not tables.relations:
            return WarehouseStatus(
                "empty", f"The warehouse `{path}` has no lead tables: {FILL_HINT}."
            )

        counts = self.table_counts()
        leads = sum(n for t, n in counts.items() if t in tables.relations)
        if leads == 0:
            return WarehouseStatus(
                "empty", f"The warehouse `{path}` has no leads yet: {FILL_HINT}."
            )
        return WarehouseStatus("ready", "", leads)

    def table_counts(self) -> dict[str, int]:
        """Rows in each lead table present (and in ``_deliveries`` when it exists)."""
        tables = self._tables()
        names = [*tables.relations, *(["_deliveries"] if "_deliveries" in tables.names else [])]
        if not names:
            return {}
        sql = ", ".join(f"(SELECT count(*) FROM {quote_identifier(t)})" for t in names)

        def count(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
            row = con.execute(f"SELECT {sql}").fetchall()[0]
            return {t: int(n) for t, n in zip(names, row, strict=True)}

        return self._cached(("table-counts",), count)

    def has_rows(self, table: str) -> bool:
        """Whether a lead table (or ``_deliveries``) exists and has any row."""
        return self.table_counts().get(table, 0) > 0

    def plan(self, text: str) -> FilterPlan:
        """The filter box compiled against every lead table present."""
        tables = self._tables()
        return self._cached(
            ("plan", text.strip()),
            lambda _con: compile_filter(
                text, {t: tables.columns[t] for t in tables.relations}, tables.catalogs
            ),
        )

    def sources(self) -> list[str]:
        """Every source name seen in the lead tables or in ``_runs``."""
        tables = self._tables()
        parts = [
            f"SELECT DISTINCT _source AS s FROM {quote_identifier(t)}" for t in tables.relations
        ]
        if "_runs" in tables.names:
            parts.append("SELECT DISTINCT source AS s FROM _runs")
        if not parts:
            return []
        sql = f"SELECT DISTINCT s FROM ({' UNION ALL '.join(parts)}) WHERE s IS NOT NULL ORDER BY s"
        return self._cached(
            ("sources",), lambda con: [str(r[0]) for r in con.execute(sql).fetchall()]
        )

    def date_bounds(self) -> tuple[date, date] | None:
        """The first and last UTC day any lead was created (None with no dated leads)."""
        tables = self._tables()
        if not tables.relations:
            return None
        parts = [
            f"SELECT min(created_at) AS lo, max(created_at) AS hi FROM ({rel})"
            for rel in tables.relations.values()
        ]
        sql = f"SELECT min(lo)::DATE, max(hi)::DATE FROM ({' UNION ALL '.join(parts)})"

        def read(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
            lo, hi = con.execute(sql).fetchall()[0]
            return (lo, hi) if lo is not None and hi is not None else None

        return self._cached(("date-bounds",), read)

    # -- the filtered leads ------------------------------------------------------------------

    def _where(
        self,
        plan: TablePlan,
        scope: Scope,
        *,
        dated: bool = True,
        window: tuple[date, date] | None = None,
    ) -> tuple[str, list[Any]]:
        clauses = [f"({plan.where})"]
        params: list[Any] = list(plan.params)
        if scope.sources:
            clauses.append(f"_source IN ({', '.join('?' for _ in scope.sources)})")
            params += list(scope.sources)
        start, end = window or (scope.start, scope.end)
        if dated and start is not None:
            clauses.append("created_at >= ?")
            params.append(_utc_day(start))
        if dated and end is not None:
            clauses.append("created_at < ?")
            params.append(_utc_day(end + timedelta(days=1)))
        return " AND ".join(clauses), params

    def _filtered(
        self, table: str, scope: Scope, *, dated: bool = True
    ) -> tuple[str, list[Any]] | None:
        """``SELECT * FROM <relation> WHERE <scope>`` for one lead table (None if left out)."""
        tables = self._tables()
        plan = self.plan(scope.filter).tables.get(table)
        if plan is None or table not in tables.relations:
            return None
        where, params = self._where(plan, scope, dated=dated)
        return f"SELECT * FROM ({tables.relations[table]}) WHERE {where}", params

    def _union(
        self, scope: Scope, columns: str, *, dated: bool = True
    ) -> tuple[str, list[Any]] | None:
        """The matching leads of every lead table, as ``columns`` (canonical names)."""
        parts: list[str] = []
        params: list[Any] = []
        for t in self.lead_tables():
            one = self._filtered(t.table, scope, dated=dated)
            if one is None:
                continue
            parts.append(f"SELECT {columns} FROM ({one[0]})")
            params += one[1]
        if not parts:
            return None
        return " UNION ALL ".join(parts), params

    def _frame(self, key: Hashable, sql: str, params: list[Any]) -> pl.DataFrame:
        return self._cached(key, lambda con: _pl(con, sql, params))

    # -- overview ----------------------------------------------------------------------------

    def overview(self, scope: Scope) -> pl.DataFrame:
        """Leads per system and source: ``total`` (any date), ``period`` (the chosen dates)
        and ``previous`` (the same number of days just before; null with no start date)."""
        empty = pl.DataFrame(
            schema={
                "system": pl.String,
                "source": pl.String,
                "total": pl.Int64,
                "period": pl.Int64,
                "previous": pl.Int64,
            }
        )
        union = self._union(scope, "system, _source AS source, created_at", dated=False)
        if union is None:
            return empty
        conds, params = [], []
        period, previous = _windows(scope)
        for i, (lo, hi) in enumerate((period, previous)):
            if lo is None and hi is None:
                conds.append("CAST(NULL AS BIGINT)" if i else "count(*)")
                continue
            where = []
            if lo is not None:
                where.append("created_at >= ?")
                params.append(_utc_day(lo))
            if hi is not None:
                where.append("created_at < ?")
                params.append(_utc_day(hi + timedelta(days=1)))
            conds.append(f"count(*) FILTER (WHERE {' AND '.join(where)})")
        sql = (
            f"SELECT system, source, count(*) AS total, {conds[0]} AS period, "
            f"{conds[1]} AS previous FROM ({union[0]}) GROUP BY system, source "
            "ORDER BY system, source"
        )
        return self._frame(("overview", scope.key()), sql, params + union[1])

    def rejects_total(self, scope: Scope) -> int:
        """Distinct rejected records in ``_rejects`` for the chosen sources."""
        if not self.has_table("_rejects"):
            return 0
        where, params = _sources_where(scope, "source")
        frame = self._frame(
            ("rejects-total", scope.sources),
            f"SELECT count(*) AS n FROM _rejects WHERE {where}",
            params,
        )
        return int(frame["n"][0])

    def freshness(
        self,
        scope: Scope,
        *,
        now: datetime | None = None,
        stale_after: timedelta = timedelta(hours=26),
    ) -> pl.DataFrame:
        """Per source: the last successful extract, hours since, and whether it is stale.

        A source is stale when its last success is older than ``stale_after`` or it never
        succeeded.
        """
        schema: dict[str, pl.DataType] = {
            "source": pl.String(),
            "system": pl.String(),
            "last_success": pl.Datetime("us", "UTC"),
            "last_status": pl.String(),
            "hours_since": pl.Float64(),
            "stale": pl.Boolean(),
        }
        if not self.has_table("_runs"):
            return pl.DataFrame(schema=schema)
        where, params = _sources_where(scope, "source")
        sql = (
            "SELECT source, any_value(system) AS system, "
            "max(ended_at) FILTER (WHERE status = 'success') AS last_success, "
            "arg_max(status, started_at) AS last_status "
            f"FROM _runs WHERE {where} GROUP BY source ORDER BY source"
        )
        frame = self._frame(("freshness", scope.sources), sql, params)
        now = now or datetime.now(UTC)
        hours = (pl.lit(now) - pl.col("last_success")).dt.total_seconds() / 3600
        return frame.with_columns(
            hours.round(1).alias("hours_since"),
        ).with_columns(
            (
                pl.col("hours_since").is_null()
                | (pl.col("hours_since") > stale_after.total_seconds() / 3600)
            ).alias("stale")
        )

    # -- volumes -----------------------------------------------------------------------------

    def volumes(self, scope: Scope, grain: Grain = "week") -> pl.DataFrame:
        """Leads per period (``day``/``week``/``month``, UTC) and source."""
        if grain not in GRAINS:
            raise ValueError(f"grain {grain!r} is not one of {', '.join(GRAINS)}")
        union = self._union(scope, "_source AS source, created_at")
        if union is None:
            return pl.DataFrame(schema={"period": pl.Date, "source": pl.String, "leads": pl.Int64})
        sql = (
            f"SELECT date_trunc('{grain}', created_at)::DATE AS period, source, count(*) AS leads "
            f"FROM ({union[0]}) WHERE created_at IS NOT NULL GROUP BY ALL ORDER BY period, source"
        )
        return self._frame(("volumes", grain, scope.key()), sql, union[1])

    # -- eligibility -------------------------------------------------------------------------

    def eligibility(self, scope: Scope, grain: Grain = "month") -> pl.DataFrame | None:
        """KPro leads per period, site (``site.name``) and eligibility status (None: no KPro)."""
        one = self._filtered("kpro_leads", scope)
        if one is None:
            return None
        sql = (
            f"SELECT date_trunc('{grain}', created_at)::DATE AS period, "
            "coalesce(site.name, '(no site)') AS site, "
            "coalesce(eligibility_status, '(none)') AS status, count(*) AS leads "
            f"FROM ({one[0]}) GROUP BY ALL ORDER BY period, site, status"
        )
        return self._frame(("eligibility", grain, scope.key()), sql, one[1])

    def eligibility_by_site(self, scope: Scope) -> pl.DataFrame | None:
        """Per site: leads in each eligibility status, total and the share that passed."""
        one = self._filtered("kpro_leads", scope)
        if one is None:
            return None
        counts = ", ".join(
            f"count(*) FILTER (WHERE eligibility_status = '{s}') AS \"{s}\""
            for s in ELIGIBILITY_STATUSES
        )
        sql = (
            f"SELECT coalesce(site.name, '(no site)') AS site, {counts}, count(*) AS total, "
            "round(count(*) FILTER (WHERE eligibility_status = 'passed') / count(*), 4) "
            "AS pass_share "
            f"FROM ({one[0]}) GROUP BY ALL ORDER BY total DESC, site"
        )
        return self._frame(("eligibility-site", scope.key()), sql, one[1])

    # -- categories --------------------------------------------------------------------------

    def categories(self, scope: Scope, kind: str) -> pl.DataFrame | None:
        """Counts and shares of one category breakdown (None when its table is absent).

        Args:
            scope: what to count.
            kind: ``carehome`` (care-home lead categories), ``ovipro_type`` (OviPro lead
                types), ``ovipro_source`` (OviPro source types) or ``kpro_enquiry`` (KPro
                enquiry types).
        """
        table, expr = _CATEGORY_KINDS[kind]
        one = self._filtered(table, scope)
        if one is None:
            return None
        sql = (
            f"SELECT coalesce(CAST({expr} AS VARCHAR), '(none)') AS category, count(*) AS leads, "
            "round(count(*) / sum(count(*)) OVER (), 4) AS share "
            f"FROM ({one[0]}) GROUP BY ALL ORDER BY leads DESC, category"
        )
        return self._frame(("categories", kind, scope.key()), sql, one[1])

    # -- OviPro funnel -----------------------------------------------------------------------

    def funnel(self, scope: Scope) -> pl.DataFrame | None:
        """OviPro leads per status, with time to decision (hours) for decided ones."""
        one = self._filtered("ovipro_leads", scope)
        if one is None:
            return None
        hours = "(epoch(decision_time) - epoch(creation_time)) / 3600"
        sql = (
            "SELECT lead_status_code AS status, count(*) AS leads, "
            f"count(decision_time) AS decided, round(median({hours}), 1) AS median_hours, "
            f"round(quantile_cont({hours}, 0.9), 1) AS p90_hours, "
            f"round(avg({hours}), 1) AS mean_hours "
            f"FROM ({one[0]}) GROUP BY ALL"
        )
        frame = self._frame(("funnel", scope.key()), sql, one[1])
        order = {s: i for i, s in enumerate(OVIPRO_STATUSES)}
        return frame.sort(
            pl.col("status").replace_strict(order, default=len(order), return_dtype=pl.Int64)
        )

    def time_to_decision(self, scope: Scope) -> pl.DataFrame | None:
        """Decided OviPro leads by whole days from creation to decision, and status."""
        one = self._filtered("ovipro_leads", scope)
        if one is None:
            return None
        sql = (
            "SELECT CAST(floor((epoch(decision_time) - epoch(creation_time)) / 86400) AS BIGINT) "
            "AS days, lead_status_code AS status, count(*) AS leads "
            f"FROM ({one[0]}) WHERE decision_time IS NOT NULL GROUP BY ALL ORDER BY days, status"
        )
        return self._frame(("decision-days", scope.key()), sql, one[1])

    # -- data quality and operations ---------------------------------------------------------

    def _ops_sources(self, scope: Scope) -> tuple[str, ...]:
        """The sources operations tables show: the chosen ones, narrowed by the filter box to
        the sources that have matching leads."""
        if not scope.filter.strip():
            return scope.sources
        return tuple(self.overview(scope).filter(pl.col("total") > 0)["source"].to_list()) or (
            "\x00none",
        )

    def rejects(self, scope: Scope) -> pl.DataFrame | None:
        """``_rejects`` by reason and source: distinct records and how often they were seen."""
        if not self.has_table("_rejects"):
            return None
        sources = self._ops_sources(scope)
        where, params = _sources_where(Scope(sources=sources), "source")
        sql = (
            "SELECT reason, source, count(*) AS records, sum(times_seen) AS times_seen, "
            f"max(last_seen_at) AS last_seen FROM _rejects WHERE {where} "
            "GROUP BY ALL ORDER BY records DESC, reason, source"
        )
        return self._frame(("rejects", sources), sql, params)

    def runs(self, scope: Scope, limit: int = 200) -> pl.DataFrame | None:
        """The latest ``_runs`` rows: duration, leads, rejects, retries, warnings, errors."""
        if not self.has_table("_runs"):
            return None
        columns = self._tables().columns.get("_runs", {})
        warnings = "warnings" if "warnings" in columns else "CAST(NULL AS BIGINT)"
        sources = self._ops_sources(scope)
        where, params = _sources_where(Scope(sources=sources), "source")
        sql = (
            "SELECT started_at, source, system, mode, status, "
            "round(epoch(ended_at) - epoch(started_at), 2) AS seconds, records, "
            "leads_inserted AS inserted, leads_updated AS updated, rejects, retries, "
            f"{warnings} AS warnings, error, run_id FROM _runs WHERE {where} "
            "ORDER BY started_at DESC, source LIMIT ?"
        )
        return self._frame(("runs", sources, limit), sql, [*params, limit])

    def runs_summary(self, scope: Scope) -> pl.DataFrame | None:
        """Per source: runs, failed runs, median duration, leads inserted and data-quality
        warnings (``_runs.warnings``: leads kept with a warning) over all runs."""
        if not self.has_table("_runs"):
            return None
        sources = self._ops_sources(scope)
        where, params = _sources_where(Scope(sources=sources), "source")
        columns = self._tables().columns.get("_runs", {})
        warnings = "sum(warnings)" if "warnings" in columns else "CAST(NULL AS HUGEINT)"
        sql = (
            "SELECT source, count(*) AS runs, "
            "count(*) FILTER (WHERE status = 'success') AS succeeded, "
            "count(*) FILTER (WHERE status IN ('failed', 'killed', 'interrupted')) AS failed, "
            "round(median(epoch(ended_at) - epoch(started_at)), 2) AS median_seconds, "
            f"sum(leads_inserted) AS inserted, {warnings} AS warnings FROM _runs "
            f"WHERE {where} GROUP BY source ORDER BY source"
        )
        return self._frame(("runs-summary", sources), sql, params)

    def deliveries(self, scope: Scope) -> pl.DataFrame | None:
        """``_deliveries`` outcomes by destination (and its kind) and status: leads, attempts
        and the last attempt (None before push exists).

        With a filter, only deliveries of matching leads count.
        """
        if not self.has_table("_deliveries"):
            return None
        clauses, params = ["TRUE"], []
        if scope.sources:
            clauses.append(f"source IN ({', '.join('?' for _ in scope.sources)})")
            params += list(scope.sources)
        if scope.filter.strip():
            union = self._union(scope, "system, _source AS source, lead_id", dated=False)
            if union is None:
                clauses.append("FALSE")
            else:
                clauses.append(
                    "(system, source, lead_id) IN "
                    f"(SELECT system, source, lead_id FROM ({union[0]}))"
                )
                params += union[1]
        sql = (
            "SELECT destination, kind, status, count(*) AS leads, sum(attempts) AS attempts, "
            f"max(last_attempt_at) AS last_attempt FROM _deliveries WHERE {' AND '.join(clauses)} "
            "GROUP BY ALL ORDER BY destination, leads DESC"
        )
        return self._frame(("deliveries", scope.key()), sql, params)

    # -- matching rows -----------------------------------------------------------------------

    ROW_COLUMNS = (
        "system, _source AS source, lead_id, created_at, status, category, channel, "
        "full_name, email, phone, postcode"
    )

    def rows(self, scope: Scope, limit: int = 200) -> pl.DataFrame:
        """The newest ``limit`` matching leads, canonical columns (personal data unmasked)."""
        union = self._union(scope, self.ROW_COLUMNS)
        if union is None:
            names = [c.strip().split(" AS ")[-1] for c in self.ROW_COLUMNS.split(",")]
            schema: dict[str, pl.DataType] = {n: pl.String() for n in names}
            return pl.DataFrame(schema=schema)
        sql = (
            f"SELECT * FROM ({union[0]}) ORDER BY created_at DESC NULLS LAST, system, source, "
            "lead_id LIMIT ?"
        )
        return self._frame(("rows", scope.key(), limit), sql, [*union[1], limit])

    def rows_csv(self, scope: Scope, *, limit: int = 100_000, mask: bool = True) -> bytes:
        """The matching leads as CSV (at most ``limit`` rows; masked unless ``mask=False``)."""
        from leadkit.dashboard.mask import mask_frame

        frame = self.rows(scope, limit)
        if mask:
            frame = mask_frame(frame)
        buffer = io.BytesIO()
        frame.write_csv(buffer)
        return buffer.getvalue()


_CATEGORY_KINDS: dict[str, tuple[str, str]] = {
    "carehome": ("carehome_leads", "category_name"),
    "ovipro_type": ("ovipro_leads", "lead.lead_type_code"),
    "ovipro_source": ("ovipro_leads", "lead.lead_source_type_code"),
    "kpro_enquiry": ("kpro_leads", "enquiry_type"),
}


def _pl(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> pl.DataFrame:
    frame: pl.DataFrame = con.sql(sql, params=params).pl()
    return frame


def _utc_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _windows(
    scope: Scope,
) -> tuple[tuple[date | None, date | None], tuple[date | None, date | None]]:
    """The chosen period and the one just before it (of the same length)."""
    period = (scope.start, scope.end)
    if scope.start is None or scope.end is None:
        return period, (None, None)
    days = (scope.end - scope.start).days + 1
    return period, (scope.start - timedelta(days=days), scope.start - timedelta(days=1))


def _sources_where(scope: Scope, column: str) -> tuple[str, list[Any]]:
    if not scope.sources:
        return "TRUE", []
    return f"{column} IN ({', '.join('?' for _ in scope.sources)})", list(scope.sources)


def _read_tables(con: duckdb.DuckDBPyConnection) -> _Tables:
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
    ).fetchall()
    columns: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        columns.setdefault(str(table), {})[str(column)] = str(data_type)
    names = frozenset(columns)
    relations: dict[str, str] = {}
    catalogs: dict[str, FieldCatalog] = {}
    for t in LEAD_TABLES:
        if t.table not in columns:
            continue
        own = columns[t.table]
        usable = {}
        for name, expr in t.canonical.items():
            if name in own:
                continue
            try:
                con.execute(f"SELECT {expr} FROM {quote_identifier(t.table)} LIMIT 0")
                usable[name] = True
            except duckdb.Error:
                usable[name] = False
        relation = relation_sql(t, own, usable)
        try:
            schema = con.sql(f"SELECT * FROM ({relation}) LIMIT 0").pl().schema
        except duckdb.Error:
            continue
        relations[t.table] = relation
        catalogs[t.table] = FieldCatalog.from_polars_schema(schema)
    return _Tables(names, columns, relations, catalogs)
