"""``leadkit query``: one page of a table, filtered in KPro's language, as a table or a file.

Formats: ``table`` (rich, for a terminal: as many columns as fit, with a line saying which
rows of how many), ``csv`` (STRUCT fields as dotted columns, lists as JSON text), ``json``
(JSON lines: one object per row) and ``parquet`` (needs ``--output``; types kept).
Timestamps are ISO 8601 UTC in csv and json.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from leadkit.config import load_warehouse_settings
from leadkit.errors import QueryError
from leadkit.serve.encoding import flat_frame, rows_ndjson
from leadkit.storage.queries import QueryResult
from leadkit.storage.warehouse import Warehouse

__all__ = [
    "CSV_DATETIME",
    "EXIT_QUERY",
    "FORMATS",
    "print_query_error",
    "render_table",
    "run_query_command",
]

EXIT_QUERY = 2
"""Exit code for a bad query or usage (as for a bad configuration)."""

FORMATS = ("table", "csv", "json", "parquet")
CSV_DATETIME = "%Y-%m-%dT%H:%M:%S%.f%:z"
_MAX_CELL = 40


def run_query_command(
    query: str,
    *,
    table: str,
    fmt: str,
    output: Path | None,
    config: Path | None,
    out: Console,
    err: Console,
) -> int:
    """Run the query and write the result; return the exit code.

    Raises:
        WarehouseError: the warehouse cannot be read (the caller maps it to exit 4).
        ConfigError: leadkit.toml is invalid.
    """
    if fmt == "parquet" and output is None:
        _error(err, "--format parquet writes a binary file: add --output FILE.parquet")
        return EXIT_QUERY
    if fmt == "table" and output is not None:
        _error(err, "--output needs --format csv, json or parquet")
        return EXIT_QUERY
    settings = load_warehouse_settings(config)
    warehouse = Warehouse(settings.path, busy_timeout_s=settings.busy_timeout_s)
    try:
        result = warehouse.query(query, table)
    except QueryError as exc:
        print_query_error(err, exc)
        return EXIT_QUERY
    if fmt == "table":
        rendered, note = render_table(result, width=out.width)
        out.print(rendered)
        out.print(Text(summary(result) + (f" · {note}" if note else ""), style="dim"))
        return 0
    if fmt == "parquet":
        assert output is not None
        result.frame.write_parquet(output)
    else:
        text = (
            rows_ndjson(result.frame)
            if fmt == "json"
            else flat_frame(result.frame).write_csv(datetime_format=CSV_DATETIME)
        )
        if output is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            output.write_text(text, encoding="utf-8")
    if output is not None or err.is_terminal:
        where = f" to {output}" if output is not None else ""
        err.print(Text(f"{summary(result)}{where}"), highlight=False)
    return 0


def summary(result: QueryResult) -> str:
    """``100 of 212 rows, page 1 of 3`` (with the positions when past page 1).

    Example:
        >>> import polars as pl
        >>> from leadkit.query import FieldCatalog, compile_query
        >>> frame = pl.DataFrame({"id": [3, 4]})
        >>> bound = compile_query("page=2&size=2", FieldCatalog.from_polars_schema(frame.schema))
        >>> summary(QueryResult(frame, 5, 2, 2, "t", bound))
        '2 of 5 rows (3-4), page 2 of 3'
    """
    rows = f"{result.frame.height:,} of {result.total:,} rows"
    if result.page > 1 and result.frame.height:
        rows += f" ({result.first_row:,}-{result.last_row:,})"
    return f"{rows}, page {result.page:,} of {result.pages:,}"


def print_query_error(err: Console, exc: QueryError) -> None:
    """``error: <problem>``, or one line per problem when there are several."""
    if len(exc.problems) == 1:
        _error(err, str(exc))
        return
    lines = [f"invalid query ({len(exc.problems)} problems):"]
    lines += [f"  - {p.message}" for p in exc.problems]
    _error(err, "\n".join(lines))


def _error(err: Console, message: str) -> None:
    err.print(Text("error: ", style="red") + Text(message), highlight=False, soft_wrap=True)


def render_table(result: QueryResult, *, width: int) -> tuple[Table, str]:
    """The page as a rich table that fits ``width``, and a note on the columns left out.

    Columns empty on this page are left out; then as many columns as fit, in table order.
    Long cells are cut; STRUCTs read ``id=1, code=KZ``; timestamps are UTC (``Z``).
    """
    frame = result.frame
    names = [n for n in frame.columns if frame.height == 0 or frame[n].null_count() < frame.height]
    empty = frame.width - len(names)
    shown: list[tuple[str, list[str]]] = []
    used = 0
    for name in names:
        cells = [_cell(v) for v in frame[name].to_list()]
        col_width = min(_MAX_CELL, max([len(name), *(len(c) for c in cells)])) + 3
        if shown and used + col_width > width:
            break
        shown.append((name, cells))
        used += col_width
    table = Table(title=f"{result.table}: {result.query.describe()}", title_justify="left")
    for name, _ in shown:
        numeric = frame.schema[name].is_numeric()
        table.add_column(name, justify="right" if numeric else "left", overflow="ellipsis")
    for row in range(frame.height):
        table.add_row(*(Text(cells[row]) for _, cells in shown))
    note = ""
    if len(shown) < frame.width:
        note = f"{len(shown)} of {frame.width} columns shown"
        note += f" ({empty} empty on this page)" if empty else ""
        note += "; pick them with fields=a,b,c, or use --format csv/json/parquet"
    return table, note


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):  # UTC shown as ...Z
        if value.tzinfo is None:
            return value.isoformat(sep=" ")
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ") + "Z"
    if isinstance(value, dict):
        text = ", ".join(f"{k}={_cell(v)}" for k, v in value.items() if v is not None)
    elif isinstance(value, list):
        text = orjson.dumps(value, default=str).decode()
    else:
        text = str(value)
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"
