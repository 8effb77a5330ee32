"""End-to-end fixtures: KPro sandboxes on 127.0.0.1, config files, the leadkit CLI."""

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
from leadkit.systems.kpro.simulator import KProSandbox, KProSandboxConfig

StartSandbox = Callable[..., SandboxThread]


@pytest.fixture
def start_sandbox() -> Iterator[StartSandbox]:
    """Start KPro sandboxes (each on its own port); all are stopped after the test."""
    started: list[SandboxThread] = []

    def start(**knobs: Any) -> SandboxThread:
        sb = SandboxThread(lambda: KProSandbox(KProSandboxConfig(**knobs)))
        sb.__enter__()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.__exit__(None, None, None)


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
    """Write leadkit.toml for sandboxes ({name: (sandbox, {setting: value})}) and load it."""

    def make(
        sources: dict[str, tuple[SandboxThread, dict[str, Any]]], **warehouse: Any
    ) -> LeadkitConfig:
        text = '[warehouse]\npath = "leadkit.duckdb"\n'
        text += "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in warehouse.items())
        for name, (sb, extra) in sources.items():
            settings = dict(extra)
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
