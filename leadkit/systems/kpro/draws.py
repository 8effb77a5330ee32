"""Seeded random columns as polars expressions, for the sandbox's synthetic data.

Randomness comes from SHAKE-128 output streams, one per named draw, so a draw never shifts
when another is added, and the bytes are the same on every platform and polars version.
The helpers turn a draw column into choices and coin flips without a Python loop.

Example:
    >>> d = Draws(seed=0, stream="doc", n=4).frame({"colour": 16})
    >>> d.select(pick("colour", ["red", "green"]).alias("c"))["c"].len()
    4
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import pyarrow as pa

__all__ = ["Draws", "chance", "pick", "pick_index"]


class Draws:
    """Uniform random integers for ``n`` rows from named, independent SHAKE-128 streams.

    Example:
        >>> Draws(seed=0, stream="x", n=3).frame({"a": 16})["a"].dtype
        UInt16
    """

    def __init__(self, seed: int, stream: str, n: int):
        self.seed = seed
        self.stream = stream
        self.n = n

    def series(self, name: str, bits: int = 16) -> pl.Series:
        """Return ``n`` uniform integers of ``bits`` (16, 32 or 64) bits for stream ``name``."""
        width = bits // 8
        key = f"kpro:{self.seed}:{self.stream}:{name}".encode()
        buf = hashlib.shake_128(key).digest(self.n * width)
        arrow_type = {2: pa.uint16(), 4: pa.uint32(), 8: pa.uint64()}[width]
        array = pa.Array.from_buffers(arrow_type, self.n, [None, pa.py_buffer(buf)])
        out = pl.from_arrow(array)
        assert isinstance(out, pl.Series)
        return out.alias(name)

    def frame(self, spec: Mapping[str, int]) -> pl.DataFrame:
        """Return a frame with one column per ``name: bits`` entry of ``spec``."""
        return pl.DataFrame([self.series(name, bits) for name, bits in spec.items()])


def _index_table(weights: Sequence[int]) -> pl.Series:
    return pl.Series([i for i, w in enumerate(weights) for _ in range(w)], dtype=pl.UInt32)


def pick_index(draw: str, count: int, weights: Sequence[int] | None = None) -> pl.Expr:
    """An expression choosing an index in ``range(count)`` from draw column ``draw``."""
    if weights is None:
        return (pl.col(draw) % count).cast(pl.UInt32)
    table = _index_table(weights)
    return pl.lit(table).gather(pl.col(draw) % len(table))


def pick(
    draw: str,
    values: Sequence[Any],
    weights: Sequence[int] | None = None,
    dtype: pl.DataType | None = None,
) -> pl.Expr:
    """An expression choosing one of ``values`` (optionally weighted) per row."""
    return pl.lit(pl.Series(values, dtype=dtype)).gather(pick_index(draw, len(values), weights))


def chance(draw: str, p: float) -> pl.Expr:
    """An expression that is true with probability ``p`` (16-bit draw ``draw``)."""
    return pl.col(draw) < round(p * 65536)
