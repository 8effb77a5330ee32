"""KPro's warehouse tables: ``kpro_leads`` and the reference tables from spec §5."""

from __future__ import annotations

import polars as pl

from leadkit.storage.types import RAW_SQL_TYPE, create_table_sql
from leadkit.systems.base import TableSpec
from leadkit.systems.kpro.models import TABLE_SCHEMA
from leadkit.systems.kpro.reference import REFERENCE_TABLES, table_rows

__all__ = ["LEADS_TABLE", "LEADS_VIEW_SQL", "WAREHOUSE_REFERENCE_TABLES", "reference_tables"]

LEADS_TABLE = TableSpec(
    name="kpro_leads",
    key=("_source", "id"),
    ddl=create_table_sql(
        "kpro_leads", TABLE_SCHEMA, primary_key=("_source", "id"), overrides={"_raw": RAW_SQL_TYPE}
    ),
)

#: Reference tables loaded into the warehouse. Buying-interest periods are left out: KPro
#: publishes no values for them (the sandbox's are invented), so a table would mislead.
WAREHOUSE_REFERENCE_TABLES = tuple(
    n for n in REFERENCE_TABLES if n != "kpro_buying_interest_periods"
)

#: ``kpro_leads`` in the canonical ``leads`` shape.
LEADS_VIEW_SQL = """
SELECT
    'kpro' AS system,
    _source AS source,
    CAST(id AS VARCHAR) AS lead_id,
    created_at,
    updated_at,
    email,
    first_name,
    last_name,
    full_name,
    phone,
    eligibility_status AS status,
    enquiry_type AS category,
    site.name AS channel,
    home_postcode AS postcode,
    additional_info AS message
FROM kpro_leads
"""


def reference_tables() -> dict[str, pl.DataFrame]:
    """Each warehouse reference table as a DataFrame."""
    return {name: pl.DataFrame(table_rows(name)) for name in WAREHOUSE_REFERENCE_TABLES}
