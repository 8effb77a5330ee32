"""The carehome Leads API sandbox (simulator): a real HTTP server on 127.0.0.1.

Parts: ``config`` (knobs, quirks, the demo key), ``dataset`` (synthetic UK care-home
leads), ``handlers`` (HTTP, validation, faults) and ``simulator`` (the context manager and
the ``python -m leadkit.systems.carehome.sandbox`` runner). Written from the spec,
independently of leadkit's carehome source.

Example:
    >>> CarehomeSandboxConfig().leads, len(QUIRKS) > 10
    (1000, True)
"""

from __future__ import annotations

from leadkit.systems.carehome.sandbox.config import (
    DEMO_API_KEY,
    FAULT_KINDS,
    QUIRKS,
    CarehomeSandboxConfig,
    FaultKind,
)
from leadkit.systems.carehome.sandbox.dataset import StoredLead
from leadkit.systems.carehome.sandbox.handlers import RequestRecord
from leadkit.systems.carehome.sandbox.simulator import (
    CarehomeSandbox,
    main,
    make_app,
    serve_forever,
)

__all__ = [
    "DEMO_API_KEY",
    "FAULT_KINDS",
    "QUIRKS",
    "CarehomeSandbox",
    "CarehomeSandboxConfig",
    "FaultKind",
    "RequestRecord",
    "StoredLead",
    "main",
    "make_app",
    "serve_forever",
]
