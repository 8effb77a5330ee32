"""OviPro extract benchmark (issue 4): 50,000 leads, page size 100, 50 ms latency.

The OviPro sandbox runs in this process (a background thread, so its token counter can be
read; its leads' JSON is rendered before the first run, so answering costs it little);
``leadkit extract`` runs as a separate process per scenario, with a fresh warehouse.
Reports wall time, leads/s, CPU seconds and peak RSS of the extract process, token requests,
and the lower bound ``pages × latency ÷ concurrency`` (token calls included: each costs one
latency). With ``--repeat N`` the scenarios run N times, interleaved, and the table shows
medians (the machine is shared: one run says little).

    .venv/bin/python bench/ovipro.py                 # concurrency 8 and 16, 3 runs each
    .venv/bin/python bench/ovipro.py --leads 5000 --repeat 1    # quick
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from leadkit.sandbox import SandboxThread
from leadkit.systems.ovipro.sandbox import OviProSandbox, OviProSandboxConfig

#: Runs the extract and prints its wall time, CPU seconds and peak RSS. The extract is not
#: started from this process directly: Linux would count this process's size (it holds the
#: sandbox's data) in the peak RSS of any child it starts (the copy that ``exec`` replaces).
_LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
print(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


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
    extract = [sys.executable, "-m", "leadkit", "extract", "--config", str(cfg), "--quiet"]
    launched = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *extract],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        check=False,
    )
    if launched.returncode != 0:
        raise SystemExit(f"extract failed with {launched.returncode}")
    wall, cpu, rss_kb = (float(v) for v in launched.stdout.split())
    tokens = sb.call(lambda: server.token_requests) - tokens_before
    requests = sb.call(lambda: len(server.requests)) - requests_before
    con = duckdb.connect(str(workdir / "w.duckdb"), read_only=True)
    got = con.execute("SELECT count(*) FROM ovipro_leads").fetchall()[0][0]
    got_out = con.execute("SELECT count(*) FROM ovipro_outgoing_leads").fetchall()[0][0]
    con.close()
    shutil.rmtree(workdir, ignore_errors=True)
    if (got, got_out) != (leads, outgoing):
        raise SystemExit(f"wrong row counts: {got}/{leads} incoming, {got_out}/{outgoing} outgoing")
    # Pages overlap by one lead (a full scan proves its completeness that way).
    pages = math.ceil(max(leads - 1, 1) / 99) + math.ceil(max(outgoing - 1, 1) / 99)
    bound = pages * latency / concurrency + tokens * latency
    return {
        "concurrency": concurrency,
        "wall_s": wall,
        "leads_per_s": (leads + outgoing) / wall,
        "cpu_s": cpu,
        "peak_rss_mb": rss_kb / 1024,
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
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (medians)")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    cfg = OviProSandboxConfig(leads=args.leads, outgoing_leads=args.outgoing, latency_s=latency)
    concurrencies = args.concurrency or [8, 16]
    runs: dict[int, list[dict[str, float]]] = {c: [] for c in concurrencies}
    with SandboxThread(lambda: OviProSandbox(cfg), start_timeout_s=120) as sb:
        for _ in range(max(1, args.repeat)):
            for conc in concurrencies:
                runs[conc].append(run_one(sb, args.leads, args.outgoing, conc, latency))
    print(
        f"OviPro, {args.leads:,} incoming + {args.outgoing:,} outgoing leads, page 100, "
        f"{args.latency_ms:g} ms latency; median of {max(1, args.repeat)} run(s)\n"
    )
    print(
        "| concurrency | wall s | leads/s | CPU s | peak RSS MB | token requests | requests "
        "| lower bound s | wall ÷ bound | walls s |"
    )
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--|")
    for conc, rows in runs.items():
        r = {k: statistics.median(row[k] for row in rows) for k in rows[0]}
        walls = ", ".join(f"{row['wall_s']:.2f}" for row in rows)
        print(
            f"| {conc} | {r['wall_s']:.2f} | {r['leads_per_s']:,.0f} | {r['cpu_s']:.2f} | "
            f"{r['peak_rss_mb']:.0f} | {r['tokens']:.0f} | {r['requests']:.0f} | "
            f"{r['bound_s']:.2f} | {r['ratio']:.2f} | {walls} |"
        )


if __name__ == "__main__":
    main()
