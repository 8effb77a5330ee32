"""Query results as JSON rows: the server's ``data`` and ``leadkit query --format json``.

Each row is one JSON object: columns by name, STRUCTs as nested objects, lists as arrays,
timestamps as ISO 8601 in UTC (``2021-03-10T14:05:31+00:00``, with a fraction only when
there is one; naive timestamps are taken as UTC, as the query layer does), dates as
``YYYY-MM-DD``, decimals as numbers, NaN as null. The work is done column-wise by polars.

>>> import datetime as dt, polars as pl
>>> frame = pl.DataFrame({"id": [7], "created_at": [dt.datetime(2021, 3, 10, 14, 5, 31)],
...                       "site": [{"id": 1, "site_code": "KZ"}]})
>>> rows_json(frame, camel=True).decode()
'[{"id":7,"createdAt":"2021-03-10T14:05:31+00:00","site":{"id":1,"siteCode":"KZ"}}]'
"""

from __future__ import annotations

import functools
import re

import orjson
import polars as pl

__all__ = ["camel_case", "flat_frame", "json_ready", "rows_json", "rows_ndjson"]

_SNAKE = re.compile(r"_([a-z0-9])")


def camel_case(name: str) -> str:
    """``created_at`` → ``createdAt``, segment by segment; leadkit's ``_source`` and
    ``_run_id`` (a leading underscore) are left as they are.

    Example:
        >>> [camel_case(n) for n in ("created_at", "site.site_code", "mapit_id", "_run_id", "id")]
        ['createdAt', 'site.siteCode', 'mapitId', '_run_id', 'id']
    """
    if name.startswith("_"):
        return name
    return ".".join(_SNAKE.sub(lambda m: m.group(1).upper(), part) for part in name.split("."))


def _ready(expr: pl.Expr, dtype: pl.DataType, camel: bool) -> pl.Expr | None:
    """``expr`` rewritten for JSON, or None when it needs no change."""
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return expr.dt.replace_time_zone("UTC")
        return None if dtype.time_zone == "UTC" else expr.dt.convert_time_zone("UTC")
    if isinstance(dtype, pl.Decimal):
        return expr.cast(pl.Float64)
    if isinstance(dtype, pl.List | pl.Array):
        inner = dtype.inner
        assert inner is not None
        element = _ready(pl.element(), _instance(inner), camel)
        return None if element is None else expr.list.eval(element)
    if isinstance(dtype, pl.Struct):
        changed = []
        for field in dtype.fields:
            new = _ready(pl.field(field.name), _instance(field.dtype), camel)
            if new is not None:
                changed.append(new.alias(field.name))
        out = expr.struct.with_fields(changed) if changed else expr
        names = [f.name for f in dtype.fields]
        if camel and any(camel_case(n) != n for n in names):
            return out.struct.rename_fields([camel_case(n) for n in names])
        return out if changed else None
    return None


def _instance(dtype: object) -> pl.DataType:
    return dtype if isinstance(dtype, pl.DataType) else dtype()  # type: ignore[operator]


def json_ready(frame: pl.DataFrame, *, camel: bool = False) -> pl.DataFrame:
    """``frame`` with every value in its JSON form (see the module docstring).

    Args:
        frame: a query result.
        camel: rename columns and STRUCT fields to camelCase, as KPro's API writes them.
    """
    return frame.select(_json_exprs(tuple(frame.schema.items()), camel))


@functools.lru_cache(maxsize=256)
def _json_exprs(schema: tuple[tuple[str, pl.DataType], ...], camel: bool) -> list[pl.Expr]:
    """The expressions of :func:`json_ready` for one schema, built once: for a wide table
    they take longer to build than to run on a page."""
    exprs = []
    for name, dtype in schema:
        expr = _ready(pl.col(name), dtype, camel)
        expr = pl.col(name) if expr is None else expr
        exprs.append(expr.alias(camel_case(name) if camel else name))
    return exprs


def rows_json(frame: pl.DataFrame, *, camel: bool = False) -> bytes:
    """The rows as one JSON array of objects."""
    return json_ready(frame, camel=camel).write_json().encode()


def rows_ndjson(frame: pl.DataFrame) -> str:
    """The rows as JSON lines: one object per line.

    Example:
        >>> print(rows_ndjson(pl.DataFrame({"id": [1, 2], "tags": [["a"], None]})), end="")
        {"id":1,"tags":["a"]}
        {"id":2,"tags":null}
    """
    if frame.height == 0:
        return ""
    return json_ready(frame).write_ndjson()


def flat_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """For CSV: STRUCT fields become dotted columns (``site.id``), lists JSON text.

    Example:
        >>> flat = flat_frame(pl.DataFrame({"site": [{"id": 1, "code": "KZ"}], "l": [["a"]]}))
        >>> flat.columns, flat.row(0)
        (['site.id', 'site.code', 'l'], (1, 'KZ', '["a"]'))
    """
    ready = json_ready(frame)
    columns: list[pl.Expr] = []

    def walk(expr: pl.Expr, name: str, dtype: pl.DataType) -> None:
        if isinstance(dtype, pl.Struct):
            for field in dtype.fields:
                walk(expr.struct.field(field.name), f"{name}.{field.name}", _instance(field.dtype))
        elif isinstance(dtype, pl.List | pl.Array):
            columns.append(expr.map_elements(_json_text, return_dtype=pl.String).alias(name))
        else:
            columns.append(expr.alias(name))

    for name, dtype in ready.schema.items():
        walk(pl.col(name), name, dtype)
    return ready.select(columns)


def _json_text(value: object) -> str:
    if isinstance(value, pl.Series):
        value = value.to_list()
    return orjson.dumps(value, default=str).decode()
