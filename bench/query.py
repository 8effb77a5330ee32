"""Benchmark of the query layer: ``Warehouse.query`` and ``leadkit serve`` over 1,000,000 leads.

Usage::

    .venv/bin/python bench/query.py                 # build (once, cached), then measure
    .venv/bin/python bench/query.py --runs 2        # measure twice, report the better run
    .venv/bin/python bench/query.py --load aiohttp  # throughput with the Python load generator

What it does:

1. **Builds** a ``kpro_leads`` warehouse of ``--leads`` leads (default 1,000,000) the way an
   extract would, minus HTTP: the KPro sandbox's dataset generator makes the leads, its
   encoder renders them as the API's JSON, and leadkit's KPro parser
   (:func:`leadkit.systems.kpro.models.parse_page`) turns them into rows that
   :func:`leadkit.storage.warehouse.upsert_frame` writes, 50,000 at a time. The file is
   cached in ``bench/.cache/`` (gitignored) and rebuilt only with ``--rebuild``.
2. **Latency**: each query of :data:`QUERIES` written by hand in DuckDB SQL on an open
   connection (the count and the page, the plain way: ``ORDER BY ... LIMIT ... OFFSET``);
   through the query layer on an open connection (``query_table``, as ``leadkit serve``
   runs it); and through ``Warehouse.query``, which opens the file for each call (measured
   first, with no other connection open in the process). Median and p95 of ``--repeat``
   calls after warm-up; the ratios are medians over the hand-written median.
3. **Throughput** of ``leadkit serve`` (a real process, ``leadkit serve --port 0``) over
   loopback for ``--duration`` seconds, cycling through the same queries on KPro's path.
   The load tool is ``wrk`` when it is installed (``apt-get install wrk``: a C load
   generator, so the client costs the 2-core machine little CPU), else an aiohttp load
   generator in a separate process (``--load aiohttp`` forces it). Both keep
   ``--connections`` requests in flight and count only 200 answers.

It prints a markdown table (the figures of docs/benchmarks.md's Query section) and, with
``--json FILE``, writes the raw figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
KEY = "bench-query-key-0123456789abcdef"
CHUNK = 50_000


@dataclass(frozen=True)
class Case:
    """One typical query: the query string and the same query written by hand in SQL."""

    name: str
    query: str
    count_sql: str
    page_sql: str
    params: tuple[Any, ...]


_COLUMNS = "* EXCLUDE (_raw, _hash)"
_TIEBREAK = '"_source" ASC NULLS LAST, "id" ASC NULLS LAST'

QUERIES: tuple[Case, ...] = (
    Case(
        "filter + sort + page",
        "createdAt.gte=2021-03-01&site.id.in=1,2&eligibilityStatus.notin=incomplete,failed"
        "&sort=-createdAt&page=3&size=100",
        "SELECT count(*) FROM kpro_leads WHERE created_at >= ? AND site.id IN (?, ?) "
        "AND eligibility_status NOT IN (?, ?)",
        f"SELECT {_COLUMNS} FROM kpro_leads WHERE created_at >= ? AND site.id IN (?, ?) "
        "AND eligibility_status NOT IN (?, ?) "
        f"ORDER BY created_at DESC NULLS LAST, {_TIEBREAK} LIMIT 100 OFFSET 200",
        (datetime(2021, 3, 1, tzinfo=UTC), 1, 2, "incomplete", "failed"),
    ),
    Case(
        "day window, 2 sorts",
        "createdAt.gte=2021-03-11 10:00&createdAt.ltt=2021-03-20&sort=-site.id,createdAt&size=50",
        "SELECT count(*) FROM kpro_leads WHERE created_at >= ? AND created_at < ?",
        f"SELECT {_COLUMNS} FROM kpro_leads WHERE created_at >= ? AND created_at < ? "
        f"ORDER BY site.id DESC NULLS LAST, created_at ASC NULLS LAST, {_TIEBREAK} "
        "LIMIT 50 OFFSET 0",
        (datetime(2021, 3, 11, 10, tzinfo=UTC), datetime(2021, 3, 21, tzinfo=UTC)),
    ),
    Case(
        "no filter, default sort",
        "",
        "SELECT count(*) FROM kpro_leads WHERE TRUE",
        f"SELECT {_COLUMNS} FROM kpro_leads "
        f"ORDER BY created_at DESC NULLS LAST, {_TIEBREAK} LIMIT 100 OFFSET 0",
        (),
    ),
    Case(
        "status + fields, page 50",
        "eligibilityStatus=passed&site.code.not=RM&fields=id,createdAt,site.code,email"
        "&page=50&size=100",
        "SELECT count(*) FROM kpro_leads WHERE eligibility_status = ? AND site.code <> ?",
        'SELECT id, created_at, site.code AS "site.code", email FROM kpro_leads '
        "WHERE eligibility_status = ? AND site.code <> ? "
        f"ORDER BY created_at DESC NULLS LAST, {_TIEBREAK} LIMIT 100 OFFSET 4900",
        ("passed", "RM"),
    ),
)
"""The typical queries: filter + sort + page over KPro's documented fields."""


# -- building the warehouse -------------------------------------------------------------


def build(path: Path, leads: int, *, seed: int = 0) -> None:
    """Write ``leads`` generated KPro leads into a fresh warehouse at ``path``."""
    import orjson
    import polars as pl

    from leadkit.storage.warehouse import Warehouse, upsert_frame
    from leadkit.systems.kpro.dataset import DatasetOptions
    from leadkit.systems.kpro.models import parse_page
    from leadkit.systems.kpro.store import LeadStore
    from leadkit.systems.kpro.tables import LEADS_TABLE

    started = time.perf_counter()
    store = LeadStore(leads, DatasetOptions(seed=seed))
    print(f"generated {leads:,} leads in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    tmp = path.with_suffix(".building")
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    warehouse = Warehouse(tmp)
    extracted = datetime.now(UTC)
    with warehouse.writing() as con:
        for start in range(0, leads, CHUNK):
            positions = pl.int_range(start, min(start + CHUNK, leads), dtype=pl.UInt32, eager=True)
            records = orjson.loads("[" + store.render_all(positions) + "]")
            page = parse_page(records, source="main", run_id="bench", extracted_at=extracted)
            con.execute("BEGIN TRANSACTION")
            upsert_frame(con, LEADS_TABLE, page.frame)
            con.execute("COMMIT")
            done = min(start + CHUNK, leads)
            print(f"  {done:,} rows ({time.perf_counter() - started:.0f}s)", file=sys.stderr)
        con.execute("CHECKPOINT")
    tmp.rename(path)
    print(f"built {path} in {time.perf_counter() - started:.0f}s", file=sys.stderr)


def warehouse_file(leads: int, rebuild: bool) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"query-{leads}.duckdb"
    if rebuild:
        path.unlink(missing_ok=True)
    if path.exists():
        with duckdb.connect(str(path), read_only=True) as con:
            row = con.execute("SELECT count(*) FROM kpro_leads").fetchone()
        if row is not None and row[0] == leads:
            return path
        path.unlink()
    build(path, leads)
    return path


# -- latency ----------------------------------------------------------------------------


def timed(fn: Callable[[], object], repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def measure_latency(path: Path, repeat: int) -> list[dict[str, Any]]:
    from leadkit.storage.queries import TableDirectory, query_table
    from leadkit.storage.warehouse import Warehouse

    warehouse = Warehouse(path)
    # First Warehouse.query alone: no other connection may be open in this process, or
    # DuckDB would reuse that open database and the per-call open would cost nothing.
    per_call = {
        c.name: timed(lambda c=c: warehouse.query(c.query, table="kpro_leads"), repeat)
        for c in QUERIES
    }
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    directory = TableDirectory(keep_info=True)  # as leadkit serve keeps it per connection
    rows = []
    try:
        for case in QUERIES:
            expected = query_table(con, case.query, "kpro_leads", directory=directory)

            def by_hand(case: Case = case) -> tuple[int, Any]:
                count = con.execute(case.count_sql, list(case.params)).fetchall()[0]
                page = con.sql(case.page_sql, params=list(case.params)).pl()
                return count[0], page

            total, page = by_hand()
            assert total == expected.total, (case.name, total, expected.total)
            assert page.equals(expected.frame), case.name
            hand = timed(by_hand, repeat)
            layer = timed(
                lambda c=case: query_table(con, c.query, "kpro_leads", directory=directory),
                repeat,
            )
            rows.append(
                {
                    "query": case.name,
                    "text": case.query,
                    "matches": expected.total,
                    "hand_median_ms": statistics.median(hand),
                    "hand_p95_ms": p95(hand),
                    "layer_open_median_ms": statistics.median(layer),
                    "layer_open_p95_ms": p95(layer),
                    "query_median_ms": statistics.median(per_call[case.name]),
                    "query_p95_ms": p95(per_call[case.name]),
                }
            )
    finally:
        con.close()
    return rows


# -- throughput -------------------------------------------------------------------------


def start_server(path: Path, workdir: Path) -> tuple[subprocess.Popen[str], str]:
    """``leadkit serve --port 0`` in a real process; returns it and its base URL."""
    config = workdir / "leadkit.toml"
    config.write_text(f'[warehouse]\npath = "{path}"\n\n[serve]\napi_key = "{KEY}"\n')
    env = {**os.environ, "COLUMNS": "300", "LEADKIT_CONFIG": str(config)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadkit", "serve", "--port", "0", "--config", str(config)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        found = re.search(r"(http://127\.0\.0\.1:\d+)/api/", line)
        if found:
            return proc, found.group(1)
    proc.kill()
    raise RuntimeError("leadkit serve did not start")


PROFILES = ("repeated", "paging")
"""Load profiles: ``repeated`` cycles through the typical queries as written (a dashboard,
a polling client: after the first round the server answers from its memo); ``paging``
asks each typical filter set for pages 1..500 in a shuffled order, so almost every request
is one the server has not answered before (only the count of a filter set is reused)."""


def urls(base: str, profile: str = "repeated") -> list[str]:
    head = f"{base}/api/bulk/open/leads?api_key={KEY}&"
    if profile == "repeated":
        return [head + c.query for c in QUERIES]
    out = []
    for c in QUERIES:
        query = "&".join(p for p in c.query.split("&") if p and not p.startswith("page="))
        out += [f"{head}{query}&page={n}" for n in range(1, 501)]
    random.Random(0).shuffle(out)
    return out


_WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
local errors = 0
response = function(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("LEADKIT %%d %%d %%.3f %%.3f %%.3f\\n", summary.requests,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    summary.duration / 1e6))
end
"""


def load_wrk(base: str, profile: str, duration: float, connections: int) -> dict[str, float]:
    paths = [u[len(base) :] for u in urls(base, profile)]
    script = _WRK_SCRIPT % ", ".join(json.dumps(p.replace(" ", "%20")) for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "-s", f.name, base],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration + 60,
        ).stdout
    finally:
        os.unlink(f.name)
    found = re.search(r"LEADKIT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    if not found:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    requests, bad, median, high, seconds = found.groups()
    ok = int(requests) - int(bad)
    return {
        "ok": ok,
        "errors": int(bad),
        "rps": ok / float(seconds),
        "median_ms": float(median),
        "p95_ms": float(high),
    }


def _aiohttp_worker(base: str, profile: str, duration: float, connections: int, out: Any) -> None:
    import aiohttp

    async def main() -> dict[str, float]:
        targets = [u.replace(" ", "%20") for u in urls(base, profile)]
        latencies: list[float] = []
        errors = 0
        stop = time.perf_counter() + duration

        turn = 0

        async def one(session: aiohttp.ClientSession) -> None:
            nonlocal errors, turn
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                turn += 1
                url = aiohttp.client.URL(targets[turn % len(targets)], encoded=True)
                async with session.get(url) as resp:
                    await resp.read()
                    if resp.status != 200:
                        errors += 1
                        continue
                latencies.append((time.perf_counter() - t0) * 1000)

        started = time.perf_counter()
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.gather(*(one(session) for _ in range(connections)))
        seconds = time.perf_counter() - started
        return {
            "ok": len(latencies),
            "errors": errors,
            "rps": len(latencies) / seconds,
            "median_ms": statistics.median(latencies),
            "p95_ms": p95(latencies),
        }

    out.put(asyncio.run(main()))


def load_aiohttp(base: str, profile: str, duration: float, connections: int) -> dict[str, float]:
    queue: Any = mp.Queue()
    args = (base, profile, duration, connections, queue)
    proc = mp.Process(target=_aiohttp_worker, args=args)
    proc.start()
    result: dict[str, float] = queue.get(timeout=duration + 60)
    proc.join()
    return result


def measure_throughput(
    path: Path, tool: str, duration: float, connections: int
) -> dict[str, dict[str, float]]:
    """Each load profile against a fresh ``leadkit serve`` process."""
    out = {}
    for profile in PROFILES:
        with tempfile.TemporaryDirectory() as tmp:
            proc, base = start_server(path, Path(tmp))
            try:
                load = load_wrk if tool == "wrk" else load_aiohttp
                load(base, "repeated", 2.0, connections)  # warm-up: open the file, load pages
                out[profile] = {
                    **load(base, profile, duration, connections),
                    "connections": connections,
                    "duration": duration,
                }
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    return out


# -- report -----------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import polars as pl

    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}, polars {pl.__version__}, {platform.system()}"
    )


def table(
    latency: list[dict[str, Any]], throughput: dict[str, dict[str, float]] | None, tool: str
) -> str:
    lines = [
        "| query | matches | by hand, open connection | layer, open connection "
        "| `Warehouse.query` | layer / by hand | `Warehouse.query` / by hand |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in latency:
        lines.append(
            f"| {r['query']} | {r['matches']:,} "
            f"| {r['hand_median_ms']:.1f} ms (p95 {r['hand_p95_ms']:.1f}) "
            f"| {r['layer_open_median_ms']:.1f} ms (p95 {r['layer_open_p95_ms']:.1f}) "
            f"| {r['query_median_ms']:.1f} ms (p95 {r['query_p95_ms']:.1f}) "
            f"| {r['layer_open_median_ms'] / r['hand_median_ms']:.2f}× "
            f"| {r['query_median_ms'] / r['hand_median_ms']:.2f}× |"
        )
    if throughput is not None:
        lines += [
            "",
            "| `leadkit serve`, load | requests/s | median | p95 | errors |",
            "|---|---:|---:|---:|---:|",
        ]
        for profile, t in throughput.items():
            lines.append(
                f"| {profile}: {tool}, {t['connections']:.0f} connections, "
                f"{t['duration']:.0f} s | {t['rps']:.0f} | {t['median_ms']:.1f} ms "
                f"| {t['p95_ms']:.1f} ms | {t['errors']:.0f} |"
            )
    return "\n".join(lines)


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per query, the run whose three medians add up lowest; per load profile, the run
    with the most requests/s (the machine is shared: the slower runs measured the noise)."""
    latency = [
        min(
            (run["latency"][i] for run in runs),
            key=lambda r: r["hand_median_ms"] + r["layer_open_median_ms"] + r["query_median_ms"],
        )
        for i in range(len(runs[0]["latency"]))
    ]
    throughput = None
    if runs[0]["throughput"]:
        throughput = {
            profile: max((run["throughput"][profile] for run in runs), key=lambda t: t["rps"])
            for profile in runs[0]["throughput"]
        }
    return {"latency": latency, "throughput": throughput}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true", help="build the warehouse again")
    parser.add_argument("--repeat", type=int, default=50, help="timed calls per query")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--connections", type=int, default=8, help="requests in flight")
    parser.add_argument("--load", choices=("auto", "wrk", "aiohttp"), default="auto")
    parser.add_argument("--runs", type=int, default=1, help="measure N times, keep the best")
    parser.add_argument("--no-serve", action="store_true", help="skip the throughput part")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tool = args.load
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "aiohttp"
        if tool == "aiohttp":
            print("wrk not found (apt-get install wrk); using the aiohttp load generator")
    elif tool == "wrk" and not shutil.which("wrk"):
        print("wrk is not installed: apt-get install wrk, or use --load aiohttp")
        return 2
    path = warehouse_file(args.leads, args.rebuild)
    runs = []
    for n in range(args.runs):
        latency = measure_latency(path, args.repeat)
        throughput = None
        if not args.no_serve:
            throughput = measure_throughput(path, tool, args.duration, args.connections)
        run = {"latency": latency, "throughput": throughput}
        print(f"\nrun {n + 1} of {args.runs}:\n" + table(latency, throughput, tool), flush=True)
        runs.append(run)
    best = best_of(runs)
    print(f"\n{args.leads:,} leads; {machine()}")
    print(
        f"best of {len(runs)} run(s), per row:\n" + table(best["latency"], best["throughput"], tool)
    )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "machine": machine()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
