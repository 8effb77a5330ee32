"""Time windows: the care-home API has no paging and no cursor, so a run walks contiguous
UTC windows from the watermark to now (spec §1, §5, Q12).

A window ``[start, end)`` is requested as ``dateTimeFrom=start&dateTimeTo=end``. The API's
bounds are both inclusive (at millisecond precision, whole-second bounds), so a lead dated
exactly ``end`` (``…:00.000``) comes back for this window *and* the next; the source keeps
it only in the next one (``before=end``), so every lead belongs to exactly one window. A
lead at ``end + 0.517 s`` is after ``end`` and comes only with the next window.

A **lane** is one sequence of windows with the same other parameters (a category when the
source reads categories one by one; anonymised or not). :class:`Frontier` tracks, per lane,
the windows done; the watermark is the earliest lane's contiguous end, so it never passes a
window that is not committed — also when a window was split in halves, or failed.

Example:
    >>> from datetime import UTC, datetime, timedelta
    >>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
    >>> ws = plan(t0, t0 + timedelta(hours=60), timedelta(days=1))
    >>> [(w.start.day, w.end.day, w.end.hour) for w in ws]
    [(1, 2, 0), (2, 3, 0), (3, 3, 12)]
    >>> [(h.start.hour, h.end.hour) for h in ws[0].halves()]
    [(0, 12), (12, 0)]
    >>> f = Frontier(t0, lanes=["all"])
    >>> f.done("all", ws[1]), f.done("all", ws[0])
    (None, datetime.datetime(2024, 1, 3, 0, 0, tzinfo=datetime.timezone.utc))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["API_FORMAT", "Frontier", "Window", "api_time", "plan"]

API_FORMAT = "%Y-%m-%dT%H:%M:%S"
"""``dateTimeFrom``/``dateTimeTo`` format (UTC, whole seconds)."""


def api_time(when: datetime) -> str:
    """An aware datetime as the API's ``yyyy-mm-ddThh:mm:ss`` in UTC.

    Example:
        >>> from datetime import timezone
        >>> api_time(datetime(2024, 6, 1, 16, 30, tzinfo=timezone(timedelta(hours=1))))
        '2024-06-01T15:30:00'
    """
    return when.astimezone(UTC).strftime(API_FORMAT)


@dataclass(frozen=True, order=True)
class Window:
    """``[start, end)`` in UTC, whole seconds."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> int:
        """Its length in seconds."""
        return int((self.end - self.start).total_seconds())

    def halves(self) -> tuple[Window, Window]:
        """Split in two at the middle second.

        Raises:
            ValueError: a window of one second cannot be split (the API's precision).
        """
        if self.seconds < 2:
            raise ValueError(f"window {self} is too short to split")
        mid = self.start + timedelta(seconds=self.seconds // 2)
        return Window(self.start, mid), Window(mid, self.end)

    def __str__(self) -> str:
        return f"{api_time(self.start)}Z..{api_time(self.end)}Z"


def plan(start: datetime, end: datetime, length: timedelta) -> list[Window]:
    """Contiguous windows of ``length`` from ``start`` to ``end`` (the last one shorter)."""
    out: list[Window] = []
    at = start
    while at < end:
        nxt = min(at + length, end)
        out.append(Window(at, nxt))
        at = nxt
    return out


class Frontier:
    """Windows done per lane; the watermark is where every lane is complete up to.

    Args:
        start: where every lane begins.
        lanes: the lane names.
    """

    def __init__(self, start: datetime, lanes: Iterable[str]) -> None:
        self._at = {lane: start for lane in lanes}
        self._done: dict[str, dict[datetime, datetime]] = {lane: {} for lane in self._at}
        self._reported = start

    def done(self, lane: str, window: Window) -> datetime | None:
        """Mark ``window`` of ``lane`` done; return the new watermark if it moved."""
        self._done[lane][window.start] = window.end
        at = self._at[lane]
        pending = self._done[lane]
        while at in pending:
            at = pending.pop(at)
        self._at[lane] = at
        low = min(self._at.values())
        if low > self._reported:
            self._reported = low
            return low
        return None

    @property
    def watermark(self) -> datetime:
        """Every lane is complete up to here."""
        return self._reported
