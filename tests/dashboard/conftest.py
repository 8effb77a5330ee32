"""Fixtures: a warehouse extracted from the sandboxes once per session, and AppTest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from leadkit.storage.warehouse import Warehouse
from tests.dashboard._warehouse import add_carehome_and_deliveries, build_sandbox_warehouse

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


@pytest.fixture(scope="session")
def sandbox_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """leadkit.toml of a warehouse extracted from the KPro and OviPro sandboxes."""
    return build_sandbox_warehouse(tmp_path_factory.mktemp("sandbox-warehouse"))


@pytest.fixture(scope="session")
def extras_config(sandbox_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox warehouse plus care-home leads and deliveries (added by SQL)."""
    return add_carehome_and_deliveries(sandbox_config, tmp_path_factory.mktemp("extras"))


def warehouse_of(config: Path) -> Warehouse:
    """The warehouse a test config points at."""
    return Warehouse(config.parent / "leadkit.duckdb")


@pytest.fixture
def open_app(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], AppTest]:
    """Run the dashboard script with AppTest against the warehouse of a config file."""

    def run(config: Path) -> AppTest:
        monkeypatch.setenv("LEADKIT_CONFIG", str(config))
        at = AppTest.from_file(str(APP), default_timeout=60)
        return at.run()

    return run
