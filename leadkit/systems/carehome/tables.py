"""Carehome's warehouse tables: ``carehome_leads`` and ``carehome_categories``.

Example:
    >>> LEADS_TABLE.key
    ('_source', 'id')
    >>> reference_tables()["carehome_categories"].columns
    ['id', 'name', 'heading', 'fields']
"""

from __future__ import annotations

from typing import Any

import polars as pl

from leadkit.storage.types import RAW_SQL_TYPE, create_table_sql
from leadkit.systems.base import TableSpec
from leadkit.systems.carehome.normalise import TABLE_SCHEMA
from leadkit.systems.carehome.reference import table_rows

__all__ = ["LEADS_TABLE", "LEADS_VIEW_SQL", "TABLES", "reference_tables"]

#: One row per lead id and source name.
LEADS_TABLE = TableSpec(
    name="carehome_leads",
    key=("_source", "id"),
    ddl=create_table_sql(
        "carehome_leads",
        TABLE_SCHEMA,
        primary_key=("_source", "id"),
        overrides={"_raw": RAW_SQL_TYPE},
    ),
)

TABLES = (LEADS_TABLE,)

#: ``carehome_leads`` in the canonical ``leads`` shape: the enquirer is the lead's person,
#: ``from`` its e-mail, the care home (service) the channel and its postcode the postcode.
#: The API has no status and no update time.
LEADS_VIEW_SQL = """
SELECT
    'carehome' AS system,
    _source AS source,
    CAST(id AS VARCHAR) AS lead_id,
    date AS created_at,
    CAST(NULL AS TIMESTAMPTZ) AS updated_at,
    from_email AS email,
    enquirer_first_name AS first_name,
    enquirer_surname AS last_name,
    nullif(concat_ws(' ', enquirer_first_name, enquirer_surname), '') AS full_name,
    telephone AS phone,
    CAST(NULL AS VARCHAR) AS status,
    category_name AS category,
    service.name AS channel,
    service.postcode AS postcode,
    content AS message
FROM carehome_leads
"""


def reference_tables() -> dict[str, pl.DataFrame]:
    """``carehome_categories`` (id, name, heading, fields) as a DataFrame."""
    schema: dict[str, Any] = {
        "id": pl.Int32,
        "name": pl.String,
        "heading": pl.String,
        "fields": pl.List(pl.String),
    }
    return {"carehome_categories": pl.DataFrame(table_rows(), schema=schema)}
