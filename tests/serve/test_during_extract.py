"""``leadkit serve`` keeps one connection open, yet a ``leadkit extract`` in another process
gets the file, and the server keeps answering (some requests wait) while it writes.

A real ``leadkit extract`` process pages a KPro sandbox with latency into the warehouse the
server reads; clients keep querying the server the whole time. Every answer must be a 200,
the extract must finish, the totals seen must only grow, and the server must see all the
leads once the extract is done (it reopened the file after the extract's last write).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from leadkit.sandbox import SandboxThread
from leadkit.serve import QueryServer
from leadkit.serve.reader import SharedReader
from leadkit.storage.warehouse import Warehouse
from leadkit.systems.kpro.simulator import KProSandbox, KProSandboxConfig

KEY = "during-extract-key-0123456789abcdef"
LEADS = 3000


@pytest.mark.slow
async def test_server_answers_while_an_extract_process_writes(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "leadkit.duckdb")
    warehouse.migrate()
    # 30 pages, two at a time, 0.1 s each: the extract lasts several hold_s periods, so the
    # server must see it part-way (a faster extract could commit everything in one go).
    config = KProSandboxConfig(leads=LEADS, latency_s=0.1)
    with SandboxThread(lambda: KProSandbox(config)) as sb:
        (tmp_path / "leadkit.toml").write_text(
            f'[warehouse]\npath = "{warehouse.path}"\nhold_s = 0.3\n\n'
            f'[sources.main]\nkind = "kpro"\nbase_url = "{sb.base_url}"\n'
            'api_key = "${KEY_MAIN}"\npage_size = 100\nconcurrency = 2\n'
        )
        env = {**os.environ, "KEY_MAIN": str(sb.server.api_key)}
        async with QueryServer(warehouse, api_key=KEY, access_log=None) as server:
            url = f"{server.base_url}/api/kpro_leads?api_key={KEY}&size=5&sort=-createdAt"
            async with aiohttp.ClientSession() as session:
                # the server holds the file before the extract starts
                async with session.get(url) as resp:
                    assert resp.status == 200
                assert server.reader.is_open
                extract = subprocess.Popen(
                    [sys.executable, "-m", "leadkit", "extract", "-q", "-c", "leadkit.toml"],
                    cwd=tmp_path,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                totals: list[list[int]] = [[] for _ in range(4)]
                slowest = 0.0

                async def client(seen: list[int]) -> None:
                    nonlocal slowest
                    while extract.poll() is None:
                        started = time.monotonic()
                        async with session.get(url) as resp:
                            body = await resp.json()
                            assert resp.status == 200, body
                        slowest = max(slowest, time.monotonic() - started)
                        seen.append(body["pagination"]["total"])

                await asyncio.wait_for(asyncio.gather(*(client(t) for t in totals)), 120)
                _, err = extract.communicate(timeout=30)
                assert extract.returncode == 0, err
                async with session.get(url) as resp:
                    final = await resp.json()
        reader: SharedReader = server.reader

    assert final["pagination"]["total"] == LEADS
    for seen in totals:
        assert seen == sorted(seen), "a later answer saw fewer leads"
        assert seen, "every client got answers during the extract"
    requests = sum(len(t) for t in totals)
    distinct = {n for t in totals for n in t}
    assert len(distinct) > 2, f"the server should see the extract progress: {sorted(distinct)}"
    assert reader.yields >= 1
    assert reader.opens >= 2
    assert slowest < 10, f"a request waited {slowest:.1f}s"
    print(f"{requests} requests during the extract, slowest {slowest:.2f}s, {reader.opens} opens")
