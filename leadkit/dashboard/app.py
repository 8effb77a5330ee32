"""The Streamlit dashboard's entry script (``leadkit dashboard`` runs this file).

Layout only: page set-up, the sidebar (page, dates, sources, grain, personal data), the
filter box, and the empty or missing warehouse. The pages are in
:mod:`leadkit.dashboard.pages`; the numbers come from :mod:`leadkit.dashboard.data`.

The warehouse is the ``[warehouse] path`` of ``$LEADKIT_CONFIG`` (``leadkit dashboard
--config FILE`` sets it), else of ``./leadkit.toml``, else ``data/leadkit.duckdb``.
"""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from leadkit.dashboard.data import FILL_HINT, GRAINS, DashboardData, Grain
from leadkit.dashboard.pages import PAGES, Settings
from leadkit.dashboard.scope import LEAD_TABLES, Scope
from leadkit.errors import ConfigError, LeadkitError, WarehouseBusyError, WarehouseError

__all__ = ["FILTER_EXAMPLE", "main"]

FILTER_EXAMPLE = "eligibilityStatus.in=passed,considered&site.id[]=3"


@st.cache_resource(show_spinner=False)
def _data(path: str) -> DashboardData:
    """One cached :class:`DashboardData` per warehouse file, shared by every session."""
    from leadkit.storage.warehouse import Warehouse

    return DashboardData(Warehouse(path))


def _warehouse_path() -> str:
    from leadkit.config import load_warehouse_settings

    return str(load_warehouse_settings(None).path)


def _empty_state(message: str) -> None:
    st.info(message)
    st.code(
        "leadkit demo        # try it against the built-in sandbox APIs\n"
        "leadkit extract     # fill it from the sources in leadkit.toml",
        language="sh",
    )


def _sidebar(data: DashboardData) -> tuple[Scope, Settings]:
    bounds = data.date_bounds()
    sources = data.sources()
    side = st.sidebar
    picked: tuple[date, ...] = ()
    if bounds is not None:
        lo, hi = bounds
        value = side.date_input(
            "Created between (UTC)",
            value=(lo, hi),
            min_value=lo - timedelta(days=366),
            max_value=hi + timedelta(days=366),
            key="dates",
        )
        values = value if isinstance(value, tuple | list) else (value,)
        picked = tuple(v for v in values if isinstance(v, date))
    start = picked[0] if picked else None
    end = picked[1] if len(picked) > 1 else start
    chosen = side.multiselect(
        "Sources", sources, default=[], key="sources", placeholder="All sources"
    )
    grain: Grain = side.radio("Group by", GRAINS, index=1, horizontal=True, key="grain")
    stale_hours = side.number_input(
        "Stale after (hours without a successful extract)",
        min_value=1,
        value=26,
        step=1,
        key="stale_hours",
    )
    reveal = side.toggle(
        "Show personal data",
        value=False,
        key="reveal",
        help="Emails, phones and names are masked unless this is on.",
    )
    text = st.session_state.get("filter", "")
    scope = Scope(filter=text, sources=tuple(chosen), start=start, end=end)
    return scope, Settings(grain=grain, stale_hours=int(stale_hours), reveal=bool(reveal))


def _filter_notes(data: DashboardData, scope: Scope) -> bool:
    """Show what the filter does (or its error); False when it is invalid."""
    plan = data.plan(scope.filter)
    if plan.error is not None:
        st.error(f"Invalid filter: {plan.error}")
        return False
    labels = {t.table: t.label for t in LEAD_TABLES}
    for table, exc in plan.left_out.items():
        fields = ", ".join(sorted({p.param for p in exc.problems}))
        label = labels.get(table, table)
        st.caption(f"{label} are left out (no field {fields}, or a value that does not fit): {exc}")
    if plan.ignored:
        st.caption(f"The charts ignore {', '.join(plan.ignored)}: they count every matching lead.")
    return True


def main() -> None:
    """Render the dashboard (the body of the Streamlit script)."""
    st.set_page_config(page_title="leadkit dashboard", page_icon="📈", layout="wide")
    page = st.sidebar.radio("Page", list(PAGES), key="page")
    try:
        data = _data(_warehouse_path())
        status = data.status()
    except ConfigError as exc:
        st.title("leadkit")
        st.error(f"Cannot read the configuration: {exc}")
        return
    except WarehouseBusyError as exc:
        st.title("leadkit")
        st.warning(f"The warehouse is busy; reload in a moment. {exc}")
        return
    except LeadkitError as exc:
        st.title("leadkit")
        st.error(str(exc))
        return
    if status.state != "ready":
        st.title("leadkit")
        _empty_state(status.message)
        return
    try:
        with data.batch():
            scope, settings = _sidebar(data)
            st.title(page)
            st.text_input(
                "Filter (KPro's filter language; see docs/query.md)",
                key="filter",
                placeholder=FILTER_EXAMPLE,
                help="e.g. eligibilityStatus.in=passed,considered&site.id[]=3 or "
                "status=NEW&createdAt.gte=2024-01-01. Narrows every chart.",
            )
            if _filter_notes(data, scope):
                PAGES[page](data, scope, settings)
    except WarehouseBusyError as exc:
        st.warning(f"The warehouse is busy (an extract is writing); reload in a moment. {exc}")
    except WarehouseError as exc:
        st.error(f"{exc}. If the warehouse was just deleted: {FILL_HINT}.")


if __name__ == "__main__":
    main()
