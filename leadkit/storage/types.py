"""Polars schemas → DuckDB DDL, so each table's shape is written down once.

Example:
    >>> import polars as pl
    >>> duckdb_type(pl.Struct({"id": pl.Int64, "code": pl.String}))
    'STRUCT("id" BIGINT, "code" VARCHAR)'
    >>> duckdb_type(pl.Datetime("us", "UTC"))
    'TIMESTAMPTZ'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from leadkit.naming import quote_ident

__all__ = ["RAW_SQL_TYPE", "create_table_sql", "duckdb_type", "quote_ident"]


_SIMPLE: dict[type[pl.DataType], str] = {
    pl.Int8: "TINYINT",
    pl.Int16: "SMALLINT",
    pl.Int32: "INTEGER",
    pl.Int64: "BIGINT",
    pl.UInt8: "UTINYINT",
    pl.UInt16: "USMALLINT",
    pl.UInt32: "UINTEGER",
    pl.UInt64: "UBIGINT",
    pl.Float32: "FLOAT",
    pl.Float64: "DOUBLE",
    pl.String: "VARCHAR",
    pl.Boolean: "BOOLEAN",
    pl.Date: "DATE",
    pl.Binary: "BLOB",
}


def duckdb_type(dtype: Any) -> str:
    """The DuckDB type for a polars dtype (timezone-aware datetimes become TIMESTAMPTZ)."""
    if isinstance(dtype, pl.Struct):
        inner = ", ".join(f"{quote_ident(f.name)} {duckdb_type(f.dtype)}" for f in dtype.fields)
        return f"STRUCT({inner})"
    if isinstance(dtype, pl.List):
        return f"{duckdb_type(dtype.inner)}[]"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ" if dtype.time_zone else "TIMESTAMP"
    base = dtype if isinstance(dtype, type) else type(dtype)
    if base in _SIMPLE:
        return _SIMPLE[base]
    raise TypeError(f"no DuckDB type for polars dtype {dtype!r}")


#: SQL type of every lead table's ``_raw`` column (the record as received): VARCHAR, so
#: inserting does not parse it again, compressed with zstd, which shrinks JSON text about
#: fivefold where DuckDB's default string methods manage half that, in half the time.
RAW_SQL_TYPE = "VARCHAR USING COMPRESSION zstd"


def create_table_sql(
    name: str,
    schema: Mapping[str, Any],
    *,
    primary_key: Sequence[str] = (),
    overrides: Mapping[str, str] | None = None,
) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for a polars schema (``overrides``: column → SQL type)."""
    cols = []
    for col, dtype in schema.items():
        sql_type = (overrides or {}).get(col) or duckdb_type(dtype)
        not_null = " NOT NULL" if col in primary_key else ""
        cols.append(f"    {quote_ident(col)} {sql_type}{not_null}")
    if primary_key:
        cols.append(f"    PRIMARY KEY ({', '.join(quote_ident(c) for c in primary_key)})")
    body = ",\n".join(cols)
    return f"CREATE TABLE IF NOT EXISTS {quote_ident(name)} (\n{body}\n)"
