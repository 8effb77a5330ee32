"""The dialler Leads API: push leads into a telephone dialler's call queue and cancel them.
Spec: ``specs/dialler.md``.

Parts: ``settings`` (the ``[destinations.NAME]`` model), ``payload`` (the ``/lead/add`` and
``/lead/cancel`` bodies, the mapping from a warehouse lead, phone and e-mail
normalisation), ``destination`` (the push destination) and ``sandbox`` (the simulator).

Example:
    >>> SYSTEM.kind, SYSTEM.destination is DiallerDestination, SYSTEM.source
    ('dialler', True, None)
"""

from __future__ import annotations

from leadkit.systems.base import System
from leadkit.systems.dialler.destination import DiallerDestination
from leadkit.systems.dialler.settings import DiallerSettings

__all__ = ["SYSTEM", "DiallerDestination", "DiallerSettings"]

SYSTEM = System(
    kind="dialler",
    title="Dialler",
    settings=None,
    source=None,
    destination=DiallerDestination,
    destination_settings=DiallerSettings,
)
