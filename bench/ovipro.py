"""OviPro extract benchmark (issue 4): 50,000 leads, page size 100, 50 ms latency.

The OviPro sandbox runs in this process (a background thread, so its token counter can be
read); ``leadkit extract`` runs as a separate process per scenario, with a fresh warehouse.
Reports wall time, leads/s, peak RSS of the extract process, token requests, and the lower
bound ``pages × latency ÷ concurrency`` (token calls included: each costs one latency).

    .venv/bin/python bench/ovipro.py                 # concurrency 8 and 16
    .venv/bin/python bench/ovipro.py --leads 5000    # quick
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from leadkit.sandbox import SandboxThread
from leadkit.systems.ovipro.sandbox import OviProSandbox, OviProSandboxConfig


def run_one(
    sb: SandboxThread, leads: int, outgoing: int, concurrency: int, latency: float
) -> dict[str, float]:
    server = sb.server
    workdir = Path(tempfile.mkdtemp(prefix="leadkit-bench-ovipro-"))
    cfg = workdir / "leadkit.toml"
    cfg.write_text(
        "[warehouse]\n"
        'path = "w.duckdb"\n\n'
        "[sources.ovipro]\n"
        'kind = "ovipro"\n'
        f'base_url = "{server.base_url}"\n'
        f'auth_url = "{server.auth_url}"\n'
        'username = "${BENCH_OVIPRO_USER}"\n'
        'password = "${BENCH_OVIPRO_PASSWORD}"\n'
        "page_size = 100\n"
        f"concurrency = {concurrency}\n"
    )
    env = {
        **os.environ,
        "BENCH_OVIPRO_USER": server.username,
        "BENCH_OVIPRO_PASSWORD": server.password,
    }
    tokens_before = sb.call(lambda: server.token_requests)
    requests_before = sb.call(lambda: len(server.requests))
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadkit", "extract", "--config", str(cfg), "--quiet"],
        cwd=workdir,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"extract failed with {os.waitstatus_to_exitcode(status)}")
    tokens = sb.call(lambda: server.token_requests) - tokens_before
    requests = sb.call(lambda: len(server.requests)) - requests_before
    con = duckdb.connect(str(workdir / "w.duckdb"), read_only=True)
    got = con.execute("SELECT count(*) FROM ovipro_leads").fetchall()[0][0]
    got_out = con.execute("SELECT count(*) FROM ovipro_outgoing_leads").fetchall()[0][0]
    con.close()
    if (got, got_out) != (leads, outgoing):
        raise SystemExit(f"wrong row counts: {got}/{leads} incoming, {got_out}/{outgoing} outgoing")
    # Pages overlap by one lead (a full scan proves its completeness that way).
    pages = math.ceil(max(leads - 1, 1) / 99) + math.ceil(max(outgoing - 1, 1) / 99)
    bound = pages * latency / concurrency + tokens * latency
    return {
        "concurrency": concurrency,
        "wall_s": wall,
        "leads_per_s": (leads + outgoing) / wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "tokens": tokens,
        "requests": requests,
        "bound_s": bound,
        "ratio": wall / bound,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--outgoing", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, action="append")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    cfg = OviProSandboxConfig(leads=args.leads, outgoing_leads=args.outgoing, latency_s=latency)
    rows = []
    with SandboxThread(lambda: OviProSandbox(cfg), start_timeout_s=120) as sb:
        for conc in args.concurrency or [8, 16]:
            rows.append(run_one(sb, args.leads, args.outgoing, conc, latency))
    print(
        f"OviPro, {args.leads:,} incoming + {args.outgoing:,} outgoing leads, page 100, "
        f"{args.latency_ms:g} ms latency\n"
    )
    print(
        "| concurrency | wall s | leads/s | peak RSS MB | token requests | requests "
        "| lower bound s | wall ÷ bound |"
    )
    print("|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        print(
            f"| {r['concurrency']} | {r['wall_s']:.2f} | {r['leads_per_s']:,.0f} | "
            f"{r['peak_rss_mb']:.0f} | {r['tokens']:.0f} | {r['requests']:.0f} | "
            f"{r['bound_s']:.2f} | {r['ratio']:.2f} |"
        )


if __name__ == "__main__":
    main()
