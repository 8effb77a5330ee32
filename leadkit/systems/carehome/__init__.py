"""Care-home directory Leads API (the Autumna-style ``GET /api/leads/``, categories 1–8):
pull. Spec: ``specs/carehome.md``.

Parts: ``settings`` (leadkit.toml model), ``windows`` (time windows and the watermark),
``client`` (the source), ``values`` (list-strings and telephones), ``normalise`` (records →
rows), ``tables`` (warehouse tables), ``reference`` (categories and vocabularies),
``sandbox`` (the simulator).
"""

from __future__ import annotations

from leadkit.systems.base import System
from leadkit.systems.carehome.client import CarehomeSource
from leadkit.systems.carehome.settings import CarehomeSettings
from leadkit.systems.carehome.tables import LEADS_VIEW_SQL, TABLES

__all__ = ["SYSTEM", "CarehomeSettings", "CarehomeSource"]

CarehomeSource.tables = TABLES

SYSTEM = System(
    kind="carehome",
    title="Carehome leads",
    settings=CarehomeSettings,
    source=CarehomeSource,
    tables=TABLES,
    view_sql=LEADS_VIEW_SQL,
)
