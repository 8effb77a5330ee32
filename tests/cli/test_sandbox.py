"""``leadkit sandbox``: real simulators in a real process, then a real extract against them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from leadkit.cli.sandboxes import SANDBOXES, spec


def _leadkit(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leadkit", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        **kw,  # type: ignore[arg-type]
    )


def test_sandbox_serves_what_its_config_points_at(tmp_path: Path) -> None:
    config = tmp_path / "leadkit.toml"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leadkit",
            "sandbox",
            "--port",
            "0",
            "--leads",
            "300",
            "--write-config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not config.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert config.exists(), proc.stderr.read() if proc.poll() is not None else "no config"
        text = config.read_text()
        assert "127.0.0.1" in text
        assert "[sources.kpro_sandbox]" in text
        assert "[sources.ovipro_sandbox]" in text
        assert "[sources.carehome_sandbox]" in text
        assert "[destinations.dialler_sandbox]" in text
        assert "[destinations.realgeeks_sandbox]" in text
        assert "[destinations.kpro_sandbox_import]" in text
        assert "[destinations.ovipro_sandbox_create]" in text
        result = _leadkit("extract", "--config", str(config), "--quiet")
        assert result.returncode == 0, result.stderr
        with duckdb.connect(str(tmp_path / "leadkit.duckdb"), read_only=True) as con:
            counts = dict(con.sql("SELECT system, count(*) FROM leads GROUP BY 1").fetchall())
        assert counts.pop("carehome") > 0
        assert counts == {"kpro": 300, "ovipro": 150}
        # The import side of the same KPro account takes OviPro's leads (exactly once).
        pushed = _leadkit(
            "push",
            "kpro_sandbox_import",
            "--where",
            "system=ovipro",
            "--limit",
            "20",
            "--config",
            str(config),
        )
        assert pushed.returncode in (0, 3), pushed.stderr
        again = _leadkit(
            "push",
            "kpro_sandbox_import",
            "--where",
            "system=ovipro",
            "--limit",
            "20",
            "--config",
            str(config),
            "--log-format",
            "json",
        )
        assert again.returncode == 0, again.stderr
        assert "skipped-duplicate" in again.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            stdout, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0
    assert "KPro Marketing" in stdout
    assert "Ctrl-C to stop" in stdout


def test_unknown_sandbox_is_a_clear_error() -> None:
    result = _leadkit("sandbox", "kporo", "--port", "0")
    assert result.returncode == 2
    assert "no sandbox for 'kporo'; did you mean 'kpro'?" in result.stderr


def test_every_registered_system_has_a_sandbox() -> None:
    from leadkit.systems import known_kinds

    kinds = set(known_kinds("source")) | set(known_kinds("destination"))
    have = {s.system for s in SANDBOXES}
    # Every system leadkit talks to can be tried without keys or internet.
    assert kinds <= have, sorted(kinds - have)
    assert spec("kpro").role == "source"
