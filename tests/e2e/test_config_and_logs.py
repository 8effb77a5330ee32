"""The CLI and leadkit.toml: JSON logs from the first line, and secrets only where needed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import StartSandbox, leadkit_cli


def test_json_logs_cover_config_warnings_and_never_show_the_secret(
    tmp_path: Path, start_sandbox: StartSandbox
) -> None:
    sb = start_sandbox(leads=50)
    key = sb.server.api_key
    # A literal key in the file: leadkit warns while loading the config.
    (tmp_path / "leadkit.toml").write_text(
        f'[warehouse]\npath = "w.duckdb"\n\n[sources.main]\nkind = "kpro"\n'
        f'base_url = "{sb.base_url}"\napi_key = "{key}"\n',
        encoding="utf-8",
    )
    result = leadkit_cli("extract", "--log-format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # fails on any non-JSON line
    assert any("literal secret" in e.get("msg", "") for e in events)
    assert key not in result.stderr
    assert key not in result.stdout


def test_extract_runs_without_the_destinations_secrets(
    tmp_path: Path, start_sandbox: StartSandbox
) -> None:
    """cron has the source's key only; the dialler's key is set where pushes run."""
    sb = start_sandbox(leads=30)
    (tmp_path / "leadkit.toml").write_text(
        f'[warehouse]\npath = "w.duckdb"\n\n[sources.main]\nkind = "kpro"\n'
        f'base_url = "{sb.base_url}"\napi_key = "${{SRC_KEY}}"\n\n'
        '[destinations.calls]\nkind = "dialler"\nbase_url = "http://127.0.0.1:9"\n'
        'api_key = "${DIALLER_KEY_NOT_SET_HERE}"\nlead_type = "motor-trade"\n',
        encoding="utf-8",
    )
    env = {"SRC_KEY": sb.server.api_key}
    result = leadkit_cli("extract", "--quiet", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    pushed = leadkit_cli("push", "calls", "--dry-run", cwd=tmp_path, env=env)
    assert pushed.returncode == 2
    assert "DIALLER_KEY_NOT_SET_HERE is not set" in pushed.stderr
