"""Record-parsing helpers shared by the sources: snake_case STRUCTs, timestamps, rejects.

Example:
    >>> import polars as pl
    >>> snake_dtype(pl.Struct({"siteId": pl.Int64}))
    Struct({'site_id': Int64})
"""

from __future__ import annotations

from typing import Any

import orjson
import polars as pl

from leadkit.naming import snake_case
from leadkit.systems.base import Reject

__all__ = ["parse_timestamp", "reject_from_raw", "rename_to_snake", "snake_dtype"]


def snake_dtype(dtype: Any) -> Any:
    """``dtype`` with every STRUCT field name (also nested, and inside LISTs) in snake_case."""
    if isinstance(dtype, pl.Struct):
        return pl.Struct({snake_case(f.name): snake_dtype(f.dtype) for f in dtype.fields})
    if isinstance(dtype, pl.List):
        return pl.List(snake_dtype(dtype.inner))
    return dtype


def _has_struct(dtype: Any) -> bool:
    if isinstance(dtype, pl.List):
        return _has_struct(dtype.inner)
    return isinstance(dtype, pl.Struct)


def rename_to_snake(expr: pl.Expr, dtype: Any) -> pl.Expr:
    """Rename STRUCT fields (also nested, and inside LISTs) to snake_case; null objects stay
    null. (Casting one STRUCT to another matches fields by name, so renaming is explicit.)"""
    if isinstance(dtype, pl.List):
        if not _has_struct(dtype.inner):
            return expr
        return expr.list.eval(rename_to_snake(pl.element(), dtype.inner))
    if not isinstance(dtype, pl.Struct):
        return expr
    out = expr.struct.rename_fields([snake_case(f.name) for f in dtype.fields])
    nested = [
        rename_to_snake(pl.field(snake_case(f.name)), f.dtype).alias(snake_case(f.name))
        for f in dtype.fields
        if _has_struct(f.dtype)
    ]
    return out.struct.with_fields(nested) if nested else out


def parse_timestamp(expr: pl.Expr) -> pl.Expr:
    """ISO 8601 text (any offset) → ``Datetime("us", "UTC")``; unparseable → null."""
    return expr.str.to_datetime("%+", time_zone="UTC", time_unit="us", strict=False)


def reject_from_raw(raw: bytes, reason: str, context: str, id_key: str) -> Reject:
    """A :class:`Reject` for one raw record, with its ``id_key`` value when it can be read."""
    rid: str | None = None
    try:
        parsed = orjson.loads(raw)
        if isinstance(parsed, dict) and parsed.get(id_key) not in (None, ""):
            rid = str(parsed[id_key])
    except orjson.JSONDecodeError:
        pass
    return Reject(reason, raw.decode("utf-8", "replace"), rid, context)
