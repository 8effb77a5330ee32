"""``leadkit demo`` and ``leadkit sandbox``: leadkit end to end with no keys and no internet.

The demo starts two KPro sandbox accounts (different datasets and keys) and one OviPro
sandbox account (incoming and outgoing leads, bearer tokens) on 127.0.0.1, writes
``<dir>/leadkit.toml`` pointing at them, runs the extract with progress (all three sources
concurrently), and prints what landed. The sandbox keys and the OviPro demo login are public
demo values, not secrets.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from rich.console import Console

from leadkit.cli.render import frame_table, print_summary
from leadkit.config import load_config
from leadkit.engine.extract import run_extract
from leadkit.logs import configure_logging
from leadkit.redact import Redactor
from leadkit.sandbox import SandboxThread
from leadkit.storage.warehouse import Warehouse

__all__ = ["run_demo", "serve_sandbox"]

_DEMO_CONFIG = """\
# Written by `leadkit demo`: two KPro accounts and one OviPro account served by the local
# sandboxes. The api_key, username and password defaults below are the sandboxes' public
# demo values, not secrets.
[warehouse]
path = "leadkit.duckdb"

[sources.kpro_london]
kind = "kpro"
base_url = "{url_a}"
api_key = "${{LEADKIT_DEMO_KPRO_LONDON_KEY:-{key_a}}}"
page_size = 500
concurrency = 8

[sources.kpro_north]
kind = "kpro"
base_url = "{url_b}"
api_key = "${{LEADKIT_DEMO_KPRO_NORTH_KEY:-{key_b}}}"
page_size = 500
concurrency = 8

[sources.ovipro_helsinki]
kind = "ovipro"
base_url = "{url_c}"
auth_url = "{auth_c}"
username = "${{LEADKIT_DEMO_OVIPRO_USERNAME:-{user_c}}}"
password = "${{LEADKIT_DEMO_OVIPRO_PASSWORD:-{password_c}}}"
page_size = 100
concurrency = 8
"""


def run_demo(*, directory: Path, leads: int, console: Console, dashboard: bool = True) -> int:
    """Run the demo; return the extract's exit code.

    Afterwards the dashboard starts (until Ctrl-C) when ``dashboard`` is true and a person
    is at the terminal (no ``CI``, stdin and stdout are terminals); otherwise the command
    that starts it is printed.
    """
    from leadkit.cli.render import RichProgress
    from leadkit.systems.kpro.simulator import KProSandbox, KProSandboxConfig
    from leadkit.systems.ovipro.sandbox import OviProSandbox, OviProSandboxConfig

    directory.mkdir(parents=True, exist_ok=True)
    cfg_a = KProSandboxConfig(leads=leads, seed=1)
    cfg_b = KProSandboxConfig(leads=max(1, leads // 2), seed=2)
    cfg_c = OviProSandboxConfig(
        leads=max(1, leads // 2), outgoing_leads=max(1, leads // 20), seed=3
    )
    console.print(
        "[bold]leadkit demo[/bold]: starting two KPro sandbox accounts "
        f"({cfg_a.leads:,} and {cfg_b.leads:,} leads) and one OviPro account "
        f"({cfg_c.leads:,} incoming and {cfg_c.outgoing_leads:,} outgoing leads)…"
    )
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(SandboxThread(lambda: KProSandbox(cfg_a)))
        b = stack.enter_context(SandboxThread(lambda: KProSandbox(cfg_b)))
        c = stack.enter_context(SandboxThread(lambda: OviProSandbox(cfg_c)))
        path = directory / "leadkit.toml"
        path.write_text(
            _DEMO_CONFIG.format(
                url_a=a.base_url,
                key_a=a.server.api_key,
                url_b=b.base_url,
                key_b=b.server.api_key,
                url_c=c.server.base_url,
                auth_c=c.server.auth_url,
                user_c=c.server.username,
                password_c=c.server.password,
            ),
            encoding="utf-8",
        )
        console.print(
            f"Config: {path}   sandboxes: {a.base_url}, {b.base_url}, {c.server.base_url}"
        )
        config = load_config(path)
        redactor = Redactor(config.secrets())
        configure_logging(redactor=redactor)
        progress = RichProgress(Console(stderr=True)) if console.is_terminal else None
        try:
            result = run_extract(config, progress=progress, redactor=redactor)
        finally:
            if progress is not None:
                progress.stop()
    print_summary(console, result)
    wh = Warehouse(config.warehouse.path)
    console.print(
        frame_table(
            wh.sql(
                "SELECT system, source, count(*) AS leads, "
                "mode(status) AS top_status, "
                "min(created_at)::DATE AS first, max(created_at)::DATE AS last "
                "FROM leads GROUP BY system, source ORDER BY system, source"
            ),
            title=f"What landed in {config.warehouse.path}",
        )
    )
    console.print(
        f"\nNext: [bold]leadkit runs --config {path}[/bold]  ·  the warehouse is "
        f"{config.warehouse.path} (open it with DuckDB or leadkit.connect())"
    )
    _open_dashboard(path, console, dashboard=dashboard)
    return result.exit_code


def _open_dashboard(config: Path, console: Console, *, dashboard: bool) -> None:
    """Serve the dashboard over the demo's warehouse until Ctrl-C, or print how to."""
    from leadkit.cli.dashboard import interactive, start_dashboard

    if not (dashboard and interactive()):
        console.print(f"Dashboard: [bold]leadkit dashboard --config {config}[/bold]")
        return
    server = start_dashboard(host="127.0.0.1", port=0, config=config, console=console)
    try:
        server.wait()
    finally:
        server.stop()


def serve_sandbox(
    *, port: int, leads: int, seed: int, latency_ms: float, fault_rate: float
) -> None:
    """Serve one KPro sandbox until Ctrl-C, printing its URL and demo key."""
    from leadkit.systems.kpro.simulator import KProSandboxConfig, serve_forever

    cfg = KProSandboxConfig(
        leads=leads, seed=seed, latency_s=latency_ms / 1000, fault_rate=fault_rate
    )
    console = Console()
    key = cfg.api_keys[0]

    def ready(url: str) -> None:
        console.print(f"KPro sandbox: {url}/api/bulk/open/leads  ({leads:,} leads)")
        console.print(f"API key (public demo key): {key}")
        console.print(f'Try: curl "{url}/api/bulk/open/leads?api_key={key}&size=2"')
        console.print("Ctrl-C to stop.")

    serve_forever(cfg, host="127.0.0.1", port=port, on_ready=ready)
