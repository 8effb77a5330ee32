"""Real Geeks Incoming Leads API (push only). Spec: ``specs/realgeeks.md``.

Parts: ``settings`` (the ``[destinations.NAME]`` model), ``payload`` (pydantic models of the
lead, potential-seller lead, activity and property, and the warehouse → payload mappings),
``destination`` (HTTP: create, PATCH, activities, potential-seller leads) and ``sandbox``
(the simulator).

Example:
    >>> SYSTEM.title, SYSTEM.destination.kind
    ('Real Geeks', 'realgeeks')
"""

from __future__ import annotations

from leadkit.systems.base import System
from leadkit.systems.realgeeks.destination import RealGeeksDestination
from leadkit.systems.realgeeks.settings import RealGeeksSettings

__all__ = ["SYSTEM", "RealGeeksDestination", "RealGeeksSettings"]

SYSTEM = System(
    kind="realgeeks",
    title="Real Geeks",
    settings=None,
    source=None,
    destination=RealGeeksDestination,
    destination_settings=RealGeeksSettings,
)
