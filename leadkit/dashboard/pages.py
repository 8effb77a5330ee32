"""The dashboard's pages: layout only, each reading top-down (title, numbers, chart, table).

Every page is a function ``(data, scope, settings) -> None`` registered in :data:`PAGES`.
Numbers come from :class:`~leadkit.dashboard.data.DashboardData` (aggregated in DuckDB);
a page whose table is not in the warehouse yet says so instead of drawing an empty chart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import polars as pl
import streamlit as st

from leadkit.dashboard.data import ELIGIBILITY_STATUSES, DashboardData, Grain
from leadkit.dashboard.mask import mask_frame
from leadkit.dashboard.scope import Scope
from leadkit.push.ledger import DELIVERED

__all__ = ["PAGES", "ROWS_SHOWN", "Settings"]

#: How many matching leads the Leads page shows (the CSV has up to ``CSV_ROWS``).
ROWS_SHOWN = 200
CSV_ROWS = 100_000


@dataclass(frozen=True)
class Settings:
    """Sidebar choices that shape the pages but not which leads count."""

    grain: Grain = "week"
    stale_hours: int = 26
    reveal: bool = False


Page = Callable[[DashboardData, Scope, Settings], None]


def _n(value: object) -> str:
    return "–" if value is None else f"{int(value):,}"  # type: ignore[call-overload]


def _table(frame: pl.DataFrame, *, key: str) -> None:
    """A table in a container keyed ``table-<key>`` (tests find it by that key)."""
    with st.container(key=f"table-{key}"):
        st.dataframe(frame.to_pandas(), hide_index=True, width="stretch")


def _missing(what: str, command: str = "leadkit extract") -> None:
    st.info(f"No {what} extracted yet: add one to leadkit.toml and run `{command}`.")


def overview(data: DashboardData, scope: Scope, settings: Settings) -> None:
    """Totals, the chosen period against the one before, leads by source, freshness."""
    frame = data.overview(scope)
    total = int(frame["total"].sum())
    period = int(frame["period"].sum())
    previous = frame["previous"].sum() if frame["previous"].null_count() < frame.height else None
    rejects = data.rejects_total(scope)
    fresh = data.freshness(scope, stale_after=timedelta(hours=settings.stale_hours))
    stale = fresh.filter(pl.col("stale"))["source"].to_list()
    a, b, c, d = st.columns(4)
    a.metric("Total leads", _n(total))
    delta = None if previous is None else f"{period - int(previous):+,} vs previous period"
    b.metric("New leads in period", _n(period), delta=delta)
    c.metric("Rejected records", _n(rejects))
    d.metric("Stale sources", _n(len(stale)))
    if scope.start and scope.end:
        days = (scope.end - scope.start).days + 1
        st.caption(
            f"Period: {scope.start} to {scope.end} ({days} days, UTC); previous period: the "
            f"{days} days before."
        )
    st.subheader("Leads by system and source")
    if frame.height:
        st.bar_chart(frame.to_pandas(), x="source", y="total", color="system", horizontal=True)
        shown = frame.with_columns((pl.col("period") - pl.col("previous")).alias("change"))
        _table(shown, key="overview_sources")
    else:
        st.info("No lead matches the filter.")
    st.subheader("Time since the last successful extract")
    if stale:
        st.warning(
            f"Stale (no successful extract for {settings.stale_hours} h or never): "
            + ", ".join(stale)
        )
    if fresh.height:
        _table(fresh, key="freshness")
    else:
        st.info("No extract has run yet: run `leadkit extract`.")


def volumes(data: DashboardData, scope: Scope, settings: Settings) -> None:
    """Leads per day / week / month, stacked by source."""
    frame = data.volumes(scope, settings.grain)
    st.metric("Leads in range", _n(int(frame["leads"].sum())))
    if not frame.height:
        st.info("No lead matches the filter and dates.")
        return
    st.bar_chart(frame.to_pandas(), x="period", y="leads", color="source", stack=True)
    by_source = frame.group_by("source").agg(pl.col("leads").sum()).sort("source")
    _table(by_source, key="volumes_sources")
    with st.expander(f"Leads per {settings.grain} and source"):
        _table(frame, key="volumes")


def eligibility(data: DashboardData, scope: Scope, settings: Settings) -> None:
    """KPro eligibility status by site over time, and the share that passed."""
    by_site = data.eligibility_by_site(scope)
    frame = data.eligibility(scope, settings.grain)
    if by_site is None or frame is None or not data.has_rows("kpro_leads"):
        if not data.has_rows("kpro_leads"):
            _missing("KPro source")
        else:
            st.info("The filter leaves out every KPro lead.")
        return
    total = int(by_site["total"].sum())
    passed = int(by_site["passed"].sum())
    a, b = st.columns(2)
    a.metric("KPro leads", _n(total))
    b.metric("Passed", _n(passed), delta=f"{passed / total:.1%} pass" if total else None)
    if not total:
        st.info("No KPro lead matches the filter and dates.")
        return
    st.subheader("Eligibility status over time")
    per_status = frame.group_by("period", "status").agg(pl.col("leads").sum()).sort("period")
    st.bar_chart(per_status.to_pandas(), x="period", y="leads", color="status", stack=True)
    st.subheader("Share that passed, by site (the five largest)")
    top = by_site.head(5)["site"].to_list()
    share = (
        frame.filter(pl.col("site").is_in(top))
        .group_by("period", "site")
        .agg(
            (
                pl.col("leads").filter(pl.col("status") == "passed").sum() / pl.col("leads").sum()
            ).alias("pass_share")
        )
        .sort("period")
    )
    st.line_chart(share.to_pandas(), x="period", y="pass_share", color="site")
    st.subheader("By site")
    st.caption("Statuses: " + ", ".join(ELIGIBILITY_STATUSES) + "; pass_share = passed / total.")
    _table(by_site, key="eligibility_sites")


_CATEGORY_SECTIONS = (
    ("carehome", "Care-home lead categories", "carehome_leads", "carehome source"),
    ("ovipro_type", "OviPro lead types", "ovipro_leads", "OviPro source"),
    ("ovipro_source", "OviPro source types", "ovipro_leads", "OviPro source"),
    ("kpro_enquiry", "KPro enquiry types", "kpro_leads", "KPro source"),
)


def categories(data: DashboardData, scope: Scope, settings: Settings) -> None:
    """One chart each: care-home categories, OviPro lead and source types, KPro enquiries."""
    for kind, title, table, what in _CATEGORY_SECTIONS:
        st.subheader(title)
        frame = data.categories(scope, kind)
        if not data.has_rows(table):
            _missing(what)
            continue
        if frame is None:
            st.info("The filter leaves out these leads.")
            continue
        if not frame.height:
            st.info("No lead matches the filter and dates.")
            continue
        left, right = st.columns([3, 2])
        with left:
            st.bar_chart(frame.to_pandas(), x="category", y="leads", horizontal=True)
        with right:
            _table(frame, key=f"categories_{kind}")


def funnel(data: DashboardData, scope: Scope, settings: Settings) -> None:
    """OviPro NEW → IN_PROGRESS → APPROVED / REJECTED, with time to decision."""
    frame = data.funnel(scope)
    if not data.has_rows("ovipro_leads"):
        _missing("OviPro source")
        return
    if frame is None:
        st.info("The filter leaves out every OviPro lead.")
        return
    counts = dict(zip(frame["status"].to_list(), frame["leads"].to_list(), strict=True))
    total = sum(counts.values())
    decided = counts.get("APPROVED", 0) + counts.get("REJECTED", 0)
    a, b, c, d = st.columns(4)
    a.metric("OviPro leads", _n(total))
    b.metric("Being worked (IN_PROGRESS)", _n(counts.get("IN_PROGRESS", 0)))
    c.metric("Decided", _n(decided))
    d.metric(
        "Approved of decided", f"{counts.get('APPROVED', 0) / decided:.1%}" if decided else "–"
    )
    if not total:
        st.info("No OviPro lead matches the filter and dates.")
        return
    stages = pl.DataFrame(
        {
            "stage": ["1 received", "2 picked up", "3 decided", "4 approved", "4 rejected"],
            "leads": [
                total,
                total - counts.get("NEW", 0),
                decided,
                counts.get("APPROVED", 0),
                counts.get("REJECTED", 0),
            ],
        }
    )
    st.bar_chart(stages.to_pandas(), x="stage", y="leads", horizontal=True)
    st.caption(
        "picked up = no longer NEW; decided = APPROVED or REJECTED. "
        "Hours run from creation to decision."
    )
    _table(frame, key="funnel")
    days = data.time_to_decision(scope)
    if days is not None and days.height:
        st.subheader("Days from creation to decision")
        st.bar_chart(days.to_pandas(), x="days", y="leads", color="status", stack=True)


def quality(data: DashboardData, scope: Scope, settings: Settings) -> None:
    """``_rejects`` by reason, ``_runs`` history, ``_deliveries`` by destination."""
    if scope.filter.strip():
        st.caption("With a filter, runs and rejects are those of the sources with matching leads.")
    st.subheader("Rejected records by reason")
    rejects = data.rejects(scope)
    if rejects is None or not rejects.height:
        st.success("No rejected records.")
    else:
        by_reason = (
            rejects.group_by("reason").agg(pl.col("records").sum()).sort("records", descending=True)
        )
        st.bar_chart(by_reason.to_pandas(), x="reason", y="records", horizontal=True)
        _table(rejects, key="rejects")
    st.subheader("Extract runs")
    summary = data.runs_summary(scope)
    runs = data.runs(scope)
    if summary is None or runs is None or not runs.height:
        st.info("No extract has run yet: run `leadkit extract`.")
    else:
        failed = int(summary["failed"].sum())
        a, b = st.columns(2)
        a.metric("Runs (source × run)", _n(int(summary["runs"].sum())))
        b.metric("Failed runs", _n(failed))
        _table(summary, key="runs_summary")
        st.line_chart(runs.to_pandas(), x="started_at", y="seconds", color="source")
        _table(runs, key="runs")
    st.subheader("Deliveries by destination")
    deliveries = data.deliveries(scope)
    if deliveries is None or not data.has_rows("_deliveries"):
        st.info("No deliveries yet: the `_deliveries` ledger fills once leads are pushed.")
    elif not deliveries.height:
        st.info("No delivery matches the filter.")
    else:
        by_status = dict(deliveries.group_by("status").agg(pl.col("leads").sum()).iter_rows())
        a, b, c = st.columns(3)
        a.metric("Delivered", _n(sum(n for s, n in by_status.items() if s in DELIVERED)))
        b.metric("Rejected deliveries", _n(by_status.get("rejected", 0)))
        c.metric("Failed deliveries", _n(by_status.get("failed", 0)))
        st.caption(
            "Delivered = sent, updated or skipped-duplicate (the destination has the lead). "
            "Rejected leads are not resent until they change; failed ones are retried by the "
            "next push. `leadkit deliveries --status rejected` lists every reason."
        )
        st.bar_chart(
            deliveries.to_pandas(),
            x="destination",
            y="leads",
            color="status",
            stack=True,
            horizontal=True,
        )
        _table(deliveries, key="deliveries")


def leads(data: DashboardData, scope: Scope, settings: Settings) -> None:
    """The matching leads (newest first), personal data masked unless revealed, as CSV."""
    total = int(data.overview(scope)["period"].sum())
    frame = data.rows(scope, ROWS_SHOWN)
    st.metric("Matching leads", _n(total))
    shown = frame if settings.reveal else mask_frame(frame)
    st.caption(
        f"The newest {min(ROWS_SHOWN, total):,} of {total:,}"
        + ("" if settings.reveal else "; personal data masked (sidebar: Show personal data)")
        + "."
    )
    _table(shown, key="rows")
    limit = min(total, CSV_ROWS)
    st.download_button(
        f"Download CSV ({limit:,} rows{'' if total <= CSV_ROWS else ', the newest'})",
        data=lambda: data.rows_csv(scope, limit=CSV_ROWS, mask=not settings.reveal),
        file_name="leads.csv",
        mime="text/csv",
        key="csv",
        disabled=total == 0,
    )


PAGES: dict[str, Page] = {
    "Overview": overview,
    "Volumes": volumes,
    "Eligibility": eligibility,
    "Categories": categories,
    "OviPro funnel": funnel,
    "Data quality": quality,
    "Leads": leads,
}
