"""Start the Streamlit dashboard as a child process (``leadkit dashboard``, ``leadkit demo``).

The server runs headless, binds 127.0.0.1 unless told otherwise, never asks about usage
statistics, and is ready when its health endpoint answers. The warehouse is passed as
``LEADKIT_CONFIG`` (the same variable every leadkit command reads).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from leadkit.errors import LeadkitError

__all__ = ["DEFAULT_PORT", "DashboardServer", "DashboardStartError", "app_path", "free_port"]

DEFAULT_PORT = 8501


class DashboardStartError(LeadkitError):
    """The dashboard server exited or did not answer in time."""


def app_path() -> Path:
    """The Streamlit script ``leadkit dashboard`` runs (shipped inside the package)."""
    return Path(__file__).with_name("app.py")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class DashboardServer:
    """``streamlit run`` of the dashboard in a child process.

    Args:
        host: address to bind (default 127.0.0.1).
        port: port (0 picks a free one).
        config: a leadkit.toml whose ``[warehouse]`` to show (default: the child's
            ``$LEADKIT_CONFIG``, else ``./leadkit.toml``).

    Example:
        >>> server = DashboardServer(port=8600)
        >>> server.url
        'http://127.0.0.1:8600'
        >>> server.command()[-8:]  # doctest: +NORMALIZE_WHITESPACE
        ['--server.address', '127.0.0.1', '--server.port', '8600', '--server.headless', 'true',
         '--browser.gatherUsageStats', 'false']
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, config: Path | None = None
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.config = config.resolve() if config is not None else None
        self.process: subprocess.Popen[bytes] | None = None
        self._log: tempfile._TemporaryFileWrapper[bytes] | None = None

    @property
    def url(self) -> str:
        """Where the dashboard answers."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def command(self) -> list[str]:
        """The ``streamlit run`` command line."""
        return [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(app_path()),
            "--server.fileWatcherType",
            "none",
            "--client.toolbarMode",
            "viewer",
            "--server.address",
            self.host,
            "--server.port",
            str(self.port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ]

    def start(self, *, timeout_s: float = 60) -> str:
        """Start the server and wait until it answers; return its URL.

        Raises:
            DashboardStartError: the server exited or did not answer within ``timeout_s``
                (with the end of its output).
        """
        env = dict(os.environ)
        if self.config is not None:
            env["LEADKIT_CONFIG"] = str(self.config)
        self._log = tempfile.NamedTemporaryFile(prefix="leadkit-dashboard-", suffix=".log")  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command(), env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DashboardStartError(
                    f"the dashboard server exited with code {self.process.returncode}:\n"
                    + self.output()
                )
            if self.healthy():
                return self.url
            time.sleep(0.2)
        self.stop()
        raise DashboardStartError(
            f"the dashboard did not answer on {self.url} within {timeout_s:g}s:\n" + self.output()
        )

    def healthy(self) -> bool:
        """Whether the server answers its health check."""
        try:
            with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as resp:  # noqa: S310
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def output(self, limit: int = 4000) -> str:
        """The end of the server's output."""
        if self._log is None:
            return ""
        try:
            text = Path(self._log.name).read_bytes().decode("utf-8", "replace")
        except OSError:
            return ""
        return text[-limit:]

    def wait(self) -> int:
        """Block until the server exits (Ctrl-C stops it); return its exit code."""
        if self.process is None:
            return 0
        try:
            return self.process.wait()
        except KeyboardInterrupt:
            self.stop()
            return 0

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> DashboardServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
