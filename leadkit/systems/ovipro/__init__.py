"""OviPro Lead API (Alma Media, Finland): pull incoming and outgoing leads. Spec:
``specs/ovipro.md``.

Parts: ``settings`` (leadkit.toml model), ``auth`` (bearer tokens), ``client`` (the
source), ``scan`` (full scans over offset pages), ``models`` (wire and warehouse schemas,
parsing), ``tables`` (warehouse tables), ``reference`` (enum tables), ``sandbox`` (the
simulator), ``destination`` (creating leads and outgoing leads, setting lead statuses, for
``leadkit push``).
"""

from __future__ import annotations

from leadkit.systems.base import System
from leadkit.systems.ovipro.client import OviProSource
from leadkit.systems.ovipro.destination import OviProDestination, OviProDestinationSettings
from leadkit.systems.ovipro.settings import OviProSettings
from leadkit.systems.ovipro.tables import LEADS_VIEW_SQL, TABLES

__all__ = [
    "SYSTEM",
    "OviProDestination",
    "OviProDestinationSettings",
    "OviProSettings",
    "OviProSource",
]

OviProSource.tables = TABLES

SYSTEM = System(
    kind="ovipro",
    title="OviPro",
    settings=OviProSettings,
    source=OviProSource,
    tables=TABLES,
    view_sql=LEADS_VIEW_SQL,
    destination=OviProDestination,
    destination_settings=OviProDestinationSettings,
)
