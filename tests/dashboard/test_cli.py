"""``leadkit dashboard`` and the demo's dashboard step, as real processes."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import leadkit_cli


def test_dashboard_with_a_missing_config_says_so(tmp_path: Path) -> None:
    result = leadkit_cli("dashboard", "--config", "nope.toml", "--port", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.toml" in result.stderr
    assert "file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_without_a_terminal_prints_the_dashboard_command(tmp_path: Path) -> None:
    # Captured output is not a terminal: the demo prints the command instead of serving.
    result = leadkit_cli("demo", "--leads", "200", "--dir", "demo", cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr
    tail = result.stdout.split("Dashboard:")[-1]
    # `leadkit`, or the installed script's path when `leadkit` is not on PATH.
    assert re.match(r"\S*leadkit dashboard --config", tail.strip())
    assert "leadkit.toml" in tail
    assert "http://" not in tail


def test_demo_no_dashboard_flag(tmp_path: Path) -> None:
    result = leadkit_cli(
        "demo", "--leads", "200", "--dir", "demo", "--no-dashboard", cwd=tmp_path, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"Dashboard: \S*leadkit dashboard --config", result.stdout)
