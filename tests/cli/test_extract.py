"""``leadkit extract`` in a real process: what a failed source prints."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.parametrize("quiet", [False, True], ids=["summary", "quiet"])
def test_a_failed_source_is_named_once(tmp_path: Path, quiet: bool) -> None:
    config = tmp_path / "leadkit.toml"
    config.write_text(
        '[warehouse]\npath = "leadkit.duckdb"\n\n'
        "[sources.kpro_main]\n"
        'kind = "kpro"\n'
        f'base_url = "http://127.0.0.1:{_closed_port()}"\n'
        'api_key = "${LEADKIT_TEST_KPRO_KEY}"\n'
        "max_retries = 0\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "leadkit", "extract", "--config", str(config)]
        + (["--quiet"] if quiet else []),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "400", "LEADKIT_TEST_KPRO_KEY": "k" * 40},
    )
    assert proc.returncode == 1, proc.stderr
    text = proc.stdout + proc.stderr
    assert "giving up after 1 attempts" in text
    assert "kpro_main: kpro_main:" not in text
    assert "k" * 40 not in text
    if quiet:
        assert "kpro_main: failed: giving up after 1 attempts" in proc.stderr
