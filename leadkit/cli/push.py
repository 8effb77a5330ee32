"""``leadkit push`` and ``leadkit deliveries``: rendering and exit codes (see docs/push.md).

Exit codes of ``leadkit push``:

====  =================================================================================
0     every selected lead is delivered, skipped as already delivered, or (dry run) valid
1     some deliveries failed after retries (run again later), or the push stopped early
      (e.g. the destination rejected the credentials)
2     bad configuration or usage (unknown destination, bad --where …)
3     some leads were rejected (invalid data: see ``leadkit deliveries --status rejected``)
4     the warehouse could not be read or written
75    another ``leadkit push`` to the same destination is running
130   interrupted (Ctrl-C / SIGTERM) after the requests in flight were recorded
====  =================================================================================
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import orjson
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichBar
from rich.table import Table

from leadkit.config import load_config, load_warehouse_settings
from leadkit.logs import configure_logging
from leadkit.push.engine import PushProgress, PushResult, run_push
from leadkit.push.ledger import deliveries
from leadkit.redact import Redactor
from leadkit.storage.warehouse import Warehouse

__all__ = ["PushBar", "print_push_summary", "run_deliveries_command", "run_push_command"]

#: Dry-run items printed by the CLI.
SHOWN_ITEMS = 20


class PushBar(PushProgress):
    """One progress line: bar, leads decided / selected, sent, failed, leads/s."""

    def __init__(self, console: Console) -> None:
        self.bar = RichBar(
            TextColumn("[bold]{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("leads · {task.fields[sent]} sent · {task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task: TaskID | None = None
        self.bar.start()

    def start(self, destination: str, total: int) -> None:
        self.task = self.bar.add_task(destination, total=total, sent=0, failed=0)

    def advance(self, done: int, counts: dict[str, int]) -> None:
        if self.task is not None:
            sent = counts.get("sent", 0) + counts.get("updated", 0)
            self.bar.update(self.task, completed=done, sent=sent, failed=counts.get("failed", 0))

    def finish(self, result: PushResult) -> None:
        self.advance(sum(result.counts.values()), result.counts)

    def stop(self) -> None:
        """Stop redrawing."""
        self.bar.stop()


def print_push_summary(console: Console, result: PushResult) -> None:
    """The outcome counts, then (dry run or problems) the first leads' details."""
    what = "Dry run" if result.dry_run else ("Cancel" if result.action == "cancel" else "Push")
    # Title and caption as lines of their own: a table only as wide as its two columns
    # would wrap them into a narrow column.
    console.print(
        f"[bold]{what}[/bold] {escape(result.run_id)} → {escape(result.destination)} "
        f"({result.kind}): {result.selected:,} leads selected from "
        f"{escape(result.selection)}; {result.requests:,} requests ({result.retries:,} "
        f"retries) in {result.seconds:.1f}s",
        highlight=False,
    )
    table = Table()
    table.add_column("outcome", no_wrap=True)
    table.add_column("leads", justify="right")
    colours = {"failed": "red", "rejected": "red", "sent": "green", "updated": "green"}
    for name, n in result.counts.items():
        colour = colours.get(name, "white")
        table.add_row(f"[{colour}]{name}[/{colour}]", f"{n:,}")
    if not result.counts:
        table.add_row("(no leads matched)", "0")
    console.print(table)
    shown = [i for i in result.items if result.dry_run or i.status in ("rejected", "failed")]
    if shown:
        items = Table(title="Leads" if result.dry_run else "Problems", title_justify="left")
        for col in ("lead", "outcome", "detail"):
            items.add_column(col, overflow="fold")
        if result.dry_run:
            items.add_column("payload", overflow="fold")
        for item in shown[:SHOWN_ITEMS]:
            cells = [item.lead_key, item.status, item.detail or ""]
            if result.dry_run:
                text = orjson.dumps(item.payload).decode() if item.payload else ""
                cells.append(text if len(text) <= 300 else text[:299] + "…")
            items.add_row(*(escape(c) for c in cells))
        console.print(items)
        if len(shown) > SHOWN_ITEMS:
            console.print(f"… and {len(shown) - SHOWN_ITEMS:,} more", highlight=False)
    if result.error:
        console.print(f"[red]stopped:[/red] {escape(result.error)}", highlight=False)
    if not result.dry_run and (result.counts.get("rejected") or result.counts.get("failed")):
        console.print(
            f"See `leadkit deliveries --destination {result.destination} --status rejected` "
            "(or failed) for every reason.",
            highlight=False,
        )


def run_push_command(
    destination: str,
    *,
    where: str,
    table: str,
    dry_run: bool,
    limit: int | None,
    cancel: bool,
    config: Path | None,
    quiet: bool,
    log_format: str,
    out: Console,
    err: Console,
) -> int:
    """``leadkit push``: run and print; return the exit code."""
    # Log in the chosen format from the start: loading the config may already warn.
    configure_logging(redactor=Redactor([]), fmt="json" if log_format == "json" else "text")
    cfg = load_config(config, needs=("warehouse", f"destinations.{destination}"))
    redactor = Redactor(cfg.secrets())
    level = logging.WARNING if quiet else logging.INFO
    configure_logging(redactor=redactor, fmt="json" if log_format == "json" else "text",
                      level=level)  # fmt: skip
    show = not quiet and log_format == "text" and err.is_terminal
    bar = PushBar(err) if show else None
    try:
        result = run_push(
            cfg,
            destination,
            where=where,
            table=table,
            dry_run=dry_run,
            limit=limit,
            cancel=cancel,
            progress=bar,
            redactor=redactor,
        )
    finally:
        if bar is not None:
            bar.stop()
    if log_format == "json":
        line = {
            "event": "push_finished",
            "run_id": result.run_id,
            "destination": result.destination,
            "kind": result.kind,
            "action": result.action,
            "dry_run": result.dry_run,
            "selected": result.selected,
            "counts": result.counts,
            "requests": result.requests,
            "retries": result.retries,
            "seconds": round(result.seconds, 3),
            "interrupted": result.interrupted,
            "error": result.error,
            "exit_code": result.exit_code,
        }
        sys.stdout.write(orjson.dumps(line).decode() + "\n")
    elif not quiet:
        print_push_summary(out, result)
    elif result.exit_code:
        counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
        err.print(f"{destination}: {counts}{'; ' + result.error if result.error else ''}",
                  highlight=False)  # fmt: skip
    return result.exit_code


def run_deliveries_command(
    *,
    destination: str | None,
    status: str | None,
    fmt: str,
    limit: int,
    config: Path | None,
    out: Console,
) -> int:
    """``leadkit deliveries``: print the ledger; return the exit code."""
    from leadkit.cli.render import frame_table

    settings = load_warehouse_settings(config)
    wh = Warehouse(settings.path, busy_timeout_s=settings.busy_timeout_s)
    frame = deliveries(wh, destination=destination, status=status, limit=limit)
    if fmt == "json":
        sys.stdout.write(frame.write_ndjson())
    elif fmt == "csv":
        from leadkit.cli.query import CSV_DATETIME  # the same ISO 8601 form as `query`

        sys.stdout.write(frame.write_csv(datetime_format=CSV_DATETIME))
    elif frame.height == 0:
        out.print("No deliveries match. Run `leadkit push NAME --where ...`.", highlight=False)
    else:
        shown = frame.select(
            "destination", "lead_key", "status", "attempts", "http_status", "error",
            "remote_id", "last_attempt_at",
        )  # fmt: skip
        out.print(frame_table(shown, title="Deliveries (most recent first)", max_width=60))
    return 0
