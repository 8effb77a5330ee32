"""The run lock: at most one ``leadkit extract`` writes a warehouse at a time.

An advisory ``flock`` on ``<warehouse>.lock``. The kernel drops it when the process dies,
so a killed run never leaves a stale lock behind. The file holds the owner's PID for the
message the second run prints.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from leadkit.errors import RunLockedError

__all__ = ["RunLock"]


class RunLock:
    """Hold ``<warehouse>.lock`` for the duration of a ``with`` block.

    Args:
        warehouse_path: the DuckDB file the lock protects.
        wait_s: 0 to fail at once when another run holds it, else how long to wait.
    """

    def __init__(self, warehouse_path: Path, *, wait_s: float = 0.0, exit_code: int = 75) -> None:
        self.path = Path(str(warehouse_path) + ".lock")
        self.wait_s = wait_s
        self.exit_code = exit_code
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`RunLockedError`."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                    os.close(fd)
                    waited = f" after waiting {self.wait_s:g}s" if self.wait_s else ""
                    raise RunLockedError(
                        f"another leadkit extract (PID {owner}) is writing "
                        f"{str(self.path)[:-5]}{waited}; this run did nothing. Let it finish, "
                        'or set [warehouse] on_locked = "wait" to queue behind it.',
                        exit_code=self.exit_code,
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
