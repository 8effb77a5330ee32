"""``leadkit dashboard``: serve the Streamlit dashboard on 127.0.0.1 and print its URL."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType

from rich.console import Console

from leadkit.config import load_warehouse_settings
from leadkit.dashboard.launch import DashboardServer

__all__ = ["interactive", "run_dashboard_command", "start_dashboard"]


def interactive() -> bool:
    """Whether a person is at the terminal: not under CI, stdin and stdout are terminals."""
    return not os.environ.get("CI") and sys.stdin.isatty() and sys.stdout.isatty()


def start_dashboard(
    *, host: str, port: int, config: Path | None, console: Console
) -> DashboardServer:
    """Start the dashboard server, print its URL, and return it (still running)."""
    settings = load_warehouse_settings(config)  # a bad file fails here, clearly
    if not settings.path.exists():
        console.print(
            f"[yellow]No warehouse at {settings.path} yet[/yellow]: the dashboard will say "
            "so. Fill it with `leadkit extract` (or try `leadkit demo`)."
        )
    server = DashboardServer(host=host, port=port, config=config)
    url = server.start()
    console.print(f"Dashboard: [bold]{url}[/bold]  (warehouse {settings.path}; Ctrl-C to stop)")
    return server


def run_dashboard_command(*, host: str, port: int, config: Path | None, console: Console) -> int:
    """``leadkit dashboard``: start the server, print its URL, serve until Ctrl-C."""
    server = start_dashboard(host=host, port=port, config=config, console=console)

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)  # stop the server on SIGTERM too
    try:
        code = server.wait()
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)
    return code
