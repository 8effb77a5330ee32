"""Carehome extract benchmark (issue 5): 200,000 leads over a year, one-day windows, 50 ms.

The carehome sandbox runs in this process (a background thread, so its request log can be
read); ``leadkit extract`` runs as a separate process per scenario with a fresh warehouse.
Reports wall time, leads/s, peak RSS of the extract process, requests made, and the lower
bound ``requests × latency ÷ concurrency``. Then, in this process, the time spent
normalising per 1,000 records (decode + normalise, and normalise alone) on the sandbox's own
one-day responses.

    .venv/bin/python bench/carehome.py                      # concurrency 4 and 16
    .venv/bin/python bench/carehome.py --leads 20000 --days 30   # quick
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from leadkit.sandbox import SandboxThread
from leadkit.systems.carehome.client import read_window
from leadkit.systems.carehome.normalise import normalise, split_body
from leadkit.systems.carehome.sandbox import CarehomeSandbox, CarehomeSandboxConfig


def run_one(
    sb: SandboxThread, start: datetime, concurrency: int, latency: float
) -> dict[str, float]:
    server = sb.server
    workdir = Path(tempfile.mkdtemp(prefix="leadkit-bench-carehome-"))
    cfg = workdir / "leadkit.toml"
    cfg.write_text(
        "[warehouse]\n"
        'path = "w.duckdb"\n\n'
        "[sources.carehome]\n"
        'kind = "carehome"\n'
        f'base_url = "{server.base_url}"\n'
        'api_key = "${BENCH_CAREHOME_KEY}"\n'
        f'start = "{start:%Y-%m-%d}"\n'
        'window = "1d"\n'
        f"concurrency = {concurrency}\n"
    )
    env = {**os.environ, "BENCH_CAREHOME_KEY": server.api_key}
    before = sb.call(lambda: len(server.requests))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadkit", "extract", "--config", str(cfg), "--quiet"],
        cwd=workdir,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"extract failed with {os.waitstatus_to_exitcode(status)}")
    requests = sb.call(lambda: len(server.requests)) - before
    expected = len(sb.call(lambda: server.leads(anonymised=False)))
    con = duckdb.connect(str(workdir / "w.duckdb"), read_only=True)
    got, distinct = con.execute(
        "SELECT count(*), count(DISTINCT id) FROM carehome_leads"
    ).fetchall()[0]
    engine_s = con.execute("SELECT epoch(ended_at) - epoch(started_at) FROM _runs").fetchall()[0][0]
    con.close()
    if (got, distinct) != (expected, expected):
        raise SystemExit(f"wrong row counts: {got} rows, {distinct} ids, expected {expected}")
    bound = requests * latency / concurrency
    return {
        "concurrency": concurrency,
        "wall_s": wall,
        "engine_s": float(engine_s),
        "leads": expected,
        "leads_per_s": expected / wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "requests": requests,
        "bound_s": bound,
    }


def normalise_cost(sb: SandboxThread, start: datetime, days: int) -> dict[str, float]:
    """Seconds per 1,000 records: decode + normalise (what a page costs), normalise alone."""
    server = sb.server
    bodies = []
    for d in range(days):
        lo = int((start + timedelta(days=d)).timestamp() * 1000)
        leads = [
            lead for lead in server.store.between(lo, lo + 86_400_000 - 1) if not lead.anonymised
        ]
        bodies.append(b"[" + b", ".join(lead.json for lead in leads) + b"]")
    now = datetime.now(UTC)
    for _ in range(2):  # the first pass warms up (imports, caches); the second is measured
        n = 0
        full = only = 0.0
        for body in bodies:
            t0 = time.perf_counter()
            page = read_window(
                body, source="bench", run_id="r", extracted_at=now, context="bench", before=now
            )
            full += time.perf_counter() - t0
            records, raws = split_body(body)
            t0 = time.perf_counter()
            normalise(records, raws, source="bench", run_id="r", extracted_at=now)
            only += time.perf_counter() - t0
            n += page.frame.height
    return {"records": n, "decode_normalise_ms": full / n * 1e6, "normalise_ms": only / n * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, action="append")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=args.days)
    cfg = CarehomeSandboxConfig(
        leads=args.leads, days=args.days, start=start, latency_s=latency, seed=1
    )
    rows = []
    with SandboxThread(lambda: CarehomeSandbox(cfg), start_timeout_s=300) as sb:
        for conc in args.concurrency or [4, 16]:
            rows.append(run_one(sb, start, conc, latency))
        cost = normalise_cost(sb, start, min(args.days, 60))  # the sandbox is idle now
    print(
        f"carehome, {args.leads:,} leads over {args.days} days, one-day windows, "
        f"{args.latency_ms:g} ms latency\n"
    )
    print(
        "| concurrency | wall s | engine s | leads | leads/s | peak RSS MB | requests "
        "| latency bound s |"
    )
    print("|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        print(
            f"| {r['concurrency']} | {r['wall_s']:.2f} | {r['engine_s']:.2f} | {r['leads']:,} | "
            f"{r['leads_per_s']:,.0f} | {r['peak_rss_mb']:.0f} | {r['requests']:.0f} | "
            f"{r['bound_s']:.2f} |"
        )
    print(
        f"\nnormalisation over {cost['records']:,} records (one-day responses): "
        f"{cost['decode_normalise_ms']:.1f} ms per 1,000 records decoded + normalised, "
        f"{cost['normalise_ms']:.1f} ms per 1,000 normalised alone"
    )


if __name__ == "__main__":
    main()
