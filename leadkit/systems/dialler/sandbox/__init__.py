"""The dialler Leads API sandbox (simulator): a real HTTP server on 127.0.0.1.

Parts: ``config`` (knobs, lead types, demo key), ``validation`` (the Yii2-style 400
checks), ``store`` (saved leads, the call queue and the dial clock), ``handlers`` (HTTP)
and ``simulator`` (the context manager and the ``python -m
leadkit.systems.dialler.sandbox`` runner).

Choices where the README is silent (spec §4) are knobs; see :class:`DiallerSandboxConfig`.

Example:
    >>> DiallerSandboxConfig(clock_speed=0).default_delay_s
    60.0
"""

from __future__ import annotations

from leadkit.systems.dialler.sandbox.config import (
    DEMO_API_KEY,
    DEMO_LEAD_TYPES,
    DEMO_SUBTYPES,
    FAULT_KINDS,
    DiallerSandboxConfig,
    FaultKind,
)
from leadkit.systems.dialler.sandbox.handlers import ADD_PATH, CANCEL_PATH, ReceivedRequest
from leadkit.systems.dialler.sandbox.simulator import (
    DiallerSandbox,
    SavedLead,
    main,
    make_app,
    serve_forever,
)

__all__ = [
    "ADD_PATH",
    "CANCEL_PATH",
    "DEMO_API_KEY",
    "DEMO_LEAD_TYPES",
    "DEMO_SUBTYPES",
    "FAULT_KINDS",
    "DiallerSandbox",
    "DiallerSandboxConfig",
    "FaultKind",
    "ReceivedRequest",
    "SavedLead",
    "main",
    "make_app",
    "serve_forever",
]
