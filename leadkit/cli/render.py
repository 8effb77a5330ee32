"""Terminal rendering: the extract progress display, run summaries, frames as tables."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichBar
from rich.table import Table

from leadkit.engine.extract import ExtractResult, Progress, SourceResult

__all__ = ["RichProgress", "frame_table", "print_summary"]


class RichProgress(Progress):
    """One progress line per source: bar, leads done / expected, pages, leads/s."""

    def __init__(self, console: Console) -> None:
        self.bar = RichBar(
            TextColumn("[bold]{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("leads · {task.fields[pages]} pages · {task.fields[rate]:>8} leads/s"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.bar.start()

    def start(self, source: str) -> None:
        self.tasks[source] = self.bar.add_task(source, total=None, pages=0, rate="-")

    def total(self, source: str, total: int) -> None:
        self.bar.update(self.tasks[source], total=total)

    def advance(self, source: str, result: SourceResult) -> None:
        task = self.bar.tasks[self.tasks[source]]
        elapsed = task.elapsed or 0.0
        rate = f"{result.records / elapsed:,.0f}" if elapsed > 0 else "-"
        total = task.total
        if total is not None and result.records > total:
            total = result.records
        self.bar.update(
            self.tasks[source],
            completed=result.records,
            total=total,
            pages=result.pages,
            rate=rate,
        )

    def finish(self, source: str, result: SourceResult) -> None:
        if source in self.tasks:
            label = source if result.status == "success" else f"{source} ({result.status})"
            self.bar.update(self.tasks[source], description=label)

    def stop(self) -> None:
        """Stop redrawing."""
        self.bar.stop()


def print_summary(console: Console, result: ExtractResult) -> None:
    """A table of what each source did, then the errors in full."""
    table = Table(
        title=f"Run {result.run_id}",
        title_justify="left",
        caption="recv = records received · new / upd / same = leads inserted, updated, "
        "unchanged · gone = vanished from the server · rej = rejected",
        caption_justify="left",
    )
    table.add_column("source", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for col in ("pages", "recv", "new", "upd", "same", "gone", "rej", "leads/s"):
        table.add_column(col, justify="right", no_wrap=True)
    for s in result.sources:
        colour = {"success": "green", "failed": "red"}.get(s.status, "yellow")
        table.add_row(
            s.name,
            f"[{colour}]{s.status}[/{colour}]",
            f"{s.pages:,}",
            f"{s.records:,}",
            f"{s.inserted:,}",
            f"{s.updated:,}",
            f"{s.unchanged:,}",
            f"{s.vanished:,}",
            f"{s.rejects:,}",
            f"{s.leads_per_s:,.0f}",
        )
    console.print(table)
    for s in result.sources:
        if s.error:
            # The error text usually starts with the source's name already.
            detail = s.error.removeprefix(f"{s.name}: ")
            console.print(f"[red]{s.name}:[/red] {detail}", highlight=False)


def frame_table(frame: pl.DataFrame, *, title: str | None = None, max_width: int = 40) -> Table:
    """Render a polars frame as a rich table (long cells are cut)."""
    table = Table(title=title, title_justify="left")
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left", overflow="fold")
    for row in frame.iter_rows():
        cells = []
        for value in row:
            text = "" if value is None else str(value)
            cells.append(text if len(text) <= max_width else text[: max_width - 1] + "…")
        table.add_row(*cells)
    return table


def leadkit_command() -> str:
    """How to type ``leadkit`` in this shell: ``leadkit`` when it is on ``PATH``, else the
    path of the installed script (``.venv/bin/leadkit`` after ``make demo``)."""
    import os
    import shutil
    import sys

    script = Path(sys.prefix) / "bin" / "leadkit"
    found = shutil.which("leadkit")
    if found and (not script.exists() or Path(found).resolve() == script.resolve()):
        return "leadkit"
    if not script.exists():
        return "leadkit"
    try:
        return os.path.relpath(script)
    except ValueError:
        return str(script)
