"""The registry of lead systems: ``kind = "..."`` in leadkit.toml picks one.

Each system is a sub-package (``leadkit.systems.kpro`` …) that exposes a module-level
``SYSTEM`` (a :class:`leadkit.systems.base.System`) naming its settings model, its warehouse
tables and how to build its source. Systems are imported lazily, so a broken or slow
optional system never costs the others anything.

Adding a system: create ``leadkit/systems/<kind>/`` with ``SYSTEM = System(...)`` in its
``__init__.py`` and add ``"<kind>"`` to ``_SOURCES`` (pull) and/or ``_DESTINATIONS`` (push).

Example:
    >>> get_system("kpro").title
    'KPro Marketing'
    >>> get_system("kporo")
    Traceback (most recent call last):
    ...
    LookupError: unknown kind 'kporo'; did you mean 'kpro'? Allowed: carehome, kpro, ovipro
"""

from __future__ import annotations

import difflib
import importlib
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from leadkit.systems.base import System

__all__ = ["get_system", "known_kinds"]

_SOURCES: tuple[str, ...] = ("kpro", "ovipro", "carehome")
_DESTINATIONS: tuple[str, ...] = ("dialler", "kpro", "ovipro", "realgeeks")

Role = Literal["source", "destination"]


def known_kinds(role: Role = "source") -> list[str]:
    """The registered kinds for a role, sorted."""
    return sorted(_SOURCES if role == "source" else _DESTINATIONS)


def get_system(kind: str, role: Role = "source") -> System:
    """Return the system registered under ``kind``.

    Raises:
        LookupError: no such kind; the message suggests the nearest one.
    """
    kinds = known_kinds(role)
    if kind not in kinds:
        close = difflib.get_close_matches(kind, kinds, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise LookupError(
            f"unknown kind {kind!r}{hint}{' ' if hint else '; '}Allowed: {', '.join(kinds)}"
        )
    module = importlib.import_module(f"leadkit.systems.{kind}")
    system: System = module.SYSTEM
    return system
