"""The Real Geeks Incoming Leads API sandbox (simulator): a real HTTP server on 127.0.0.1.

Parts: ``config`` (knobs, demo credentials and site UUIDs), ``validation`` (the lead,
activity and property rules of spec §3, §4 and §8) and ``simulator`` (HTTP, the context
manager and the ``python -m leadkit.systems.realgeeks.sandbox`` runner). It accepts exactly
what the official ``leadrouter`` client sends (spec §7).

Example:
    >>> RealGeeksSandboxConfig().username, DEMO_SITE_UUIDS[0][:8]
    ('leadkit-demo', '106994a2')
"""

from __future__ import annotations

from leadkit.systems.realgeeks.sandbox.config import (
    DEMO_PASSWORD,
    DEMO_SITE_UUIDS,
    DEMO_USERNAME,
    FAULT_KINDS,
    UNGRANTED_SITE_UUID,
    FaultKind,
    RealGeeksSandboxConfig,
)
from leadkit.systems.realgeeks.sandbox.simulator import (
    RealGeeksSandbox,
    ReceivedRequest,
    main,
    make_app,
    serve_forever,
)

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_SITE_UUIDS",
    "DEMO_USERNAME",
    "FAULT_KINDS",
    "UNGRANTED_SITE_UUID",
    "FaultKind",
    "RealGeeksSandbox",
    "RealGeeksSandboxConfig",
    "ReceivedRequest",
    "main",
    "make_app",
    "serve_forever",
]
