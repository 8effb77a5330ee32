"""leadkit: lead APIs → DuckDB warehouse → one filter language → dashboard and push."""

from __future__ import annotations

__version__ = "0.1.0"
