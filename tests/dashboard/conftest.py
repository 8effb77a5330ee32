"""Fixtures: a warehouse built from the sandboxes once per session, and AppTest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from leadkit.storage.warehouse import Warehouse
from tests.dashboard._warehouse import build_kpro_only_warehouse, shared_warehouse

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


@pytest.fixture(scope="session")
def sandbox_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """leadkit.toml of the sandbox warehouse: every source extracted, a sample pushed.

    Tests read it; a test that writes works on a copy.
    """
    return shared_warehouse(tmp_path_factory)


@pytest.fixture(scope="session")
def kpro_only_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """leadkit.toml of a warehouse with one KPro source extracted and nothing pushed."""
    return build_kpro_only_warehouse(tmp_path_factory.mktemp("kpro-only"))


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
