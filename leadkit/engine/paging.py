"""Paging helpers shared by sources: bounded fan-out and the page arithmetic of each style.

:func:`fan_out` runs page fetches concurrently with at most ``concurrency`` in flight and
yields results as they complete. Because it is an async generator, a slow consumer (the
warehouse writer) stops new fetches from starting: memory is bounded by ``concurrency``
pages whatever the size of the dataset.

Strategies say what they page by; each refuses settings with no stop rule:

>>> PageNumberPaging(per_page=1000).remaining_pages(total=2500, first_page=1)
[2, 3]
>>> OffsetPaging(size=100).remaining_offsets(total=250)
[100, 200]
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["OffsetPaging", "PageNumberPaging", "fan_out"]

T = TypeVar("T")


@dataclass(frozen=True)
class PageNumberPaging:
    """``page``/``size`` paging with a known total (KPro).

    Example:
        >>> PageNumberPaging(per_page=100).last_page(total=0)
        1
    """

    per_page: int

    def __post_init__(self) -> None:
        if self.per_page < 1:
            raise ValueError(f"per_page must be >= 1, got {self.per_page!r}")

    def last_page(self, total: int) -> int:
        """``max(1, ceil(total / per_page))``."""
        return max(1, math.ceil(total / self.per_page))

    def remaining_pages(self, total: int, first_page: int = 1) -> list[int]:
        """Pages still to fetch after ``first_page`` when ``total`` records match."""
        return list(range(first_page + 1, self.last_page(total) + 1))


@dataclass(frozen=True)
class OffsetPaging:
    """``startIndex``/``size`` paging with a known total (OviPro)."""

    size: int

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"size must be >= 1, got {self.size!r}")

    def remaining_offsets(self, total: int, first_offset: int = 0) -> list[int]:
        """Offsets still to fetch after the page at ``first_offset``."""
        return list(range(first_offset + self.size, max(total, 0), self.size))


async def fan_out(
    jobs: Iterable[Callable[[], Awaitable[T]]],
    *,
    concurrency: int,
    stop: asyncio.Event | None = None,
) -> AsyncIterator[T]:
    """Run ``jobs`` with at most ``concurrency`` in flight; yield results as they complete.

    No new job starts once ``stop`` is set; jobs already running finish and are yielded.
    If a job raises, the others are cancelled and the exception propagates.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency!r}")
    pending: set[asyncio.Task[T]] = set()
    it = iter(jobs)
    exhausted = False

    def fill() -> None:
        nonlocal exhausted
        while not exhausted and len(pending) < concurrency:
            if stop is not None and stop.is_set():
                exhausted = True
                return
            try:
                job = next(it)
            except StopIteration:
                exhausted = True
                return
            pending.add(asyncio.ensure_future(job()))

    try:
        fill()
        while pending:
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                pending.discard(task)
            for task in done:
                yield task.result()
            fill()
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
