"""The sandbox-built warehouse the notebooks run against (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboard._warehouse import build_sandbox_warehouse


@pytest.fixture(scope="session")
def notebook_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """leadkit.toml of a warehouse extracted from the KPro and OviPro sandboxes."""
    return build_sandbox_warehouse(tmp_path_factory.mktemp("notebook-warehouse"))
