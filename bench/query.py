"""Benchmark of the query layer: ``Warehouse.query`` and ``leadkit serve`` over 1,000,000 leads.

Usage::

    .venv/bin/python bench/query.py                 # build (once, cached), then measure
    .venv/bin/python bench/query.py --runs 3        # measure 3 times, report medians
    .venv/bin/python bench/query.py --no-latency --profile first-pages --profile deep-pages
    .venv/bin/python bench/query.py --load aiohttp  # throughput with the Python load generator

What it does:

1. **Builds** a ``kpro_leads`` warehouse of ``--leads`` leads (default 1,000,000) the way an
   extract would, minus HTTP: the KPro sandbox's dataset generator makes the leads, its
   encoder renders them as the API's JSON, and leadkit's KPro parser
   (:func:`leadkit.systems.kpro.models.parse_page`) turns them into rows that
   :func:`leadkit.storage.warehouse.upsert_frame` writes, 50,000 at a time. The file is
   cached in ``bench/.cache/`` (gitignored) and rebuilt only with ``--rebuild``.
2. **Latency** (``--no-latency`` skips it): each query of :data:`QUERIES` written by hand in
   DuckDB SQL on an open connection (the count and the page, the plain way: ``ORDER BY ...
   LIMIT ... OFFSET``); through the query layer on an open connection (``query_table``
   without caches); and through ``Warehouse.query`` (its shared reader, whose caches are
   warm after the first call). Median and p95 of ``--repeat`` calls after warm-up; the
   ratios are medians over the hand-written median.
3. **Throughput** of ``leadkit serve`` (a real process, ``leadkit serve --port 0``, fresh
   for each load profile) over loopback for ``--duration`` seconds, with the load profiles
   of :data:`PROFILES` on KPro's path (``--profile`` picks some): the typical queries
   repeated, and distinct typical queries with random filter values — first pages, clients
   paging through results in order, and random deep pages. The load tool is ``wrk`` when
   it is installed (``apt-get install wrk``: a C load generator, so the client costs the
   2-core machine little CPU), else an aiohttp load generator in a separate process
   (``--load aiohttp`` forces it). Both keep ``--connections`` requests in flight and count
   only 200 answers. Besides requests/s and latency it reports the server's CPU time per
   request and how much CPU the rest of the machine used meanwhile (the noise).

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
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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
    # Warehouse.query first, alone: its shared reader opens the file itself (with another
    # connection open in this process, DuckDB would share that database instead) and keeps
    # what it reads, so these are repeated queries (see docs/benchmarks.md).
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


PROFILES = ("repeated", "first-pages", "deep-pages", "deep-random")
"""Load profiles:

* ``repeated`` cycles through :data:`QUERIES` as written (a dashboard, a polling client:
  after the first round the server answers from its memo);
* ``first-pages``: every request is a filter set the server has not seen (random values,
  :func:`random_filter_set`), at page 1, 2 or 3 — people trying filters in a UI;
* ``deep-pages``: clients paging through results, as an export or a sync does: 8 at a time,
  each through its own random filter set (at least 20 pages) from page 1 to the last or
  page 100, in order, then the next set (the 8 interleaved in the URL list);
* ``deep-random``: 400 random filter sets with at least 10 pages each, 25 pages of each drawn
  from 2..min(last page, 500), all shuffled together — the least friendly order (no two
  neighbouring requests share a filter set or neighbouring rows).

No URL repeats within a profile: only the counts and sort orders of a filter set (the deep
profiles) and whatever the server keeps of the rows themselves can be reused."""

_DAY0 = date(2021, 1, 1)
_DAYS = 181  # the bench's leads are created over January-June 2021
_STATUSES = ("passed", "failed", "incomplete", "considered", "not-checked")
_SITES = (1, 2, 3, 4, 5, 6, 7, 8, 14, 17, 20, 22, 30, 32, 33, 34, 35, 36, 37, 38, 41)
_CODES = ("KZ", "HFL", "ZPL", "RM", "STB", "API", "NHFS", "FC", "OTM", "EA")
_TOWNS = ("London", "Croydon", "Northampton", "Exeter", "Watford", "York", "Sheffield")
_SORTS = (
    # (sort= value or None for the default -createdAt, weight)
    (None, 50),
    ("-createdAt", 15),
    ("createdAt", 10),
    ("-updatedAt", 5),
    ("site.id,-createdAt", 5),
    ("eligibilityStatus,-createdAt", 5),
    ("lastName,firstName", 5),
    ("-id", 5),
)
_FIELDS = (
    "id,createdAt,site.code,email",
    "id,firstName,lastName,email,phone,createdAt",
    "id,eligibilityStatus,site,createdAt",
)


def _day(rng: random.Random, first: int = 0, last: int = _DAYS - 1) -> date:
    return _DAY0 + timedelta(days=rng.randint(first, last))


def random_filter_set(rng: random.Random) -> list[str]:
    """One typical filter + sort (+ size, sometimes fields) with random values: a created
    window most of the time, often a site and a status, sometimes another field."""
    params: list[str] = []
    if rng.random() < 0.7:
        start = _day(rng, 0, _DAYS - 2)
        text = start.isoformat()
        if rng.random() < 0.3:
            text += f" {rng.randint(0, 23):02d}:{rng.choice((0, 15, 30, 45)):02d}"
        params.append(f"createdAt.gte={text}")
        if rng.random() < 0.5:
            end = start + timedelta(days=rng.choice((0, 1, 6, 13, 29, 59)))
            params.append(f"createdAt.ltt={min(end, _DAY0 + timedelta(_DAYS - 1)).isoformat()}")
    if rng.random() < 0.5:
        kind = rng.random()
        if kind < 0.5:
            sites = rng.sample(_SITES[:8], rng.randint(2, 4))
            params.append("site.id.in=" + ",".join(map(str, sites)))
        elif kind < 0.8:
            params.append(f"site.id={rng.choice(_SITES[:6])}")
        else:
            params.append(f"site.code.not={rng.choice(_CODES)}")
    if rng.random() < 0.5:
        kind = rng.random()
        if kind < 0.4:
            params.append(f"eligibilityStatus={rng.choice(_STATUSES)}")
        elif kind < 0.7:
            params.append("eligibilityStatus.in=" + ",".join(rng.sample(_STATUSES, 2)))
        else:
            params.append("eligibilityStatus.notin=" + ",".join(rng.sample(_STATUSES, 2)))
    if rng.random() < 0.25:
        params.append(
            rng.choice(
                (
                    f"property.bedrooms.gte={rng.randint(1, 3)}",
                    f"firstTimeBuyer={rng.choice(('true', 'false'))}",
                    f"source.id={rng.randint(901, 906)}",
                    f"housingProvider.id={rng.choice((11, 23, 37, 52))}",
                    f"development.town={rng.choice(_TOWNS)}",
                    f"updatedAt.gte={_day(rng).isoformat()}",
                )
            )
        )
    sort = rng.choices([s for s, _ in _SORTS], [w for _, w in _SORTS])[0]
    if sort is not None:
        params.append(f"sort={sort}")
    size = rng.choices((100, 50, 25), (75, 15, 10))[0]
    if size != 100:
        params.append(f"size={size}")
    if rng.random() < 0.1:
        params.append(f"fields={rng.choice(_FIELDS)}")
    return params


def _lead_queries(profile: str, path: Path | None, seed: int = 0) -> list[str]:
    """The query strings (without the key) of a profile; see :data:`PROFILES`."""
    rng = random.Random(seed)
    if profile == "repeated":
        return [c.query for c in QUERIES]
    seen: set[str] = set()
    out: list[str] = []
    if profile == "first-pages":
        while len(out) < 40_000:
            query = "&".join(random_filter_set(rng))
            if query in seen:
                continue
            seen.add(query)
            page = rng.choices((1, 2, 3), (70, 20, 10))[0]
            out.append(f"{query}&page={page}" if query else f"page={page}")
        return out
    if profile not in ("deep-pages", "deep-random"):
        raise ValueError(profile)
    assert path is not None, "the deep profiles need the warehouse to know each set's last page"
    from leadkit.storage.queries import TableDirectory, query_table

    con = duckdb.connect(str(path), read_only=True)
    directory = TableDirectory(keep_info=True)

    def random_set(least: int) -> tuple[str, int]:
        """A new random filter set with at least ``least`` pages, and its last page."""
        while True:
            query = "&".join(random_filter_set(rng))
            if query in seen:
                continue
            seen.add(query)
            # The set's own size= decides its pages.
            result = query_table(con, query + "&page=1000000000", "kpro_leads", directory=directory)
            if result.pages >= least:
                return query, result.pages

    def url(query: str, page: int) -> str:
        return f"{query}&page={page}" if query else f"page={page}"

    try:
        if profile == "deep-random":
            for _ in range(400):
                query, last = random_set(10)
                last = min(last, 500)
                out += [url(query, n) for n in rng.sample(range(2, last + 1), min(25, last - 1))]
            rng.shuffle(out)
            return out
        clients: list[list[str]] = [[] for _ in range(8)]
        while len(out) < 20_000:
            for pages in clients:
                if not pages:
                    query, last = random_set(20)
                    pages += [url(query, n) for n in range(min(last, 100), 0, -1)]
                out.append(pages.pop())
    finally:
        con.close()
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


def load_wrk(base: str, queries: list[str], duration: float, connections: int) -> dict[str, float]:
    head = f"/api/bulk/open/leads?api_key={KEY}&"
    script = _WRK_SCRIPT % ", ".join(json.dumps(head + q.replace(" ", "%20")) for q in queries)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    before = _children_cpu_s()
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
        "client_cpu_s": _children_cpu_s() - before,
    }


def _aiohttp_worker(
    base: str, queries: list[str], duration: float, connections: int, out: Any
) -> None:
    import aiohttp

    async def main() -> dict[str, float]:
        head = f"{base}/api/bulk/open/leads?api_key={KEY}&"
        targets = [head + q.replace(" ", "%20") for q in queries]
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


def load_aiohttp(
    base: str, queries: list[str], duration: float, connections: int
) -> dict[str, float]:
    queue: Any = mp.Queue()
    args = (base, queries, duration, connections, queue)
    before = _children_cpu_s()
    proc = mp.Process(target=_aiohttp_worker, args=args)
    proc.start()
    result: dict[str, float] = queue.get(timeout=duration + 60)
    proc.join()
    return {**result, "client_cpu_s": _children_cpu_s() - before}


def _children_cpu_s() -> float:
    """User + system CPU seconds of this process's finished children (the load tool)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (and its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    """Peak resident memory of process ``pid`` so far (``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _machine_busy_s() -> float:
    """CPU seconds all processes of the machine have been busy so far (``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure_throughput(
    path: Path, tool: str, duration: float, connections: int, profiles: tuple[str, ...] = PROFILES
) -> dict[str, dict[str, float]]:
    """Each load profile against a fresh ``leadkit serve`` process.

    Each gets 2 s of warm-up with the same kind of load but other URLs (another seed), so
    the server has the file's blocks in memory but none of the measured answers. Besides
    requests/s, it reads the server's CPU time (``server_cpu_ms`` per request: the figure
    least disturbed by other work on a shared machine) and what the rest of the machine
    used meanwhile (``other_cpu``, in cores, neither the server nor the load tool: above
    :data:`DISTURBED_CPU` the run is *disturbed*)."""
    lists = {p: _lead_queries(p, path) for p in profiles}
    warmups = {p: _lead_queries(p, path, seed=1) for p in profiles}
    load = load_wrk if tool == "wrk" else load_aiohttp
    out = {}
    for profile in profiles:
        with tempfile.TemporaryDirectory() as tmp:
            proc, base = start_server(path, Path(tmp))
            try:
                load(base, warmups[profile], 2.0, connections)
                cpu0, busy0, t0 = _process_cpu_s(proc.pid), _machine_busy_s(), time.monotonic()
                result = load(base, lists[profile], duration, connections)
                cpu = _process_cpu_s(proc.pid) - cpu0
                busy = _machine_busy_s() - busy0 - cpu - result.pop("client_cpu_s")
                other = busy / (time.monotonic() - t0)
                out[profile] = {
                    **result,
                    "server_peak_rss_mb": _peak_rss_mb(proc.pid),
                    "server_cpu_ms": cpu * 1000 / max(1, result["ok"] + result["errors"]),
                    "other_cpu": other,
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
    latency: list[dict[str, Any]] | None, throughput: dict[str, dict[str, float]] | None, tool: str
) -> str:
    lines = []
    if latency:
        lines += [
            "| query | matches | by hand, open connection | layer, open connection "
            "| `Warehouse.query` | layer / by hand | `Warehouse.query` / by hand |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
    for r in latency or ():
        lines.append(
            f"| {r['query']} | {r['matches']:,} "
            f"| {r['hand_median_ms']:.1f} ms (p95 {r['hand_p95_ms']:.1f}) "
            f"| {r['layer_open_median_ms']:.1f} ms (p95 {r['layer_open_p95_ms']:.1f}) "
            f"| {r['query_median_ms']:.1f} ms (p95 {r['query_p95_ms']:.1f}) "
            f"| {r['layer_open_median_ms'] / r['hand_median_ms']:.2f}× "
            f"| {r['query_median_ms'] / r['hand_median_ms']:.2f}× |"
        )
    if throughput:
        lines += [
            "",
            "| `leadkit serve`, load | requests/s | median | p95 | server CPU per request "
            "| server peak RSS | other CPU (cores) | errors | quiet runs |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for profile, t in throughput.items():
            lines.append(
                f"| {profile}: {tool}, {t['connections']:.0f} connections, "
                f"{t['duration']:.0f} s | {t['rps']:.0f} | {t['median_ms']:.1f} ms "
                f"| {t['p95_ms']:.1f} ms | {t['server_cpu_ms']:.1f} ms "
                f"| {t['server_peak_rss_mb']:.0f} MB "
                f"| {t['other_cpu']:.2f} | {t['errors']:.0f} | {t.get('quiet', '1/1')} |"
            )
    return "\n".join(lines)


DISTURBED_CPU = 0.25
"""A load run during which other processes used more than this many cores is *disturbed*."""


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per query, the run whose three medians add up lowest; per load profile, the median
    of the runs left undisturbed (of all runs when every one was disturbed), figure by
    figure (requests/s, latencies, CPU), errors summed over all runs."""
    latency = None
    if runs[0]["latency"]:
        latency = [
            min(
                (run["latency"][i] for run in runs),
                key=lambda r: (
                    r["hand_median_ms"] + r["layer_open_median_ms"] + r["query_median_ms"]
                ),
            )
            for i in range(len(runs[0]["latency"]))
        ]
    throughput = None
    if runs[0]["throughput"]:
        throughput = {}
        for profile in runs[0]["throughput"]:
            each = [run["throughput"][profile] for run in runs]
            quiet = [t for t in each if t["other_cpu"] <= DISTURBED_CPU]
            kept = quiet or each
            throughput[profile] = {
                **{
                    key: sum(t[key] for t in each)
                    if key == "errors"
                    else statistics.median(t[key] for t in kept)
                    for key in each[0]
                },
                "quiet": f"{len(quiet)}/{len(each)}",
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
    parser.add_argument("--runs", type=int, default=1, help="measure N times, report medians")
    parser.add_argument("--no-serve", action="store_true", help="skip the throughput part")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency part")
    parser.add_argument(
        "--profile",
        action="append",
        choices=PROFILES,
        help="load profile to run (repeatable; default: all)",
    )
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
    profiles = tuple(args.profile or PROFILES)
    runs = []
    for n in range(args.runs):
        latency = None if args.no_latency else measure_latency(path, args.repeat)
        throughput = None
        if not args.no_serve:
            throughput = measure_throughput(path, tool, args.duration, args.connections, profiles)
        run = {"latency": latency, "throughput": throughput}
        print(f"\nrun {n + 1} of {args.runs}:\n" + table(latency, throughput, tool), flush=True)
        runs.append(run)
    result = summary(runs)
    print(f"\n{args.leads:,} leads; {machine()}")
    print(
        f"{len(runs)} run(s): latency, the best run per query; throughput, the median of "
        "the undisturbed runs:\n" + table(result["latency"], result["throughput"], tool)
    )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "machine": machine()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
