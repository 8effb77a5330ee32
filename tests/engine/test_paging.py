"""Bounded fan-out and page arithmetic."""

from __future__ import annotations

import asyncio

import pytest

from leadkit.engine.paging import OffsetPaging, PageNumberPaging, fan_out


@pytest.mark.parametrize(
    ("total", "per_page", "expected"),
    [(0, 100, []), (100, 100, []), (101, 100, [2]), (2500, 1000, [2, 3])],
)
def test_remaining_pages(total: int, per_page: int, expected: list[int]) -> None:
    assert PageNumberPaging(per_page).remaining_pages(total) == expected


def test_offsets() -> None:
    assert OffsetPaging(50).remaining_offsets(120) == [50, 100]


def test_paging_refuses_no_stop_rule() -> None:
    with pytest.raises(ValueError, match="per_page must be >= 1"):
        PageNumberPaging(0)


async def test_fan_out_bounds_in_flight_and_yields_all() -> None:
    in_flight = 0
    peak = 0

    async def job(i: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001 * (i % 3))
        in_flight -= 1
        return i

    jobs = [lambda i=i: job(i) for i in range(50)]
    got = [r async for r in fan_out(jobs, concurrency=4)]
    assert sorted(got) == list(range(50))
    assert peak == 4


async def test_fan_out_stops_starting_jobs_when_asked() -> None:
    stop = asyncio.Event()
    started: list[int] = []

    async def job(i: int) -> int:
        started.append(i)
        await asyncio.sleep(0)
        return i

    got = []
    async for r in fan_out([lambda i=i: job(i) for i in range(100)], concurrency=2, stop=stop):
        got.append(r)
        if len(got) == 3:
            stop.set()
    assert len(started) < 10
    assert sorted(got) == sorted(started)


async def test_fan_out_propagates_errors_and_cancels_the_rest() -> None:
    cancelled = 0

    async def slow() -> int:
        nonlocal cancelled
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled += 1
            raise
        return 0

    async def boom() -> int:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        async for _ in fan_out([slow, slow, boom], concurrency=3):
            pass
    assert cancelled == 2
