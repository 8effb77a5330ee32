"""A full scan over offset pages that can tell whether it saw every lead (spec §5, Q3).

OviPro lists leads by ``startIndex``/``size`` with a ``totalCount``, and has no date or
modified-since filter, so every run reads everything. Offsets are positions in a list the
server may change while we read it: a lead deleted (or inserted) before a position moves
every later lead by one, so a page fetched after the change starts one lead off. Pages are
fetched concurrently, in any order, so this can happen between any two neighbours.

**Overlapping pages.** Consecutive pages start ``size - 1`` apart, so each page's last lead
is also the next page's first lead (the *boundary* lead). With the list sorted by
``creationTime|asc`` (a key that never changes for a lead), a boundary lead found at the same
offset in both pages proves that nothing moved across that boundary between the two
fetches. If every boundary of the chain from offset 0 matches and the last page reached the
end of the list (``startIndex + len(leads) >= totalCount`` in its own response), then:

    every lead that existed for the whole scan was seen.

(Page *k* is a contiguous slice of the sorted list at its fetch time, from boundary lead
*k-1* to boundary lead *k*; a lead that existed throughout lies between two boundaries, or
after the last one, and so was in that slice.) Only then may leads missing from the scan be
called vanished. Leads created or deleted *during* the scan may or may not be seen; the next
run settles them. A boundary that does not match makes the scan *unstable*: nothing is
flagged vanished this run.

The boundary lead is loaded once: whichever of the two pages arrives second drops it.
The cost is one lead per page (1 % more requests at ``size=100``).

Example:
    >>> scan = OffsetScan(size=3)
    >>> scan.planned(total=7)
    [2, 4]
    >>> scan.add(Edge(offset=0, count=3, total=7, first="a", last="c"))
    []
    >>> scan.add(Edge(offset=2, count=3, total=7, first="c", last="e"))
    ['c']
    >>> scan.add(Edge(offset=4, count=3, total=7, first="e", last="g"))
    ['e']
    >>> scan.follow(), scan.verdict()
    (None, None)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Edge", "OffsetScan"]


@dataclass(frozen=True)
class Edge:
    """What the scan needs to know about one fetched page.

    Attributes:
        offset: the ``startIndex`` asked for.
        count: leads in the response.
        total: the response's ``totalCount``.
        first: ``leadId`` of the first lead (``None`` for an empty page).
        last: ``leadId`` of the last lead.
    """

    offset: int
    count: int
    total: int
    first: str | None
    last: str | None

    @property
    def at_end(self) -> bool:
        """Whether this page reached the end of the list as it was when it was served."""
        return self.offset + self.count >= self.total


class OffsetScan:
    """Bookkeeping of one full scan of one list endpoint with overlapping pages.

    Args:
        size: leads per page (``size=`` of every request), at least 2.
    """

    def __init__(self, size: int) -> None:
        if size < 2:
            raise ValueError(f"size must be >= 2 for overlapping pages, got {size!r}")
        self.size = size
        self.step = size - 1
        self.edges: dict[int, Edge] = {}

    def planned(self, total: int) -> list[int]:
        """Offsets to fetch after offset 0 when the first page reported ``total``.

        Example:
            >>> OffsetScan(100).planned(100), OffsetScan(100).planned(101)
            ([], [99])
        """
        return list(range(self.step, max(total - 1, 0), self.step))

    def add(self, edge: Edge) -> list[str]:
        """Record a fetched page; return the boundary lead ids it must *not* load because
        a neighbour already did (the same lead at the same offset in both)."""
        drop: list[str] = []
        left = self.edges.get(edge.offset - self.step) if edge.offset > 0 else None
        if left is not None and left.count == self.size and _same(left.last, edge.first):
            drop.append(edge.first)  # type: ignore[arg-type]
        right = self.edges.get(edge.offset + self.step)
        if right is not None and edge.count == self.size and _same(edge.last, right.first):
            drop.append(edge.last)  # type: ignore[arg-type]
        self.edges[edge.offset] = edge
        return drop

    def follow(self) -> int | None:
        """The next offset to fetch when the list grew past the planned pages, else ``None``.

        Follows from the highest page fetched: if it was full and did not reach the end of
        the list (its own ``totalCount``), the list goes on.
        """
        if not self.edges:
            return 0
        high = self.edges[max(self.edges)]
        if high.at_end or high.count < self.size:
            return None
        return high.offset + self.step

    def verdict(self) -> str | None:
        """``None`` if the scan provably saw every lead that existed throughout it; else
        why not (for the log)."""
        offset = 0
        while True:
            edge = self.edges.get(offset)
            if edge is None:
                return f"the page at startIndex={offset} was not fetched"
            if edge.at_end:
                return None
            if edge.count < self.size:
                return (
                    f"the page at startIndex={offset} had {edge.count} leads although "
                    f"totalCount={edge.total} promised {min(self.size, edge.total - offset)}"
                )
            nxt = self.edges.get(offset + self.step)
            if nxt is None:
                return f"the page at startIndex={offset + self.step} was not fetched"
            if not _same(edge.last, nxt.first):
                return (
                    f"leads moved between the pages at startIndex={offset} and "
                    f"{offset + self.step} while they were read (leads were added or removed "
                    "on the server during the scan)"
                )
            offset += self.step


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and a == b
