"""The extract's writer gives the file to a short writer in another process (a push)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from leadkit.engine.extract import PageWriter
from leadkit.storage.warehouse import Warehouse


def test_a_push_writing_its_ledger_gets_the_file_from_a_running_extract(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    wh = Warehouse(path)
    wh.migrate()
    writer = PageWriter(wh, hold_s=0.0, run_id="r1")
    writer._conn()  # the extract holds the file
    code = textwrap.dedent(
        f"""
        from leadkit.push.ledger import writing
        from leadkit.storage.warehouse import Warehouse
        with writing(Warehouse({str(path)!r}, busy_timeout_s=10)) as con:
            con.execute("CREATE TABLE pushed AS SELECT 1 AS n")
        """
    )
    push = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while push.poll() is None and time.monotonic() < deadline:
        writer.yield_to_readers(idle=False)  # what the extract does between commits
        time.sleep(0.02)
    writer.release()
    _, stderr = push.communicate(timeout=30)
    assert push.returncode == 0, stderr
    assert wh.sql("SELECT n FROM pushed")["n"].to_list() == [1]
