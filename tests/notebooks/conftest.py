"""The sandbox-built warehouse the notebooks run against (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboard._warehouse import shared_warehouse


@pytest.fixture(scope="session")
def notebook_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """leadkit.toml of the dashboard tests' sandbox warehouse (every source, a sample
    pushed); built once per session, whichever suite asks first."""
    return shared_warehouse(tmp_path_factory)
