"""The OviPro Lead API sandbox (simulator): a real HTTP server on 127.0.0.1.

Parts: ``config`` (knobs, accounts, demo credentials), ``vocab`` (Finnish words),
``dataset`` (synthetic offices, customers and leads), ``store`` (leads, queries, JSON),
``params`` (list query validation), ``bodies`` (write bodies, status machine), ``tokens``
(JWTs), ``responses`` (the error body), ``handlers`` (HTTP) and ``simulator`` (the
context manager and the ``python -m leadkit.systems.ovipro.sandbox`` runner).

Inferred behaviour (spec §12) is configurable; see :class:`OviProSandboxConfig`.

Example:
    >>> OviProSandboxConfig().token_lifetime_s, DEMO_USERNAME
    (900, 'demo.kiinteistoykkonen')
"""

from __future__ import annotations

from leadkit.systems.ovipro.sandbox.config import (
    DEMO_API_KEY,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    FAULT_KINDS,
    FaultKind,
    OviProAccount,
    OviProSandboxConfig,
)
from leadkit.systems.ovipro.sandbox.handlers import CreatedLead, RequestRecord
from leadkit.systems.ovipro.sandbox.simulator import (
    OviProSandbox,
    main,
    make_app,
    serve_forever,
)

__all__ = [
    "DEMO_API_KEY",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "FAULT_KINDS",
    "CreatedLead",
    "FaultKind",
    "OviProAccount",
    "OviProSandbox",
    "OviProSandboxConfig",
    "RequestRecord",
    "main",
    "make_app",
    "serve_forever",
]
