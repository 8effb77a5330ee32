"""OviPro's warehouse tables: ``ovipro_leads``, ``ovipro_outgoing_leads`` and the enum
reference tables (spec §8)."""

from __future__ import annotations

import polars as pl

from leadkit.storage.types import RAW_SQL_TYPE, create_table_sql
from leadkit.systems.base import TableSpec
from leadkit.systems.ovipro.models import LEADS, OUTGOING, RecordShape
from leadkit.systems.ovipro.reference import REFERENCE_TABLES, table_rows

__all__ = ["LEADS_TABLE", "LEADS_VIEW_SQL", "OUTGOING_TABLE", "TABLES", "reference_tables"]


def _spec(shape: RecordShape) -> TableSpec:
    key = ("_source", "lead_id")
    ddl = create_table_sql(
        shape.table, shape.schema, primary_key=key, overrides={"_raw": RAW_SQL_TYPE}
    )
    return TableSpec(name=shape.table, key=key, ddl=ddl)


#: Incoming leads (``GET /leads``), one row per lead and source name.
LEADS_TABLE = _spec(LEADS)

#: Outgoing leads (``GET /outgoingLeads``), one row per lead and source name.
OUTGOING_TABLE = _spec(OUTGOING)

TABLES = (LEADS_TABLE, OUTGOING_TABLE)

#: ``ovipro_leads`` in the canonical ``leads`` shape. Outgoing leads are leads *sent* to
#: partners, not received, so they are not in the view. Vanished leads stay in the view
#: (OviPro may expire old leads; ``ovipro_leads._vanished_at`` tells them apart).
LEADS_VIEW_SQL = """
SELECT
    'ovipro' AS system,
    _source AS source,
    lead_id,
    creation_time AS created_at,
    modification_time AS updated_at,
    lead.customer.email_address AS email,
    lead.customer.first_name AS first_name,
    lead.customer.last_name AS last_name,
    nullif(concat_ws(' ', lead.customer.first_name, lead.customer.last_name), '') AS full_name,
    lead.customer.phone_number AS phone,
    lead_status_code AS status,
    lead.lead_type_code AS category,
    lead.lead_source_type_code AS channel,
    lead.realty.address.postcode AS postcode,
    lead.message AS message
FROM ovipro_leads
"""


def reference_tables() -> dict[str, pl.DataFrame]:
    """Each reference table as a DataFrame (columns ``code``, ``description``, ``evidence``)."""
    return {name: pl.DataFrame(table_rows(name)) for name in REFERENCE_TABLES}
