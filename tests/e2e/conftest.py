"""End-to-end fixtures: KPro, OviPro and carehome sandboxes on 127.0.0.1, config files, the
CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leadkit.config import LeadkitConfig, load_config
from leadkit.sandbox import SandboxThread
from leadkit.systems.carehome.sandbox import CarehomeSandbox, CarehomeSandboxConfig
from leadkit.systems.kpro.simulator import KProSandbox, KProSandboxConfig
from leadkit.systems.ovipro.sandbox import OviProSandbox, OviProSandboxConfig

StartSandbox = Callable[..., SandboxThread]


def _starter(build: Callable[..., Any]) -> Iterator[StartSandbox]:
    """Start sandboxes built by ``build(**knobs)``; all are stopped afterwards."""
    started: list[SandboxThread] = []

    def start(**knobs: Any) -> SandboxThread:
        sb = SandboxThread(lambda: build(**knobs))
        sb.__enter__()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.__exit__(None, None, None)


@pytest.fixture
def start_sandbox() -> Iterator[StartSandbox]:
    """Start KPro sandboxes (each on its own port); all are stopped after the test."""
    yield from _starter(lambda **knobs: KProSandbox(KProSandboxConfig(**knobs)))


@pytest.fixture
def start_ovipro() -> Iterator[StartSandbox]:
    """Start OviPro sandboxes (each on its own port); all are stopped after the test."""
    yield from _starter(lambda **knobs: OviProSandbox(OviProSandboxConfig(**knobs)))


@pytest.fixture
def start_carehome() -> Iterator[StartSandbox]:
    """Start carehome sandboxes (each on its own port); all are stopped after the test."""
    yield from _starter(lambda **knobs: CarehomeSandbox(CarehomeSandboxConfig(**knobs)))


def toml_value(value: Any) -> str:
    """A Python value as a TOML value (strings, numbers, booleans, lists of them)."""
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def ovipro_block(
    name: str, sb: SandboxThread, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> str:
    """``[sources.NAME]`` for an OviPro sandbox. Special keys: ``_username``, ``_password``
    (default: the sandbox's demo login) and ``_api_key`` (default: none)."""
    env = name.upper()
    monkeypatch.setenv(f"OVIPRO_USER_{env}", settings.pop("_username", None) or sb.server.username)
    monkeypatch.setenv(
        f"OVIPRO_PASSWORD_{env}", settings.pop("_password", None) or sb.server.password
    )
    lines = [
        f"[sources.{name}]",
        'kind = "ovipro"',
        f'base_url = "{sb.server.base_url}"',
        f'auth_url = "{sb.server.auth_url}"',
        f'username = "${{OVIPRO_USER_{env}}}"',
        f'password = "${{OVIPRO_PASSWORD_{env}}}"',
        "backoff_initial_s = 0.01",
    ]
    api_key = settings.pop("_api_key", None)
    if api_key is not None:
        monkeypatch.setenv(f"OVIPRO_API_KEY_{env}", api_key)
        lines.append(f'api_key = "${{OVIPRO_API_KEY_{env}}}"')
    lines += [f"{k} = {toml_value(v)}" for k, v in settings.items()]
    return "\n".join(lines) + "\n"


def ovipro_destination_lines(
    server: Any, password_env: str, username: str | None = None
) -> list[str]:
    """The login lines of a ``[destinations.NAME]`` for an OviPro sandbox; the password
    comes from the environment variable ``password_env``."""
    return [
        'kind = "ovipro"',
        f'base_url = "{server.base_url}"',
        f'auth_url = "{server.auth_url}"',
        f'username = "{username or server.username}"',
        f'password = "${{{password_env}}}"',
    ]


def carehome_block(
    name: str, sb: SandboxThread, settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> str:
    """``[sources.NAME]`` for a carehome sandbox. Special key: ``_key`` (default: the
    sandbox's demo key). Lists (``categories``) are written as TOML arrays."""
    env = f"CAREHOME_KEY_{name.upper()}"
    monkeypatch.setenv(env, settings.pop("_key", None) or sb.server.api_key)
    lines = [
        f"[sources.{name}]",
        'kind = "carehome"',
        f'base_url = "{sb.server.base_url}"',
        f'api_key = "${{{env}}}"',
        "backoff_initial_s = 0.01",
    ]
    for k, v in settings.items():
        shown = "[" + ", ".join(map(str, v)) + "]" if isinstance(v, list | tuple) else toml_value(v)
        lines.append(f"{k} = {shown}")
    return "\n".join(lines) + "\n"


def source_block(name: str, sb: SandboxThread, **extra: Any) -> str:
    lines = [
        f"[sources.{name}]",
        'kind = "kpro"',
        f'base_url = "{sb.base_url}"',
        f'api_key = "${{KEY_{name.upper()}}}"',
        "backoff_initial_s = 0.01",
    ]
    lines += [f"{k} = {v!r}".replace("'", '"') for k, v in extra.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def make_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., LeadkitConfig]:
    """Write leadkit.toml for sandboxes ({name: (sandbox, {setting: value})}) and load it.

    KPro, OviPro or carehome blocks are written according to the sandbox's type."""

    def make(
        sources: dict[str, tuple[SandboxThread, dict[str, Any]]], **warehouse: Any
    ) -> LeadkitConfig:
        text = '[warehouse]\npath = "leadkit.duckdb"\n'
        text += "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in warehouse.items())
        for name, (sb, extra) in sources.items():
            settings = dict(extra)
            if isinstance(sb.server, OviProSandbox):
                text += "\n" + ovipro_block(name, sb, settings, monkeypatch)
                continue
            if isinstance(sb.server, CarehomeSandbox):
                text += "\n" + carehome_block(name, sb, settings, monkeypatch)
                continue
            key = settings.pop("_key", None) or sb.server.api_key
            text += "\n" + source_block(name, sb, **settings)
            monkeypatch.setenv(f"KEY_{name.upper()}", key)
        path = tmp_path / "leadkit.toml"
        path.write_text(text)
        return load_config(path)

    return make


def leadkit_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m leadkit ARGS`` in a real process."""
    full_env = {**os.environ, **(env or {}), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "leadkit", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
