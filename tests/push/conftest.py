"""Push fixtures: a small warehouse extracted once from a KPro sandbox, and configs that
point destinations at fresh sandboxes on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from leadkit.config import LeadkitConfig, load_config
from leadkit.engine.extract import run_extract
from leadkit.sandbox import SandboxThread
from leadkit.storage.warehouse import Warehouse
from leadkit.systems.kpro.simulator import KProSandbox, KProSandboxConfig
from tests.e2e.conftest import (
    StartSandbox,
    ovipro_destination_lines,
    start_ovipro,
    start_sandbox,
    toml_value,
)

__all__ = ["DEST_KEY", "LEADS", "PushEnv", "start_ovipro", "start_sandbox"]

#: Leads in the source sandbox (and so in the warehouse).
LEADS = 240
#: The API key of destination KPro sandboxes (64 hex characters, like a real one).
DEST_KEY = "d3" * 32


@pytest.fixture(scope="session")
def warehouse_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding ``LEADS`` KPro leads, extracted once by the real engine."""
    directory = tmp_path_factory.mktemp("push-template")
    with SandboxThread(lambda: KProSandbox(KProSandboxConfig(leads=LEADS, seed=11))) as sb:
        (directory / "leadkit.toml").write_text(
            '[warehouse]\npath = "leadkit.duckdb"\n\n[sources.main]\nkind = "kpro"\n'
            f'base_url = "{sb.base_url}"\napi_key = "{sb.server.api_key}"\n'
        )
        result = run_extract(load_config(directory / "leadkit.toml"), handle_signals=False)
        assert result.exit_code == 0, result
    return directory / "leadkit.duckdb"


@dataclass
class PushEnv:
    """A test's directory: a copy of the template warehouse and a leadkit.toml writer."""

    directory: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.directory / "leadkit.duckdb", busy_timeout_s=30)

    @property
    def config_path(self) -> Path:
        return self.directory / "leadkit.toml"

    def config(self, **destinations: tuple[SandboxThread, dict[str, Any]]) -> LeadkitConfig:
        """Write leadkit.toml with one ``[destinations.NAME]`` per sandbox and load it."""
        text = '[warehouse]\npath = "leadkit.duckdb"\nbusy_timeout_s = 30\n'
        for name, (sb, extra) in destinations.items():
            settings = dict(extra)
            env = f"DEST_SECRET_{name.upper()}"
            server = type(sb.server).__name__
            if server == "DiallerSandbox":
                self.monkeypatch.setenv(env, settings.pop("_key", sb.server.api_key))
                lead_type = settings.pop("lead_type", sb.server.lead_types[0])
                lines = ['kind = "dialler"', f'base_url = "{sb.base_url}"',
                         f'api_key = "${{{env}}}"', f'lead_type = "{lead_type}"']  # fmt: skip
            elif server == "RealGeeksSandbox":
                self.monkeypatch.setenv(env, settings.pop("_password", sb.server.password))
                lines = ['kind = "realgeeks"', f'base_url = "{sb.base_url}"',
                         f'username = "{sb.server.username}"', f'password = "${{{env}}}"',
                         f'site_uuid = "{sb.server.site_uuids[0]}"']  # fmt: skip
            elif hasattr(sb.server, "auth_url"):  # OviPro
                self.monkeypatch.setenv(env, settings.pop("_password", sb.server.password))
                username = settings.pop("_username", None)
                lines = ovipro_destination_lines(sb.server, env, username)
                if "agency_office_id" not in settings:
                    settings["agency_office_id"] = sb.server.office_ids[0]
            else:
                self.monkeypatch.setenv(env, settings.pop("_key", DEST_KEY))
                lines = ['kind = "kpro"', f'base_url = "{sb.base_url}"', f'api_key = "${{{env}}}"']
            lines.append("backoff_initial_s = 0.01")
            lines += [f"{k} = {toml_value(v)}" for k, v in settings.items()]
            text += f"\n[destinations.{name}]\n" + "\n".join(lines) + "\n"
        self.config_path.write_text(text)
        return load_config(self.config_path)


@pytest.fixture
def env(
    warehouse_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PushEnv]:
    """A fresh copy of the template warehouse in ``tmp_path``."""
    shutil.copy(warehouse_template, tmp_path / "leadkit.duckdb")
    return PushEnv(tmp_path, monkeypatch)


@pytest.fixture
def kpro_dest(start_sandbox: StartSandbox) -> Callable[..., SandboxThread]:
    """Start an empty KPro sandbox that accepts :data:`DEST_KEY`."""

    def start(**knobs: Any) -> SandboxThread:
        return start_sandbox(leads=0, api_keys=(DEST_KEY,), **knobs)

    return start
