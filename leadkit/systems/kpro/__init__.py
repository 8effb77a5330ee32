"""KPro Marketing: bulk Leads API (pull: export; push: import). Spec: ``specs/kpro.md``.

Parts: ``settings`` (leadkit.toml model), ``models`` (wire and warehouse schemas, parsing),
``client`` (the source), ``destination`` (the import side, for ``leadkit push``), ``tables``
(warehouse tables), ``reference`` (lookup lists), ``dataset`` and ``simulator`` (the sandbox).
"""

from __future__ import annotations

from leadkit.systems.base import System
from leadkit.systems.kpro.client import KProSource
from leadkit.systems.kpro.destination import KProDestination, KProDestinationSettings
from leadkit.systems.kpro.settings import KProSettings
from leadkit.systems.kpro.tables import LEADS_TABLE, LEADS_VIEW_SQL

__all__ = ["SYSTEM", "KProDestination", "KProDestinationSettings", "KProSettings", "KProSource"]

KProSource.tables = (LEADS_TABLE,)

SYSTEM = System(
    kind="kpro",
    title="KPro Marketing",
    settings=KProSettings,
    source=KProSource,
    tables=(LEADS_TABLE,),
    view_sql=LEADS_VIEW_SQL,
    destination=KProDestination,
    destination_settings=KProDestinationSettings,
)
