"""The Streamlit dashboard (``leadkit dashboard``) and the queries behind it.

:class:`DashboardData` (in :mod:`leadkit.dashboard.data`) is the part without Streamlit:
every chart's numbers, aggregated in DuckDB and cached by the warehouse file's signature,
usable from notebooks too. :mod:`leadkit.dashboard.app` is the Streamlit script;
:mod:`leadkit.dashboard.launch` starts it. See docs/dashboard.md.
"""

from __future__ import annotations

from leadkit.dashboard.data import DashboardData, WarehouseStatus
from leadkit.dashboard.scope import LEAD_TABLES, FilterPlan, LeadTable, Scope, compile_filter

__all__ = [
    "LEAD_TABLES",
    "DashboardData",
    "FilterPlan",
    "LeadTable",
    "Scope",
    "WarehouseStatus",
    "compile_filter",
]
