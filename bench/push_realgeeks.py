"""Push benchmark: 10,000 leads to the Real Geeks sandbox at 50 ms latency (issue 7).

The sandbox runs in its own process (``python -m leadkit.systems.realgeeks.sandbox``); this
process maps every lead (``RealGeeksDestination.prepare``) and sends them through
``RealGeeksDestination.send`` with a real ``HttpClient``, at most ``--concurrency`` leads in
flight (what the push engine does). It reports leads/s and the ratio of the wall time to
the lower bound ``requests × latency ÷ concurrency``.

Usage::

    .venv/bin/python bench/push_realgeeks.py                      # 10,000 leads, c=16 and 64
    .venv/bin/python bench/push_realgeeks.py --leads 2000 --concurrency 32 --update
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import resource
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from pydantic import SecretStr

from leadkit.engine.http import HttpClient, make_session
from leadkit.push.base import Lead, Prepared, PushContext
from leadkit.redact import Redactor
from leadkit.systems.realgeeks import RealGeeksDestination, RealGeeksSettings

ROOT = Path(__file__).resolve().parent
START_TIMEOUT_S = 30.0


def make_leads(n: int) -> list[Lead]:
    """``n`` canonical warehouse rows, all valid."""
    base = datetime(2024, 1, 1, tzinfo=UTC)
    leads = []
    for i in range(n):
        row: dict[str, Any] = {
            "system": "kpro",
            "source": "kpro_bench",
            "lead_id": str(i),
            "created_at": base + timedelta(minutes=i),
            "updated_at": base + timedelta(minutes=i, seconds=30),
            "email": f"Lead.{i}@Example.com",
            "first_name": f"First{i}",
            "last_name": "Bench",
            "full_name": f"First{i} Bench",
            "phone": f"(808) 555-{i % 10000:04d}",
            "status": "NEW",
            "category": "Buyer",
            "channel": "Web",
            "postcode": "96734",
            "message": f"Lead number {i} would like a call.",
        }
        leads.append(Lead("kpro", "kpro_bench", str(i), row))
    return leads


def start_sandbox(latency_ms: float) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start the sandbox process; return it and its printed settings."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadkit.systems.realgeeks.sandbox", "--port", "0",
         "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    values: dict[str, str] = {}
    deadline = time.monotonic() + START_TIMEOUT_S
    assert proc.stdout is not None
    while time.monotonic() < deadline and len(values) < 4:
        line = proc.stdout.readline()
        if not line:
            break
        if "=" in line and not line.startswith("#"):
            key, value = line.strip().split("=", 1)
            values[key] = value
    if "REALGEEKS_SANDBOX_URL" not in values:
        proc.kill()
        raise RuntimeError("the sandbox did not start")
    return proc, values


async def push(
    dest: RealGeeksDestination, items: list[Prepared], concurrency: int
) -> tuple[float, Counter[str], int]:
    """Send ``items`` with at most ``concurrency`` in flight; wall time, statuses, requests."""
    log = logging.getLogger("leadkit.push.bench")
    redactor = Redactor(dest.secrets())
    statuses: Counter[str] = Counter()
    async with make_session(concurrency, 30.0) as session:
        http = HttpClient(session, source="bench", redactor=redactor, max_retries=5, log=log)
        ctx = PushContext("bench", "bench", http, redactor, log)
        gate = asyncio.Semaphore(concurrency)

        async def one(item: Prepared) -> None:
            async with gate:
                for outcome in await dest.send([item], ctx):
                    statuses[outcome.status] += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(item) for item in items))
        wall = time.perf_counter() - started
    return wall, statuses, http.stats["requests"]


def prepared(dest: RealGeeksDestination, leads: list[Lead], *, update: bool) -> list[Prepared]:
    """Map and validate every lead, as the engine does before sending."""
    out = []
    for lead in leads:
        payload = dest.prepare(lead)
        digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
        out.append(Prepared(lead, payload, digest, update=update))
    return out


def main() -> None:
    """Run the benchmark and print a table (and write JSON to ``bench/results``)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, action="append", help="repeatable")
    parser.add_argument("--update", action="store_true", help="also push every lead as an update")
    args = parser.parse_args()
    concurrencies = args.concurrency or [16, 64]
    leads = make_leads(args.leads)
    results: list[dict[str, Any]] = []
    proc, values = start_sandbox(args.latency_ms)
    try:
        print(f"{'run':<22} {'leads':>6} {'requests':>8} {'wall s':>7} {'leads/s':>8} "
              f"{'bound s':>7} {'ratio':>6}  statuses")  # fmt: skip
        for concurrency in concurrencies:
            settings = RealGeeksSettings(
                base_url=values["REALGEEKS_SANDBOX_URL"],
                username=values["REALGEEKS_USERNAME"],
                password=SecretStr(values["REALGEEKS_PASSWORD"]),
                site_uuid=values["REALGEEKS_SITE_UUID"],
                lead_source="bench",
                concurrency=concurrency,
                id_namespace=uuid.UUID(f"00000000-0000-4000-8000-{concurrency:012d}"),
            )
            dest = RealGeeksDestination("bench", settings)
            passes = [("create", False), ("update", True)] if args.update else [("create", False)]
            for name, update in passes:
                started = time.perf_counter()
                items = prepared(dest, leads, update=update)
                prepare_s = time.perf_counter() - started
                wall, statuses, requests = asyncio.run(push(dest, items, concurrency))
                bound = requests * args.latency_ms / 1000 / concurrency
                row = {
                    "run": f"{name} c={concurrency}",
                    "leads": len(items),
                    "requests": requests,
                    "prepare_s": round(prepare_s, 3),
                    "wall_s": round(wall, 3),
                    "leads_per_s": round(len(items) / wall, 1),
                    "lower_bound_s": round(bound, 3),
                    "ratio": round(wall / bound, 2),
                    "statuses": dict(statuses),
                }
                results.append(row)
                print(f"{row['run']:<22} {row['leads']:>6} {requests:>8} {wall:>7.2f} "
                      f"{row['leads_per_s']:>8} {bound:>7.2f} {row['ratio']:>6}  "
                      f"{dict(statuses)} (prepare {prepare_s:.2f}s)", flush=True)  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    summary = {
        "bench": "push_realgeeks",
        "latency_ms": args.latency_ms,
        "cpu_count": os.cpu_count(),
        "client_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "results": results,
    }
    out = ROOT / "results" / f"push-realgeeks-{datetime.now():%Y-%m-%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(
        f"client CPU {summary['client_cpu_s']} s, peak RSS {summary['peak_rss_mb']} MB; {out.name}"
    )


if __name__ == "__main__":
    main()
