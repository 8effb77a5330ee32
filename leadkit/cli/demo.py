"""``leadkit demo``: leadkit end to end with no keys and no internet.

The demo starts the simulators from the sandbox catalogue (:mod:`leadkit.cli.sandboxes`) on
127.0.0.1: two KPro accounts (different datasets and keys), one OviPro account (incoming
and outgoing leads, bearer tokens), one carehome directory account (all eight lead
categories, with the documented data quirks), a telephone dialler and a Real Geeks CRM. It
writes ``<dir>/leadkit.toml`` pointing at them, extracts every source concurrently with
progress bars, pushes a sample of leads to the two receivers (so ``_deliveries`` has
something to show, rejections included), prints what landed, and then serves the
dashboard. The keys, logins and passwords in the config are the simulators' public demo
values, not secrets.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from leadkit.cli.render import frame_table, leadkit_command, print_summary
from leadkit.cli.sandboxes import SandboxOptions, config_text, start_sandboxes
from leadkit.config import LeadkitConfig, load_config
from leadkit.engine.extract import run_extract
from leadkit.errors import LeadkitError
from leadkit.logs import configure_logging
from leadkit.redact import Redactor
from leadkit.storage.warehouse import Warehouse

__all__ = ["DEMO_PUSHES", "run_demo"]

#: What the demo pushes once the extract is done: (destination, where, limit).
DEMO_PUSHES: tuple[tuple[str, str, int], ...] = (
    ("dialler_calls", "system=kpro", 40),
    ("realgeeks_crm", "system=ovipro", 40),
    ("kpro_north_import", "system=carehome", 40),
)

_HEADER = """\
# Written by `leadkit demo`: every source and destination below is a local simulator.
# The api_key, username and password defaults are the simulators' public demo values,
# not secrets; a real deployment sets them in the environment (${VAR})."""


def run_demo(*, directory: Path, leads: int, console: Console, dashboard: bool = True) -> int:
    """Run the demo; return the extract's exit code.

    Afterwards the dashboard starts (until Ctrl-C) when ``dashboard`` is true and a person
    is at the terminal (no ``CI``, stdin and stdout are terminals); otherwise the command
    that starts it is printed.
    """
    from leadkit.cli.render import RichProgress

    directory.mkdir(parents=True, exist_ok=True)
    wanted = [
        ("kpro_london", "kpro", SandboxOptions(leads=leads, seed=1)),
        ("kpro_north", "kpro", SandboxOptions(leads=max(1, leads // 2), seed=2)),
        ("ovipro_helsinki", "ovipro", SandboxOptions(leads=leads, seed=0)),
        ("carehome_uk", "carehome", SandboxOptions(leads=leads, seed=0)),
        ("dialler_calls", "dialler", SandboxOptions()),
        ("realgeeks_crm", "realgeeks", SandboxOptions()),
    ]
    console.print(
        "[bold]leadkit demo[/bold]: starting the simulated APIs — two KPro accounts, "
        "OviPro, a carehome directory, a dialler and Real Geeks — on 127.0.0.1…"
    )
    with start_sandboxes(wanted) as running:
        path = directory / "leadkit.toml"
        path.write_text(
            config_text(running, warehouse="leadkit.duckdb", header=_HEADER), encoding="utf-8"
        )
        for r in running:
            console.print(f"  {r.name:<16} {r.spec.title:<19} {r.spec.endpoint(r.server)}")
        console.print(f"Config: {path}")
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
        _push_sample(config, console, redactor)
    wh = Warehouse(config.warehouse.path)
    console.print(
        frame_table(
            wh.sql(
                "SELECT system, source, count(*) AS leads, "
                "mode(coalesce(status, category)) AS top_status_or_category, "
                "min(created_at)::DATE AS first, max(created_at)::DATE AS last "
                "FROM leads GROUP BY system, source ORDER BY system, source"
            ),
            title=f"What landed in {config.warehouse.path}",
        )
    )
    cmd = leadkit_command()
    console.print(
        f"\nNext: [bold]{cmd} runs --config {path}[/bold]  ·  "
        f"[bold]{cmd} deliveries --config {path}[/bold]  ·  the warehouse is "
        f"{config.warehouse.path} (open it with DuckDB or leadkit.connect())"
    )
    _open_dashboard(path, console, dashboard=dashboard)
    return result.exit_code


def _push_sample(config: LeadkitConfig, console: Console, redactor: Redactor) -> None:
    """Push a few leads to each demo receiver and print each push's summary."""
    from leadkit.cli.push import print_push_summary
    from leadkit.push.engine import run_push

    for destination, where, limit in DEMO_PUSHES:
        if destination not in config.destinations:
            continue
        console.print(
            f"\n[bold]leadkit push {destination}[/bold] --where '{where}' --limit {limit}"
        )
        try:
            pushed = run_push(
                config,
                destination,
                where=where,
                limit=limit,
                handle_signals=False,
                redactor=redactor,
            )
        except LeadkitError as exc:
            console.print(f"[red]push to {destination} failed:[/red] {redactor.scrub(str(exc))}")
            continue
        print_push_summary(console, pushed)


def _open_dashboard(config: Path, console: Console, *, dashboard: bool) -> None:
    """Serve the dashboard over the demo's warehouse until Ctrl-C, or print how to."""
    from leadkit.cli.dashboard import interactive, start_dashboard

    if not (dashboard and interactive()):
        console.print(f"Dashboard: [bold]{leadkit_command()} dashboard --config {config}[/bold]")
        return
    server = start_dashboard(host="127.0.0.1", port=0, config=config, console=console)
    try:
        server.wait()
    finally:
        server.stop()
