"""Overlapping offset scans: planning, boundary de-duplication, drift detection."""

from __future__ import annotations

import itertools
import random

import pytest

from leadkit.systems.ovipro.scan import Edge, OffsetScan


def page_of(items: list[str], offset: int, size: int) -> Edge:
    """The page a server holding ``items`` (sorted) serves at ``offset``."""
    chunk = items[offset : offset + size]
    return Edge(
        offset, len(chunk), len(items), chunk[0] if chunk else None, chunk[-1] if chunk else None
    )


@pytest.mark.parametrize(
    ("size", "total", "offsets"),
    [
        (100, 0, []),
        (100, 1, []),
        (100, 100, []),
        (100, 101, [99]),
        (3, 7, [2, 4]),
        (3, 8, [2, 4, 6]),
    ],
)
def test_planned_offsets_cover_the_total_with_one_lead_of_overlap(
    size: int, total: int, offsets: list[int]
) -> None:
    assert OffsetScan(size).planned(total) == offsets


def test_pages_need_room_for_an_overlap() -> None:
    with pytest.raises(ValueError, match="size must be >= 2"):
        OffsetScan(1)


@pytest.mark.parametrize("seed", range(5))
def test_each_lead_is_loaded_once_whatever_order_the_pages_arrive_in(seed: int) -> None:
    items = [f"id{i:03d}" for i in range(50)]
    scan = OffsetScan(7)
    offsets = [0, *scan.planned(len(items))]
    random.Random(seed).shuffle(offsets)
    loaded: list[str] = []
    for offset in offsets:
        edge = page_of(items, offset, 7)
        drop = scan.add(edge)
        loaded += [i for i in items[offset : offset + 7] if i not in drop]
    assert sorted(loaded) == items  # nothing twice, nothing missing
    assert scan.follow() is None
    assert scan.verdict() is None


def test_a_deletion_between_two_fetches_is_detected() -> None:
    items = [f"id{i:02d}" for i in range(20)]
    scan = OffsetScan(5)
    scan.add(page_of(items, 0, 5))
    del items[2]  # a lead of the first page disappears: every later lead moves up
    for offset in scan.planned(20):
        scan.add(page_of(items, offset, 5))
    why = scan.verdict()
    assert why is not None
    assert "leads moved between the pages at startIndex=0 and 4" in why


def test_an_insertion_at_the_end_is_followed_and_the_scan_stays_provable() -> None:
    items = [f"id{i:02d}" for i in range(10)]
    scan = OffsetScan(4)
    first = page_of(items, 0, 4)
    scan.add(first)
    items += ["id10", "id11", "id12"]  # new leads sort last (creationTime|asc)
    for offset in scan.planned(first.total):
        scan.add(page_of(items, offset, 4))
    followed = []
    while (offset := scan.follow()) is not None:
        followed.append(offset)
        scan.add(page_of(items, offset, 4))
    assert followed == [9]
    assert scan.verdict() is None


def test_a_short_page_before_the_end_is_an_inconsistency() -> None:
    scan = OffsetScan(4)
    scan.add(Edge(0, 4, 10, "a", "d"))
    scan.add(Edge(3, 2, 10, "d", "e"))
    assert scan.follow() is None
    assert "had 2 leads although totalCount=10 promised 4" in (scan.verdict() or "")


def test_a_list_that_shrank_below_a_planned_page_is_complete_if_the_chain_ends() -> None:
    items = [f"id{i}" for i in range(10)]
    scan = OffsetScan(4)
    scan.add(page_of(items, 0, 4))
    del items[8:]  # the last two leads were deleted before the other pages were read
    for offset in scan.planned(10):
        scan.add(page_of(items, offset, 4))
    assert scan.verdict() is None  # the chain 0 → 3 → 6 reaches the (new) end


@pytest.mark.parametrize("seed", range(30))
def test_a_provable_scan_saw_every_lead_that_existed_throughout(seed: int) -> None:
    """Random deletes and appends between concurrent page fetches: whenever the verdict is
    ``None``, every lead present from start to end was in some page."""
    rng = random.Random(seed)
    counter = itertools.count(100)
    items = [f"id{next(counter):04d}" for _ in range(rng.randint(0, 60))]
    start = set(items)
    deleted: set[str] = set()
    size = rng.randint(2, 8)
    scan = OffsetScan(size)
    seen: set[str] = set()

    def mutate() -> None:
        if rng.random() < 0.3 and items:
            deleted.add(items.pop(rng.randrange(len(items))))
        if rng.random() < 0.3:
            items.append(f"id{next(counter):04d}")

    def fetch(offset: int) -> None:
        seen.update(items[offset : offset + size])
        scan.add(page_of(items, offset, size))

    fetch(0)
    todo = scan.planned(scan.edges[0].total)
    rng.shuffle(todo)
    for offset in todo:
        mutate()
        fetch(offset)
    while (offset := scan.follow()) is not None:
        mutate()
        fetch(offset)
    survivors = start - deleted
    if scan.verdict() is None:
        assert survivors <= seen
