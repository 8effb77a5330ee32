"""A notebook may query the warehouse while ``run_extract`` writes it in another thread of
the same process: the query waits for the writer to hand the file over, never fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from leadkit.config import LeadkitConfig
from leadkit.engine.extract import ExtractResult, run_extract
from leadkit.storage.warehouse import Warehouse
from tests.e2e.conftest import StartSandbox


def test_queries_in_the_same_process_wait_for_the_writer_and_succeed(
    start_sandbox: StartSandbox, make_config: Callable[..., LeadkitConfig]
) -> None:
    # 30 pages, two at a time, 50 ms each: the run lasts long enough for reads in between.
    sb = start_sandbox(leads=3000, seed=11, latency_s=0.05)
    config = make_config({"main": (sb, {"page_size": 100, "concurrency": 2})}, hold_s=0.05)
    wh = Warehouse(config.warehouse.path, busy_timeout_s=30)
    wh.migrate()
    done: list[ExtractResult] = []
    extract = threading.Thread(
        target=lambda: done.append(run_extract(config, handle_signals=False)), daemon=True
    )
    extract.start()
    counts: list[int] = []
    deadline = time.monotonic() + 60
    while extract.is_alive() and time.monotonic() < deadline:
        counts.append(int(wh.sql("SELECT count(*) AS n FROM kpro_leads")["n"][0]))
        time.sleep(0.01)
    extract.join(timeout=60)
    assert done, "the extract did not finish"
    assert done[0].ok, done[0]
    assert any(0 < n < 3000 for n in counts), f"no read in the middle of the run: {counts}"
    assert counts == sorted(counts)  # committed rows only ever grow
    assert counts[-1] <= 3000
    assert int(wh.sql("SELECT count(*) AS n FROM kpro_leads")["n"][0]) == 3000
