"""Dialler push benchmark (issue 7): 10,000 leads to the dialler sandbox at 50 ms latency.

The sandbox runs as its own process (``python -m leadkit.systems.dialler.sandbox``) so its
CPU does not compete with the client's event loop. This process maps every lead with
``DiallerDestination.prepare`` and sends them with a bounded-concurrency loop
(``asyncio.Semaphore`` + ``gather`` over ``send``), through the same ``HttpClient`` the push
engine uses. Reported: prepare time, send wall time, leads/s, the lower bound
``requests × latency ÷ concurrency`` and wall ÷ bound, the sandbox's CPU seconds, and the
outcomes (every lead must be ``sent``).

    .venv/bin/python bench/push_dialler.py                       # concurrency 16 and 64
    .venv/bin/python bench/push_dialler.py --leads 2000 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from leadkit.engine.http import HttpClient, make_session
from leadkit.push.base import Lead, Prepared, PushContext
from leadkit.redact import Redactor
from leadkit.systems.dialler import DiallerDestination, DiallerSettings


def make_leads(n: int) -> list[Lead]:
    """``n`` canonical ``leads`` rows with distinct UK mobiles and e-mails."""
    start = datetime(2021, 3, 1, tzinfo=UTC)
    return [
        Lead(
            "kpro",
            "kpro_main",
            str(i),
            {
                "system": "kpro",
                "source": "kpro_main",
                "lead_id": str(i),
                "created_at": start + timedelta(minutes=i),
                "updated_at": start + timedelta(minutes=i, seconds=30),
                "email": f"Lead.{i}@Example.com",
                "first_name": None,
                "last_name": None,
                "full_name": f"Person{i} Surname{i}",
                "phone": f"+44 7840 {i:06d}",
                "status": "eligible",
                "category": "buy",
                "channel": "Website",
                "postcode": "SW1A 1AA",
                "message": "Please call after 5pm",
            },
        )
        for i in range(n)
    ]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def push(url: str, key: str, leads: list[Lead], concurrency: int) -> dict[str, object]:
    settings = DiallerSettings.model_validate(
        {"base_url": url, "api_key": key, "lead_type": "motor-trade", "delays_s": 3600,
         "concurrency": concurrency}
    )  # fmt: skip
    dest = DiallerDestination("bench", settings)
    t0 = time.perf_counter()
    items = []
    for lead in leads:
        payload = dest.prepare(lead)
        digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
        items.append(Prepared(lead, payload, digest))
    prepare_s = time.perf_counter() - t0
    log = logging.getLogger("bench.push_dialler")
    redactor = Redactor(dest.secrets())
    gate = asyncio.Semaphore(concurrency)
    async with make_session(concurrency, settings.timeout_s) as session:
        http = HttpClient(session, source="bench", redactor=redactor, max_retries=5, log=log)
        ctx = PushContext("bench", "bench", http, redactor, log)

        async def one(item: Prepared) -> str:
            async with gate:
                [outcome] = await dest.send([item], ctx)
                return outcome.status

        t1 = time.perf_counter()
        statuses = await asyncio.wait_for(asyncio.gather(*(one(i) for i in items)), 900)
        send_s = time.perf_counter() - t1
    return {
        "prepare_s": prepare_s,
        "send_s": send_s,
        "outcomes": Counter(statuses),
        "requests": http.stats["requests"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, action="append", help="repeatable")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    ok = True
    for concurrency in args.concurrency or [16, 64]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "leadkit.systems.dialler.sandbox", "--port", "0",
             "--latency-ms", str(args.latency_ms)],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            env = dict(proc.stdout.readline().strip().split("=", 1) for _ in range(3))
            cpu0 = cpu_seconds(proc.pid)
            result = asyncio.run(
                push(
                    env["DIALLER_SANDBOX_URL"],
                    env["DIALLER_API_KEY"],
                    make_leads(args.leads),
                    concurrency,
                )
            )
            sandbox_cpu = cpu_seconds(proc.pid) - cpu0
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        send_s = float(result["send_s"])  # type: ignore[arg-type]
        requests = int(result["requests"])  # type: ignore[call-overload]
        bound = requests * latency / concurrency
        outcomes = result["outcomes"]
        ok = ok and outcomes == Counter({"sent": args.leads})
        print(
            f"leads={args.leads} latency={args.latency_ms:g}ms concurrency={concurrency}: "
            f"prepare {result['prepare_s']:.2f}s, send {send_s:.2f}s = "
            f"{args.leads / send_s:,.0f} leads/s; lower bound {bound:.2f}s "
            f"({requests} requests), wall/bound {send_s / bound if bound else float('inf'):.2f}; "
            f"sandbox CPU {sandbox_cpu:.1f}s; outcomes {dict(outcomes)}",  # type: ignore[call-overload]
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
