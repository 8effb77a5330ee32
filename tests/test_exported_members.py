"""The public façade is pinned: changing it is a deliberate act."""

from __future__ import annotations

import leadkit


def test_public_names_are_pinned() -> None:
    assert leadkit.__all__ == [
        "ConfigError",
        "LeadkitError",
        "PushResult",
        "QueryError",
        "QueryResult",
        "RunLockedError",
        "SourceAuthError",
        "SourceError",
        "Warehouse",
        "WarehouseBusyError",
        "WarehouseError",
        "__version__",
        "connect",
        "deliveries",
        "push_leads",
    ]
    for name in leadkit.__all__:
        assert hasattr(leadkit, name), name


def test_error_tree() -> None:
    assert issubclass(leadkit.WarehouseBusyError, leadkit.WarehouseError)
    assert issubclass(leadkit.SourceAuthError, leadkit.SourceError)
    for name in ("ConfigError", "QueryError", "RunLockedError", "SourceError", "WarehouseError"):
        assert issubclass(getattr(leadkit, name), leadkit.LeadkitError)
