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


def test_import_leadkit_stays_light() -> None:
    """A notebook's ``import leadkit`` loads the query layer, not the HTTP client, the push
    engine, pyarrow or the dashboard (each is imported where it is first used)."""
    import subprocess
    import sys

    heavy = ("aiohttp", "pyarrow", "streamlit", "leadkit.push.engine", "phonenumbers")
    code = f"import sys, leadkit; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
