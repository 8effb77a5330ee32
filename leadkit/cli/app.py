"""``leadkit`` commands. Exit codes (also in ``docs/extract.md``):

====  ===========================================================
0     success
1     one or more sources failed (the others were loaded)
2     bad configuration or usage
4     the warehouse could not be opened or written
75    another ``leadkit extract`` is writing this warehouse
130   interrupted (Ctrl-C / SIGTERM) after committing pages in flight
====  ===========================================================

``leadkit push`` adds 3 (some leads rejected) and uses 75 for another push to the same
destination; see ``leadkit.cli.push`` and docs/push.md.
"""

from __future__ import annotations

import functools
import importlib.resources
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from leadkit.config import LeadkitConfig, load_config, load_warehouse_settings
from leadkit.engine.extract import (
    EXIT_CONFIG,
    EXIT_WAREHOUSE,
    run_extract,
)
from leadkit.errors import ConfigError, LeadkitError, RunLockedError, WarehouseError
from leadkit.logs import configure_logging
from leadkit.redact import Redactor

__all__ = ["app"]

app = typer.Typer(
    name="leadkit",
    help="Pull leads from lead APIs into DuckDB, query them, and push them on.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output (cron mail, CI logs) gets a wide fixed width instead of rich's 80 columns.
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
out = Console(width=None if sys.stdout.isatty() else 160)

F = TypeVar("F", bound=Callable[..., Any])


class LogFormat(StrEnum):
    """Log output format."""

    text = "text"
    json = "json"


class QueryFormat(StrEnum):
    """Output format of ``leadkit query``."""

    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="leadkit.toml to use (default: $LEADKIT_CONFIG, else ./leadkit.toml).",
        show_default=False,
    ),
]


def handle_errors(fn: F) -> F:
    """Turn leadkit errors into a clear message and the documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", markup=True, highlight=False)
            raise typer.Exit(EXIT_CONFIG) from None
        except RunLockedError as exc:
            err.print(f"[yellow]locked:[/yellow] {escape(str(exc))}", highlight=False)
            raise typer.Exit(exc.exit_code) from None
        except WarehouseError as exc:
            err.print(f"[red]warehouse error:[/red] {escape(str(exc))}", highlight=False)
            raise typer.Exit(EXIT_WAREHOUSE) from None
        except LeadkitError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
            raise typer.Exit(EXIT_CONFIG) from None

    return wrapper  # type: ignore[return-value]


def _load(config: Path | None) -> LeadkitConfig:
    # An extract needs the warehouse and the sources: a destination's or [serve]'s unset
    # ${VAR} (a secret the scheduled job does not have) must not stop it.
    return load_config(config, needs=("warehouse", "sources"))


@app.command()
@handle_errors
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the file.")] = Path("leadkit.toml"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented example leadkit.toml."""
    if path.exists() and not force:
        err.print(f"{path} already exists; use --force to overwrite it.")
        raise typer.Exit(EXIT_CONFIG)
    text = importlib.resources.files("leadkit.cli").joinpath("leadkit.example.toml").read_text()
    path.write_text(text, encoding="utf-8")
    out.print(f"Wrote {path}. Edit base_url, export KPRO_API_KEY, then run `leadkit extract`.")


@app.command()
@handle_errors
def extract(
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help="Only this source (repeatable). Default: all enabled."),
    ] = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh", help="Ignore stored cursors and re-read everything (upserts)."
        ),
    ] = False,
    config: ConfigOpt = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress display; errors only.")
    ] = False,
    log_format: Annotated[
        LogFormat, typer.Option("--log-format", help="text for people, json for schedulers.")
    ] = LogFormat.text,
) -> None:
    """Extract leads from every configured source into the warehouse (incremental)."""
    # Log in the chosen format from the start: loading the config may already warn.
    configure_logging(redactor=Redactor([]), fmt=log_format.value)
    cfg = _load(config)
    code = _extract(cfg, source, full_refresh, quiet, log_format)
    raise typer.Exit(code)


def _extract(
    cfg: LeadkitConfig,
    sources: list[str] | None,
    full_refresh: bool,
    quiet: bool,
    log_format: LogFormat,
) -> int:
    import logging

    from leadkit.cli.render import RichProgress, print_summary

    redactor = Redactor(cfg.secrets())
    level = logging.WARNING if quiet else logging.INFO
    configure_logging(redactor=redactor, fmt=log_format.value, level=level)
    show = not quiet and log_format is LogFormat.text and err.is_terminal
    progress = RichProgress(err) if show else None
    try:
        result = run_extract(
            cfg,
            sources=sources,
            full_refresh=full_refresh,
            progress=progress,
            redactor=redactor,
        )
    finally:
        if progress is not None:
            progress.stop()
    if log_format is LogFormat.json:
        import orjson

        for s in result.sources:
            line = {
                "event": "source_finished",
                "run_id": result.run_id,
                "source": s.name,
                "status": s.status,
                "pages": s.pages,
                "records": s.records,
                "inserted": s.inserted,
                "updated": s.updated,
                "unchanged": s.unchanged,
                "rejects": s.rejects,
                "seconds": round(s.seconds, 3),
                "error": s.error,
            }
            sys.stdout.write(orjson.dumps(line).decode() + "\n")
    elif not quiet:
        print_summary(out, result)
    else:
        for s in result.sources:
            if s.status != "success":
                detail = (s.error or "").removeprefix(f"{s.name}: ")
                err.print(
                    f"{s.name}: {s.status}" + (f": {detail}" if detail else ""), highlight=False
                )
    return result.exit_code


@app.command()
@handle_errors
def runs(
    limit: Annotated[int, typer.Option(help="How many rows.")] = 20,
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """Show extract run history from the warehouse's _runs table."""
    from leadkit.cli.render import frame_table
    from leadkit.storage.warehouse import Warehouse

    settings = load_warehouse_settings(config)
    frame = Warehouse(settings.path, busy_timeout_s=settings.busy_timeout_s).runs(limit)
    if as_json:
        sys.stdout.write(frame.write_ndjson())
    elif frame.height == 0:
        out.print("No runs yet. Run `leadkit extract`.")
    else:
        out.print(frame_table(frame, title="Extract runs (newest first)"))


@app.command()
@handle_errors
def sandbox(
    systems: Annotated[
        list[str] | None,
        typer.Argument(
            help="Simulators to serve: kpro, ovipro, carehome, dialler, realgeeks (default: all)."
        ),
    ] = None,
    port: Annotated[
        int,
        typer.Option(
            help="First port on 127.0.0.1; the next systems take the next ports (0 = any)."
        ),
    ] = 8700,
    leads: Annotated[int, typer.Option(help="Leads in each pull system's dataset.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed of the datasets.")] = 0,
    latency_ms: Annotated[float, typer.Option(help="Added latency per request.")] = 0.0,
    fault_rate: Annotated[float, typer.Option(help="Share of requests that fail (0..1).")] = 0.0,
    write_config: Annotated[
        Path | None,
        typer.Option(help="Write a leadkit.toml pointing at the running simulators here."),
    ] = None,
) -> None:
    """Serve the simulated lead APIs on 127.0.0.1 until Ctrl-C."""
    from leadkit.cli.sandboxes import SandboxOptions, serve_sandboxes

    options = SandboxOptions(
        leads=leads, seed=seed, latency_s=latency_ms / 1000, fault_rate=fault_rate, port=port
    )
    try:
        serve_sandboxes(
            systems or [],
            options,
            write_config=str(write_config) if write_config else None,
            console=out,
        )
    except LookupError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@app.command()
@handle_errors
def demo(
    leads: Annotated[int, typer.Option(help="Leads per sandbox account.")] = 5000,
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo writes its config and warehouse.")
    ] = Path("data/demo"),
    no_dashboard: Annotated[
        bool,
        typer.Option(
            "--no-dashboard",
            help="Don't start the dashboard afterwards (also the case under CI or without a "
            "terminal).",
        ),
    ] = False,
) -> None:
    """Start the sandbox, extract from it with progress, summarise, then open the dashboard."""
    from leadkit.cli.demo import run_demo

    raise typer.Exit(
        run_demo(directory=directory, leads=leads, console=out, dashboard=not no_dashboard)
    )


@app.command()
@handle_errors
def dashboard(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 = any free port).")] = 8501,
    config: ConfigOpt = None,
) -> None:
    """Serve the Streamlit dashboard over the warehouse and print its URL (Ctrl-C stops)."""
    from leadkit.cli.dashboard import run_dashboard_command

    raise typer.Exit(run_dashboard_command(host=host, port=port, config=config, console=out))


@app.command()
@handle_errors
def query(
    query: Annotated[
        str,
        typer.Argument(
            help="Filters, sort, page, size, fields in KPro's language, e.g. "
            "'createdAt.gte=2021-03-01&site.id.in=1,2&sort=-createdAt'. Quote it."
        ),
    ] = "",
    table: Annotated[
        str, typer.Option("--table", "-t", help="Table or view; an unknown name lists them all.")
    ] = "leads",
    fmt: Annotated[
        QueryFormat,
        typer.Option("--format", "-f", help="table for a terminal; csv, json (lines), parquet."),
    ] = QueryFormat.table,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (needed for parquet)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Query a warehouse table with the filter language (one page; see docs/query.md)."""
    from leadkit.cli.query import run_query_command

    code = run_query_command(
        query, table=table, fmt=fmt.value, output=output, config=config, out=out, err=err
    )
    raise typer.Exit(code)


@app.command()
@handle_errors
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to bind (default: \\[serve] host, else 127.0.0.1).", show_default=False
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port (default: \\[serve] port, else 8765; 0 = any free port).", show_default=False
        ),
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option("--no-auth", help="Serve without a key: loopback only, for local use."),
    ] = False,
    config: ConfigOpt = None,
    log_format: Annotated[
        LogFormat, typer.Option("--log-format", help="Access log: text or json lines (stderr).")
    ] = LogFormat.text,
) -> None:
    """Serve the warehouse read-only over HTTP with KPro's filter language and envelope."""
    from leadkit.cli.serve import run_serve_command

    run_serve_command(
        host=host,
        port=port,
        no_auth=no_auth,
        config=config,
        log_format=log_format.value,
        out=out,
    )


class DeliveriesFormat(StrEnum):
    """Output format of ``leadkit deliveries``."""

    table = "table"
    csv = "csv"
    json = "json"


@app.command()
@handle_errors
def push(
    destination: Annotated[str, typer.Argument(help="A \\[destinations.NAME] of leadkit.toml.")],
    where: Annotated[
        str,
        typer.Option(
            "--where",
            "-w",
            help="Filters in KPro's language, e.g. 'createdAt.gte=2024-01-01&status=passed'. "
            "Quote it. Default: every lead of the table.",
        ),
    ] = "",
    table: Annotated[
        str, typer.Option("--table", "-t", help="Lead table: leads, kpro_leads, ovipro_leads…")
    ] = "leads",
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Validate and show what would be sent; send nothing."),
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="At most N leads (the first in key order).")
    ] = None,
    cancel: Annotated[
        bool, typer.Option("--cancel", help="Withdraw earlier deliveries (dialler only).")
    ] = False,
    config: ConfigOpt = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress or summary; problems only.")
    ] = False,
    log_format: Annotated[
        LogFormat, typer.Option("--log-format", help="text for people, json for schedulers.")
    ] = LogFormat.text,
) -> None:
    """Push warehouse leads to a destination, exactly once (see docs/push.md)."""
    from leadkit.cli.push import run_push_command

    code = run_push_command(
        destination,
        where=where,
        table=table,
        dry_run=dry_run,
        limit=limit,
        cancel=cancel,
        config=config,
        quiet=quiet,
        log_format=log_format.value,
        out=out,
        err=err,
    )
    raise typer.Exit(code)


@app.command()
@handle_errors
def deliveries(
    destination: Annotated[
        str | None, typer.Option("--destination", "-d", help="Only this destination.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", "-s", help="Only this status: sent, rejected, failed, pending…"),
    ] = None,
    fmt: Annotated[
        DeliveriesFormat, typer.Option("--format", "-f", help="table, csv or json (lines).")
    ] = DeliveriesFormat.table,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 1000,
    config: ConfigOpt = None,
) -> None:
    """Show the delivery ledger (_deliveries), most recent first."""
    from leadkit.cli.push import run_deliveries_command

    raise typer.Exit(
        run_deliveries_command(
            destination=destination,
            status=status,
            fmt=fmt.value,
            limit=limit,
            config=config,
            out=out,
        )
    )
