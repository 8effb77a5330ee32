"""``leadkit serve`` as a real process: it starts, answers, logs without the key, and stops."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadkit.cli.app import app
from tests.storage._leads import LEADS, build_warehouse

KEY = "cli-serve-key-abcdef0123456789"


def _read_url(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """The server's URL from its first line of output (bounded wait)."""
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=deadline - time.monotonic()):
            line = proc.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:\d+", line)
            if match:
                return match.group(0)
            if not line:
                break
    raise AssertionError(
        f"no URL from leadkit serve; stderr: {proc.stderr.read() if proc.stderr else ''}"
    )


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_process_answers_and_never_logs_the_key(tmp_path: Path) -> None:
    build_warehouse(tmp_path / "w.duckdb")
    config = tmp_path / "leadkit.toml"
    config.write_text(
        '[warehouse]\npath = "w.duckdb"\n\n[serve]\napi_key = "${LEADKIT_SERVE_KEY}"\nport = 0\n'
    )
    env = {**os.environ, "LEADKIT_SERVE_KEY": KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadkit", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        base = _read_url(proc)
        status, body = _get(f"{base}/api/bulk/open/leads?api_key={KEY}&site.id.in=1,2&size=2")
        assert status == 200
        pagination = body["pagination"]
        assert isinstance(pagination, dict)
        assert pagination["total"] == sum(1 for r in LEADS if r["site"]["id"] in (1, 2))
        assert _get(f"{base}/api/leads?api_key=nope") == (401, {"message": "Unauthenticated."})
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert KEY not in out + err
    assert '"GET /api/bulk/open/leads?api_key=***&site.id.in=1,2&size=2" 200' in err
    assert '"GET /api/leads?api_key=***" 401' in err


def test_serve_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    config = tmp_path / "leadkit.toml"
    config.write_text('[warehouse]\npath = "w.duckdb"\n')
    result = CliRunner().invoke(app, ["serve", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 2
    text = " ".join(result.stderr.split())  # rich wraps long lines
    assert "serve.api_key: is not set; leadkit serve needs a key of its own" in text
    assert 'add api_key = "${LEADKIT_SERVE_KEY}" under [serve] in leadkit.toml' in text
    assert "--no-auth serves 127.0.0.1 without a key" in text


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10"])
def test_no_auth_is_refused_off_loopback(tmp_path: Path, host: str) -> None:
    config = tmp_path / "leadkit.toml"
    config.write_text('[warehouse]\npath = "w.duckdb"\n')
    argv = ["serve", "--no-auth", "--host", host, "--config", str(config)]
    result = CliRunner().invoke(app, argv, catch_exceptions=False)
    assert result.exit_code == 2
    text = " ".join(result.stderr.split())
    assert f"--no-auth serves only loopback addresses, not '{host}'" in text
